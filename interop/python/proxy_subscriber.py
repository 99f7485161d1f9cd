#!/usr/bin/python3
"""A WAMP client (AutobahnPython on Twisted) for the gateway proxy tests.

It joins a realm (anonymously, or with a ticket), subscribes to topics and registers procedures,
then reports on stdout, one JSON line each, flushed:

    READY {"session": id, "authid": ..., "authrole": ...}       joined, subscribed and registered
    EVENT {"topic": ..., "args": [...], "kwargs": {...}, "publication": id, "publisher": id|null}
    LEFT {"reason": ..., "message": ...}                         the router ended the session
    ABORT {"reason": ..., "message": ...}                        the router refused to join

Procedures: --add PROC registers PROC returning the sum of its positional arguments (and its
keyword arguments back as keyword results); --fail PROC registers PROC that raises
ApplicationError("com.example.oops", 1, "x", why="because").

Usage:
    /usr/bin/python3 proxy_subscriber.py --url ws://127.0.0.1:8080/ws --realm realm1 --topic com.a
        [--authid alice --ticket T] [--add com.example.add] [--fail com.example.fail] [--timeout 60]

It exits when the session ends, or after --timeout seconds.
"""

import argparse
import json
import os

from twisted.internet import reactor

from autobahn.twisted.wamp import ApplicationRunner, ApplicationSession
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import SubscribeOptions


def report(kind, obj):
    # Straight to file descriptor 1: Twisted's logging takes over sys.stdout once the runner starts.
    os.write(1, ("%s %s\n" % (kind, json.dumps(obj, sort_keys=True))).encode("utf-8"))


class Subscriber(ApplicationSession):
    opts = None  # the parsed command line

    def onConnect(self):
        o = self.opts
        if o.ticket:
            self.join(self.config.realm, authmethods=["ticket"], authid=o.authid)
        else:
            self.join(self.config.realm, authmethods=["anonymous"])

    def onChallenge(self, challenge):
        if challenge.method == "ticket":
            return self.opts.ticket
        raise Exception("unexpected challenge %s" % challenge.method)

    async def onJoin(self, details):
        self.joined = True
        for topic in self.opts.topic:
            await self.subscribe(self.on_event(topic), topic, options=SubscribeOptions(details_arg="details"))
        for proc in self.opts.add:
            await self.register(add, proc)
        for proc in self.opts.fail:
            await self.register(fail, proc)
        report("READY", {"session": details.session, "authid": details.authid, "authrole": details.authrole})

    def on_event(self, topic):
        def handler(*args, details=None, **kwargs):
            report("EVENT", {"topic": details.topic or topic, "args": list(args), "kwargs": kwargs,
                             "publication": details.publication, "publisher": details.publisher})
        return handler

    def onLeave(self, details):
        report("LEFT" if getattr(self, "joined", False) else "ABORT",
               {"reason": details.reason, "message": details.message})
        self.disconnect()

    def onDisconnect(self):
        if reactor.running:
            reactor.stop()


def add(*args, **kwargs):
    from autobahn.wamp.types import CallResult
    return CallResult(sum(args), **kwargs)


def fail(*args, **kwargs):
    raise ApplicationError("com.example.oops", 1, "x", why="because")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--realm", required=True)
    ap.add_argument("--topic", action="append", default=[])
    ap.add_argument("--add", action="append", default=[])
    ap.add_argument("--fail", action="append", default=[])
    ap.add_argument("--authid")
    ap.add_argument("--ticket")
    ap.add_argument("--timeout", type=float, default=60.0)
    Subscriber.opts = ap.parse_args()
    reactor.callLater(Subscriber.opts.timeout, lambda: reactor.running and reactor.stop())
    runner = ApplicationRunner(Subscriber.opts.url, Subscriber.opts.realm)
    runner.run(Subscriber, auto_reconnect=False, log_level="error")


if __name__ == "__main__":
    main()
