#!/usr/bin/python3
"""Interop suite: persistent subscriptions with AutobahnPython (Twisted), one step per run.

AutobahnPython cannot add options to SUBSCRIBE, so it makes a subscription persistent with the
procedure gateway.subscription.persist, and comes back as the same client by presenting its client
identity token in HELLO.Details.authextra.client_token (docs/PERSISTENCE.md, docs/AUTH.md). The Go
test interop/persist_test.go runs the steps against gateways it starts, restarts and kills:

    persist_suite.py --url URL --step persist --state FILE --topic T
        a new client subscribes to T, makes the subscription persistent, saves its token in FILE
        and leaves;
    persist_suite.py --url URL --step publish --topic T --from A --to B [--progress]
        publishes n = A..B to T with acknowledge (up to --window unacknowledged at a time); with
        --progress it prints "ACKED n" for every acknowledged publication, as it comes;
    persist_suite.py --url URL --step resume --state FILE --topic T --from A --to B --live K [--acked FILE]
        the client of FILE comes back and subscribes to T again (no options): it must receive
        n = A..B in order, exactly once, each with its sequence number (EVENT.Details.x_seq,
        consecutive), then K live events published after it; with --acked, a file of "ACKED n"
        lines, it must instead receive at least every acknowledged n (a gateway killed while
        publishing may have stored a few whose PUBLISHED was lost), in increasing order, once each.

Prints "PASS name" / "FAIL name: detail" lines and a summary line, like wamp_suite.py.
"""

import argparse
import os
import sys
import traceback
from urllib.parse import urlparse

from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint

from autobahn.twisted.rawsocket import WampRawSocketClientFactory
from autobahn.twisted.websocket import WampWebSocketClientFactory
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import ComponentConfig, PublishOptions, SubscribeOptions

from wamp_suite import SERIALIZERS, STEP_TIMEOUT, Client, Failure, Inbox, check, sleep, within

EVENT = 36  # WAMP message type code


class TokenClient(Client):
    """A session that presents a client token (when it has one) and records each EVENT's x_seq.

    AutobahnPython hands event handlers only the Details it knows; the sequence numbers are read from
    the raw messages, by publication id, as the serializer decodes them.
    """

    def __init__(self, config, joined, gone, diagnostics, token):
        Client.__init__(self, config, joined, gone, diagnostics)
        self.token = token

    def onConnect(self):
        extra = {"client_token": self.token} if self.token else None
        self.join(self.config.realm, authextra=extra)


def capture_seqs(serializer, seqs):
    """Wraps serializer so that seqs[publication] = Details.x_seq for every EVENT it decodes."""
    inner = serializer._serializer
    decode = inner.unserialize

    def unserialize(payload):
        msgs = decode(payload)
        for m in msgs:
            if isinstance(m, list) and len(m) > 3 and m[0] == EVENT and isinstance(m[3], dict):
                seqs[m[2]] = m[3].get("x_seq")
        return msgs

    inner.unserialize = unserialize


class Steps:
    def __init__(self, args):
        self.args = args
        u = urlparse(args.url)
        self.transport = "websocket" if u.scheme in ("ws", "wss") else "rawsocket"
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or 8080
        self.sessions = []
        self.diagnostics = []
        self.seqs = {}

    async def connect(self, token=None):
        joined, gone = defer.Deferred(), defer.Deferred()
        config = ComponentConfig(realm=self.args.realm)

        def make():
            return TokenClient(config, joined, gone, self.diagnostics, token)

        ser = SERIALIZERS[self.args.serializer]()
        capture_seqs(ser, self.seqs)
        if self.transport == "websocket":
            factory = WampWebSocketClientFactory(make, url=self.args.url, serializers=[ser])
        else:
            factory = WampRawSocketClientFactory(make, serializer=ser)

        def failed(reason):
            if not joined.called:
                joined.errback(Failure("cannot connect to %s: %s" % (self.args.url, reason.getErrorMessage())))

        TCP4ClientEndpoint(reactor, self.host, self.port, timeout=STEP_TIMEOUT).connect(factory).addErrback(failed)
        session = await within(joined, STEP_TIMEOUT, "session join at " + self.args.url)
        self.sessions.append(session)
        return session

    async def leave(self, session):
        session.leaving = True
        if session.is_attached():
            session.leave()
        await within(session.gone, STEP_TIMEOUT, "session close")

    async def close_all(self):
        for s in self.sessions:
            try:
                await self.leave(s)
            except Exception:
                if s._transport is not None:
                    s._transport.close()
        self.sessions = []

    async def subscribe(self, session, topic):
        inbox = Inbox(topic)

        def on_event(*args, **kwargs):
            details = kwargs.pop("details")
            inbox.put((kwargs.get("n"), self.seqs.get(details.publication), details.publication))

        sub = await within(session.subscribe(on_event, topic, options=SubscribeOptions(details=True)),
                           STEP_TIMEOUT, "SUBSCRIBED " + topic)
        return inbox, sub

    async def publish_range(self, session, first, last, progress=False):
        """Publishes n = first..last with acknowledge, keeping up to --window outstanding."""
        outstanding = []
        for n in range(first, last + 1):
            d = session.publish(self.args.topic, n=n, options=PublishOptions(acknowledge=True))
            if progress:
                d.addCallback(lambda _, n=n: print("ACKED %d" % n, flush=True))
            outstanding.append(d)
            if len(outstanding) >= self.args.window:
                await within(outstanding.pop(0), STEP_TIMEOUT, "PUBLISHED")
        for d in outstanding:
            await within(d, STEP_TIMEOUT, "PUBLISHED")


async def step_persist(s, results):
    session = await s.connect()
    token = (session.welcome.authextra or {}).get("client_token")
    check(token, "no client token in WELCOME.Details.authextra: %r", session.welcome.authextra)
    _, sub = await s.subscribe(session, s.args.topic)
    res = await within(session.call("gateway.subscription.persist", sub.id), STEP_TIMEOUT, "persist result")
    check(isinstance(res, dict) and isinstance(res.get("seq"), int), "gateway.subscription.persist returned %r", res)
    results.append("persist")
    try:
        await within(session.call("gateway.subscription.persist", 2 ** 53), STEP_TIMEOUT, "ERROR")
    except ApplicationError as e:
        check(e.error == "wamp.error.no_such_subscription", "persist of an unknown subscription: %s", e.error)
    else:
        raise Failure("persist of an unknown subscription succeeded")
    results.append("persist_unknown_subscription")
    with open(s.args.state, "w") as f:
        f.write(token)
    await s.leave(session)


async def step_publish(s, results):
    session = await s.connect()
    await s.publish_range(session, s.args.first, s.args.last, progress=s.args.progress)
    results.append("publish")


async def step_resume(s, results):
    with open(s.args.state) as f:
        token = f.read().strip()
    session = await s.connect(token)
    got = (session.welcome.authextra or {}).get("client_token")
    check(got == token, "the gateway did not recognise the client token (got %r)", got)
    inbox, _ = await s.subscribe(session, s.args.topic)
    first, last = s.args.first, s.args.last
    if s.args.acked:
        with open(s.args.acked) as f:
            acked = {int(line.split()[1]) for line in f if line.startswith("ACKED ")}
        check(acked, "no acknowledged publication in %s", s.args.acked)
        last = max(acked)
        received = []
        while not received or received[-1][0] < last:
            received.append(await inbox.next("event n=%d or earlier" % last))
        await sleep(0.5)
        received += inbox.rest()  # stored, but their PUBLISHED was lost with the killed gateway
        ns = [n for n, _, _ in received]
        last = ns[-1]
        check(all(a < b for a, b in zip(ns, ns[1:])), "events out of order or doubled: %s", ns[:50])
        missing = sorted(acked - set(ns))
        check(not missing, "acknowledged publications never delivered: %s", missing[:20])
        check(ns[0] >= first, "event n=%d from before the publishing run", ns[0])
        results.append("every_acknowledged_event")
    else:
        received = [await inbox.next("replayed event n=%d" % n) for n in range(first, last + 1)]
        ns = [n for n, _, _ in received]
        check(ns == list(range(first, last + 1)), "replayed events: got n=%s..., want %d..%d in order",
              ns[:20], first, last)
        results.append("replay_in_order")
    seqs = [q for _, q, _ in received]
    check(all(isinstance(q, int) for q in seqs), "events without x_seq: %s", seqs[:10])
    check(all(b == a + 1 for a, b in zip(seqs, seqs[1:])), "x_seq not consecutive: %s", seqs[:50])
    results.append("x_seq_consecutive")

    pub = await s.connect()
    live_first = last + 1
    await s.publish_range(pub, live_first, live_first + s.args.live - 1)
    live = [await inbox.next("live event") for _ in range(s.args.live)]
    check([n for n, _, _ in live] == list(range(live_first, live_first + s.args.live)), "live events: %s", live)
    check(live[0][1] == seqs[-1] + 1, "first live x_seq %r does not follow the last replayed %r", live[0][1], seqs[-1])
    await sleep(0.3)
    extra = inbox.rest()
    check(not extra, "unexpected events after the live ones (duplicates?): %s", extra[:10])
    results.append("live_after_replay_no_duplicate")
    await s.leave(session)


STEPS = {"persist": step_persist, "publish": step_publish, "resume": step_resume}


async def run(args):
    s = Steps(args)
    results = []
    label = "persist-python/%s" % args.step
    try:
        await STEPS[args.step](s, results)
    except Failure as e:
        for r in results:
            print("PASS %s" % r, flush=True)
        print("FAIL %s: %s" % (args.step, e), flush=True)
        failed = 1
    except ApplicationError as e:
        for r in results:
            print("PASS %s" % r, flush=True)
        print("FAIL %s: unexpected WAMP error %s args=%r" % (args.step, e.error, e.args), flush=True)
        failed = 1
    except Exception as e:
        for r in results:
            print("PASS %s" % r, flush=True)
        tb = "".join(traceback.format_exception(type(e), e, e.__traceback__)).strip().replace("\n", "\n    ")
        print("FAIL %s: %s: %s\n    %s" % (args.step, type(e).__name__, e, tb), flush=True)
        failed = 1
    else:
        for r in results:
            print("PASS %s" % r, flush=True)
        failed = 0
    if s.diagnostics:
        print("\n".join("    " + d for d in s.diagnostics), flush=True)
    await s.close_all()
    print("%s: %d passed, %d failed" % (label, len(results), failed), flush=True)
    return failed


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--realm", default="realm1")
    p.add_argument("--serializer", choices=sorted(SERIALIZERS), default="json")
    p.add_argument("--step", choices=sorted(STEPS), required=True)
    p.add_argument("--state", help="file holding the client token")
    p.add_argument("--topic", required=True)
    p.add_argument("--from", dest="first", type=int, default=1)
    p.add_argument("--to", dest="last", type=int, default=0)
    p.add_argument("--live", type=int, default=5)
    p.add_argument("--window", type=int, default=50, help="unacknowledged publications at a time")
    p.add_argument("--progress", action="store_true")
    p.add_argument("--acked", help="file of ACKED lines from a publish --progress run")
    p.add_argument("--timeout", type=float, default=60.0)
    args = p.parse_args()

    def watchdog():
        print("FAIL %s: overall timeout of %.0fs exceeded" % (args.step, args.timeout), flush=True)
        os._exit(2)

    reactor.callLater(args.timeout, watchdog)
    code = []

    def done(result):
        code.append(result)
        reactor.stop()

    def crashed(f):
        print("FAIL suite: %s" % f.getTraceback(), flush=True)
        code.append(1)
        reactor.stop()

    reactor.callWhenRunning(lambda: defer.ensureDeferred(run(args)).addCallbacks(done, crashed))
    reactor.run()
    sys.exit(code[0] if code else 1)


if __name__ == "__main__":
    main()
