#!/usr/bin/env node
'use strict';
// Interop suite: persistent subscriptions (SUBSCRIBE option x_persistent, gateway.subscription.forget),
// event history (wamp.subscription.get_events) and event retention (get_retained) with Autobahn|JS
// over WebSocket. The gateway must enable client tokens and define the event class "history" on
// com.interop.history with retention { max_events = 10 } and an int field n (interop/persist_test.go).
//
//   node persist_suite.js --url ws://127.0.0.1:8080/ws --realm realm1 --serializer json|msgpack|cbor
//
// A client comes back as itself by presenting its client token in HELLO.Details.authextra.client_token
// (Node's WebSocket sends no cookies). Prints "PASS name" / "FAIL name: detail" per scenario, then a
// summary line; exits non-zero on failure.

const {
  STEP_TIMEOUT, Failure, check, checkEqual, short, within, sleep, Inbox, parseArgs, runSuite, uniqueURI,
} = require('./lib/runner');

const { autobahn, SERIALIZERS } = require('./lib/autobahn');

const opts = parseArgs(process.argv.slice(2), Object.keys(SERIALIZERS));
const EVENT = 36; // WAMP message type code

class Context {
  constructor() {
    this.conns = [];
    this.diagnostics = [];
    this.closing = false;
  }

  uri(name) {
    return uniqueURI('persist', opts.serializer, name);
  }

  /**
   * Opens a session, presenting token when given. Autobahn|JS hands event handlers only the Details it
   * knows, so each EVENT's x_seq is recorded from the raw message, by publication id, in session.seqs.
   */
  async connect(token) {
    const options = {
      realm: opts.realm,
      max_retries: 0,
      retry_if_unreachable: false,
      transports: [{ type: 'websocket', url: opts.url, serializers: [SERIALIZERS[opts.serializer]()] }],
    };
    if (token) options.authextra = { client_token: token };
    const conn = new autobahn.Connection(options);
    let opened = false;
    let markClosed;
    const closed = new Promise((resolve) => { markClosed = resolve; });
    const joined = new Promise((resolve, reject) => {
      conn.onopen = (session, details) => {
        opened = true;
        session.welcome = details;
        session.seqs = new Map();
        const processEvent = session._MESSAGE_MAP[EVENT];
        session._MESSAGE_MAP[EVENT] = (msg) => {
          session.seqs.set(msg[2], msg[3] && msg[3].x_seq);
          processEvent(msg);
        };
        resolve(session);
      };
      conn.onclose = (reason, details) => {
        if (!opened) reject(new Failure(`connection ${reason} before join: ${short(details)}`));
        if (opened && !this.closing) this.diagnostics.push(`session closed by the router: ${reason} ${short(details)}`);
        markClosed();
        return true; // never retry
      };
    });
    conn.open();
    const entry = { conn, closed };
    this.conns.push(entry);
    const session = await within(joined, STEP_TIMEOUT, `session join at ${opts.url}`);
    session.quit = async () => {
      this.closing = true;
      conn.close();
      await within(closed, STEP_TIMEOUT, 'session close');
      this.closing = false;
    };
    return session;
  }

  async closeAll() {
    this.closing = true;
    for (const { conn, closed } of this.conns) {
      if (conn.isOpen) conn.close();
      await closed;
    }
  }

  /** Subscribes; the inbox receives {n, seq, details, args, kwargs} per event. */
  async subscribe(session, topic, options) {
    const inbox = new Inbox(topic);
    const sub = await within(session.subscribe(topic, (args, kwargs, details) => {
      inbox.put({ n: kwargs.n, seq: session.seqs.get(details.publication), details, args, kwargs });
    }, options), STEP_TIMEOUT, `SUBSCRIBED ${topic}`);
    return [inbox, sub];
  }

  publish(session, topic, kwargs, options) {
    return within(session.publish(topic, [], kwargs, { acknowledge: true, ...options }), STEP_TIMEOUT,
      `PUBLISHED ${topic}`);
  }

  async publishRange(session, topic, first, last) {
    const acks = [];
    for (let n = first; n <= last; n++) acks.push(this.publish(session, topic, { n }));
    await Promise.all(acks);
  }

  /** Publishes a marker and checks that it is the only thing inbox receives. */
  async expectOnlyMarker(inbox, publisher, topic) {
    await this.publish(publisher, topic, { n: -1 });
    const got = await inbox.next(`marker event in ${inbox.name}`);
    check(got.n === -1, '%s: got %s before the marker', inbox.name, short(got.kwargs));
    const extra = inbox.rest();
    check(extra.length === 0, '%s: unexpected events %s', inbox.name, short(extra.map((e) => e.kwargs)));
  }
}

function tokenOf(session) {
  const token = session.welcome && session.welcome.authextra && session.welcome.authextra.client_token;
  check(typeof token === 'string' && token.length > 0, 'no client token in WELCOME: %s', short(session.welcome));
  return token;
}

async function expectError(promise, uri, what) {
  try {
    const res = await within(promise, STEP_TIMEOUT, `ERROR for ${what}`);
    throw new Failure(`${what} succeeded with ${short(res)}, want error ${uri}`);
  } catch (e) {
    if (e instanceof Failure) throw e;
    check(e instanceof autobahn.Error, '%s: want autobahn.Error %s, got %s', what, uri, short(e));
    check(e.error === uri, '%s: got error %s (args %s), want %s', what, e.error, short(e.args), uri);
    return e;
  }
}

const scenarios = [];
const scenario = (name, fn) => scenarios.push([name, fn]);

scenario('x_persistent_replay_then_live', async (c) => {
  const topic = c.uri('replay');
  const pub = await c.connect();
  let sub = await c.connect();
  const token = tokenOf(sub);
  let [inbox] = await c.subscribe(sub, topic, { x_persistent: true });
  await c.publish(pub, topic, { n: 1 });
  const first = await inbox.next('live event before leaving');
  check(first.n === 1 && Number.isInteger(first.seq), 'first event: n %s x_seq %s', first.n, first.seq);
  await sub.quit();

  await c.publishRange(pub, topic, 2, 201);
  sub = await c.connect(token);
  check(tokenOf(sub) === token, 'the gateway did not recognise the client token');
  [inbox] = await c.subscribe(sub, topic, { x_persistent: true });
  for (let n = 2; n <= 201; n++) {
    const ev = await inbox.next(`replayed event n=${n}`);
    check(ev.n === n, 'replayed event: got n=%s, want %d (in order, once)', ev.n, n);
    check(ev.seq === first.seq + n - 1, 'replayed n=%d has x_seq %s, want %d', n, ev.seq, first.seq + n - 1);
  }
  await c.publish(pub, topic, { n: 202 });
  const live = await inbox.next('live event after the replay');
  check(live.n === 202 && live.seq === first.seq + 201, 'live event: n %s x_seq %s', live.n, live.seq);
  await sleep(200);
  const extra = inbox.rest();
  check(extra.length === 0, 'unexpected events (duplicates?): %s', short(extra.map((e) => e.kwargs)));
});

scenario('x_persistent_with_filter', async (c) => {
  const topic = c.uri('filter');
  const pub = await c.connect();
  let sub = await c.connect();
  const token = tokenOf(sub);
  await c.subscribe(sub, topic, { x_persistent: true, x_filter: 'n > 5' });
  await sub.quit();
  await c.publishRange(pub, topic, 1, 10);
  sub = await c.connect(token);
  const [inbox] = await c.subscribe(sub, topic, { x_filter: 'n > 5' });
  const got = [];
  for (let i = 0; i < 5; i++) got.push((await inbox.next('replayed filtered event')).n);
  checkEqual(got, [6, 7, 8, 9, 10], 'events kept for a filtered persistent subscription');
});

scenario('forget', async (c) => {
  const topic = c.uri('forget');
  const pub = await c.connect();
  let sub = await c.connect();
  const token = tokenOf(sub);
  let [inbox, s] = await c.subscribe(sub, topic, { x_persistent: true });
  await within(sub.call('gateway.subscription.forget', [s.id]), STEP_TIMEOUT, 'forget');
  await c.publish(pub, topic, { n: 1 });
  const ev = await inbox.next('event after forget');
  check(ev.n === 1 && ev.seq === undefined, 'after forget: n %s x_seq %s (want no x_seq)', ev.n, ev.seq);
  await expectError(sub.call('gateway.subscription.forget', [s.id]), 'wamp.error.invalid_argument', 'forget twice');
  await sub.quit();
  await c.publish(pub, topic, { n: 2 });
  sub = await c.connect(token);
  [inbox] = await c.subscribe(sub, topic);
  await c.expectOnlyMarker(inbox, pub, topic);
});

scenario('x_persistent_bad_option', async (c) => {
  const sub = await c.connect();
  await expectError(sub.subscribe(c.uri('bad'), () => {}, { x_persistent: 'yes' }), 'wamp.error.invalid_argument',
    'x_persistent = "yes"');
});

scenario('get_events', async (c) => {
  const topic = 'com.interop.history'; // the event class with retention { max_events = 10 }
  const pub = await c.connect();
  const sub = await c.connect();
  const [, s] = await c.subscribe(sub, topic);
  const base = process.pid * 100;
  await c.publishRange(pub, topic, base + 1, base + 12);
  const res = await within(sub.call('wamp.subscription.get_events', [s.id]), STEP_TIMEOUT, 'get_events');
  check(Array.isArray(res), 'get_events returned %s', short(res));
  const ns = res.map((e) => e.kwargs && e.kwargs.n);
  const want = [];
  for (let n = base + 3; n <= base + 12; n++) want.push(n);
  checkEqual(ns, want, 'history (the last 10 events, oldest first)');
});

scenario('get_retained', async (c) => {
  const topic = c.uri('retained');
  const pub = await c.connect();
  await c.publish(pub, topic, { n: 1 }, { retain: true });
  await c.publish(pub, topic, { n: 2 }, { retain: true });
  const sub = await c.connect();
  const [inbox] = await c.subscribe(sub, topic, { get_retained: true });
  const ev = await inbox.next('retained event');
  check(ev.n === 2 && ev.details.retained === true, 'retained event: n %s retained %s', ev.n, ev.details.retained);
  await c.publish(pub, topic, { n: 3 });
  const live = await inbox.next('live event');
  check(live.n === 3 && !live.details.retained, 'live event: n %s retained %s', live.n, live.details.retained);
});

runSuite(`persist-js-websocket/${opts.serializer}`, scenarios, opts, () => new Context());
