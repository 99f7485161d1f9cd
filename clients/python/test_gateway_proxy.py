"""Tests of gateway_proxy.

Unit tests run against a small local emulation of the gateway's HTTP/JSON and XML-RPC
representatives (http.server). Integration tests run only when GATEWAY_PROXY_CONFIG names the
configuration file of a running gateway (interop/proxy_test.go sets it up):

    GATEWAY_PROXY_CONFIG=/path/gateway.toml GATEWAY_PROXY_TRANSPORT=xmlrpc \\
        /usr/bin/python3 -m unittest -v test_gateway_proxy

GATEWAY_PROXY_TRANSPORT replaces [webapp.proxy].transport; GATEWAY_PROXY_WS_URL and
GATEWAY_PROXY_REALM say where the WAMP test clients connect (default: derived from the file).
"""

import hashlib
import hmac
import http.server
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
import xmlrpc.client
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gateway_proxy as gp  # noqa: E402

# Shared with proxy/sign_test.go: the same inputs must give the same hex.
SIGN_VECTORS = [
    ("0123456789abcdef0123456789abcdef", "POST", "/api/v1/publish", 1700000000, "nonce-1",
     b'{"topic":"com.example.news","args":[1,"two"]}',
     "9ee9e6424a2edbf4e9cb4821d892c937a1d6e739134334087c94ec4151105b5a"),
    ("s3cr3t-key-with-16+chars", "POST", "/RPC2", 1767225600, "abc",
     b'<?xml version="1.0"?><methodCall><methodName>gateway.health</methodName><params></params></methodCall>',
     "0ca0c6840e0996053b0941f74ec93e414234f7ff9da38bf1e3989b28ff0b3b6b"),
    ("\u00fcn\u00efc\u00f6d\u00e9-secret-0123", "GET", "/gw/api/v1/stats?x=1&y=%20", 0, "~!@#$%^&*()_+ 0", b"",
     "9b2e8eec5d75036daed86fbba839db2eecf342f7e8a0ac5fbf32ac8d113d8e8c"),
]

API_KEY = "api-key-0123456789abcdef"
KEY_ID = "webapp1"
KEY_SECRET = "hmac-secret-0123456789abcdef"
BIG = 9007199254740993
BIG_PUB = 4503599627370497


class SignTest(unittest.TestCase):
    def test_vectors(self):
        for secret, method, uri, ts, nonce, body, want in SIGN_VECTORS:
            self.assertEqual(gp.sign(secret, method, uri, ts, nonce, body), want, uri)

    def test_every_part_counts(self):
        base = gp.sign("secret-0123456789", "POST", "/api/v1/x", 1, "n", b"{}")
        for args in (("secret-0123456789x", "POST", "/api/v1/x", 1, "n", b"{}"),
                     ("secret-0123456789", "PUT", "/api/v1/x", 1, "n", b"{}"),
                     ("secret-0123456789", "POST", "/api/v1/x?", 1, "n", b"{}"),
                     ("secret-0123456789", "POST", "/api/v1/x", 2, "n", b"{}"),
                     ("secret-0123456789", "POST", "/api/v1/x", 1, "m", b"{}"),
                     ("secret-0123456789", "POST", "/api/v1/x", 1, "n", b"{} ")):
            self.assertNotEqual(gp.sign(*args), base, args)


# --- configuration --------------------------------------------------------------------------


class ConfigTest(unittest.TestCase):
    def write(self, text, files=None):
        d = tempfile.mkdtemp()
        self.addCleanup(lambda: __import__("shutil").rmtree(d))
        for name, content in (files or {}).items():
            path = os.path.join(d, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", newline="") as f:
                f.write(content)
        path = os.path.join(d, "gateway.toml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_rules(self):
        env = {"PROXY_TEST_KEY": "api-key-from-env-0123456789", "PROXY_TEST_AMQP": "amqp://u:p@broker:5672/vh"}
        cases = [
            ("first TCP listener, first API key", """
[[listeners]]
unix = "/run/gw.sock"
[[listeners]]
address = "0.0.0.0:9001"
[webapp.http]
api_keys = ["env:PROXY_TEST_KEY", "env:UNSET_AND_UNUSED"]
[[webapp.http.hmac_keys]]
id = "k1"
secret = "env:UNSET_AND_UNUSED"
""", None, {"transport": "http", "url": "http://127.0.0.1:9001", "api_key": "api-key-from-env-0123456789"}),
            ("default listener", "[webapp.http]\nloopback_without_credentials = true\n", None,
             {"transport": "http", "url": "http://127.0.0.1:8080"}),
            ("TLS listener", "[[listeners]]\naddress = \"gw.example.com:8443\"\ntls_cert = \"c.pem\"\n[webapp.http]\n"
             "api_keys = [\"inline-key-0123456789\"]\n", None,
             {"transport": "http", "url": "https://gw.example.com:8443", "api_key": "inline-key-0123456789"}),
            ("own address, signing key from a file", """
[[listeners]]
address = "127.0.0.1:9001"
[webapp.http]
address = "[::]:9100"
api_keys = ["unused-api-key-0123456789"]
[[webapp.http.hmac_keys]]
id = "other"
secret = "env:UNSET_AND_UNUSED"
[[webapp.http.hmac_keys]]
id = "web"
secret = "file:secrets/web.key"
[webapp.proxy]
transport = "xmlrpc"
key_id = "web"
timeout = "1m30s"
""", {"secrets/web.key": "hmac secret\nwith a newline\n"},
             {"transport": "xmlrpc", "url": "http://[::1]:9100", "key_id": "web",
              "secret": "hmac secret\nwith a newline", "timeout": 90.0}),
            ("json off means xmlrpc", "[webapp.http]\naddress = \":9100\"\njson = false\n", None,
             {"transport": "xmlrpc", "url": "http://127.0.0.1:9100"}),
            ("proxy url overrides", "[webapp.http]\naddress = \":9100\"\n[webapp.proxy]\nurl = \"https://lb/gw\"\n", None,
             {"transport": "http", "url": "https://lb/gw"}),
            ("amqp only", "[webapp.amqp]\nurl = \"env:PROXY_TEST_AMQP\"\nqueue = \"gw.requests\"\n", None,
             {"transport": "amqp", "url": "amqp://u:p@broker:5672/vh", "queue": "gw.requests",
              "exchange": "", "binding_key": ""}),
            ("nats with a token file", "[webapp.nats]\nurl = \"nats://h:4333\"\ntoken = \"file:nats.token\"\n",
             {"nats.token": "tok-0123\r\n"},
             {"transport": "nats", "url": "nats://h:4333", "subject_prefix": "", "nats_user": "",
              "nats_password": "", "nats_token": "tok-0123"}),
        ]
        with mock.patch.dict(os.environ, env):
            for name, text, files, want in cases:
                with self.subTest(name):
                    self.assertEqual(gp.load_config(self.write(text, files)), want)

    def test_transport_override(self):
        path = self.write("[webapp.http]\naddress = \":9100\"\n[webapp.amqp]\nurl = \"amqp://h/\"\nqueue = \"q\"\n")
        self.assertEqual(gp.load_config(path)["transport"], "http")
        cfg = gp.load_config(path, "amqp")
        self.assertEqual((cfg["transport"], cfg["url"], cfg["queue"]), ("amqp", "amqp://h/", "q"))
        self.assertEqual(gp.load_config(path, "xmlrpc")["url"], "http://127.0.0.1:9100")

    def test_errors(self):
        cases = [
            ("[[realms]]\nname = \"r\"\n", "no [webapp.http], [webapp.amqp] or [webapp.nats] table"),
            ("[webapp\n", "gateway.toml"),
            ("[webapp.proxy]\ntransport = \"smtp\"\n", "webapp.proxy.transport: must be http, xmlrpc, amqp or nats"),
            ("[webapp.amqp]\nurl = \"amqp://h/\"\nqueue = \"q\"\n[webapp.proxy]\ntransport = \"http\"\n",
             '"http" needs a [webapp.http] table'),
            ("[webapp.http]\n[webapp.proxy]\ntransport = \"amqp\"\n", '"amqp" needs a [webapp.amqp] table'),
            ("[webapp.http]\n[[webapp.http.hmac_keys]]\nid = \"a\"\nsecret = \"s-0123456789abcdef\"\n"
             "[webapp.proxy]\nkey_id = \"b\"\n", "webapp.proxy.key_id: no [[webapp.http.hmac_keys]] has id 'b'"),
            ("[webapp.http]\napi_keys = [\"env:PROXY_TEST_NOT_SET\"]\n",
             "webapp.http.api_keys[0]: environment variable PROXY_TEST_NOT_SET is not set"),
            ("[webapp.http]\napi_keys = [\"file:nope.key\"]\n", "webapp.http.api_keys[0]: cannot read secret file"),
            ("[webapp.http]\napi_keys = [42]\n", "webapp.http.api_keys[0]: expected a secret string"),
            ("[webapp.http]\n[webapp.proxy]\ntimeout = 10\n", "webapp.proxy.timeout: invalid duration 10"),
            ("[webapp.http]\n[webapp.proxy]\ntimeout = \"soon\"\n", "webapp.proxy.timeout: invalid duration 'soon'"),
            ("webapp = 3\n", "webapp: expected a table, got an integer"),
            ("[webapp.http]\naddress = 9000\n", "webapp.http.address: expected a string, got an integer"),
            ("[webapp.http]\naddress = \"nohost\"\n", "webapp.http.address: invalid address 'nohost'"),
            ("[[listeners]]\naddress = \"127.0.0.1:0\"\n[webapp.http]\n", "listeners[0].address: port '0'"),
            ("[[listeners]]\nunix = \"/s\"\n[webapp.http]\n", "listeners: no listener has a TCP address"),
            ("[webapp.http]\njson = false\n[webapp.proxy]\ntransport = \"http\"\n", "webapp.http.json: is false"),
            ("[webapp.amqp]\nurl = \"amqp://h/\"\n", "webapp.amqp.queue: is required"),
            ("[webapp.amqp]\nqueue = \"q\"\n", "webapp.amqp.url: is required"),
        ]
        for text, want in cases:
            with self.subTest(want):
                path = self.write(text)
                with self.assertRaises(gp.ConfigError) as cm:
                    gp.load_config(path)
                self.assertIn(want, str(cm.exception))
                self.assertIn(path, str(cm.exception))

    def test_secrets_never_echoed(self):
        path = self.write("[webapp.http]\n[[webapp.http.hmac_keys]]\nid = \"k\"\nsecret = [\"top-secret-value\"]\n"
                          "[webapp.proxy]\nkey_id = \"k\"\n")
        with self.assertRaises(gp.ConfigError) as cm:
            gp.load_config(path)
        self.assertNotIn("top-secret-value", str(cm.exception))
        p = gp.GatewayProxy("amqp", "amqp://user:hunter2@h/", queue="q") if _has_pika() else None
        if p is not None:
            self.assertNotIn("hunter2", p.endpoint)

    def test_nats_is_refused_clearly(self):
        path = self.write("[webapp.nats]\nurl = \"nats://h:4222\"\n")
        with self.assertRaises(gp.ConfigError) as cm:
            gp.GatewayProxy.from_config(path)
        for word in ("http", "xmlrpc", "amqp", "nats"):
            self.assertIn(word, str(cm.exception))

    def test_constructor_errors(self):
        for kw in ({"transport": "carrier-pigeon"}, {"key_id": "k"}, {"url": "ftp://h/"},
                   {"timeout": 0}, {"api_key": "a\nb"}, {"transport": "amqp", "url": "http://h/", "queue": "q"}):
            with self.subTest(kw), self.assertRaises(gp.ConfigError):
                gp.GatewayProxy(**kw)

    def test_amqp_without_pika(self):
        with mock.patch.dict(sys.modules, {"pika": None}):
            with self.assertRaises(gp.MissingDependency) as cm:
                gp.GatewayProxy("amqp", "amqp://h/", queue="q")
            self.assertIsInstance(cm.exception, ImportError)
            self.assertIn("pika", str(cm.exception))

    def test_routing_key(self):
        for exchange, binding, want in (("", "", "q"), ("ex", "#", "publish"), ("ex", "gw.*", "gw.publish"),
                                        ("ex", "gw.requests", "gw.requests")):
            p = gp.GatewayProxy.__new__(gp.GatewayProxy)
            p.queue, p.exchange, p.binding_key = "q", exchange, binding or "#"
            self.assertEqual(p.routing_key("publish"), want)

    def test_durations(self):
        for text, want in (("10s", 10.0), ("1m30s", 90.0), ("250ms", 0.25), ("1.5h", 5400.0), ("0", 0.0)):
            self.assertAlmostEqual(gp._parse_duration(text), want)
        for text in ("10", "s", "1x", "", "1..2s"):
            self.assertIsNone(gp._parse_duration(text), text)


def _has_pika():
    try:
        import pika  # noqa: F401
        return True
    except ImportError:
        return False


# --- a local emulation of the HTTP representatives ------------------------------------------


def answers(op, req):
    """The emulated gateway's answers (the same as proxy/main_test.go's)."""
    if op == "publish":
        return {"publication": BIG_PUB}
    if op == "publish_batch":
        return {"results": [{"publication": 7}, {"error": {"error": "wamp.error.invalid_argument",
                                                           "message": "amount must be an int",
                                                           "details": {"field": "amount"}}}]}
    if op == "issue_ticket":
        return {"ticket": "tkt-1", "expires": "2026-01-02T03:04:05Z", "authid": "alice", "authrole": "user",
                "realm": "realm1"}
    if op == "revoke":
        return {"sessions": 1, "tickets": 2, "tokens": 3}
    if op == "sessions":
        return {"sessions": [{"session": 123456789012, "authid": "alice", "authrole": "user"}]}
    if op == "kill_session":
        return {"killed": True}
    if op == "call":
        if req.get("procedure") == "com.example.fail":
            raise gp.GatewayError("com.example.oops", "callee failed", args=[1, "x"], kwargs={"why": "because"})
        return {"args": [1, 2.5, "x"], "kwargs": {"big": BIG, "nested": {"l": [True, None]}}}
    if op == "event_classes":
        return {"classes": [{"name": "order.created", "topic": "com.shop.order.created"}]}
    if op == "describe_class":
        if req.get("class") == "missing":
            raise gp.GatewayError("wamp.error.invalid_argument", 'no event class "missing"', {"class": "missing"})
        return {"class": {"name": "order.created", "fields": {"amount": "int"}}}
    if op == "define_class":
        d = req.get("class") or {}
        if not isinstance((d.get("fields") or {}).get("amount"), str):
            raise gp.GatewayError("wamp.error.invalid_argument", 'class.fields.amount: unknown type "integer"')
        return {"class": {"name": d.get("name"), "topic": d.get("topic")}, "replaced": True}
    if op == "health":
        return {"status": "ok", "store": "none", "realm": "realm1"}
    if op == "stats":
        return {"realm": "realm1", "sessions": 2, "subscriptions": 3, "registrations": 1, "publications": 10,
                "uptime": 12.5}
    raise gp.GatewayError("gateway.error.no_such_operation", "no operation %r" % op)


def xml_value(v):
    """An XML-RPC <value>, written independently of gateway_proxy's marshaller."""
    if v is None:
        return "<value><nil/></value>"
    if isinstance(v, bool):
        return "<value><boolean>%d</boolean></value>" % v
    if isinstance(v, int):
        return "<value><%s>%d</%s></value>" % (("int", v, "int") if -2**31 <= v < 2**31 else ("i8", v, "i8"))
    if isinstance(v, float):
        return "<value><double>%r</double></value>" % v
    if isinstance(v, str):
        return "<value><string>%s</string></value>" % xmlrpc.client.escape(v)
    if isinstance(v, list):
        return "<value><array><data>%s</data></array></value>" % "".join(xml_value(x) for x in v)
    return "<value><struct>%s</struct></value>" % "".join(
        "<member><name>%s</name>%s</member>" % (xmlrpc.client.escape(k), xml_value(x)) for k, x in v.items())


class FakeGateway(http.server.ThreadingHTTPServer):
    """Serves POST /api/v1/<op> and /RPC2 like the gateway, verifying credentials itself."""

    daemon_threads = True

    def __init__(self, loopback=False):
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.loopback = loopback
        self.calls = []
        self.nonces = set()
        self.thread = threading.Thread(target=self.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server_address[1]

    def stop(self):
        self.shutdown()
        self.server_close()


class FakeHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def authenticate(self, body):
        h = self.headers
        if h.get(gp.HEADER_KEY_ID) is not None:
            ts, nonce = h.get(gp.HEADER_TIMESTAMP, ""), h.get(gp.HEADER_NONCE, "")
            if h.get(gp.HEADER_KEY_ID) != KEY_ID or not ts.isdigit() or abs(time.time() - int(ts)) > 300:
                return False
            if not nonce or nonce in self.server.nonces:
                return False
            msg = ("POST\n%s\n%s\n%s\n" % (self.path, ts, nonce)).encode() + body
            want = hmac.new(KEY_SECRET.encode(), msg, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(want, h.get(gp.HEADER_SIGNATURE, "")):
                return False
            self.server.nonces.add(nonce)
            return True
        if h.get("Authorization") is not None:
            return h.get("Authorization") == "Bearer " + API_KEY
        return self.server.loopback

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.startswith("/api/v1/"):
            self.json(body)
        elif self.path == "/RPC2":
            self.xmlrpc(body)
        else:
            self.reply(404, "text/plain", b"404 page not found")

    def json(self, body):
        op = self.path[len("/api/v1/"):]
        if not self.authenticate(body):
            return self.error(gp.GatewayError("gateway.error.unauthenticated", "bad credentials"))
        req = json.loads(body or b"{}")
        self.server.calls.append((op, req))
        try:
            res = answers(op, req)
        except gp.GatewayError as e:
            return self.error(e)
        self.reply(200, "application/json", json.dumps(res).encode())

    def error(self, e):
        obj = {"error": e.uri, "message": e.message}
        if e.details:
            obj["details"] = e.details
        if e.args_:
            obj["args"] = e.args_
        if e.kwargs:
            obj["kwargs"] = e.kwargs
        self.reply(e.status, "application/json", json.dumps(obj).encode())

    def xmlrpc(self, body):
        def fault(code, text):
            self.reply(200, "text/xml", ("<?xml version='1.0'?><methodResponse><fault><value><struct>"
                                         "<member><name>faultCode</name><value><int>%d</int></value></member>"
                                         "<member><name>faultString</name><value><string>%s</string></value>"
                                         "</member></struct></value></fault></methodResponse>"
                                         % (code, xmlrpc.client.escape(text))).encode())
        if not self.authenticate(body):
            return fault(401, "gateway.error.unauthenticated: bad credentials")
        params, method = xmlrpc.client.loads(body, use_builtin_types=True)
        op = method[len("gateway."):]
        names = gp.OPERATION_PARAMS[op]
        if len(params) > len(names):
            return fault(400, "gateway.error.malformed_request: too many params")
        req = {n: p for n, p in zip(names, params) if p is not None}
        self.server.calls.append((op, req))
        try:
            res = answers(op, req)
        except gp.GatewayError as e:
            return fault(e.status, "%s: %s" % (e.uri, e.message))
        if op == "publish":
            res = res["publication"]
        self.reply(200, "text/xml", ("<?xml version='1.0'?><methodResponse><params><param>%s</param></params>"
                                     "</methodResponse>" % xml_value(res)).encode())

    def reply(self, status, ctype, data):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class HTTPUnitBase:
    transport = None  # set by the subclasses

    def setUp(self):
        self.gw = FakeGateway()
        self.addCleanup(self.gw.stop)
        self.p = gp.GatewayProxy(self.transport, self.gw.url, key_id=KEY_ID, secret=KEY_SECRET)
        self.addCleanup(self.p.close)

    def last(self):
        self.assertTrue(self.gw.calls, "the gateway received nothing")
        return self.gw.calls[-1]

    def test_publish(self):
        pub = self.p.publish("com.example.news", [1, "two"], {"n": 3, "big": BIG}, retain=True, exclude=[5],
                             eligible_authrole=["user"], disclose_me=True)
        self.assertEqual(pub, BIG_PUB)
        self.assertEqual(self.last(), ("publish", {
            "topic": "com.example.news", "args": [1, "two"], "kwargs": {"n": 3, "big": BIG},
            "options": {"retain": True, "exclude": [5], "eligible_authrole": ["user"], "disclose_me": True}}))

    def test_publish_class(self):
        self.p.publish(kwargs={"amount": 5}, cls="order.created")
        self.assertEqual(self.last(), ("publish", {"kwargs": {"amount": 5}, "options": {"class": "order.created"}}))
        with self.assertRaises(ValueError):
            self.p.publish(None)

    def test_publish_batch(self):
        res = self.p.publish_batch([{"topic": "a.b", "args": [1]},
                                    {"kwargs": {"amount": "x"}, "options": {"class": "order.created"}}])
        self.assertEqual(self.last(), ("publish_batch", {"publications": [
            {"topic": "a.b", "args": [1]}, {"kwargs": {"amount": "x"}, "options": {"class": "order.created"}}]}))
        self.assertEqual(res[0], {"publication": 7, "duplicate": False})
        err = res[1]["error"]
        self.assertEqual((err.uri, err.message, err.status, err.details),
                         ("wamp.error.invalid_argument", "amount must be an int", 422, {"field": "amount"}))

    def test_issue_ticket(self):
        t = self.p.issue_ticket("alice", "user", ttl=90, authextra={"tier": "gold"})
        self.assertEqual(t["ticket"], "tkt-1")
        self.assertEqual(self.last(), ("issue_ticket", {"authid": "alice", "authrole": "user", "ttl": 90.0,
                                                        "authextra": {"tier": "gold"}}))

    def test_revoke_sessions_kill(self):
        self.assertEqual(self.p.revoke("alice"), {"sessions": 1, "tickets": 2, "tokens": 3})
        self.assertEqual(self.last(), ("revoke", {"authid": "alice"}))
        self.assertEqual(self.p.sessions(authrole="user"),
                         [{"session": 123456789012, "authid": "alice", "authrole": "user"}])
        self.assertEqual(self.last(), ("sessions", {"authrole": "user"}))
        self.assertTrue(self.p.kill_session(123456789012, "wamp.close.killed", "bye"))
        self.assertEqual(self.last(), ("kill_session", {"session": 123456789012, "reason": "wamp.close.killed",
                                                        "message": "bye"}))

    def test_call(self):
        res = self.p.call("com.example.add", [2, 3], {"k": True}, timeout=1.5)
        self.assertEqual(self.last(), ("call", {"procedure": "com.example.add", "args": [2, 3], "kwargs": {"k": True},
                                                "options": {"timeout": 1500}}))
        self.assertEqual((res.args, res.kwargs), ([1, 2.5, "x"], {"big": BIG, "nested": {"l": [True, None]}}))

    def test_call_error(self):
        with self.assertRaises(gp.GatewayError) as cm:
            self.p.call("com.example.fail")
        e = cm.exception
        self.assertEqual((e.uri, e.message, e.status), ("com.example.oops", "callee failed", 422))
        if self.transport == "http":
            self.assertEqual((e.args_, e.kwargs), ([1, "x"], {"why": "because"}))

    def test_classes(self):
        self.assertEqual(self.p.event_classes()[0]["name"], "order.created")
        self.assertEqual(self.p.describe_class("order.created")["fields"], {"amount": "int"})
        with self.assertRaises(gp.GatewayError) as cm:
            self.p.describe_class("missing")
        e = cm.exception
        self.assertEqual((e.uri, e.status, e.temporary), ("wamp.error.invalid_argument", 422, False))
        self.assertEqual(e.details, {"class": "missing"} if self.transport == "http" else {"fault_code": 422})

    def test_define_class(self):
        d = {"name": "pay", "topic": "com.pay", "fields": {"amount": "int"}}
        self.assertEqual(self.p.define_class(d), {"class": {"name": "pay", "topic": "com.pay"}, "replaced": True})
        self.assertEqual(self.last(), ("define_class", {"class": d}))
        with self.assertRaises(gp.GatewayError) as cm:
            self.p.define_class({"name": "pay", "topic": "com.pay", "fields": {"amount": {"type": "integer"}}})
        e = cm.exception
        self.assertEqual((e.uri, e.status), ("wamp.error.invalid_argument", 422))
        self.assertIn("class.fields.amount", e.message)
        with self.assertRaises(ValueError):
            self.p.define_class({})

    def test_health_stats(self):
        self.assertEqual(self.p.health(), {"status": "ok", "store": "none", "realm": "realm1"})
        self.assertEqual(self.last(), ("health", {}))
        self.assertEqual(self.p.stats()["uptime"], 12.5)

    def test_credentials(self):
        ok = [dict(key_id=KEY_ID, secret=KEY_SECRET), dict(api_key=API_KEY),
              dict(key_id=KEY_ID, secret=KEY_SECRET, api_key="wrong-key-0123456789")]
        bad = [dict(), dict(api_key="wrong-key-0123456789"), dict(key_id=KEY_ID, secret="wrong-secret-0123456789"),
               dict(key_id="nobody", secret=KEY_SECRET)]
        for kw in ok:
            with self.subTest(ok=kw):
                gp.GatewayProxy(self.transport, self.gw.url, **kw).health()
        for kw in bad:
            with self.subTest(bad=kw), self.assertRaises(gp.GatewayError) as cm:
                gp.GatewayProxy(self.transport, self.gw.url, **kw).health()
            self.assertEqual((cm.exception.uri, cm.exception.status), ("gateway.error.unauthenticated", 401))

    def test_signed_bodies(self):
        # Every signature covers the exact bytes sent, escapes and non-ASCII included.
        for i in range(10):
            self.p.publish("com.example.t", [i, "\u00e9<&>\r\n" * i])
            self.assertEqual(self.last()[1]["args"], [i, "\u00e9<&>\r\n" * i])

    def test_concurrent(self):
        errors = []

        def work():
            try:
                for _ in range(5):
                    self.p.health()
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)
        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])

    def test_unreachable(self):
        url = self.gw.url
        self.gw.stop()
        with self.assertRaises(gp.TransportError):
            gp.GatewayProxy(self.transport, url, timeout=2).health()

    def test_foreign_answers(self):
        class Foreign(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                data = b"<html>Bad Gateway</html>"
                self.send_response(502)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Foreign)
        threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        with self.assertRaises(gp.TransportError) as cm:
            gp.GatewayProxy(self.transport, "http://127.0.0.1:%d" % srv.server_address[1]).health()
        self.assertIn("502", str(cm.exception))


class HTTPUnitTest(HTTPUnitBase, unittest.TestCase):
    transport = "http"

    def test_base_url_forms(self):
        for base in (self.gw.url, self.gw.url + "/", self.gw.url + "/api/v1", self.gw.url + "/api/v1/"):
            self.assertEqual(gp.GatewayProxy("http", base, api_key=API_KEY).health()["status"], "ok")


class XMLRPCUnitTest(HTTPUnitBase, unittest.TestCase):
    transport = "xmlrpc"

    def test_positional_params(self):
        self.p.sessions(authrole="user")
        self.assertEqual(self.last(), ("sessions", {"authrole": "user"}))
        with self.assertRaises(ValueError):
            self.p.invoke("revoke", {"bogus": 1})

    def test_marshaller(self):
        body = gp._method_call("gateway.x", (2**40, 1e-7, 2.0, "a\rb", None, True))
        params, _ = xmlrpc.client.loads(body)
        self.assertEqual(params, (2**40, 1e-7, 2.0, "a\rb", None, True))
        self.assertIn(b"<i8>1099511627776</i8>", body)
        self.assertNotIn(b"e-07", body)
        with self.assertRaises(OverflowError):
            gp._method_call("gateway.x", (2**63,))
        with self.assertRaises(ValueError):
            gp._method_call("gateway.x", (float("nan"),))

    def test_fault_parsing(self):
        for code, text, uri, msg, status in (
                (401, "gateway.error.unauthenticated: bad: really", "gateway.error.unauthenticated", "bad: really", 401),
                (-32700, "gateway.error.malformed_request: not XML", "gateway.error.malformed_request", "not XML", 400),
                (1, "something broke", "gateway.error.internal", "something broke", 500),
                (-1, "wamp.error.unavailable: later", "wamp.error.unavailable", "later", 503)):
            e = gp.GatewayError.from_fault(code, text)
            self.assertEqual((e.uri, e.message, e.status), (uri, msg, status))


# --- integration against a running gateway --------------------------------------------------

CONFIG = os.environ.get("GATEWAY_PROXY_CONFIG")
SUBSCRIBER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "interop", "python",
                          "proxy_subscriber.py")


class WampClient:
    """interop/python/proxy_subscriber.py in a subprocess, its report lines in a queue."""

    def __init__(self, case, url, realm, *args):
        self.proc = subprocess.Popen([sys.executable, SUBSCRIBER, "--url", url, "--realm", realm, "--timeout", "60",
                                      *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._read, args=(self.proc.stdout, self.lines.put, True), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr.append, False), daemon=True).start()
        case.addCleanup(self.stop)

    @staticmethod
    def _read(stream, put, mark_end):
        for line in stream:
            put(line.rstrip("\n"))
        if mark_end:
            put(None)  # the client exited

    def next(self, kind, timeout=10.0):
        """The next report of kind (the others are skipped), or AssertionError."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(left, 0.01))
            except queue.Empty:
                line = None
                if left > 0:
                    continue
            if line is None:
                raise AssertionError("no %s from the WAMP client within %.0fs; stderr:\n%s"
                                     % (kind, timeout, "\n".join(self.stderr[-30:])))
            k, _, obj = line.partition(" ")
            if k == kind:
                return json.loads(obj)
            if k in ("ABORT", "LEFT") and kind != k:
                raise AssertionError("the WAMP client reported %s while waiting for %s" % (line, kind))

    def nothing(self, kind, wait=0.5):
        """Checks that no report of kind arrives within wait seconds."""
        try:
            got = self.next(kind, wait)
        except AssertionError:
            return
        raise AssertionError("unexpected %s %r" % (kind, got))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for s in (self.proc.stdout, self.proc.stderr):
            s.close()


def _ws_and_realm(path):
    import tomllib
    with open(path, "rb") as f:
        root = tomllib.load(f)
    url = os.environ.get("GATEWAY_PROXY_WS_URL")
    if not url:
        lt = next(lt for lt in root.get("listeners", [{"address": "127.0.0.1:8080"}]) if lt.get("address"))
        host, _, port = lt["address"].rpartition(":")
        host = "127.0.0.1" if host in ("", "0.0.0.0") else host
        scheme = "wss" if lt.get("tls_cert") else "ws"
        url = "%s://%s:%s%s" % (scheme, host, port, lt.get("websocket_path", "/ws"))
    realm = os.environ.get("GATEWAY_PROXY_REALM") or root.get("webapp", {}).get("realm") or root["realms"][0]["name"]
    return url, realm


@unittest.skipUnless(CONFIG, "integration tests run when GATEWAY_PROXY_CONFIG names a running gateway's config")
class IntegrationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.transport = os.environ.get("GATEWAY_PROXY_TRANSPORT") or None
        if cls.transport == "amqp" and not _has_pika():
            raise unittest.SkipTest("pika is missing: the amqp transport cannot be tested "
                                    "(apt-get install python3-pika)")
        cls.p = gp.GatewayProxy.from_config(CONFIG, cls.transport)
        cls.ws_url, cls.realm = _ws_and_realm(CONFIG)

    @classmethod
    def tearDownClass(cls):
        cls.p.close()

    def uri(self, name):
        return "com.example.proxy.%s.%s.%s" % (self.p.transport, name, uuid.uuid4().hex[:8])

    def client(self, *args):
        c = WampClient(self, self.ws_url, self.realm, *args)
        return c, c.next("READY")

    def test_health_and_stats(self):
        h = self.p.health()
        self.assertEqual((h["status"], h["realm"]), ("ok", self.realm))
        s = self.p.stats()
        self.assertEqual(s["realm"], self.realm)
        self.assertGreaterEqual(s["uptime"], 0)

    def test_publish_reaches_subscriber(self):
        topic = self.uri("news")
        sub, _ = self.client("--topic", topic)
        args = [1, "two", 2.5, True, None, [1, 2], {"k": "v"}]
        kwargs = {"big": BIG, "text": "gr\u00fc\u00dfe <&>", "nested": {"list": [1, "x"], "n": -7}}
        pub = self.p.publish(topic, args, kwargs)
        ev = sub.next("EVENT")
        self.assertEqual((ev["topic"], ev["args"], ev["kwargs"], ev["publication"]), (topic, args, kwargs, pub))

    def test_publish_options(self):
        topic = self.uri("filtered")
        sub, ready = self.client("--topic", topic)
        self.p.publish(topic, ["excluded"], exclude=[ready["session"]])
        self.p.publish(topic, ["other role"], eligible_authrole=["nobody"])
        self.p.publish(topic, ["eligible"], eligible=[ready["session"]], disclose_me=True)
        ev = sub.next("EVENT")
        self.assertEqual(ev["args"], ["eligible"])  # events of one publisher arrive in order
        self.assertIsNotNone(ev["publisher"])

    def test_publish_class(self):
        classes = {c["name"]: c for c in self.p.event_classes()}
        self.assertIn("order.created", classes)
        desc = self.p.describe_class("order.created")
        sub, _ = self.client("--topic", desc["topic"])
        pub = self.p.publish(kwargs={"amount": 5}, cls="order.created")
        ev = sub.next("EVENT")
        self.assertEqual((ev["kwargs"], ev["publication"]), ({"amount": 5}, pub))
        with self.assertRaises(gp.GatewayError) as cm:
            self.p.publish(kwargs={"amount": 5}, cls="no.such.class")
        self.assertEqual((cm.exception.uri, cm.exception.status), ("wamp.error.invalid_argument", 422))
        with self.assertRaises(gp.GatewayError) as cm:
            self.p.describe_class("no.such.class")
        self.assertEqual(cm.exception.uri, "wamp.error.invalid_argument")

    def test_publish_batch(self):
        topic = self.uri("batch")
        sub, _ = self.client("--topic", topic)
        res = self.p.publish_batch([{"topic": topic, "args": [1]},
                                    {"kwargs": {"amount": 1}, "options": {"class": "no.such.class"}},
                                    {"topic": topic, "args": [2]}])
        self.assertIsInstance(res[1]["error"], gp.GatewayError)
        self.assertEqual(res[1]["error"].uri, "wamp.error.invalid_argument")
        self.assertEqual([sub.next("EVENT")["args"], sub.next("EVENT")["args"]], [[1], [2]])
        self.assertNotEqual(res[0]["publication"], res[2]["publication"])

    def test_ticket_sessions_kill(self):
        authid = "alice-" + uuid.uuid4().hex[:8]
        t = self.p.issue_ticket(authid, "user", ttl=30, authextra={"tier": "gold"})
        self.assertEqual((t["authid"], t["authrole"], t["realm"]), (authid, "user", self.realm))
        c, ready = self.client("--authid", authid, "--ticket=" + t["ticket"])
        self.assertEqual((ready["authid"], ready["authrole"]), (authid, "user"))
        sessions = self.p.sessions(authid=authid)
        self.assertEqual([s["session"] for s in sessions], [ready["session"]])
        # A one-time ticket works once.
        again = WampClient(self, self.ws_url, self.realm, "--authid", authid, "--ticket=" + t["ticket"])
        again.next("ABORT")
        self.assertTrue(self.p.kill_session(ready["session"], "wamp.close.killed", "bye"))
        self.assertEqual(c.next("LEFT")["reason"], "wamp.close.killed")
        with self.assertRaises(gp.GatewayError) as cm:
            self.p.kill_session(ready["session"])
        self.assertEqual(cm.exception.uri, "wamp.error.no_such_session")

    def test_revoke(self):
        authid = "bob-" + uuid.uuid4().hex[:8]
        c, _ = self.client("--authid", authid, "--ticket=" + self.p.issue_ticket(authid, "user")["ticket"])
        unused = self.p.issue_ticket(authid, "user")
        r = self.p.revoke(authid)
        self.assertEqual((r["sessions"], r["tickets"]), (1, 1))
        c.next("LEFT")
        late = WampClient(self, self.ws_url, self.realm, "--authid", authid, "--ticket=" + unused["ticket"])
        late.next("ABORT")

    def test_call(self):
        add, fail = self.uri("add"), self.uri("fail")
        self.client("--add", add, "--fail", fail)
        res = self.p.call(add, [2, 3, BIG], {"echo": "x"}, timeout=5)
        self.assertEqual((res.args, res.kwargs), ([5 + BIG], {"echo": "x"}))
        with self.assertRaises(gp.GatewayError) as cm:
            self.p.call(fail, [1])
        e = cm.exception
        self.assertEqual(e.uri, "com.example.oops")
        if self.p.transport != "xmlrpc":  # faults carry no payload
            self.assertEqual((e.args_, e.kwargs), ([1, "x"], {"why": "because"}))
        with self.assertRaises(gp.GatewayError) as cm:
            self.p.call(self.uri("nobody"))
        self.assertEqual(cm.exception.uri, "wamp.error.no_such_procedure")

    def test_bad_credentials(self):
        if self.p.transport == "amqp":
            self.skipTest("AMQP requests are authenticated by the broker, not the gateway")
        for kw in (dict(api_key="wrong-api-key-0123456789"), dict(key_id="nobody", secret="wrong-secret-0123456789")):
            with self.subTest(kw), self.assertRaises(gp.GatewayError) as cm:
                gp.GatewayProxy(self.p.transport, self.p.url, **kw).health()
            self.assertEqual((cm.exception.uri, cm.exception.status), ("gateway.error.unauthenticated", 401))

    def test_amqp_message_id(self):
        if self.p.transport != "amqp":
            self.skipTest("message_id deduplication is an AMQP feature")
        topic, mid = self.uri("dedup"), uuid.uuid4().hex
        sub, _ = self.client("--topic", topic)
        first = self.p.publish(topic, ["once"], message_id=mid)
        self.assertEqual(self.p.publish(topic, ["once"], message_id=mid), first)
        self.assertEqual(sub.next("EVENT")["publication"], first)
        sub.nothing("EVENT")


if __name__ == "__main__":
    unittest.main()
