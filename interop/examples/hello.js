// Subscribe, register, publish and call with Autobahn|JS.
globalThis.WebSocket ??= require('ws'); // only needed before Node.js 22
const autobahn = require('autobahn');

const connection = new autobahn.Connection({
  url: process.env.GATEWAY_URL || 'ws://127.0.0.1:8080/ws',
  realm: 'realm1',
});

connection.onopen = async (session) => {
  let onHello;
  const received = new Promise((resolve) => { onHello = resolve; });
  await session.subscribe('com.example.hello', (args) => onHello(args[0]));
  await session.register('com.example.add', (args) => args[0] + args[1]);
  await session.publish('com.example.hello', ['Hello, world!'], {}, { acknowledge: true, exclude_me: false });
  console.log('event received:', await received);
  console.log('call result:', await session.call('com.example.add', [2, 3]));
  connection.close();
};

connection.open();
