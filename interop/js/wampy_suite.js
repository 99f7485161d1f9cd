#!/usr/bin/env node
'use strict';
// Interop suite: drives wampy (npm "wampy") against a WAMP router over WebSocket.
//
//   node wampy_suite.js --url ws://127.0.0.1:8080/ws --realm realm1 --serializer json|msgpack|cbor
//
// Prints "PASS name" or "FAIL name: detail" per scenario, then a summary line; exits non-zero on failure.

const {
  STEP_TIMEOUT, Failure, check, checkEqual, short, within, Inbox, parseArgs, runSuite, uniqueURI,
  largePayload,
} = require('./lib/runner');
const { RawCallee } = require('./lib/rawpeer');
const WebSocket = require('ws');
const { Wampy } = require('wampy');
const { JsonSerializer } = require('wampy/JsonSerializer.js');
const { MsgpackSerializer } = require('wampy/MsgpackSerializer.js');
const { CborSerializer } = require('wampy/CborSerializer.js');

const SERIALIZERS = {
  json: () => new JsonSerializer(),
  msgpack: () => new MsgpackSerializer(),
  cbor: () => new CborSerializer(),
};
const opts = parseArgs(process.argv.slice(2), Object.keys(SERIALIZERS));

/** wampy's msgpack serializer (msgpackr) decodes 64-bit integers, such as most WAMP ids, as BigInt. */
function id(v) {
  return typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Normalises wampy's {argsList, argsDict, details} (absent parts are undefined) for comparisons. */
function payloadOf(d) {
  return { args: d.argsList || [], kwargs: d.argsDict || {}, details: d.details || {} };
}

class Context {
  constructor() {
    this.clients = [];
    this.raw = [];
    this.diagnostics = [];
  }

  uri(name) {
    return uniqueURI('wampy', opts.serializer, name);
  }

  /** Connects a new wampy client and resolves to it once joined; client.welcome holds WELCOME.Details. */
  async connect() {
    const errors = [];
    const client = new Wampy(opts.url, {
      realm: opts.realm,
      ws: WebSocket,
      serializer: SERIALIZERS[opts.serializer](),
      autoReconnect: false,
      onError: (e) => errors.push(e),
      debug: true,
      // Keeps what explains a lost session: the router's ABORT or an unexpected GOODBYE.
      logger: ([what, msg]) => {
        if (what === 'websocket message received: ' && Array.isArray(msg) &&
            (msg[0] === 3 || (msg[0] === 6 && msg[2] !== 'wamp.close.goodbye_and_out'))) {
          this.diagnostics.push(`router sent ${msg[0] === 3 ? 'ABORT' : 'GOODBYE'}: ${short(msg)}`);
        }
      },
    });
    this.clients.push(client);
    try {
      client.welcome = await within(client.connect(), STEP_TIMEOUT, `session join at ${opts.url}`);
    } catch (e) {
      throw new Failure(`connect: ${short(e)} ${errors.length ? short(errors) : ''}`);
    }
    return client;
  }

  async rawCallee() {
    const peer = await RawCallee.connect(opts.url, opts.realm);
    this.raw.push(peer);
    return peer;
  }

  async closeAll() {
    for (const client of this.clients) {
      if (client.getSessionId()) {
        try {
          await within(client.disconnect(), STEP_TIMEOUT, 'GOODBYE');
        } catch (e) {
          process.stderr.write(`DIAG disconnect: ${short(e)}\n`);
        }
      }
    }
    for (const peer of this.raw) await peer.close();
  }

  async subscribe(client, topic, name, options) {
    const inbox = new Inbox(name || topic);
    const res = await within(client.subscribe(topic, (d) => inbox.put(payloadOf(d)), options), STEP_TIMEOUT,
      `SUBSCRIBED ${topic}`);
    return [inbox, res];
  }

  /** wampy always publishes with acknowledge=true and resolves on PUBLISHED. */
  publish(client, topic, args, kwargs, options) {
    const payload = {};
    if (args) payload.argsList = args;
    if (kwargs) payload.argsDict = kwargs;
    return within(client.publish(topic, (args || kwargs) ? payload : undefined, options), STEP_TIMEOUT,
      `PUBLISHED ${topic}`);
  }

  async expectOnlyMarker(inbox, publisher, topic, options) {
    const marker = `marker-${Date.now()}`;
    await this.publish(publisher, topic, [marker], undefined, options);
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
    // wampy's WampError subclasses carry the error URI in errorUri.
    check(e && e.errorUri === uri, '%s: got %s %s, want error %s', what, e && e.errorUri, short(e && e.argsList),
      uri);
    return e;
  }
}

/** An error a wampy RPC handler throws: wampy sends ERROR with its error URI and payload. */
function wampError(error, argsList, argsDict) {
  return { error, argsList, argsDict, details: {} };
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
    check(p && Number.isSafeInteger(id(p.publicationId)) && id(p.publicationId) >= 1,
      'publication id must be in [1, 2^53], got %s', short(p));
  }
  check(id(p1.publicationId) !== id(p2.publicationId), 'two publications got the same id %s', p1.publicationId);
});

scenario('exclude_me', async (c) => {
  // wampy 8 sends exclude_me only when it is true, so it cannot ask for its own events (exclude_me=false):
  // this checks the default only.
  const pub = await c.connect();
  const other = await c.connect();
  const topic = c.uri('excludeme');
  const [own] = await c.subscribe(pub, topic, "publisher's own subscription");
  const [theirs] = await c.subscribe(other, topic, 'other subscriber');
  await c.publish(pub, topic, ['default']);
  checkEqual((await theirs.next()).args, ['default'], 'other subscriber');
  // Barrier: a later round trip on the publisher's session; an event for it would have been queued first.
  await within(pub.call('wamp.session.count'), STEP_TIMEOUT, 'wamp.session.count');
  check(own.rest().length === 0, 'the publisher received its own event although exclude_me defaults to true');
});

scenario('eligible_exclude', async (c) => {
  const pub = await c.connect();
  const a = await c.connect();
  const b = await c.connect();
  const topic = c.uri('blackwhite');
  const [ia] = await c.subscribe(a, topic, 'session A');
  const [ib] = await c.subscribe(b, topic, 'session B');
  await c.publish(pub, topic, ['for A'], undefined, { eligible: [a.getSessionId()] });
  checkEqual((await ia.next('eligible event at A')).args, ['for A'], 'A');
  await c.expectOnlyMarker(ib, pub, topic, { eligible: [b.getSessionId()] });
  await c.publish(pub, topic, ['not A'], undefined, { exclude: [a.getSessionId()] });
  checkEqual((await ib.next('event at B')).args, ['not A'], 'B');
  await c.expectOnlyMarker(ia, pub, topic, { eligible: [a.getSessionId()] });
});

scenario('prefix_subscription', async (c) => {
  const sub = await c.connect();
  const pub = await c.connect();
  const prefix = c.uri('prefix');
  const [inbox] = await c.subscribe(sub, prefix, 'prefix subscription', { match: 'prefix' });
  // WAMP prefix matching is a plain string prefix. (wampy's strict URI check rejects "p-low".)
  for (const actual of [`${prefix}.a`, `${prefix}.a.b.c`, prefix, `${prefix}_low`]) {
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
  const [inbox, res] = await c.subscribe(sub, topic);
  await c.publish(pub, topic, [1]);
  await inbox.next();
  await within(sub.unsubscribe(res.subscriptionKey), STEP_TIMEOUT, 'UNSUBSCRIBED');
  const [markers] = await c.subscribe(sub, markerTopic, 'markers');
  await c.publish(pub, topic, [2]);
  await c.publish(pub, markerTopic, ['m']);
  await markers.next('marker');
  await c.publish(pub, markerTopic, ['m2']);
  await markers.next('second marker');
  check(inbox.rest().length === 0, 'event delivered after unsubscribe');
});

scenario('register_call', async (c) => {
  const callee = await c.connect();
  const caller = await c.connect();
  const proc = c.uri('add');
  const seen = [];
  await within(callee.register(proc, (d) => {
    seen.push(d.argsDict);
    return { argsList: [d.argsList[0] + d.argsList[1]] };
  }), STEP_TIMEOUT, 'REGISTERED');
  const res = await within(caller.call(proc, { argsList: [20, 22], argsDict: { note: 'x' } }), STEP_TIMEOUT, 'RESULT');
  checkEqual(res.argsList, [42], 'result');
  checkEqual(seen, [{ note: 'x' }], 'callee kwargs');

  const proc2 = c.uri('multi');
  await within(callee.register(proc2, (d) => ({
    argsList: [...d.argsList].reverse(),
    argsDict: Object.fromEntries(Object.entries(d.argsDict).map(([k, v]) => [k.toUpperCase(), v])),
  })), STEP_TIMEOUT, 'REGISTERED');
  const multi = await within(caller.call(proc2, { argsList: [1, 'b', [3]], argsDict: { k: { v: 1 } } }),
    STEP_TIMEOUT, 'RESULT');
  checkEqual([multi.argsList, multi.argsDict], [[[3], 'b', 1], { K: { v: 1 } }], 'multi-valued result');

  await within(callee.unregister(proc), STEP_TIMEOUT, 'UNREGISTERED');
  await expectCallError(caller.call(proc, [1, 2]), 'wamp.error.no_such_procedure', 'call after unregister');
});

scenario('application_error', async (c) => {
  const callee = await c.connect();
  const caller = await c.connect();
  const proc = c.uri('fails');
  await within(callee.register(proc, () => {
    throw wampError('com.example.error.custom', ['bad input', 42], { reason: 'because' });
  }), STEP_TIMEOUT, 'REGISTERED');
  const e = await expectCallError(caller.call(proc, [1]), 'com.example.error.custom', 'failing call');
  checkEqual(e.argsList, ['bad input', 42], 'error args');
  checkEqual(e.argsDict, { reason: 'because' }, 'error kwargs');
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
  await within(first.register(proc, () => ({ argsList: [1] })), STEP_TIMEOUT, 'REGISTERED');
  try {
    await within(second.register(proc, () => ({ argsList: [2] })), STEP_TIMEOUT, 'ERROR for the second REGISTER');
    throw new Failure('second registration of the same procedure succeeded');
  } catch (e) {
    if (e instanceof Failure) throw e;
    check(e.errorUri === 'wamp.error.procedure_already_exists', 'got %s', e.errorUri || short(e));
  }
  const res = await within(second.call(proc), STEP_TIMEOUT, 'RESULT');
  checkEqual(res.argsList, [1], 'the first registration must still be called');
});

scenario('progressive_results', async (c) => {
  // wampy's callee does not announce progressive_call_results, so a raw callee sends the progress.
  const caller = await c.connect();
  const raw = await c.rawCallee();
  const proc = c.uri('progress');
  await raw.register(proc);
  const progress = [];
  const call = caller.call(proc, { argsList: [3] }, {
    progress_callback: (p) => progress.push([p.argsList, p.argsDict]),
  });
  const inv = await raw.invocations.next('INVOCATION at the raw callee');
  check(inv.details.receive_progress === true, 'INVOCATION.Details.receive_progress: got %s',
    short(inv.details.receive_progress));
  for (let i = 1; i <= 3; i++) raw.yield(inv.request, [i], { step: `s${i}` }, { progress: true });
  raw.yield(inv.request, ['done']);
  const res = await within(call, STEP_TIMEOUT, 'final RESULT');
  checkEqual(res.argsList, ['done'], 'final result');
  checkEqual(progress, [[[1], { step: 's1' }], [[2], { step: 's2' }], [[3], { step: 's3' }]], 'progress');
});

scenario('large_payload', async (c) => {
  const callee = await c.connect();
  const caller = await c.connect();
  const payload = largePayload();
  const proc = c.uri('echo');
  const topic = c.uri('large');
  await within(callee.register(proc, (d) => ({ argsList: d.argsList })), STEP_TIMEOUT, 'REGISTERED');
  const res = await within(caller.call(proc, { argsList: [payload] }), 3 * STEP_TIMEOUT, 'RESULT with 512 KiB');
  check(res.argsList && res.argsList[0] === payload, 'call round trip: got %d chars, want %d',
    res.argsList && typeof res.argsList[0] === 'string' ? res.argsList[0].length : -1, payload.length);
  const [inbox] = await c.subscribe(callee, topic);
  await within(caller.publish(topic, { argsList: [payload] }), 3 * STEP_TIMEOUT, 'PUBLISHED 512 KiB');
  const ev = await inbox.next('512 KiB event');
  check(ev.args.length === 1 && ev.args[0] === payload, 'event round trip: got %d chars, want %d',
    typeof ev.args[0] === 'string' ? ev.args[0].length : -1, payload.length);
});

scenario('meta_session_count_get', async (c) => {
  const a = await c.connect();
  const c1 = (await within(a.call('wamp.session.count'), STEP_TIMEOUT, 'wamp.session.count')).argsList[0];
  check(Number.isInteger(c1) && c1 >= 1, 'wamp.session.count with one session: got %s', short(c1));
  const b = await c.connect();
  const c2 = (await within(a.call('wamp.session.count'), STEP_TIMEOUT, 'wamp.session.count')).argsList[0];
  check(c2 === c1 + 1, 'wamp.session.count after a second join: got %s, want %d', short(c2), c1 + 1);
  const res = await within(a.call('wamp.session.get', [b.getSessionId()]), STEP_TIMEOUT, 'wamp.session.get');
  const info = res.argsList && res.argsList[0];
  check(info && typeof info === 'object', 'wamp.session.get: want a dict, got %s', short(res));
  check(id(info.session) === id(b.getSessionId()), 'session: got %s, want %s', short(info.session),
    b.getSessionId());
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
  check(hidden.details.publisher === undefined, 'publisher disclosed without disclose_me: %s',
    short(hidden.details.publisher));
  await c.publish(pub, topic, ['disclosed'], undefined, { disclose_me: true });
  const ev = await inbox.next('event with disclose_me');
  check(id(ev.details.publisher) === id(pub.getSessionId()), 'details.publisher: got %s, want %s',
    short(ev.details.publisher), pub.getSessionId());
});

scenario('disclose_caller', async (c) => {
  const callee = await c.connect();
  const caller = await c.connect();
  const proc = c.uri('whocalls');
  await within(callee.register(proc, (d) => ({ argsList: [d.details.caller === undefined ? null : d.details.caller] })),
    STEP_TIMEOUT, 'REGISTERED');
  const hidden = await within(caller.call(proc), STEP_TIMEOUT, 'RESULT');
  checkEqual(hidden.argsList, [null], 'caller disclosed without disclose_me');
  const disclosed = await within(caller.call(proc, undefined, { disclose_me: true }), STEP_TIMEOUT, 'RESULT');
  checkEqual(disclosed.argsList.map(id), [id(caller.getSessionId())], 'details.caller');
});

scenario('call_timeout', async (c) => {
  const caller = await c.connect();
  const callee = await c.connect(); // wampy callee: no call_canceling, so the dealer skips INTERRUPT
  const raw = await c.rawCallee(); // announces call_canceling: gets INTERRUPT
  const proc = c.uri('slow');
  const rawProc = c.uri('slow.raw');
  let invoked = 0;
  await within(callee.register(proc, () => { invoked++; return new Promise(() => {}); }), STEP_TIMEOUT, 'REGISTERED');
  await raw.register(rawProc);
  // gateway answers a dealer-side call timeout with wamp.error.canceled and puts wamp.error.timeout
  // in Details.reason (docs/WAMP.md, "Call timeout and cancel outcomes").
  await expectCallError(caller.call(proc, undefined, { timeout: 300 }), 'wamp.error.canceled', 'call with timeout 300ms');
  check(invoked === 1, 'callee invoked %d times, want 1', invoked);
  await expectCallError(caller.call(rawProc, undefined, { timeout: 300 }), 'wamp.error.canceled',
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
  for (const mode of ['kill', 'killnowait', 'skip']) {
    const call = caller.call(proc, [mode]);
    const reqId = caller.getOpStatus().reqId;
    const inv = await raw.invocations.next(`INVOCATION (${mode})`);
    check(caller.cancel(reqId, { mode }), 'cancel(%s) refused: %s', mode, short(caller.getOpStatus()));
    await expectCallError(call, 'wamp.error.canceled', `canceled call (mode ${mode})`);
    if (mode === 'skip') continue;
    const interrupt = await raw.interrupts.next(`INTERRUPT (${mode})`);
    check(interrupt.request === inv.request, '%s: INTERRUPT for request %d, want %d', mode, interrupt.request,
      inv.request);
  }
  const n = await within(caller.call('wamp.session.count'), STEP_TIMEOUT, 'RESULT after cancel');
  check(Number.isInteger(n.argsList[0]), 'wamp.session.count after cancel: %s', short(n));
  check(raw.interrupts.rest().length === 0, 'INTERRUPT sent in mode skip');
});

runSuite(`wampy-websocket/${opts.serializer}`, scenarios, opts, () => new Context());
