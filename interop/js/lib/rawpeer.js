'use strict';
// A minimal WAMP callee speaking JSON over WebSocket (ws:// URL) or RawSocket (rs:// or tcp:// URL) that
// announces call_canceling and progressive_call_results, so the suites can check that the router sends
// INTERRUPT when a caller (the library under test) cancels or times out a call, and can drive a caller's
// progressive results from a callee the library lacks. Neither Autobahn|JS nor wampy handle INTERRUPT as
// a callee (both leave call_canceling unannounced), and wampy's callee does not announce
// progressive_call_results.

const net = require('node:net');
const WebSocket = require('ws');
const { Failure, Inbox, STEP_TIMEOUT, within, short } = require('./runner');

const HELLO = 1;
const WELCOME = 2;
const ABORT = 3;
const GOODBYE = 6;
const ERROR = 8;
const REGISTER = 64;
const REGISTERED = 65;
const INVOCATION = 68;
const INTERRUPT = 69;
const YIELD = 70;

/** WebSocket with subprotocol wamp.2.json. */
function openWebSocket(url, handlers) {
  const ws = new WebSocket(url, ['wamp.2.json']);
  ws.on('open', handlers.open);
  ws.on('message', (data) => handlers.message(data.toString()));
  ws.on('error', handlers.error);
  ws.on('close', handlers.close);
  return {
    send: (text) => ws.send(text),
    close: () => {
      ws.close(1000);
      setTimeout(() => ws.terminate(), 1000).unref();
    },
    isOpen: () => ws.readyState === WebSocket.OPEN,
  };
}

/** RawSocket (WAMP spec, "RawSocket Transport") with serializer 1 = JSON and a 16 MiB receive limit. */
function openRawSocket(host, port, handlers) {
  const sock = net.connect({ host, port });
  let buf = Buffer.alloc(0);
  let handshaken = false;
  let open = false;
  sock.on('connect', () => sock.write(Buffer.from([0x7f, (0xf << 4) | 1, 0, 0])));
  sock.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    if (!handshaken) {
      if (buf.length < 4) return;
      if (buf[0] !== 0x7f || (buf[1] & 0x0f) !== 1) {
        handlers.error(new Error(`RawSocket handshake refused: reply ${buf.subarray(0, 4).toString('hex')}`));
        sock.destroy();
        return;
      }
      handshaken = true;
      open = true;
      buf = buf.subarray(4);
      handlers.open();
    }
    while (buf.length >= 4) {
      const type = buf[0] & 0x07;
      const len = buf.readUIntBE(1, 3);
      if (buf.length < 4 + len) return;
      const payload = buf.subarray(4, 4 + len);
      buf = buf.subarray(4 + len);
      if (type === 0) handlers.message(payload.toString('utf8'));
      else if (type === 1) sock.write(Buffer.concat([Buffer.from([2, ...header(len).subarray(1)]), payload])); // PING
    }
  });
  sock.on('error', handlers.error);
  sock.on('close', () => {
    open = false;
    handlers.close();
  });
  function header(len) {
    const h = Buffer.alloc(4);
    h.writeUIntBE(len, 1, 3);
    return h;
  }
  return {
    send: (text) => {
      const payload = Buffer.from(text, 'utf8');
      sock.write(Buffer.concat([header(payload.length), payload]));
    },
    close: () => {
      sock.end();
      setTimeout(() => sock.destroy(), 1000).unref();
    },
    isOpen: () => open,
  };
}

class RawCallee {
  /** Connects and joins realm; resolves to the joined peer. */
  static async connect(url, realm) {
    const peer = new RawCallee();
    await within(peer._open(url, realm), STEP_TIMEOUT, `raw callee join at ${url}`);
    return peer;
  }

  constructor() {
    this.invocations = new Inbox('raw callee invocations');
    this.interrupts = new Inbox('raw callee interrupts');
    this.pending = new Map(); // request id -> {resolve, reject}
    this.nextRequest = 1;
    this.sessionId = null;
    this.closed = new Promise((resolve) => { this._markClosed = resolve; });
  }

  _open(url, realm) {
    return new Promise((resolve, reject) => {
      const handlers = {
        open: () => {
          const features = { call_canceling: true, progressive_call_results: true };
          this._send([HELLO, realm, { roles: { callee: { features } } }]);
        },
        error: (e) => reject(new Failure(`raw callee: ${e.message}`)),
        close: () => {
          for (const p of this.pending.values()) p.reject(new Failure('raw callee: connection closed'));
          this.pending.clear();
          reject(new Failure('raw callee: connection closed before WELCOME'));
          this._markClosed();
        },
        message: (text) => {
          let msg;
          try {
            msg = JSON.parse(text);
          } catch (e) {
            reject(new Failure(`raw callee: undecodable message ${short(text)}`));
            return;
          }
          this._receive(msg, resolve, reject);
        },
      };
      const u = new URL(url);
      this.conn = u.protocol.startsWith('ws')
        ? openWebSocket(url, handlers)
        : openRawSocket(u.hostname, Number(u.port) || 8080, handlers);
    });
  }

  _receive(msg, resolve, reject) {
    switch (msg[0]) {
      case WELCOME:
        this.sessionId = msg[1];
        resolve(this);
        break;
      case ABORT:
        reject(new Failure(`raw callee: ABORT ${short(msg)}`));
        break;
      case REGISTERED:
      case ERROR: {
        const request = msg[0] === ERROR ? msg[2] : msg[1];
        const p = this.pending.get(request);
        if (!p) break;
        this.pending.delete(request);
        if (msg[0] === REGISTERED) p.resolve(msg[2]);
        else p.reject(new Failure(`raw callee: REGISTER failed: ${msg[4]}`));
        break;
      }
      case INVOCATION:
        this.invocations.put({ request: msg[1], registration: msg[2], details: msg[3], args: msg[4] || [] });
        break;
      case INTERRUPT:
        this.interrupts.put({ request: msg[1], options: msg[2] });
        // Answer like a well-behaved callee; the dealer waits for this only in "kill" mode.
        this._send([ERROR, INVOCATION, msg[1], {}, 'wamp.error.canceled']);
        break;
      case GOODBYE:
        if (!this.goodbyeSent) this._send([GOODBYE, {}, 'wamp.close.goodbye_and_out']);
        this.conn.close();
        break;
      default:
        break;
    }
  }

  _send(msg) {
    this.conn.send(JSON.stringify(msg));
  }

  /** Answers an invocation with YIELD; options.progress marks a progressive result. */
  yield(request, args, kwargs, options) {
    const msg = [YIELD, request, options || {}];
    if (args || kwargs) msg.push(args || []);
    if (kwargs) msg.push(kwargs);
    this._send(msg);
  }

  /** Registers procedure; invocations are collected in this.invocations and answered only by yield(). */
  register(procedure) {
    const request = this.nextRequest++;
    const p = new Promise((resolve, reject) => this.pending.set(request, { resolve, reject }));
    this._send([REGISTER, request, {}, procedure]);
    return within(p, STEP_TIMEOUT, `REGISTERED ${procedure}`);
  }

  /** Says GOODBYE and resolves when the connection is closed (forcibly after a second). */
  close() {
    if (this.conn.isOpen()) {
      this.goodbyeSent = true;
      this._send([GOODBYE, {}, 'wamp.close.close_realm']);
      setTimeout(() => this.conn.close(), 1000).unref();
    } else {
      this.conn.close();
    }
    return this.closed;
  }
}

module.exports = { RawCallee };
