#!/usr/bin/python3
"""Interop suite: AutobahnPython (Twisted) authenticating to the gateway and being authorized by role.

Usage:
    GATEWAY_AUTH_CREDENTIALS='{...}' /usr/bin/python3 auth_suite.py --url ws://127.0.0.1:8080/ws \\
        --realm com.example.auth --serializer json

The Go test interop/auth_test.go starts a gateway whose realm matches what this suite expects and
passes the credentials in GATEWAY_AUTH_CREDENTIALS (JSON):

    {"ticket":         {"authid": "backend", "ticket": "..."},      role "user"
     "wampcra":        {"authid": "peter", "secret": "..."},        role "user", unsalted secret
     "wampcra_salted": {"authid": "paul", "password": "..."},       role "user", salted PBKDF2 secret
     "cryptosign":     {"authid": "device1", "privkey": "<hex>"}}   role "device", Ed25519 seed

Roles of the realm: "user" may publish to com.example.user.* and call wamp.session.get; "device" may
publish to com.example.device.* and call wamp.session.get; "anonymous" may subscribe to
com.example.public.*. Everything else is denied.

The realm also enables the cookie method: a client that sends its client token back in
HELLO.Details.authextra.client_token and offers "cookie" first is re-authenticated by it alone.

The authentication goes through autobahn.wamp.auth.create_authenticator, the machinery behind the
Component(authentication={...}) examples of docs/AUTH.md. Prints one line per scenario ("PASS name"
or "FAIL name: detail") and a summary line, like wamp_suite.py.
"""

import argparse
import json
import os
import sys
import traceback
from urllib.parse import urlparse

import nacl.signing
from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint

from autobahn.twisted.websocket import WampWebSocketClientFactory
from autobahn.twisted.wamp import ApplicationSession
from autobahn.wamp.auth import create_authenticator
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import ComponentConfig, PublishOptions

from wamp_suite import SERIALIZERS, STEP_TIMEOUT, SCENARIO_TIMEOUT, Failure, check, within

NOT_AUTHORIZED = "wamp.error.not_authorized"
AUTHENTICATION_FAILED = "wamp.error.authentication_failed"


class AuthClient(ApplicationSession):
    """A session that joins with an authenticator (or anonymously) and reports WELCOME or ABORT.

    outcome fires with ("joined", self) or ("aborted", CloseDetails).
    """

    def __init__(self, config, authenticator, authid, authmethods, outcome, gone):
        ApplicationSession.__init__(self, config)
        self.authenticator = authenticator
        self.hello_authid = authid
        self.authmethods = authmethods
        self.outcome = outcome
        self.gone = gone
        self.welcome = None
        self.challenges = []

    def onConnect(self):
        a = self.authenticator
        if a is None:
            self.join(self.config.realm)
        else:
            self.join(self.config.realm, authmethods=self.authmethods or [a.name], authid=self.hello_authid,
                      authextra=a.authextra)

    def onChallenge(self, challenge):
        self.challenges.append(challenge)
        return self.authenticator.on_challenge(self, challenge)

    def onJoin(self, details):
        self.welcome = details
        if not self.outcome.called:
            self.outcome.callback(("joined", self))

    def onLeave(self, details):
        if not self.outcome.called:
            self.outcome.callback(("aborted", details))
        self.disconnect()

    def onDisconnect(self):
        if not self.outcome.called:
            self.outcome.errback(Failure("transport closed before WELCOME or ABORT"))
        if not self.gone.called:
            self.gone.callback(None)


class BadSignature:
    """Wraps an authenticator: announces the same identity but answers every challenge wrongly."""

    def __init__(self, inner, signature):
        self.name = inner.name
        self.authextra = inner.authextra
        self.signature = signature

    def on_challenge(self, session, challenge):
        return self.signature


class Suite:
    def __init__(self, url, realm, serializer, creds):
        self.url = url
        self.realm = realm
        self.serializer = serializer
        self.creds = creds
        u = urlparse(url)
        if u.scheme not in ("ws", "wss"):
            raise SystemExit("auth_suite.py speaks WebSocket only: want a ws:// URL, got %r" % url)
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or 8080
        self.sessions = []
        self.counter = 0

    def uri(self, prefix):
        self.counter += 1
        return "%s%s.%d.%d" % (prefix, self.serializer, os.getpid(), self.counter)

    async def attempt(self, authenticator=None, authid=None, authmethods=None):
        """Connects and returns ("joined", session) or ("aborted", CloseDetails). The HELLO offers
        authmethods, by default only the authenticator's method."""
        outcome, gone = defer.Deferred(), defer.Deferred()
        config = ComponentConfig(realm=self.realm)
        holder = []

        def make():
            c = AuthClient(config, authenticator, authid, authmethods, outcome, gone)
            holder.append(c)
            return c

        factory = WampWebSocketClientFactory(make, url=self.url, serializers=[SERIALIZERS[self.serializer]()])

        def failed(reason):
            if not outcome.called:
                outcome.errback(Failure("cannot connect to %s: %s" % (self.url, reason.getErrorMessage())))

        TCP4ClientEndpoint(reactor, self.host, self.port, timeout=STEP_TIMEOUT).connect(factory).addErrback(failed)
        result = await within(outcome, STEP_TIMEOUT, "WELCOME or ABORT")
        if holder:
            self.sessions.append(holder[0])
        return result

    async def join(self, method, **kw):
        """Joins with create_authenticator(method, **kw) (None: anonymously); fails on ABORT."""
        authenticator = None if method is None else create_authenticator(method, **kw)
        kind, value = await self.attempt(authenticator, kw.get("authid"))
        if kind == "aborted":
            raise Failure("join with %s refused: ABORT %s %r" % (method, value.reason, value.message))
        return value

    async def refused(self, authenticator, authid, reason, message_part=None):
        """Expects ABORT reason (and message_part in its message)."""
        kind, value = await self.attempt(authenticator, authid)
        if kind == "joined":
            raise Failure("expected ABORT %s, but the session joined as %s/%s" % (
                reason, value.welcome.authid, value.welcome.authrole))
        check(value.reason == reason, "ABORT reason %s (message %r), want %s", value.reason, value.message, reason)
        if message_part is not None:
            check(message_part in (value.message or ""), "ABORT message %r does not mention %r", value.message,
                  message_part)
        return value

    async def close_all(self):
        sessions, self.sessions = self.sessions, []
        for s in sessions:
            try:
                if s.is_attached():
                    s.leave()
                await within(s.gone, STEP_TIMEOUT, "session close")
            except Exception:
                if s._transport is not None:
                    s._transport.close()


def check_welcome(session, authid, authrole, authmethod, authprovider):
    w = session.welcome
    got = (w.authid, w.authrole, w.authmethod, w.authprovider)
    want = (authid, authrole, authmethod, authprovider)
    check(got == want, "WELCOME (authid, authrole, authmethod, authprovider) = %r, want %r", got, want)
    extra = w.authextra or {}
    check(isinstance(extra.get("client_token"), str) and extra.get("client_id"),
          "WELCOME.authextra lacks client_token/client_id: %r", extra)


async def expect_denied(d, what):
    try:
        res = await within(d, STEP_TIMEOUT, "ERROR for " + what)
    except ApplicationError as e:
        check(e.error == NOT_AUTHORIZED, "%s: got %s %r, want %s", what, e.error, e.args, NOT_AUTHORIZED)
        return
    raise Failure("%s succeeded (%r), want %s" % (what, res, NOT_AUTHORIZED))


async def allowed_and_denied(s, session, own_prefix, other_prefix):
    """The role may publish under own_prefix and call wamp.session.get; not publish under other_prefix
    nor call anything else."""
    await within(session.publish(s.uri(own_prefix), "hello", options=PublishOptions(acknowledge=True)),
                 STEP_TIMEOUT, "PUBLISHED to an allowed topic")
    info = await within(session.call("wamp.session.get", session.session_id), STEP_TIMEOUT, "wamp.session.get")
    w = session.welcome
    check(info.get("authid") == w.authid and info.get("authrole") == w.authrole,
          "wamp.session.get says %r, WELCOME said %s/%s", info, w.authid, w.authrole)
    check(info.get("client_id") == w.authextra.get("client_id"),
          "wamp.session.get client_id %r, WELCOME said %r", info.get("client_id"), w.authextra.get("client_id"))
    await expect_denied(session.publish(s.uri(other_prefix), "nope", options=PublishOptions(acknowledge=True)),
                        "publish to " + other_prefix + "*")
    await expect_denied(session.call(other_prefix + "anything"), "call " + other_prefix + "anything")


SCENARIOS = []


def scenario(name):
    def register(fn):
        SCENARIOS.append((name, fn))
        return fn
    return register


@scenario("ticket")
async def ticket(s):
    c = s.creds["ticket"]
    session = await s.join("ticket", authid=c["authid"], ticket=c["ticket"])
    check_welcome(session, c["authid"], "user", "ticket", "static")
    await allowed_and_denied(s, session, "com.example.user.", "com.example.device.")


@scenario("ticket_wrong_secret")
async def ticket_wrong_secret(s):
    c = s.creds["ticket"]
    await s.refused(create_authenticator("ticket", authid=c["authid"], ticket=c["ticket"] + "x"), c["authid"],
                    AUTHENTICATION_FAILED, "invalid ticket")


@scenario("cookie_via_hello_authextra")
async def cookie_via_hello_authextra(s):
    # A client without cookies keeps WELCOME.authextra.client_token and sends it back in
    # HELLO.Details.authextra.client_token, offering "cookie" first: the token alone authenticates it.
    c = s.creds["ticket"]
    first = await s.join("ticket", authid=c["authid"], ticket=c["ticket"])
    token, client_id = first.welcome.authextra["client_token"], first.welcome.authextra["client_id"]
    a = create_authenticator("ticket", authid=c["authid"], ticket=c["ticket"], authextra={"client_token": token})
    kind, second = await s.attempt(a, c["authid"], authmethods=["cookie", "ticket"])
    check(kind == "joined", "cookie login refused: ABORT %s", getattr(second, "reason", None))
    check(not second.challenges, "cookie login was challenged for %s", [ch.method for ch in second.challenges])
    w = second.welcome
    check((w.authid, w.authrole, w.authmethod, w.authprovider) == (c["authid"], "user", "cookie", "ticket"),
          "WELCOME %s/%s/%s/%s, want %s/user/cookie/ticket", w.authid, w.authrole, w.authmethod, w.authprovider,
          c["authid"])
    check(w.authextra.get("client_id") == client_id and w.authextra.get("client_token") == token,
          "client %r/%r, want the first session's %r/%r", w.authextra.get("client_id"), w.authextra.get("client_token"),
          client_id, token)
    await allowed_and_denied(s, second, "com.example.user.", "com.example.device.")
    # Without the token the same offer falls through to the ticket.
    kind, third = await s.attempt(create_authenticator("ticket", authid=c["authid"], ticket=c["ticket"]), c["authid"],
                                  authmethods=["cookie", "ticket"])
    check(kind == "joined" and third.welcome.authmethod == "ticket" and len(third.challenges) == 1,
          "without a token: %s %r", kind, getattr(third, "welcome", third))


@scenario("wampcra")
async def wampcra(s):
    c = s.creds["wampcra"]
    session = await s.join("wampcra", authid=c["authid"], secret=c["secret"])
    check_welcome(session, c["authid"], "user", "wampcra", "static")
    check("salt" not in session.challenges[0].extra, "unsalted principal got a salted challenge: %r",
          session.challenges[0].extra)
    await allowed_and_denied(s, session, "com.example.user.", "com.example.device.")


@scenario("wampcra_wrong_secret")
async def wampcra_wrong_secret(s):
    c = s.creds["wampcra"]
    await s.refused(create_authenticator("wampcra", authid=c["authid"], secret=c["secret"] + "x"), c["authid"],
                    AUTHENTICATION_FAILED, "signature is invalid")


@scenario("wampcra_salted")
async def wampcra_salted(s):
    c = s.creds["wampcra_salted"]
    # The client knows only the password; Autobahn derives the key from the challenge's PBKDF2 parameters.
    session = await s.join("wampcra", authid=c["authid"], secret=c["password"])
    check_welcome(session, c["authid"], "user", "wampcra", "static")
    extra = session.challenges[0].extra
    check(extra.get("salt") == c["salt"] and extra.get("iterations") == c["iterations"]
          and extra.get("keylen") == c["keylen"], "salted challenge parameters %r", extra)
    await allowed_and_denied(s, session, "com.example.user.", "com.example.device.")


@scenario("wampcra_salted_wrong_password")
async def wampcra_salted_wrong_password(s):
    c = s.creds["wampcra_salted"]
    await s.refused(create_authenticator("wampcra", authid=c["authid"], secret="not " + c["password"]), c["authid"],
                    AUTHENTICATION_FAILED, "signature is invalid")


@scenario("cryptosign")
async def cryptosign(s):
    c = s.creds["cryptosign"]
    session = await s.join("cryptosign", authid=c["authid"], privkey=c["privkey"])
    check_welcome(session, c["authid"], "device", "cryptosign", "static")
    pub = nacl.signing.SigningKey(bytes.fromhex(c["privkey"])).verify_key.encode().hex()
    check(session.welcome.authextra.get("pubkey") == pub, "WELCOME.authextra.pubkey %r, want %s",
          session.welcome.authextra.get("pubkey"), pub)
    await allowed_and_denied(s, session, "com.example.device.", "com.example.user.")


@scenario("cryptosign_without_authid")
async def cryptosign_without_authid(s):
    # The key alone identifies the principal.
    c = s.creds["cryptosign"]
    session = await s.join("cryptosign", privkey=c["privkey"])
    check_welcome(session, c["authid"], "device", "cryptosign", "static")


@scenario("cryptosign_unknown_key")
async def cryptosign_unknown_key(s):
    c = s.creds["cryptosign"]
    other = nacl.signing.SigningKey.generate().encode().hex()
    await s.refused(create_authenticator("cryptosign", authid=c["authid"], privkey=other), c["authid"],
                    AUTHENTICATION_FAILED, "not authorized")


@scenario("cryptosign_wrong_signature")
async def cryptosign_wrong_signature(s):
    # The authorized public key, but a signature made without its private key.
    c = s.creds["cryptosign"]
    inner = create_authenticator("cryptosign", authid=c["authid"], privkey=c["privkey"])
    await s.refused(BadSignature(inner, "00" * 96), c["authid"], AUTHENTICATION_FAILED, "signature is invalid")


@scenario("anonymous_public_only")
async def anonymous_public_only(s):
    session = await s.join(None)
    w = session.welcome
    check((w.authrole, w.authmethod) == ("anonymous", "anonymous"), "WELCOME %s/%s, want anonymous/anonymous",
          w.authrole, w.authmethod)
    await within(session.subscribe(lambda *a, **k: None, "com.example.public.news"), STEP_TIMEOUT,
                 "SUBSCRIBED to a public topic")
    await expect_denied(session.subscribe(lambda *a, **k: None, "com.example.user.orders"),
                        "anonymous subscribe to an authenticated-only topic")
    await expect_denied(session.publish("com.example.public.news", "x", options=PublishOptions(acknowledge=True)),
                        "anonymous publish")


@scenario("no_auth_method")
async def no_auth_method(s):
    c = s.creds["ticket"]
    a = create_authenticator("ticket", authid=c["authid"], ticket=c["ticket"])
    a.name = "scram"  # offer only a method the realm does not enable
    await s.refused(a, c["authid"], "wamp.error.no_auth_method", "scram")


async def run(args, creds):
    suite = Suite(args.url, args.realm, args.serializer, creds)
    label = "python-auth-websocket/%s" % args.serializer
    selected = [(n, f) for n, f in SCENARIOS if not args.only or n in args.only]
    passed = failed = 0
    for name, fn in selected:
        run.current = name
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
            await suite.close_all()
    print("%s: %d passed, %d failed" % (label, passed, failed), flush=True)
    return 1 if failed else 0


run.current = "start-up"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="router URL: ws://host:port/path")
    p.add_argument("--realm", required=True)
    p.add_argument("--serializer", choices=sorted(SERIALIZERS), default="json")
    p.add_argument("--timeout", type=float, default=60.0, help="overall timeout in seconds")
    p.add_argument("--only", nargs="*", help="run only these scenarios")
    args = p.parse_args()
    try:
        creds = json.loads(os.environ["GATEWAY_AUTH_CREDENTIALS"])
    except (KeyError, ValueError) as e:
        print("FAIL arguments: GATEWAY_AUTH_CREDENTIALS must hold the credentials as JSON: %s" % e, flush=True)
        sys.exit(2)

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

    reactor.callWhenRunning(lambda: defer.ensureDeferred(run(args, creds)).addCallbacks(done, crashed))
    reactor.run()
    sys.exit(code[0] if code else 1)


if __name__ == "__main__":
    main()
