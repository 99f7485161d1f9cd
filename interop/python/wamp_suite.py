#!/usr/bin/python3
"""Interop suite: drives AutobahnPython (Twisted) against a WAMP router.

Usage:
    /usr/bin/python3 wamp_suite.py --url ws://127.0.0.1:8080/ws --realm realm1 --serializer json
    /usr/bin/python3 wamp_suite.py --url rs://127.0.0.1:8080 --realm realm1 --serializer cbor

The URL scheme picks the transport: ws:// for WebSocket, rs:// (or tcp://) for RawSocket.
Prints one line per scenario ("PASS name" or "FAIL name: detail"), then a summary line, and exits
non-zero when any scenario failed or the whole run exceeded --timeout seconds.
"""

import argparse
import os
import sys
import traceback
from urllib.parse import urlparse

from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.error import TimeoutError as TwistedTimeoutError

from autobahn.twisted.rawsocket import WampRawSocketClientFactory
from autobahn.twisted.wamp import ApplicationSession
from autobahn.twisted.websocket import WampWebSocketClientFactory
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.serializer import CBORSerializer, JsonSerializer, MsgPackSerializer
from autobahn.wamp.types import (
    CallOptions,
    ComponentConfig,
    PublishOptions,
    RegisterOptions,
    SubscribeOptions,
)

SERIALIZERS = {"json": JsonSerializer, "msgpack": MsgPackSerializer, "cbor": CBORSerializer}
STEP_TIMEOUT = 5.0  # seconds to wait for one expected message
SCENARIO_TIMEOUT = 20.0  # seconds for one scenario, including connects and leaves


class Failure(Exception):
    """A scenario's expectation did not hold."""


def check(cond, msg, *fmt):
    if not cond:
        raise Failure(msg % fmt if fmt else msg)


def sleep(seconds):
    d = defer.Deferred()
    reactor.callLater(seconds, d.callback, None)
    return d


async def within(d, seconds, what):
    """Await Deferred d, failing with a readable message after seconds."""
    d.addTimeout(seconds, reactor)
    try:
        return await d
    except (defer.TimeoutError, defer.CancelledError, TwistedTimeoutError):
        raise Failure("timed out after %.1fs waiting for %s" % (seconds, what))


class Inbox:
    """Collects items (events, progress results) and lets a scenario await them in order."""

    def __init__(self, name):
        self.name = name
        self.items = []
        self._taken = 0
        self._waiter = None

    def put(self, item):
        self.items.append(item)
        if self._waiter is not None and not self._waiter.called:
            w, self._waiter = self._waiter, None
            w.callback(None)

    async def next(self, what=None):
        """Returns the next item not yet taken, waiting up to STEP_TIMEOUT for it."""
        while self._taken >= len(self.items):
            self._waiter = defer.Deferred()
            await within(self._waiter, STEP_TIMEOUT, what or ("next item in " + self.name))
        item = self.items[self._taken]
        self._taken += 1
        return item

    def rest(self):
        """Returns the items not yet taken, and takes them."""
        items = self.items[self._taken:]
        self._taken = len(self.items)
        return items


class Event:
    def __init__(self, args, kwargs, details):
        self.args = list(args)
        self.kwargs = dict(kwargs)
        self.details = details

    def __repr__(self):
        return "Event(args=%r, kwargs=%r, topic=%r)" % (
            _short(self.args), _short(self.kwargs), getattr(self.details, "topic", None))


def _short(v, limit=200):
    s = repr(v)
    return s if len(s) <= limit else s[:limit] + "...(%d chars)" % len(s)


class Client(ApplicationSession):
    """A session whose join and disconnect are Deferreds a scenario can await."""

    def __init__(self, config, joined, gone, diagnostics):
        ApplicationSession.__init__(self, config)
        self.joined = joined
        self.gone = gone
        self.welcome = None
        self.leaving = False  # set when the suite itself ends the session
        self.diagnostics = diagnostics

    def onJoin(self, details):
        self.welcome = details
        if not self.joined.called:
            self.joined.callback(self)

    def onLeave(self, details):
        if not self.joined.called:
            self.joined.errback(Failure("session aborted before join: %s %s" % (details.reason, details.message)))
        elif not self.leaving:
            self.diagnostics.append("router ended session %s: %s %s" % (self.session_id, details.reason,
                                                                        details.message or ""))
        self.disconnect()

    def onDisconnect(self):
        if not self.joined.called:
            self.joined.errback(Failure("transport closed before the session joined"))
        if not self.gone.called:
            self.gone.callback(None)


class Suite:
    def __init__(self, url, realm, serializer):
        self.url = url
        self.realm = realm
        self.serializer = serializer
        u = urlparse(url)
        if u.scheme in ("ws", "wss"):
            self.transport = "websocket"
        elif u.scheme in ("rs", "tcp", "rawsocket"):
            self.transport = "rawsocket"
        else:
            raise SystemExit("unsupported URL scheme %r (want ws://, rs:// or tcp://)" % u.scheme)
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or 8080
        self.sessions = []
        self.counter = 0
        self.diagnostics = []  # why the router ended sessions during the current scenario

    def uri(self, name):
        """A topic or procedure URI unique to this run, so parallel runs do not collide."""
        self.counter += 1
        return "com.interop.py.%s.%s.%d.%d" % (name, self.serializer, os.getpid(), self.counter)

    async def connect(self):
        joined, gone = defer.Deferred(), defer.Deferred()
        config = ComponentConfig(realm=self.realm)

        def make():
            return Client(config, joined, gone, self.diagnostics)

        ser = SERIALIZERS[self.serializer]()
        if self.transport == "websocket":
            factory = WampWebSocketClientFactory(make, url=self.url, serializers=[ser])
        else:
            factory = WampRawSocketClientFactory(make, serializer=ser)

        def failed(reason):
            if not joined.called:
                joined.errback(Failure("cannot connect to %s: %s" % (self.url, reason.getErrorMessage())))

        endpoint = TCP4ClientEndpoint(reactor, self.host, self.port, timeout=STEP_TIMEOUT)
        endpoint.connect(factory).addErrback(failed)
        session = await within(joined, STEP_TIMEOUT, "session join at " + self.url)
        self.sessions.append(session)
        return session

    async def close_all(self):
        sessions, self.sessions = self.sessions, []
        for s in sessions:
            s.leaving = True
            try:
                if s.is_attached():
                    s.leave()
                await within(s.gone, STEP_TIMEOUT, "session close")
            except Exception:
                if s._transport is not None:
                    s._transport.close()

    async def subscribe(self, session, topic, name=None, **options):
        inbox = Inbox(name or topic)

        def on_event(*args, **kwargs):
            details = kwargs.pop("details")
            inbox.put(Event(args, kwargs, details))

        opts = SubscribeOptions(details=True, **options)
        sub = await within(session.subscribe(on_event, topic, options=opts), STEP_TIMEOUT, "SUBSCRIBED " + topic)
        return inbox, sub

    async def expect_only_marker(self, inbox, publisher, topic, **publish_options):
        """Publishes a marker after events inbox must not receive, then checks that inbox got only the marker.

        Events of one publisher to one subscriber arrive in order, so once the marker arrives, any earlier
        event that was going to arrive has arrived.
        """
        marker = "marker-%d" % self.counter
        publish_options.setdefault("acknowledge", True)
        await within(publisher.publish(topic, marker, options=PublishOptions(**publish_options)),
                     STEP_TIMEOUT, "PUBLISHED marker")
        got = await inbox.next("marker event in " + inbox.name)
        check(got.args == [marker], "%s: got unexpected event %r before the marker", inbox.name, got)
        extra = inbox.rest()
        check(not extra, "%s: got unexpected events %r", inbox.name, extra)


SCENARIOS = []


def scenario(name):
    def register(fn):
        SCENARIOS.append((name, fn))
        return fn
    return register


@scenario("pubsub_args_kwargs")
async def pubsub_args_kwargs(s):
    sub, pub = await s.connect(), await s.connect()
    topic = s.uri("pubsub")
    inbox, _ = await s.subscribe(sub, topic)
    args = [1, "two", 3.5, True, None, [1, 2], {"k": "v"}]
    kwargs = {"a": 1, "b": "text", "nested": {"list": [1, "x"], "n": -7}, "unicode": "gr\u00fc\u00dfe \u2713"}
    await within(pub.publish(topic, *args, options=PublishOptions(acknowledge=True), **kwargs),
                 STEP_TIMEOUT, "PUBLISHED")
    ev = await inbox.next()
    check(ev.args == args, "args: got %r, want %r", ev.args, args)
    check(ev.kwargs == kwargs, "kwargs: got %r, want %r", ev.kwargs, kwargs)
    await within(pub.publish(topic, options=PublishOptions(acknowledge=True)), STEP_TIMEOUT, "PUBLISHED")
    ev = await inbox.next("event without payload")
    check(ev.args == [] and ev.kwargs == {}, "empty publish: got %r", ev)


@scenario("publish_acknowledge")
async def publish_acknowledge(s):
    pub = await s.connect()
    topic = s.uri("ack")
    p1 = await within(pub.publish(topic, 1, options=PublishOptions(acknowledge=True)), STEP_TIMEOUT, "PUBLISHED")
    p2 = await within(pub.publish(topic, 2, options=PublishOptions(acknowledge=True)), STEP_TIMEOUT, "PUBLISHED")
    for p in (p1, p2):
        check(p is not None and isinstance(p.id, int) and 1 <= p.id <= 2 ** 53,
              "publication id must be an integer in [1, 2^53], got %r", p and p.id)
    check(p1.id != p2.id, "two publications got the same id %d", p1.id)
    check(pub.publish(topic, 3) is None, "publish without acknowledge must not wait for PUBLISHED")


@scenario("exclude_me")
async def exclude_me(s):
    pub, other = await s.connect(), await s.connect()
    topic = s.uri("excludeme")
    own, _ = await s.subscribe(pub, topic, "publisher's own subscription")
    theirs, _ = await s.subscribe(other, topic, "other subscriber")
    await within(pub.publish(topic, "default", options=PublishOptions(acknowledge=True)), STEP_TIMEOUT, "PUBLISHED")
    ev = await theirs.next()
    check(ev.args == ["default"], "other subscriber got %r", ev)
    # exclude_me defaults to true: the publisher does not receive its own event.
    await s.expect_only_marker(own, pub, topic, exclude_me=False)
    await within(pub.publish(topic, "mine", options=PublishOptions(acknowledge=True, exclude_me=False)),
                 STEP_TIMEOUT, "PUBLISHED")
    ev = await own.next("own event with exclude_me=False")
    check(ev.args == ["mine"], "publisher got %r", ev)


@scenario("eligible_exclude")
async def eligible_exclude(s):
    pub, a, b = await s.connect(), await s.connect(), await s.connect()
    topic = s.uri("blackwhite")
    ia, _ = await s.subscribe(a, topic, "session A")
    ib, _ = await s.subscribe(b, topic, "session B")

    await within(pub.publish(topic, "for A", options=PublishOptions(acknowledge=True, eligible=[a.session_id])),
                 STEP_TIMEOUT, "PUBLISHED")
    ev = await ia.next("eligible event at A")
    check(ev.args == ["for A"], "A got %r", ev)
    await s.expect_only_marker(ib, pub, topic, eligible=[b.session_id])

    await within(pub.publish(topic, "not A", options=PublishOptions(acknowledge=True, exclude=[a.session_id])),
                 STEP_TIMEOUT, "PUBLISHED")
    ev = await ib.next("event at B")
    check(ev.args == ["not A"], "B got %r", ev)
    await s.expect_only_marker(ia, pub, topic, eligible=[a.session_id])
    ib.rest()


@scenario("prefix_subscription")
async def prefix_subscription(s):
    sub, pub = await s.connect(), await s.connect()
    prefix = s.uri("prefix")
    inbox, _ = await s.subscribe(sub, prefix, match="prefix")
    # WAMP prefix matching is a plain string prefix: "p" matches "p.a", "p.a.b.c", "p" and "p-low".
    for actual in (prefix + ".a", prefix + ".a.b.c", prefix, prefix + "-low"):
        await within(pub.publish(actual, actual, options=PublishOptions(acknowledge=True)), STEP_TIMEOUT, "PUBLISHED")
        ev = await inbox.next("event for " + actual)
        check(ev.args == [actual], "got %r for %s", ev, actual)
        check(ev.details.topic == actual, "details.topic: got %r, want %r", ev.details.topic, actual)
    await within(pub.publish(s.uri("elsewhere"), "no", options=PublishOptions(acknowledge=True)),
                 STEP_TIMEOUT, "PUBLISHED")
    await s.expect_only_marker(inbox, pub, prefix + ".m")


@scenario("wildcard_subscription")
async def wildcard_subscription(s):
    sub, pub = await s.connect(), await s.connect()
    base = s.uri("wildcard")
    pattern = base + "..end"  # matches base.<any component>.end
    inbox, _ = await s.subscribe(sub, pattern, match="wildcard")
    actual = base + ".middle.end"
    await within(pub.publish(actual, 1, options=PublishOptions(acknowledge=True)), STEP_TIMEOUT, "PUBLISHED")
    ev = await inbox.next("event for " + actual)
    check(ev.details.topic == actual, "details.topic: got %r, want %r", ev.details.topic, actual)
    for miss in (base + ".middle.other", base + ".a.b.end", base + ".end"):
        await within(pub.publish(miss, "no", options=PublishOptions(acknowledge=True)), STEP_TIMEOUT, "PUBLISHED")
    await s.expect_only_marker(inbox, pub, base + ".marker.end")


@scenario("unsubscribe")
async def unsubscribe(s):
    sub, pub = await s.connect(), await s.connect()
    topic, marker_topic = s.uri("unsub"), s.uri("unsub.marker")
    inbox, subscription = await s.subscribe(sub, topic)
    await within(pub.publish(topic, 1, options=PublishOptions(acknowledge=True)), STEP_TIMEOUT, "PUBLISHED")
    await inbox.next()
    await within(subscription.unsubscribe(), STEP_TIMEOUT, "UNSUBSCRIBED")
    check(not subscription.active, "subscription still active after unsubscribe")
    # Deliver a marker on another topic: events after it show the old subscription is still served.
    markers, _ = await s.subscribe(sub, marker_topic, "markers")
    await within(pub.publish(topic, 2, options=PublishOptions(acknowledge=True)), STEP_TIMEOUT, "PUBLISHED")
    await within(pub.publish(marker_topic, "m", options=PublishOptions(acknowledge=True)), STEP_TIMEOUT, "PUBLISHED")
    await markers.next("marker")
    await within(pub.publish(marker_topic, "m2", options=PublishOptions(acknowledge=True)), STEP_TIMEOUT, "PUBLISHED")
    await markers.next("second marker")
    check(not inbox.rest(), "event delivered after unsubscribe")


@scenario("register_call")
async def register_call(s):
    callee, caller = await s.connect(), await s.connect()
    proc = s.uri("add")
    seen = []

    def add(a, b, **kwargs):
        seen.append(kwargs)
        return a + b

    reg = await within(callee.register(add, proc), STEP_TIMEOUT, "REGISTERED")
    res = await within(caller.call(proc, 20, 22, note="x"), STEP_TIMEOUT, "RESULT")
    check(res == 42, "result: got %r, want 42", res)
    check(seen == [{"note": "x"}], "callee kwargs: got %r", seen)

    def multi(*args, **kwargs):
        from autobahn.wamp.types import CallResult
        return CallResult(*reversed(args), **{k.upper(): v for k, v in kwargs.items()})

    proc2 = s.uri("multi")
    await within(callee.register(multi, proc2), STEP_TIMEOUT, "REGISTERED")
    res = await within(caller.call(proc2, 1, "b", [3], k={"v": 1}), STEP_TIMEOUT, "RESULT")
    check(list(res.results) == [[3], "b", 1] and res.kwresults == {"K": {"v": 1}},
          "multi-valued result: got args=%r kwargs=%r", res.results, res.kwresults)
    await within(reg.unregister(), STEP_TIMEOUT, "UNREGISTERED")
    try:
        await within(caller.call(proc), STEP_TIMEOUT, "ERROR")
    except ApplicationError as e:
        check(e.error == "wamp.error.no_such_procedure", "call after unregister: got %s", e.error)
    else:
        raise Failure("call after unregister succeeded")


@scenario("application_error")
async def application_error(s):
    callee, caller = await s.connect(), await s.connect()
    proc = s.uri("fails")

    def fails(*args, **kwargs):
        raise ApplicationError("com.example.error.custom", "bad input", 42, reason="because")

    await within(callee.register(fails, proc), STEP_TIMEOUT, "REGISTERED")
    try:
        await within(caller.call(proc, 1), STEP_TIMEOUT, "ERROR")
    except ApplicationError as e:
        check(e.error == "com.example.error.custom", "error URI: got %r", e.error)
        check(list(e.args) == ["bad input", 42], "error args: got %r", e.args)
        check(e.kwargs == {"reason": "because"}, "error kwargs: got %r", e.kwargs)
    else:
        raise Failure("call succeeded, want com.example.error.custom")


@scenario("no_such_procedure")
async def no_such_procedure(s):
    caller = await s.connect()
    try:
        await within(caller.call(s.uri("missing"), 1), STEP_TIMEOUT, "ERROR")
    except ApplicationError as e:
        check(e.error == "wamp.error.no_such_procedure", "got %r", e.error)
    else:
        raise Failure("call to an unregistered procedure succeeded")


@scenario("procedure_already_exists")
async def procedure_already_exists(s):
    first, second = await s.connect(), await s.connect()
    proc = s.uri("dup")
    await within(first.register(lambda: 1, proc), STEP_TIMEOUT, "REGISTERED")
    try:
        await within(second.register(lambda: 2, proc), STEP_TIMEOUT, "ERROR")
    except ApplicationError as e:
        check(e.error == "wamp.error.procedure_already_exists", "got %r", e.error)
    else:
        raise Failure("second registration of the same procedure succeeded")
    res = await within(second.call(proc), STEP_TIMEOUT, "RESULT")
    check(res == 1, "the first registration must still be called, got %r", res)


@scenario("progressive_results")
async def progressive_results(s):
    callee, caller = await s.connect(), await s.connect()
    proc = s.uri("progress")

    async def count(n, details=None):
        check(details is not None and details.progress is not None, "callee: details.progress not set")
        for i in range(1, n + 1):
            details.progress(i, step="s%d" % i)
            await sleep(0.01)
        return "done"

    await within(callee.register(count, proc, options=RegisterOptions(details=True)), STEP_TIMEOUT, "REGISTERED")
    progress = []
    res = await within(caller.call(proc, 3, options=CallOptions(
        on_progress=lambda *a, **kw: progress.append((list(a), kw)))), STEP_TIMEOUT, "final RESULT")
    check(res == "done", "final result: got %r", res)
    want = [([i], {"step": "s%d" % i}) for i in (1, 2, 3)]
    check(progress == want, "progress: got %r, want %r", progress, want)


@scenario("call_timeout")
async def call_timeout(s):
    callee, caller = await s.connect(), await s.connect()
    proc = s.uri("slow")
    interrupted = defer.Deferred()

    def never(details=None):
        d = defer.Deferred(lambda _: interrupted.callback(True) if not interrupted.called else None)
        return d

    await within(callee.register(never, proc, options=RegisterOptions(details=True)), STEP_TIMEOUT, "REGISTERED")
    try:
        await within(caller.call(proc, options=CallOptions(timeout=300)), STEP_TIMEOUT, "ERROR after call timeout")
    except ApplicationError as e:
        # gateway answers a dealer-side call timeout with wamp.error.canceled and puts
        # wamp.error.timeout in Details.reason (docs/WAMP.md, "Call timeout and cancel outcomes").
        check(e.error == "wamp.error.canceled", "got %r, want wamp.error.canceled", e.error)
    else:
        raise Failure("call with timeout 300ms to a callee that never answers succeeded")
    await within(interrupted, STEP_TIMEOUT, "INTERRUPT at the callee")


@scenario("cancel")
async def cancel(s):
    callee, caller = await s.connect(), await s.connect()
    proc = s.uri("cancel")
    invoked, interrupted = defer.Deferred(), defer.Deferred()

    def never():
        invoked.callback(True)
        return defer.Deferred(lambda _: interrupted.callback(True) if not interrupted.called else None)

    await within(callee.register(never, proc), STEP_TIMEOUT, "REGISTERED")
    call = caller.call(proc)
    await within(invoked, STEP_TIMEOUT, "INVOCATION")
    call.cancel()  # AutobahnPython sends CANCEL and fails the call locally with CancelledError.
    try:
        await call
    except defer.CancelledError:
        pass
    else:
        raise Failure("canceled call succeeded")
    await within(interrupted, STEP_TIMEOUT, "INTERRUPT at the callee")
    res = await within(caller.call("wamp.session.count"), STEP_TIMEOUT, "RESULT after cancel")
    check(isinstance(res, int), "caller session unusable after cancel: %r", res)


@scenario("large_payload")
async def large_payload(s):
    callee, caller = await s.connect(), await s.connect()
    size = 512 * 1024
    payload = "".join(chr(0x21 + (i * 7919) % 90) for i in range(size))
    proc, topic = s.uri("echo"), s.uri("large")
    await within(callee.register(lambda x: x, proc), STEP_TIMEOUT, "REGISTERED")
    res = await within(caller.call(proc, payload), 3 * STEP_TIMEOUT, "RESULT with 512 KiB")
    check(res == payload, "call round trip: got %d chars, want %d (equal: %s)",
          len(res) if isinstance(res, str) else -1, size, res == payload)
    inbox, _ = await s.subscribe(callee, topic)
    await within(caller.publish(topic, payload, options=PublishOptions(acknowledge=True)),
                 3 * STEP_TIMEOUT, "PUBLISHED with 512 KiB")
    ev = await inbox.next("512 KiB event")
    check(ev.args == [payload], "event round trip: got %d chars, want %d",
          len(ev.args[0]) if ev.args and isinstance(ev.args[0], str) else -1, size)


@scenario("meta_session_count_get")
async def meta_session_count_get(s):
    a = await s.connect()
    c1 = await within(a.call("wamp.session.count"), STEP_TIMEOUT, "wamp.session.count")
    check(isinstance(c1, int) and c1 >= 1, "wamp.session.count with one session: got %r", c1)
    b = await s.connect()
    c2 = await within(a.call("wamp.session.count"), STEP_TIMEOUT, "wamp.session.count")
    check(c2 == c1 + 1, "wamp.session.count after a second join: got %r, want %r", c2, c1 + 1)

    info = await within(a.call("wamp.session.get", b.session_id), STEP_TIMEOUT, "wamp.session.get")
    check(isinstance(info, dict), "wamp.session.get: want a dict, got %r", info)
    check(info.get("session") == b.session_id, "session: got %r, want %r", info.get("session"), b.session_id)
    for key in ("authid", "authrole"):
        check(isinstance(info.get(key), str) and info.get(key), "%s: got %r", key, info.get(key))
    check(info.get("authid") == b.welcome.authid, "authid %r differs from WELCOME's %r",
          info.get("authid"), b.welcome.authid)
    check(info.get("authrole") == b.welcome.authrole, "authrole %r differs from WELCOME's %r",
          info.get("authrole"), b.welcome.authrole)
    check(isinstance(info.get("transport"), dict), "transport: want a dict, got %r (keys: %s)",
          info.get("transport"), sorted(info))
    try:
        await within(a.call("wamp.session.get", 2 ** 53 - 1), STEP_TIMEOUT, "ERROR")
    except ApplicationError as e:
        check(e.error == "wamp.error.no_such_session", "unknown session: got %r", e.error)
    else:
        raise Failure("wamp.session.get of an unknown session succeeded")


@scenario("event_retention")
async def event_retention(s):
    pub = await s.connect()
    topic = s.uri("retained")
    await within(pub.publish(topic, 1, options=PublishOptions(retain=True, acknowledge=True)), STEP_TIMEOUT, "PUBLISHED")
    await within(pub.publish(topic, 2, options=PublishOptions(retain=True, acknowledge=True)), STEP_TIMEOUT, "PUBLISHED")
    await within(pub.publish(topic, 3, options=PublishOptions(acknowledge=True)), STEP_TIMEOUT, "PUBLISHED")
    sub = await s.connect()
    inbox, _ = await s.subscribe(sub, topic, "retained", get_retained=True)
    ev = await inbox.next("the retained event")
    check(ev.args == [2], "retained event: got %r, want [2] (the last one published with retain)", ev.args)
    await within(pub.publish(topic, 4, options=PublishOptions(acknowledge=True)), STEP_TIMEOUT, "PUBLISHED")
    ev = await inbox.next("a live event after the retained one")
    check(ev.args == [4], "live event after the retained one: got %r", ev.args)


@scenario("query_topic_filters")
async def query_topic_filters(s):
    # AutobahnPython cannot add x_filter to SUBSCRIBE: gateway.query.topic derives a topic instead.
    sub, pub = await s.connect(), await s.connect()
    topic, marker_topic = s.uri("chat"), s.uri("chat.marker")
    room42 = await within(sub.call("gateway.query.topic", topic, 'room == "42"'), STEP_TIMEOUT, "derived topic")
    urgent = await within(sub.call("gateway.query.topic", topic, "priority >= 3"), STEP_TIMEOUT, "derived topic")
    in42, _ = await s.subscribe(sub, room42, "room42")
    inurgent, _ = await s.subscribe(sub, urgent, "urgent")
    for room, prio in (("41", 1), ("42", 1), ("41", 5), ("42", 5)):
        await within(pub.publish(topic, room=room, priority=prio, options=PublishOptions(acknowledge=True)),
                     STEP_TIMEOUT, "PUBLISHED")
    got42 = [(await in42.next("room 42 event")).kwargs for _ in range(2)]
    goturgent = [(await inurgent.next("urgent event")).kwargs for _ in range(2)]
    check(got42 == [{"room": "42", "priority": 1}, {"room": "42", "priority": 5}], "room 42 filter got %r", got42)
    check(goturgent == [{"room": "41", "priority": 5}, {"room": "42", "priority": 5}], "urgent filter got %r", goturgent)
    markers, _ = await s.subscribe(sub, marker_topic, "markers")
    await within(pub.publish(marker_topic, "m", options=PublishOptions(acknowledge=True)), STEP_TIMEOUT, "PUBLISHED")
    await markers.next("marker")
    check(not in42.rest() and not inurgent.rest(), "events that match no filter were delivered")
    try:
        await within(sub.call("gateway.query.topic", topic, "room =="), STEP_TIMEOUT, "ERROR for a bad filter")
    except ApplicationError as e:
        check(e.error == "wamp.error.invalid_argument", "bad filter: got %r", e.error)
    else:
        raise Failure("a malformed filter was accepted")


async def run(args):
    suite = Suite(args.url, args.realm, args.serializer)
    label = "python %s/%s" % (suite.transport, args.serializer)
    selected = [(n, f) for n, f in SCENARIOS if not args.only or n in args.only]
    if args.only and len(selected) != len(args.only):
        unknown = set(args.only) - {n for n, _ in SCENARIOS}
        print("FAIL arguments: unknown scenarios %s" % sorted(unknown), flush=True)
        return 1
    passed = failed = 0
    for name, fn in selected:
        run.current = name
        failed_before = failed
        try:
            await within(defer.ensureDeferred(fn(suite)), SCENARIO_TIMEOUT, "scenario " + name)
        except Failure as e:
            failed += 1
            print("FAIL %s: %s" % (name, e), flush=True)
        except ApplicationError as e:
            failed += 1
            print("FAIL %s: unexpected WAMP error %s args=%r kwargs=%r" % (name, e.error, e.args, e.kwargs),
                  flush=True)
        except Exception as e:
            failed += 1
            tb = "".join(traceback.format_exception(type(e), e, e.__traceback__)).strip().replace("\n", "\n    ")
            print("FAIL %s: %s: %s\n    %s" % (name, type(e).__name__, e, tb), flush=True)
        else:
            passed += 1
            print("PASS %s" % name, flush=True)
        finally:
            if failed > failed_before and suite.diagnostics:
                print("\n".join("    " + d for d in suite.diagnostics), flush=True)
            await suite.close_all()
            del suite.diagnostics[:]
    print("%s: %d passed, %d failed" % (label.replace(" ", "-"), passed, failed), flush=True)
    return 1 if failed else 0


run.current = "start-up"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="router URL: ws://host:port/path or rs://host:port")
    p.add_argument("--realm", default="realm1")
    p.add_argument("--serializer", choices=sorted(SERIALIZERS), default="json")
    p.add_argument("--timeout", type=float, default=60.0, help="overall timeout in seconds")
    p.add_argument("--only", nargs="*", help="run only these scenarios")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = p.parse_args()
    if args.list:
        print("\n".join(n for n, _ in SCENARIOS))
        return

    def watchdog():
        print("FAIL %s: overall timeout of %.0fs exceeded" % (run.current, args.timeout), flush=True)
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
