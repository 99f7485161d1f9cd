'use strict';
// Loads Autobahn|JS for the suites: the WebSocket global first (lib/runner), a quiet console.warn, and
// the serializers by the names the suites take on the command line.

require('./runner'); // installs globalThis.WebSocket before autobahn loads

// Autobahn|JS reports every connection close through console.warn (bound when it loads); keep stderr
// for real diagnostics.
const warn = console.warn;
console.warn = (...args) => {
  if (args[0] === 'connection closed' || args[0] === 'auto-reconnect disabled!') return;
  warn(...args);
};
const autobahn = require('autobahn');

const SERIALIZERS = {
  json: () => new autobahn.serializer.JSONSerializer(),
  msgpack: () => new autobahn.serializer.MsgpackSerializer(),
  cbor: () => new autobahn.serializer.CBORSerializer(),
};

module.exports = { autobahn, SERIALIZERS };
