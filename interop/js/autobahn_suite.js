#!/usr/bin/env node
'use strict';
// Interop suite: drives Autobahn|JS (npm "autobahn") against a WAMP router over WebSocket (ws:// URL, json,
// msgpack or cbor) or RawSocket (rs:// URL; Autobahn|JS speaks only json there).
//
//   node autobahn_suite.js --url ws://127.0.0.1:8080/ws --realm realm1 --serializer json|msgpack|cbor
//   node autobahn_suite.js --url rs://127.0.0.1:8080 --realm realm1 --serializer json
//
// Prints "PASS name" or "FAIL name: detail" per scenario, then a summary line; exits non-zero on failure.

const {
  STEP_TIMEOUT, Failure, check, checkEqual, short, within, sleep, Inbox, parseArgs, runSuite, uniqueURI,
  largePayload,
} = require('./lib/runner'); // installs globalThis.WebSocket before autobahn loads
const { RawCallee } = require('./lib/rawpeer');

const { autobahn, SERIALIZERS } = require('./lib/autobahn');
const opts = parseArgs(process.argv.slice(2), Object.keys(SERIALIZERS));
const target = opts.url ? new URL(opts.url) : null;
const transportName = target && target.protocol.startsWith('ws') ? 'websocket' : 'rawsocket';
if (target && transportName === 'rawsocket' && opts.serializer !== 'json') {
  process.stderr.write('Autobahn|JS supports only json over RawSocket\n');
  process.exit(2);
}

function transportOptions() {
  if (transportName === 'websocket') {
    return { type: 'websocket', url: opts.url, serializers: [SERIALIZERS[opts.serializer]()] };
  }
  return { type: 'rawsocket', host: target.hostname, port: Number(target.port) || 8080 };
}

class Context {
  constructor() {
    this.conns = [];
    this.raw = [];
    this.diagnostics = [];
    this.closing = false;
  }

  uri(name) {
    return uniqueURI('autobahn', opts.serializer, name);
  }

  /** Opens a connection and resolves to its joined session. */
  async connect() {
    const conn = new autobahn.Connection({
      realm: opts.realm,
      max_retries: 0,
      retry_if_unreachable: false,
      transports: [transportOptions()],
    });
    let opened = false;
    let markClosed;
    const closed = new Promise((resolve) => { markClosed = resolve; });
    const joined = new Promise((resolve, reject) => {
      conn.onopen = (session, details) => {
        opened = true;
        session.welcome = details; // WELCOME.Details: authid, authrole, roles
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
    this.conns.push({ conn, closed });
    return within(joined, STEP_TIMEOUT, `session join at ${opts.url}`);
  }

  async rawCallee() {
    const peer = await RawCallee.connect(opts.url, opts.realm);
    this.raw.push(peer);
    return peer;
  }

  async closeAll() {
    this.closing = true;
    for (const { conn, closed } of this.conns) {
      if (conn.isOpen) conn.close();
      await closed;
    }
    for (const peer of this.raw) await peer.close();
  }

  async subscribe(session, topic, name, options) {
    const inbox = new Inbox(name || topic);
    const sub = await within(
      session.subscribe(topic, (args, kwargs, details) => inbox.put({ args, kwargs, details }), options),
      STEP_TIMEOUT, `SUBSCRIBED ${topic}`);
    return [inbox, sub];
  }

  publish(session, topic, args, kwargs, options) {
    return within(session.publish(topic, args, kwargs, { acknowledge: true, ...options }), STEP_TIMEOUT,
      `PUBLISHED ${topic}`);
  }

  /**
   * Publishes a marker after events inbox must not receive, then checks inbox got only the marker.
   * Events of one publisher to one subscriber arrive in order, so once the marker is in, any earlier
   * event that was going to arrive has arrived.
   */
  async expectOnlyMarker(inbox, publisher, topic, options) {
    const marker = `marker-${Date.now()}`;
    await this.publish(publisher, topic, [marker], {}, options);
    const got = await inbox.next(`marker event in ${inbox.name}`);
    checkEqual(got.args, [marker], `${inbox.name}: first event after the excluded ones`);
    const extra = inbox.rest();
    check(extra.length === 0, '%s: unexpected events %s', inbox.name, short(extra));
  }
}

async function expectCallError(promise, uri, what) {
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

scenario('pubsub_args_kwargs', async (c) => {
  const sub = await c.connect();
  const pub = await c.connect();
  const topic = c.uri('pubsub');
  const [inbox] = await c.subscribe(sub, topic);
  const args = [1, 'two', 3.5, true, null, [1, 2], { k: 'v' }];
  const kwargs = { a: 1, b: 'text', nested: { list: [1, 'x'], n: -7 }, unicode: 'grüße ✓' };
  await c.publish(pub, topic, args, kwargs);
  const ev = await inbox.next();
  checkEqual(ev.args, args, 'args');
  checkEqual(ev.kwargs, kwargs, 'kwargs');
  await c.publish(pub, topic);
  const empty = await inbox.next('event without payload');
  checkEqual([empty.args, empty.kwargs], [[], {}], 'empty publish');
});

scenario('publish_acknowledge', async (c) => {
  const pub = await c.connect();
  const topic = c.uri('ack');
  const p1 = await c.publish(pub, topic, [1]);
  const p2 = await c.publish(pub, topic, [2]);
  for (const p of [p1, p2]) {
    check(p && Number.isSafeInteger(p.id) && p.id >= 1, 'publication id must be in [1, 2^53], got %s', short(p));
  }
  check(p1.id !== p2.id, 'two publications got the same id %d', p1.id);
  const unacked = pub.publish(topic, [3]);
  check(unacked === undefined || unacked === null, 'publish without acknowledge returned %s', short(unacked));
});

scenario('exclude_me', async (c) => {
  const pub = await c.connect();
  const other = await c.connect();
  const topic = c.uri('excludeme');
  const [own] = await c.subscribe(pub, topic, "publisher's own subscription");
  const [theirs] = await c.subscribe(other, topic, 'other subscriber');
  await c.publish(pub, topic, ['default']);
  checkEqual((await theirs.next()).args, ['default'], 'other subscriber');
  await c.expectOnlyMarker(own, pub, topic, { exclude_me: false });
  await c.publish(pub, topic, ['mine'], {}, { exclude_me: false });
  checkEqual((await own.next('own event with exclude_me=false')).args, ['mine'], 'publisher');
});

scenario('eligible_exclude', async (c) => {
  const pub = await c.connect();
  const a = await c.connect();
  const b = await c.connect();
  const topic = c.uri('blackwhite');
  const [ia] = await c.subscribe(a, topic, 'session A');
  const [ib] = await c.subscribe(b, topic, 'session B');
  await c.publish(pub, topic, ['for A'], {}, { eligible: [a.id] });
  checkEqual((await ia.next('eligible event at A')).args, ['for A'], 'A');
  await c.expectOnlyMarker(ib, pub, topic, { eligible: [b.id] });
  await c.publish(pub, topic, ['not A'], {}, { exclude: [a.id] });
  checkEqual((await ib.next('event at B')).args, ['not A'], 'B');
  await c.expectOnlyMarker(ia, pub, topic, { eligible: [a.id] });
});

scenario('prefix_subscription', async (c) => {
  const sub = await c.connect();
  const pub = await c.connect();
  const prefix = c.uri('prefix');
  const [inbox] = await c.subscribe(sub, prefix, 'prefix subscription', { match: 'prefix' });
  // WAMP prefix matching is a plain string prefix: "p" matches "p.a", "p.a.b.c", "p" and "p-low".
  for (const actual of [`${prefix}.a`, `${prefix}.a.b.c`, prefix, `${prefix}-low`]) {
    await c.publish(pub, actual, [actual]);
    const ev = await inbox.next(`event for ${actual}`);
    checkEqual(ev.args, [actual], 'event args');
    check(ev.details.topic === actual, 'details.topic: got %s, want %s', ev.details.topic, actual);
  }
  await c.publish(pub, c.uri('elsewhere'), ['no']);
  await c.expectOnlyMarker(inbox, pub, `${prefix}.m`);
});

scenario('wildcard_subscription', async (c) => {
  const sub = await c.connect();
  const pub = await c.connect();
  const base = c.uri('wildcard');
  const [inbox] = await c.subscribe(sub, `${base}..end`, 'wildcard subscription', { match: 'wildcard' });
  const actual = `${base}.middle.end`;
  await c.publish(pub, actual, [1]);
  const ev = await inbox.next(`event for ${actual}`);
  check(ev.details.topic === actual, 'details.topic: got %s, want %s', ev.details.topic, actual);
  for (const miss of [`${base}.middle.other`, `${base}.a.b.end`, `${base}.end`]) {
    await c.publish(pub, miss, ['no']);
  }
  await c.expectOnlyMarker(inbox, pub, `${base}.marker.end`);
});

scenario('unsubscribe', async (c) => {
  const sub = await c.connect();
  const pub = await c.connect();
  const topic = c.uri('unsub');
  const markerTopic = c.uri('unsub.marker');
  const [inbox, subscription] = await c.subscribe(sub, topic);
  await c.publish(pub, topic, [1]);
  await inbox.next();
  await within(sub.unsubscribe(subscription), STEP_TIMEOUT, 'UNSUBSCRIBED');
  check(!subscription.active, 'subscription still active after unsubscribe');
  const [markers] = await c.subscribe(sub, markerTopic, 'markers');
  await c.publish(pub, topic, [2]);
  await c.publish(pub, markerTopic, ['m']);
  await markers.next('marker');
  await c.publish(pub, markerTopic, ['m2']);
  await markers.next('second marker');
  check(inbox.rest().length === 0, 'event delivered after unsubscribe');
});

scenario('x_filter', async (c) => {
  // Content filters through the x_filter SUBSCRIBE option, which Autobahn|JS passes through.
  const sub = await c.connect();
  const pub = await c.connect();
  const topic = c.uri('chat');
  const markerTopic = c.uri('chat.marker');
  const [in42] = await c.subscribe(sub, topic, 'room42', { x_filter: 'room == "42"' });
  const [urgent] = await c.subscribe(sub, topic, 'urgent', { x_filter: 'priority >= 3 && has(room)' });
  for (const [room, priority] of [['41', 1], ['42', 1], ['41', 5], ['42', 5]]) {
    await c.publish(pub, topic, [], { room, priority });
  }
  const pair = (kw) => `${kw.room}/${kw.priority}`; // key order in a dictionary is not significant
  const got42 = [pair((await in42.next('room 42 event')).kwargs), pair((await in42.next('room 42 event')).kwargs)];
  const gotUrgent = [pair((await urgent.next('urgent event')).kwargs), pair((await urgent.next('urgent event')).kwargs)];
  check(got42.join() === '42/1,42/5', 'room 42 filter got %s', got42.join());
  check(gotUrgent.join() === '41/5,42/5', 'urgent filter got %s', gotUrgent.join());
  const [markers] = await c.subscribe(sub, markerTopic, 'markers');
  await c.publish(pub, markerTopic, ['m']);
  await markers.next('marker');
  check(in42.rest().length === 0 && urgent.rest().length === 0, 'events that match no filter were delivered');
  let refused = null;
  try {
    await within(sub.subscribe(topic, () => {}, { x_filter: 'room ==' }), STEP_TIMEOUT, 'ERROR for a bad filter');
  } catch (e) {
    refused = e;
  }
  check(refused && refused.error === 'wamp.error.invalid_argument', 'bad filter: got %s', short(refused));
});

scenario('register_call', async (c) => {
  const callee = await c.connect();
  const caller = await c.connect();
  const proc = c.uri('add');
  const seen = [];
  const reg = await within(callee.register(proc, (args, kwargs) => {
    seen.push(kwargs);
    return args[0] + args[1];
  }), STEP_TIMEOUT, 'REGISTERED');
  const res = await within(caller.call(proc, [20, 22], { note: 'x' }), STEP_TIMEOUT, 'RESULT');
  check(res === 42, 'result: got %s, want 42', short(res));
  checkEqual(seen, [{ note: 'x' }], 'callee kwargs');

  const proc2 = c.uri('multi');
  await within(callee.register(proc2, (args, kwargs) => new autobahn.Result([...args].reverse(),
    Object.fromEntries(Object.entries(kwargs).map(([k, v]) => [k.toUpperCase(), v])))), STEP_TIMEOUT, 'REGISTERED');
  const multi = await within(caller.call(proc2, [1, 'b', [3]], { k: { v: 1 } }), STEP_TIMEOUT, 'RESULT');
  check(multi instanceof autobahn.Result, 'multi-valued result: got %s', short(multi));
  checkEqual([multi.args, multi.kwargs], [[[3], 'b', 1], { K: { v: 1 } }], 'multi-valued result');

  await within(callee.unregister(reg), STEP_TIMEOUT, 'UNREGISTERED');
  await expectCallError(caller.call(proc, [1, 2]), 'wamp.error.no_such_procedure', 'call after unregister');
});

scenario('application_error', async (c) => {
  const callee = await c.connect();
  const caller = await c.connect();
  const proc = c.uri('fails');
  await within(callee.register(proc, () => {
    throw new autobahn.Error('com.example.error.custom', ['bad input', 42], { reason: 'because' });
  }), STEP_TIMEOUT, 'REGISTERED');
  const e = await expectCallError(caller.call(proc, [1]), 'com.example.error.custom', 'failing call');
  checkEqual(e.args, ['bad input', 42], 'error args');
  checkEqual(e.kwargs, { reason: 'because' }, 'error kwargs');
});

scenario('no_such_procedure', async (c) => {
  const caller = await c.connect();
  await expectCallError(caller.call(c.uri('missing'), [1]), 'wamp.error.no_such_procedure',
    'call to an unregistered procedure');
});

scenario('procedure_already_exists', async (c) => {
  const first = await c.connect();
  const second = await c.connect();
  const proc = c.uri('dup');
  await within(first.register(proc, () => 1), STEP_TIMEOUT, 'REGISTERED');
  try {
    await within(second.register(proc, () => 2), STEP_TIMEOUT, 'ERROR for the second REGISTER');
    throw new Failure('second registration of the same procedure succeeded');
  } catch (e) {
    if (e instanceof Failure) throw e;
    check(e.error === 'wamp.error.procedure_already_exists', 'got %s', short(e));
  }
  const res = await within(second.call(proc), STEP_TIMEOUT, 'RESULT');
  check(res === 1, 'the first registration must still be called, got %s', short(res));
});

scenario('progressive_results', async (c) => {
  const callee = await c.connect();
  const caller = await c.connect();
  const proc = c.uri('progress');
  await within(callee.register(proc, async (args, kwargs, details) => {
    if (typeof details.progress !== 'function') {
      throw new autobahn.Error('com.interop.check_failed',
        ['callee: details.progress not set (INVOCATION lacked receive_progress)']);
    }
    for (let i = 1; i <= args[0]; i++) {
      details.progress([i], { step: `s${i}` });
      await sleep(10);
    }
    return 'done';
  }), STEP_TIMEOUT, 'REGISTERED');
  const progress = [];
  const res = await within(caller.call(proc, [3], {}, { receive_progress: true }).then(
    (r) => r, (e) => { throw e; }, (p) => progress.push(p)), STEP_TIMEOUT, 'final RESULT');
  check(res === 'done', 'final result: got %s', short(res));
  checkEqual(progress.map((p) => [p.args, p.kwargs]),
    [[[1], { step: 's1' }], [[2], { step: 's2' }], [[3], { step: 's3' }]], 'progress');
});

scenario('large_payload', async (c) => {
  const callee = await c.connect();
  const caller = await c.connect();
  const payload = largePayload();
  const proc = c.uri('echo');
  const topic = c.uri('large');
  await within(callee.register(proc, (args) => args[0]), STEP_TIMEOUT, 'REGISTERED');
  const res = await within(caller.call(proc, [payload]), 3 * STEP_TIMEOUT, 'RESULT with 512 KiB');
  check(res === payload, 'call round trip: got %d chars, want %d', typeof res === 'string' ? res.length : -1,
    payload.length);
  const [inbox] = await c.subscribe(callee, topic);
  await within(caller.publish(topic, [payload], {}, { acknowledge: true }), 3 * STEP_TIMEOUT, 'PUBLISHED 512 KiB');
  const ev = await inbox.next('512 KiB event');
  check(ev.args.length === 1 && ev.args[0] === payload, 'event round trip: got %d chars, want %d',
    typeof ev.args[0] === 'string' ? ev.args[0].length : -1, payload.length);
});

scenario('meta_session_count_get', async (c) => {
  const a = await c.connect();
  const c1 = await within(a.call('wamp.session.count'), STEP_TIMEOUT, 'wamp.session.count');
  check(Number.isInteger(c1) && c1 >= 1, 'wamp.session.count with one session: got %s', short(c1));
  const b = await c.connect();
  const c2 = await within(a.call('wamp.session.count'), STEP_TIMEOUT, 'wamp.session.count');
  check(c2 === c1 + 1, 'wamp.session.count after a second join: got %s, want %d', short(c2), c1 + 1);
  const info = await within(a.call('wamp.session.get', [b.id]), STEP_TIMEOUT, 'wamp.session.get');
  check(info && typeof info === 'object', 'wamp.session.get: want a dict, got %s', short(info));
  check(info.session === b.id, 'session: got %s, want %d', short(info.session), b.id);
  check(info.authid === b.welcome.authid && typeof info.authid === 'string' && info.authid !== '',
    'authid: got %s, WELCOME said %s', short(info.authid), short(b.welcome.authid));
  check(info.authrole === b.welcome.authrole && typeof info.authrole === 'string' && info.authrole !== '',
    'authrole: got %s, WELCOME said %s', short(info.authrole), short(b.welcome.authrole));
  check(info.transport && typeof info.transport === 'object',
    'transport: want a dict, got %s (keys %s)', short(info.transport), Object.keys(info).join(','));
  await expectCallError(a.call('wamp.session.get', [2 ** 53 - 1]), 'wamp.error.no_such_session',
    'wamp.session.get of an unknown session');
});

scenario('disclose_publisher', async (c) => {
  const sub = await c.connect();
  const pub = await c.connect();
  const topic = c.uri('disclose');
  const [inbox] = await c.subscribe(sub, topic);
  await c.publish(pub, topic, ['hidden']);
  const hidden = await inbox.next();
  check(hidden.details.publisher === undefined || hidden.details.publisher === null,
    'publisher disclosed without disclose_me: %s', short(hidden.details.publisher));
  await c.publish(pub, topic, ['disclosed'], {}, { disclose_me: true });
  const ev = await inbox.next('event with disclose_me');
  check(ev.details.publisher === pub.id, 'details.publisher: got %s, want %d', short(ev.details.publisher), pub.id);
});

scenario('disclose_caller', async (c) => {
  const callee = await c.connect();
  const caller = await c.connect();
  const proc = c.uri('whocalls');
  await within(callee.register(proc, (args, kwargs, details) => details.caller === undefined ? null : details.caller),
    STEP_TIMEOUT, 'REGISTERED');
  const hidden = await within(caller.call(proc, [], {}, { disclose_me: false }), STEP_TIMEOUT, 'RESULT');
  check(hidden === null, 'caller disclosed without disclose_me: %s', short(hidden));
  const disclosed = await within(caller.call(proc, [], {}, { disclose_me: true }), STEP_TIMEOUT, 'RESULT');
  check(disclosed === caller.id, 'details.caller: got %s, want %d', short(disclosed), caller.id);
});

scenario('call_timeout', async (c) => {
  const caller = await c.connect();
  const callee = await c.connect(); // Autobahn|JS callee: no call_canceling, so the dealer skips INTERRUPT
  const raw = await c.rawCallee(); // announces call_canceling: gets INTERRUPT
  const proc = c.uri('slow');
  const rawProc = c.uri('slow.raw');
  let invoked = 0;
  await within(callee.register(proc, () => { invoked++; return new Promise(() => {}); }), STEP_TIMEOUT, 'REGISTERED');
  await raw.register(rawProc);
  // gateway answers a dealer-side call timeout with wamp.error.canceled and puts wamp.error.timeout
  // in Details.reason (docs/WAMP.md, "Call timeout and cancel outcomes").
  await expectCallError(caller.call(proc, [], {}, { timeout: 300 }), 'wamp.error.canceled', 'call with timeout 300ms');
  check(invoked === 1, 'callee invoked %d times, want 1', invoked);
  // A callee that did not announce call_canceling must not get INTERRUPT (Autobahn|JS would close).
  const n = await within(callee.call('wamp.session.count'), STEP_TIMEOUT, 'RESULT at the Autobahn|JS callee');
  check(Number.isInteger(n), 'callee session unusable after the timeout: %s', short(n));
  await expectCallError(caller.call(rawProc, [], {}, { timeout: 300 }), 'wamp.error.canceled',
    'call with timeout 300ms (raw callee)');
  const inv = await raw.invocations.next('INVOCATION at the raw callee');
  const interrupt = await raw.interrupts.next('INTERRUPT at the raw callee after the timeout');
  check(interrupt.request === inv.request, 'INTERRUPT for request %d, want %d', interrupt.request, inv.request);
});

scenario('cancel', async (c) => {
  const caller = await c.connect();
  const raw = await c.rawCallee();
  const proc = c.uri('cancel');
  await raw.register(proc);
  const call = caller.call(proc, ['x']);
  const inv = await raw.invocations.next('INVOCATION');
  // Autobahn|JS waits for the router's ERROR only in "kill" mode (other modes reject locally, and the
  // router's later ERROR then counts as a protocol violation in Autobahn|JS).
  call.cancel({ mode: 'kill' });
  await expectCallError(call, 'wamp.error.canceled', 'canceled call');
  const interrupt = await raw.interrupts.next('INTERRUPT at the callee');
  check(interrupt.request === inv.request, 'INTERRUPT for request %d, want %d', interrupt.request, inv.request);
  const n = await within(caller.call('wamp.session.count'), STEP_TIMEOUT, 'RESULT after cancel');
  check(Number.isInteger(n), 'wamp.session.count after cancel: %s', short(n));
});

runSuite(`autobahn-js-${transportName}/${opts.serializer}`, scenarios, opts, () => new Context());
