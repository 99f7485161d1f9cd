#!/usr/bin/env node
'use strict';
// Interop suite: Autobahn|JS (npm "autobahn") authenticating to the gateway with ticket, JWT, WAMP-CRA and
// cryptosign over WebSocket, and being authorized by role.
//
//   GATEWAY_AUTH_CREDENTIALS='{...}' node auth_suite.js --url ws://127.0.0.1:8080/ws \
//       --realm com.example.auth --serializer json|msgpack|cbor
//
// The Go test interop/auth_test.go starts a gateway whose realm matches what this suite expects and passes
// the credentials in GATEWAY_AUTH_CREDENTIALS (JSON):
//   {"ticket": {"authid", "ticket"}, "wampcra": {"authid", "secret"},
//    "wampcra_salted": {"authid", "password", "salt", "iterations", "keylen"},
//    "cryptosign": {"authid", "privkey" (Ed25519 seed, hex)}, "jwt_secret": "..."}
// Role "user" may publish to com.example.user.* and call wamp.session.get; nothing under
// com.example.device.*; role "device" the other way round. JWTs are signed here with Node's crypto
// (HS256), as a web-app would.
//
// Prints "PASS name" or "FAIL name: detail" per scenario, then a summary line; exits non-zero on failure.

const crypto = require('node:crypto');
const {
  STEP_TIMEOUT, Failure, check, short, within, parseArgs, runSuite,
} = require('./lib/runner'); // installs globalThis.WebSocket before autobahn loads

const { autobahn, SERIALIZERS } = require('./lib/autobahn');
const opts = parseArgs(process.argv.slice(2), Object.keys(SERIALIZERS));
let creds = {};
try {
  creds = JSON.parse(process.env.GATEWAY_AUTH_CREDENTIALS || '');
} catch (e) {
  if (!opts.list) {
    console.log(`FAIL arguments: GATEWAY_AUTH_CREDENTIALS must hold the credentials as JSON: ${e.message}`);
    process.exit(2);
  }
}

const NOT_AUTHORIZED = 'wamp.error.not_authorized';
const AUTHENTICATION_FAILED = 'wamp.error.authentication_failed';

let uriCounter = 0;
function uri(prefix) {
  uriCounter++;
  return `${prefix}${opts.serializer}.${process.pid}.${uriCounter}`;
}

/** Returns an HS256 JWT over claims, signed with secret (what a web-app's PyJWT or jsonwebtoken does). */
function signJWT(claims, secret) {
  const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${crypto.createHmac('sha256', secret).update(input).digest('base64url')}`;
}

class Context {
  constructor() {
    this.conns = [];
  }

  /**
   * Opens a connection with the given auth options (authmethods, authid, authextra, onchallenge) and
   * resolves to {session} on WELCOME or {abort: {reason, message}} on ABORT.
   */
  attempt(auth) {
    const conn = new autobahn.Connection({
      realm: opts.realm,
      max_retries: 0,
      retry_if_unreachable: false,
      transports: [{ type: 'websocket', url: opts.url, serializers: [SERIALIZERS[opts.serializer]()] }],
      ...auth,
    });
    let markClosed;
    const closed = new Promise((resolve) => { markClosed = resolve; });
    const outcome = new Promise((resolve, reject) => {
      let opened = false;
      conn.onopen = (session, details) => {
        opened = true;
        session.welcome = details;
        resolve({ session });
      };
      conn.onclose = (reason, details) => {
        if (!opened) {
          if (details && details.reason) resolve({ abort: { reason: details.reason, message: details.message } });
          else reject(new Failure(`connection ${reason} before WELCOME or ABORT: ${short(details)}`));
        }
        markClosed();
        return true; // never retry
      };
    });
    conn.open();
    this.conns.push({ conn, closed });
    return within(outcome, STEP_TIMEOUT, 'WELCOME or ABORT');
  }

  async join(auth) {
    const res = await this.attempt(auth);
    if (res.abort) throw new Failure(`join refused: ABORT ${res.abort.reason} ${short(res.abort.message)}`);
    return res.session;
  }

  async refused(auth, reason, messagePart) {
    const res = await this.attempt(auth);
    check(res.abort, 'expected ABORT %s, but the session joined as %s/%s', reason,
      res.session && res.session.welcome.authid, res.session && res.session.welcome.authrole);
    check(res.abort.reason === reason, 'ABORT reason %s (message %s), want %s', res.abort.reason,
      short(res.abort.message), reason);
    check(String(res.abort.message).includes(messagePart), 'ABORT message %s does not mention %s',
      short(res.abort.message), short(messagePart));
  }

  async closeAll() {
    for (const { conn, closed } of this.conns) {
      if (conn.isOpen) conn.close();
      await closed;
    }
  }
}

function checkWelcome(session, authid, authrole, authmethod, authprovider) {
  const w = session.welcome;
  const got = [w.authid, w.authrole, w.authmethod, w.authprovider];
  const want = [authid, authrole, authmethod, authprovider];
  check(got.join('|') === want.join('|'), 'WELCOME (authid, authrole, authmethod, authprovider) = %s, want %s',
    short(got), short(want));
  const extra = w.authextra || {};
  check(typeof extra.client_token === 'string' && extra.client_id, 'WELCOME.authextra lacks client_token/client_id: %s',
    short(extra));
}

async function expectDenied(promise, what) {
  let res;
  try {
    res = await within(promise, STEP_TIMEOUT, `ERROR for ${what}`);
  } catch (e) {
    if (e instanceof Failure) throw e;
    check(e instanceof autobahn.Error && e.error === NOT_AUTHORIZED, '%s: got %s, want %s', what, short(e), NOT_AUTHORIZED);
    return;
  }
  throw new Failure(`${what} succeeded (${short(res)}), want ${NOT_AUTHORIZED}`);
}

/**
 * The session's role may publish under own (default: role "user"'s com.example.user.) and call
 * wamp.session.get; nothing under other.
 */
async function allowedAndDenied(session, own = 'com.example.user.', other = 'com.example.device.') {
  await within(session.publish(uri(own), ['hello'], {}, { acknowledge: true }), STEP_TIMEOUT,
    'PUBLISHED to an allowed topic');
  const info = await within(session.call('wamp.session.get', [session.id]), STEP_TIMEOUT, 'wamp.session.get');
  const w = session.welcome;
  check(info.authid === w.authid && info.authrole === w.authrole, 'wamp.session.get says %s, WELCOME said %s/%s',
    short(info), w.authid, w.authrole);
  check(info.client_id === w.authextra.client_id, 'wamp.session.get client_id %s, WELCOME said %s', info.client_id,
    w.authextra.client_id);
  await expectDenied(session.publish(uri(other), ['nope'], {}, { acknowledge: true }), `publish to ${other}*`);
  await expectDenied(session.call(`${other}reboot`), `call ${other}reboot`);
}

/** The doc's WAMP-CRA onchallenge (docs/AUTH.md): derive the key when the challenge is salted. */
function craAnswer(password) {
  return (session, method, extra) => {
    check(method === 'wampcra', 'CHALLENGE for %s, want wampcra', method);
    let key = password;
    if (extra.salt) key = autobahn.auth_cra.derive_key(key, extra.salt, extra.iterations, extra.keylen);
    return autobahn.auth_cra.sign(key, extra.challenge);
  };
}

function jwtAuth(claims, secret) {
  const token = signJWT(claims, secret || creds.jwt_secret);
  return { authmethods: ['ticket'], onchallenge: () => token };
}

function now() {
  return Math.floor(Date.now() / 1000);
}

const scenarios = [];
const scenario = (name, fn) => scenarios.push([name, fn]);

scenario('ticket', async (c) => {
  const { authid, ticket } = creds.ticket;
  const session = await c.join({ authmethods: ['ticket'], authid, onchallenge: () => ticket });
  checkWelcome(session, authid, 'user', 'ticket', 'static');
  await allowedAndDenied(session);
});

scenario('ticket_wrong_secret', async (c) => {
  const { authid, ticket } = creds.ticket;
  await c.refused({ authmethods: ['ticket'], authid, onchallenge: () => `${ticket}x` }, AUTHENTICATION_FAILED,
    'invalid ticket');
});

scenario('jwt', async (c) => {
  // As the doc's browser example: no authid, the token says who it is for.
  const session = await c.join(jwtAuth({
    sub: 'carol', role: 'user', aud: opts.realm, iat: now(), exp: now() + 300, authextra: { plan: 'gold', user_id: 42 },
  }));
  checkWelcome(session, 'carol', 'user', 'ticket', 'jwt');
  const extra = session.welcome.authextra;
  check(extra.plan === 'gold' && extra.user_id === 42, 'WELCOME.authextra %s lacks the token\'s authextra', short(extra));
  await allowedAndDenied(session);
});

scenario('jwt_matching_authid', async (c) => {
  const auth = jwtAuth({ sub: 'carol', role: 'user', aud: opts.realm, exp: now() + 300 });
  const session = await c.join({ ...auth, authid: 'carol' });
  checkWelcome(session, 'carol', 'user', 'ticket', 'jwt');
});

scenario('jwt_other_authid', async (c) => {
  const auth = jwtAuth({ sub: 'carol', role: 'user', aud: opts.realm, exp: now() + 300 });
  await c.refused({ ...auth, authid: 'mallory' }, AUTHENTICATION_FAILED, 'another authid');
});

scenario('jwt_expired', async (c) => {
  await c.refused(jwtAuth({ sub: 'carol', role: 'user', aud: opts.realm, exp: now() - 3600 }), AUTHENTICATION_FAILED,
    'has expired');
});

scenario('jwt_wrong_key', async (c) => {
  const wrong = crypto.randomBytes(32).toString('hex');
  await c.refused(jwtAuth({ sub: 'carol', role: 'user', aud: opts.realm, exp: now() + 300 }, wrong),
    AUTHENTICATION_FAILED, 'signature is invalid');
});

scenario('jwt_other_realm', async (c) => {
  await c.refused(jwtAuth({ sub: 'carol', role: 'user', aud: 'com.example.other', exp: now() + 300 }),
    AUTHENTICATION_FAILED, `is not for realm "${opts.realm}"`);
});

scenario('jwt_undefined_role', async (c) => {
  await c.refused(jwtAuth({ sub: 'carol', role: 'admin', aud: opts.realm, exp: now() + 300 }), NOT_AUTHORIZED,
    'role "admin" is not defined');
});

scenario('wampcra', async (c) => {
  const { authid, secret } = creds.wampcra;
  const session = await c.join({ authmethods: ['wampcra'], authid, onchallenge: craAnswer(secret) });
  checkWelcome(session, authid, 'user', 'wampcra', 'static');
  await allowedAndDenied(session);
});

scenario('wampcra_salted', async (c) => {
  const { authid, password, salt, iterations, keylen } = creds.wampcra_salted;
  let seen;
  const answer = craAnswer(password);
  const session = await c.join({
    authmethods: ['wampcra'], authid,
    onchallenge: (session, method, extra) => { seen = extra; return answer(session, method, extra); },
  });
  checkWelcome(session, authid, 'user', 'wampcra', 'static');
  check(seen.salt === salt && seen.iterations === iterations && seen.keylen === keylen,
    'salted challenge parameters %s', short(seen));
  await allowedAndDenied(session);
});

scenario('wampcra_wrong_secret', async (c) => {
  const { authid, password } = creds.wampcra_salted;
  await c.refused({ authmethods: ['wampcra'], authid, onchallenge: craAnswer(`not ${password}`) },
    AUTHENTICATION_FAILED, 'signature is invalid');
});

scenario('cryptosign', async (c) => {
  // docs/AUTH.md's Autobahn|JS example; tweetnacl comes with autobahn.
  const nacl = require('tweetnacl');
  const { authid, privkey } = creds.cryptosign;
  const key = nacl.sign.keyPair.fromSeed(Uint8Array.from(Buffer.from(privkey, 'hex')));
  const session = await c.join({
    authmethods: ['cryptosign'],
    authextra: { pubkey: autobahn.util.btoh(key.publicKey) },
    onchallenge: (session, method, extra) => autobahn.auth_cryptosign.sign_challenge(key, extra),
  });
  checkWelcome(session, authid, 'device', 'cryptosign', 'static');
  await allowedAndDenied(session, 'com.example.device.', 'com.example.user.');
});

runSuite(`autobahn-js-auth-websocket/${opts.serializer}`, scenarios, opts, () => new Context());
