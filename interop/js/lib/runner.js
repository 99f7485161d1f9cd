'use strict';
// Shared scenario runner for the Node interop suites: argument parsing, assertions, timeouts, and the
// PASS/FAIL line protocol the Go harness reads ("PASS name" / "FAIL name: detail", then a summary line).

const assert = require('node:assert');
const util = require('node:util');

// Node 20 has no global WebSocket; Autobahn|JS 26 uses the global one (Node 22+ and browsers).
if (typeof globalThis.WebSocket === 'undefined') {
  globalThis.WebSocket = require('ws');
}

const STEP_TIMEOUT = 5000; // ms to wait for one expected message
const SCENARIO_TIMEOUT = 20000; // ms for one scenario, including connects and closes

/** A scenario's expectation did not hold. */
class Failure extends Error {}

function check(cond, fmt, ...args) {
  if (!cond) throw new Failure(util.format(fmt, ...args));
}

/** Fails unless got deep-equals want (strictly). */
function checkEqual(got, want, what) {
  try {
    assert.deepStrictEqual(got, want);
  } catch (e) {
    throw new Failure(`${what}: got ${short(got)}, want ${short(want)}`);
  }
}

function short(v, limit = 300) {
  let s;
  try {
    s = util.inspect(v, { depth: 6, breakLength: Infinity });
  } catch (e) {
    s = String(v);
  }
  return s.length <= limit ? s : `${s.slice(0, limit)}...(${s.length} chars)`;
}

/** Resolves like promise, or rejects with a Failure after ms. */
function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Failure(`timed out after ${ms}ms waiting for ${what}`)), ms);
  });
  return Promise.race([Promise.resolve(promise), timeout]).finally(() => clearTimeout(timer));
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Collects items (events, progress results, invocations) and lets a scenario await them in order. */
class Inbox {
  constructor(name) {
    this.name = name;
    this.items = [];
    this.taken = 0;
    this.waiter = null;
  }

  put(item) {
    this.items.push(item);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w();
    }
  }

  /** Returns the next item not yet taken, waiting up to STEP_TIMEOUT for it. */
  async next(what) {
    while (this.taken >= this.items.length) {
      await within(new Promise((resolve) => { this.waiter = resolve; }), STEP_TIMEOUT,
        what || `next item in ${this.name}`);
    }
    return this.items[this.taken++];
  }

  /** Returns the items not yet taken, and takes them. */
  rest() {
    const items = this.items.slice(this.taken);
    this.taken = this.items.length;
    return items;
  }
}

function parseArgs(argv, serializers) {
  const opts = { url: null, realm: 'realm1', serializer: 'json', timeout: 60, only: [], list: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`missing value for ${a}`);
      return argv[++i];
    };
    if (a === '--url') opts.url = value();
    else if (a === '--realm') opts.realm = value();
    else if (a === '--serializer') opts.serializer = value();
    else if (a === '--timeout') opts.timeout = Number(value());
    else if (a === '--only') opts.only.push(...value().split(','));
    else if (a === '--list') opts.list = true;
    else usage(`unknown argument ${a}`);
  }
  if (!opts.list && !opts.url) usage('--url is required');
  if (!serializers.includes(opts.serializer)) usage(`--serializer must be one of ${serializers.join(', ')}`);
  if (!(opts.timeout > 0)) usage('--timeout must be a positive number of seconds');
  return opts;
}

function usage(msg) {
  process.stderr.write(`${msg}\nusage: node SUITE.js --url ws://127.0.0.1:8080/ws [--realm realm1] ` +
    '[--serializer json|msgpack|cbor] [--timeout 60] [--only name,name] [--list]\n');
  process.exit(2);
}

/**
 * Runs the scenarios in order and exits the process: 0 when all passed, 1 when one failed, 2 on the
 * overall timeout. newContext() returns a fresh context per scenario with an async closeAll() and
 * optionally diagnostics, a list of lines printed under a failed scenario.
 */
async function runSuite(label, scenarios, opts, newContext) {
  if (opts.list) {
    process.stdout.write(scenarios.map(([name]) => name).join('\n') + '\n');
    process.exit(0);
  }
  const known = new Set(scenarios.map(([name]) => name));
  const unknown = opts.only.filter((n) => !known.has(n));
  if (unknown.length) {
    console.log(`FAIL arguments: unknown scenarios ${unknown.join(', ')}`);
    process.exit(1);
  }
  let current = 'start-up';
  const watchdog = setTimeout(() => {
    console.log(`FAIL ${current}: overall timeout of ${opts.timeout}s exceeded`);
    process.exit(2);
  }, opts.timeout * 1000);
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`DIAG unhandled rejection during ${current}: ${short(reason, 1000)}\n`);
  });

  let passed = 0;
  let failed = 0;
  for (const [name, fn] of scenarios) {
    if (opts.only.length && !opts.only.includes(name)) continue;
    current = name;
    const ctx = newContext();
    try {
      await within(fn(ctx), SCENARIO_TIMEOUT, `scenario ${name}`);
      passed++;
      console.log(`PASS ${name}`);
    } catch (e) {
      failed++;
      const uri = e && (e.errorUri || (typeof e.error === 'string' ? e.error : undefined));
      if (e instanceof Failure) {
        console.log(`FAIL ${name}: ${e.message}`);
      } else if (uri) {
        // A WAMP error (Autobahn|JS: error/args/kwargs; wampy: errorUri/argsList/argsDict).
        console.log(`FAIL ${name}: unexpected WAMP error ${uri} args=${short(e.args || e.argsList)} ` +
          `kwargs=${short(e.kwargs || e.argsDict)}`);
      } else {
        const stack = String((e && e.stack) || '').split('\n').slice(1, 6).join('\n    ');
        console.log(`FAIL ${name}: unexpected ${short(e, 1000)}${stack ? '\n    ' + stack : ''}`);
      }
      // Sessions the router ended during the scenario (ABORT, unexpected GOODBYE or close) explain
      // most "connection closed" failures.
      for (const line of ctx.diagnostics || []) console.log(`    ${line}`);
    } finally {
      try {
        await within(ctx.closeAll(), STEP_TIMEOUT, 'closing sessions');
      } catch (e) {
        process.stderr.write(`DIAG ${name}: ${e.message}\n`);
      }
    }
  }
  clearTimeout(watchdog);
  console.log(`${label}: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

/** Returns a URI unique to this process and call, so concurrent runs never share topics. */
let uriCounter = 0;
function uniqueURI(lib, serializer, name) {
  uriCounter++;
  return `com.interop.${lib}.${name}.${serializer}.${process.pid}.${uriCounter}`;
}

/** A 512 KiB printable ASCII string. */
function largePayload() {
  const size = 512 * 1024;
  const chars = new Array(size);
  for (let i = 0; i < size; i++) chars[i] = String.fromCharCode(0x21 + ((i * 7919) % 90));
  return chars.join('');
}

module.exports = {
  STEP_TIMEOUT, Failure, check, checkEqual, short, within, sleep, Inbox, parseArgs, runSuite, uniqueURI,
  largePayload,
};
