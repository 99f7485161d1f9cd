#!/usr/bin/python3
"""A WAMP subscriber for the example's tests: AutobahnPython (Twisted) joins the gateway, optionally
with a one-time ticket, subscribes to a topic and prints one JSON line per happening:

    {"welcome": {"authid": ..., "authrole": ..., "authmethod": ...}}
    {"subscribed": "<topic>"}
    {"event": {"args": [...], "kwargs": {...}}}
    {"abort": "<reason>"}

Usage: wamp_listener.py --url ws://127.0.0.1:8080/ws --realm realm1 --topic com.shop.order.created
       [--authid alice --ticket <ticket>] [--seconds 20]
"""
import argparse
import json
import sys

from autobahn.twisted.wamp import ApplicationRunner, ApplicationSession
from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks


def say(obj):
    sys.__stdout__.write(json.dumps(obj) + "\n")
    sys.__stdout__.flush()  # (the runner redirects sys.stdout into its log)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--realm", required=True)
    ap.add_argument("--topic")
    ap.add_argument("--authid")
    ap.add_argument("--ticket")
    ap.add_argument("--seconds", type=float, default=20)
    opts = ap.parse_args()

    class Listener(ApplicationSession):
        def onConnect(self):
            if opts.ticket:
                self.join(self.config.realm, authmethods=["ticket"], authid=opts.authid)
            else:
                self.join(self.config.realm)

        def onChallenge(self, challenge):
            return opts.ticket

        @inlineCallbacks
        def onJoin(self, details):
            say({"welcome": {"authid": details.authid, "authrole": details.authrole,
                             "authmethod": details.authmethod}})
            if opts.topic:
                yield self.subscribe(lambda *a, **kw: say({"event": {"args": list(a), "kwargs": kw}}), opts.topic)
                say({"subscribed": opts.topic})

        def onLeave(self, details):
            if details.reason not in ("wamp.close.normal", "wamp.close.goodbye_and_out"):
                say({"abort": details.reason, "message": details.message})
            self.disconnect()

        def onDisconnect(self):
            if reactor.running:
                reactor.stop()

    reactor.callLater(opts.seconds, lambda: reactor.running and reactor.stop())
    ApplicationRunner(opts.url, opts.realm).run(Listener, start_reactor=True, log_level="critical")


if __name__ == "__main__":
    main()
