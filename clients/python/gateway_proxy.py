"""Python proxy of the gateway's web-app interface.

One ``GatewayProxy`` with a method per operation -- ``publish``, ``publish_batch``,
``issue_ticket``, ``revoke``, ``sessions``, ``kill_session``, ``call``, ``event_classes``,
``describe_class``, ``define_class``, ``health``, ``stats`` -- whatever representative carries it: HTTP/JSON and
XML-RPC (standard library only), or AMQP 0-9-1 (needs ``pika``). NATS is not supported from Python
(the standard library has no NATS client): use the Go proxy or another transport.

Shared configuration: ``GatewayProxy.from_config(path)`` reads the gateway's own TOML file (Python
3.11+ ``tomllib``): its ``[webapp]`` section and ``[[listeners]]`` say which transport to use, where
the gateway is and which credentials to present, by the same rules as the Go proxy:

* transport: ``[webapp.proxy].transport``; when empty, ``http`` if ``[webapp.http]`` is present (or
  ``xmlrpc`` when it sets ``json = false``), else ``amqp`` if ``[webapp.amqp]`` is present, else
  ``nats`` (unsupported here).
* address (http, xmlrpc): ``[webapp.proxy].url``; else ``[webapp.http].address``; else the first
  ``[[listeners]]`` entry with a TCP address (https when it has ``tls_cert``); else the default
  listener 127.0.0.1:8080. A wildcard host (empty, 0.0.0.0, ::) becomes the loopback address.
  ``/api/v1/<operation>`` or ``/RPC2`` is appended to the URL unless it already ends with it.
* address (amqp): ``[webapp.proxy].url``, else ``[webapp.amqp].url``; requests go to the default
  exchange with routing key ``queue``, or, when ``exchange`` is set, to that exchange with a
  routing key matching ``binding_key`` (its ``*`` and ``#`` words replaced by the operation name;
  ``#`` when unset).
* credentials (http, xmlrpc): ``[webapp.proxy].key_id`` names the ``[[webapp.http.hmac_keys]]``
  key whose secret signs each request; else the first ``[webapp.http].api_keys`` entry is sent as
  a Bearer token; else none (the gateway must allow loopback clients without credentials).
* secrets are inline, ``"env:NAME"`` or ``"file:PATH"`` (relative to the configuration file's
  directory; one trailing newline removed). Only the secrets the proxy uses are resolved.
* timeout: ``[webapp.proxy].timeout`` (default 10s) bounds each request; a call's own timeout is
  added to it.

Errors: an operation the gateway refused raises ``GatewayError`` (``.uri``, ``.message``,
``.details``, ``.status``, ``.args_``, ``.kwargs``) on every transport. The gateway being
unreachable, or an answer that is not the gateway's, raises ``TransportError``; a bad
configuration ``ConfigError``; a transport whose client library is missing ``MissingDependency``
(an ``ImportError``).

Signed requests (see ``sign``): headers X-Gateway-Key-Id, X-Gateway-Timestamp (unix seconds),
X-Gateway-Nonce and X-Gateway-Signature = lowercase hex HMAC-SHA256(secret, METHOD + "\\n" +
REQUEST_URI + "\\n" + TIMESTAMP + "\\n" + NONCE + "\\n" + BODY).

Example::

    from gateway_proxy import GatewayProxy, GatewayError

    with GatewayProxy.from_config("/etc/gateway/gateway.toml") as gw:
        pub = gw.publish("com.shop.news", ["hello"], {"n": 1})
        ticket = gw.issue_ticket("alice", "user", ttl=60)["ticket"]
        try:
            gw.publish(None, kwargs={"amount": 5}, cls="order.created")
        except GatewayError as e:
            print(e.uri, e.message, e.details)

A ``GatewayProxy`` may be shared between threads (the AMQP transport serializes its requests).
"""

import hashlib
import hmac
import http.client
import json
import math
import os
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xmlrpc.client
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = [
    "GatewayProxy",
    "GatewayError",
    "TransportError",
    "ConfigError",
    "MissingDependency",
    "CallResult",
    "sign",
    "load_config",
    "TRANSPORTS",
    "SUPPORTED_TRANSPORTS",
]

#: Every representative of the web-app interface.
TRANSPORTS = ("http", "xmlrpc", "amqp", "nats")
#: The transports this module speaks.
SUPPORTED_TRANSPORTS = ("http", "xmlrpc", "amqp")

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = 10.0
DEFAULT_BINDING_KEY = "#"
MAX_ANSWER = 64 << 20
MAX_SECRET_FILE = 64 << 10

#: Each operation's request fields, in the order XML-RPC passes them.
OPERATION_PARAMS = {
    "publish": ("topic", "args", "kwargs", "options"),
    "publish_batch": ("publications",),
    "issue_ticket": ("authid", "authrole", "ttl", "authextra"),
    "revoke": ("authid",),
    "sessions": ("authid", "authrole"),
    "kill_session": ("session", "reason", "message"),
    "call": ("procedure", "args", "kwargs", "options"),
    "event_classes": (),
    "describe_class": ("class",),
    "define_class": ("class",),
    "health": (),
    "stats": (),
}

HEADER_KEY_ID = "X-Gateway-Key-Id"
HEADER_TIMESTAMP = "X-Gateway-Timestamp"
HEADER_NONCE = "X-Gateway-Nonce"
HEADER_SIGNATURE = "X-Gateway-Signature"

_STATUS = {
    "gateway.error.malformed_request": 400,
    "gateway.error.no_such_operation": 404,
    "gateway.error.unauthenticated": 401,
    "wamp.error.not_authorized": 403,
    "gateway.error.request_too_large": 413,
    "gateway.error.internal": 500,
    "wamp.error.unavailable": 503,
    "wamp.error.canceled": 504,
    "wamp.error.timeout": 504,
    "gateway.error.method_not_allowed": 405,
    "gateway.error.unsupported_media_type": 415,
}


def status_of(uri):
    """The HTTP-equivalent status the gateway gives an error URI (422 for the others)."""
    return _STATUS.get(uri, 422)


class GatewayError(Exception):
    """An operation the gateway refused.

    ``uri`` is the error URI (e.g. ``wamp.error.invalid_argument``), ``message`` the gateway's
    explanation, ``details`` a dict (over XML-RPC only ``{"fault_code": N}``), ``status`` the
    HTTP-equivalent status, ``args_`` and ``kwargs`` a callee's ERROR payload (``call``; not
    carried by XML-RPC).
    """

    def __init__(self, uri, message, details=None, status=None, args=None, kwargs=None):
        super().__init__(uri, message)
        self.uri = uri
        self.message = message
        self.details = details or {}
        self.status = status or status_of(uri)
        self.args_ = list(args or [])
        self.kwargs = dict(kwargs or {})

    @property
    def temporary(self):
        """True when retrying the same request later may succeed (status 5xx)."""
        return self.status >= 500

    def __str__(self):
        return "%s: %s" % (self.uri, self.message)

    def __repr__(self):
        return "GatewayError(%r, %r, status=%r)" % (self.uri, self.message, self.status)

    @classmethod
    def from_json(cls, obj, status=None):
        """The error of a JSON error object, or None when obj is not one."""
        if not isinstance(obj, dict) or not isinstance(obj.get("error"), str) or not obj["error"]:
            return None
        details = obj.get("details")
        args = obj.get("args")
        kwargs = obj.get("kwargs")
        return cls(
            obj["error"],
            obj.get("message") if isinstance(obj.get("message"), str) else "",
            details if isinstance(details, dict) else None,
            status or (obj.get("status") if isinstance(obj.get("status"), int) else None),
            args if isinstance(args, list) else None,
            kwargs if isinstance(kwargs, dict) else None,
        )

    @classmethod
    def from_fault(cls, code, text):
        """The error of an XML-RPC fault: faultString "<URI>: <message>", faultCode the status."""
        uri, sep, msg = text.partition(": ")
        if not sep or not _looks_like_uri(uri):
            uri, msg = "gateway.error.internal", text
        if code == -32700:
            status = 400
        elif isinstance(code, int) and 100 <= code <= 599:
            status = code
        else:
            status = status_of(uri)
        return cls(uri, msg, {"fault_code": code}, status)


class TransportError(Exception):
    """The gateway could not be reached, or answered something that is not its answer."""


class ConfigError(ValueError):
    """The configuration (file or arguments) cannot give a working proxy."""


class MissingDependency(ImportError):
    """The client library of the chosen transport is not installed."""


@dataclass
class CallResult:
    """The RESULT of a call: positional and keyword results."""

    args: list = field(default_factory=list)
    kwargs: dict = field(default_factory=dict)


def _looks_like_uri(s):
    return "." in s and not any(c in s for c in " \t\r\n#") and all(s.split("."))


def sign(secret, method, request_uri, timestamp, nonce, body):
    """The X-Gateway-Signature of a request: lowercase hex HMAC-SHA256, keyed with secret, of
    METHOD "\\n" REQUEST_URI "\\n" TIMESTAMP "\\n" NONCE "\\n" BODY (request_uri is the path plus
    "?query" exactly as sent; body bytes)."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if isinstance(body, str):
        body = body.encode("utf-8")
    prefix = "%s\n%s\n%d\n%s\n" % (method, request_uri, int(timestamp), nonce)
    mac = hmac.new(secret, prefix.encode("utf-8"), hashlib.sha256)
    mac.update(body)
    return mac.hexdigest()


def _new_nonce():
    return secrets.token_hex(16)


def _excerpt(data, limit=200):
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    if len(data) > limit:
        data = data[:limit] + "..."
    return repr(data)


def _endpoint(base, path):
    """base joined with the representative's path, unless base already ends with it."""
    trimmed = base.rstrip("/")
    p = path.rstrip("/")
    if trimmed.endswith(p):
        return trimmed + path[len(p):]
    return trimmed + path


def _redact(url):
    try:
        u = urllib.parse.urlsplit(url)
    except ValueError:
        return "(an invalid URL)" if "@" in url else url
    if u.password is None:
        return url
    netloc = u.netloc.rsplit("@", 1)[1]
    return urllib.parse.urlunsplit(u._replace(netloc="%s:xxxxx@%s" % (u.username, netloc)))


# --- configuration ----------------------------------------------------------------------------


def load_config(path, transport=None):
    """Reads the gateway's configuration file and returns the keyword arguments of
    ``GatewayProxy`` (transport, url, api_key, key_id, secret, timeout, queue, exchange,
    binding_key, subject_prefix, nats_user, nats_password, nats_token) by the rules in the module
    documentation. transport, when given, replaces ``[webapp.proxy].transport``. Errors
    (``ConfigError``) name the file and the key."""
    try:
        import tomllib
    except ImportError as e:  # Python < 3.11
        raise MissingDependency("reading the gateway configuration needs Python 3.11+ (tomllib)") from e
    try:
        with open(path, "rb") as f:
            root = tomllib.load(f)
    except OSError as e:
        raise ConfigError("reading the gateway configuration %s: %s" % (path, e.strerror or e)) from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("%s: %s" % (path, e)) from e
    return _ConfigFile(path).config(root, transport)


class _ConfigFile:
    def __init__(self, path):
        self.path = path
        self.dir = os.path.dirname(os.path.abspath(path))

    def error(self, key, msg):
        return ConfigError("%s: %s: %s" % (self.path, key, msg))

    def config(self, root, transport=None):
        webapp = self.table(root, "webapp", "webapp")
        sec = {k: self.table(webapp, k, "webapp." + k) for k in ("proxy", "http", "amqp", "nats")}
        cfg = {}
        name = transport or self.str(sec["proxy"], "transport", "webapp.proxy")
        url = self.str(sec["proxy"], "url", "webapp.proxy")
        timeout = self.duration(sec["proxy"], "timeout", "webapp.proxy")
        if timeout:
            cfg["timeout"] = timeout
        transport = self.transport(name, bool(url), sec)
        cfg["transport"] = transport
        if url:
            cfg["url"] = url
        if transport in ("http", "xmlrpc"):
            self.http_config(cfg, root, sec)
        elif transport == "amqp":
            self.amqp_config(cfg, sec["amqp"])
        else:
            self.nats_config(cfg, sec["nats"])
        return cfg

    def transport(self, name, has_url, sec):
        key = "webapp.proxy.transport"
        if name in ("http", "xmlrpc"):
            if sec["http"] is None and not has_url:
                raise self.error(key, '"%s" needs a [webapp.http] table (or webapp.proxy.url)' % name)
            return name
        if name in ("amqp", "nats"):
            if sec[name] is None:
                raise self.error(key, '"%s" needs a [webapp.%s] table' % (name, name))
            return name
        if name:
            raise self.error(key, "must be http, xmlrpc, amqp or nats, got %r" % name)
        if sec["http"] is not None:
            return "http" if self.bool(sec["http"], "json", "webapp.http", True) else "xmlrpc"
        if sec["amqp"] is not None:
            return "amqp"
        if sec["nats"] is not None:
            return "nats"
        if has_url:
            return "http"
        raise ConfigError(
            "%s: no [webapp.http], [webapp.amqp] or [webapp.nats] table: the gateway serves no "
            "web-app representative with this file" % self.path
        )

    def http_config(self, cfg, root, sec):
        transport, http_ = cfg["transport"], sec["http"]
        if http_ is not None:
            flag = "json" if transport == "http" else "xmlrpc"
            if not self.bool(http_, flag, "webapp.http", True) and "url" not in cfg:
                raise self.error(
                    "webapp.http." + flag,
                    "is false: the gateway does not serve %s (choose another webapp.proxy.transport)" % transport,
                )
        if "url" not in cfg:
            cfg["url"] = self.http_url(root, http_)
        key_id = self.str(sec["proxy"], "key_id", "webapp.proxy")
        if key_id:
            cfg["key_id"] = key_id
            cfg["secret"] = self.hmac_secret(http_, key_id)
            return
        keys = self.array(http_, "api_keys", "webapp.http")
        if keys:
            cfg["api_key"] = self.secret(keys[0], "webapp.http.api_keys[0]")

    def http_url(self, root, http_):
        addr = self.str(http_, "address", "webapp.http")
        if addr:
            return self.base_url("http", addr, "webapp.http.address")
        listeners = self.array(root, "listeners", "listeners")
        for i, lt in enumerate(listeners):
            key = "listeners[%d]" % i
            if not isinstance(lt, dict):
                raise self.error(key, "expected a table, got %s" % _type_name(lt))
            addr = self.str(lt, "address", key)
            if not addr:
                continue  # a Unix socket listener
            scheme = "https" if self.str(lt, "tls_cert", key) else "http"
            return self.base_url(scheme, addr, key + ".address")
        if listeners:
            raise self.error("listeners", "no listener has a TCP address: set webapp.http.address or webapp.proxy.url")
        return DEFAULT_URL

    def base_url(self, scheme, addr, key):
        host, sep, port = addr.rpartition(":")
        if not sep or (":" in host and not (host.startswith("[") and host.endswith("]"))):
            raise self.error(key, "invalid address %r: want host:port" % addr)
        if not port.isdigit() or port == "0" or int(port) > 65535:
            raise self.error(
                key, "port %r is picked at start-up or invalid, so the proxy cannot use it: set webapp.proxy.url" % port
            )
        host = host.strip("[]")
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = "[%s]" % host
        return "%s://%s:%s" % (scheme, host, port)

    def hmac_secret(self, http_, key_id):
        for i, k in enumerate(self.array(http_, "hmac_keys", "webapp.http")):
            key = "webapp.http.hmac_keys[%d]" % i
            if not isinstance(k, dict):
                raise self.error(key, "expected a table, got %s" % _type_name(k))
            if self.str(k, "id", key) == key_id:
                value = self.secret(k.get("secret"), key + ".secret")
                if not value:
                    raise self.error(key + ".secret", "is empty")
                return value
        raise self.error("webapp.proxy.key_id", "no [[webapp.http.hmac_keys]] has id %r" % key_id)

    def amqp_config(self, cfg, amqp):
        if "url" not in cfg:
            cfg["url"] = self.secret(amqp.get("url"), "webapp.amqp.url")
            if not cfg["url"]:
                raise self.error("webapp.amqp.url", "is required")
        cfg["queue"] = self.str(amqp, "queue", "webapp.amqp")
        if not cfg["queue"]:
            raise self.error("webapp.amqp.queue", "is required")
        cfg["exchange"] = self.str(amqp, "exchange", "webapp.amqp")
        cfg["binding_key"] = self.str(amqp, "binding_key", "webapp.amqp")

    def nats_config(self, cfg, nats):
        if "url" not in cfg:
            cfg["url"] = self.str(nats, "url", "webapp.nats")
            if not cfg["url"]:
                raise self.error("webapp.nats.url", "is required")
        cfg["subject_prefix"] = self.str(nats, "subject_prefix", "webapp.nats")
        cfg["nats_user"] = self.str(nats, "user", "webapp.nats")
        cfg["nats_password"] = self.secret(nats.get("password"), "webapp.nats.password")
        cfg["nats_token"] = self.secret(nats.get("token"), "webapp.nats.token")

    def table(self, t, name, key):
        if t is None or name not in t:
            return None
        if not isinstance(t[name], dict):
            raise self.error(key, "expected a table, got %s" % _type_name(t[name]))
        return t[name]

    def str(self, t, name, parent):
        if t is None or name not in t:
            return ""
        if not isinstance(t[name], str):
            raise self.error(parent + "." + name, "expected a string, got %s" % _type_name(t[name]))
        return t[name]

    def bool(self, t, name, parent, default):
        if t is None or name not in t:
            return default
        if not isinstance(t[name], bool):
            raise self.error(parent + "." + name, "expected true or false, got %s" % _type_name(t[name]))
        return t[name]

    def array(self, t, name, parent):
        if t is None or name not in t:
            return []
        if not isinstance(t[name], list):
            raise self.error(parent + "." + name, "expected an array, got %s" % _type_name(t[name]))
        return t[name]

    def duration(self, t, name, parent):
        """Seconds of a Go duration string ("10s", "1m30s", "250ms") or the integer 0."""
        key = parent + "." + name
        if t is None or name not in t:
            return 0.0
        v = t[name]
        if isinstance(v, int) and not isinstance(v, bool):
            if v == 0:
                return 0.0
            raise self.error(key, 'invalid duration %d: write it as a string with a unit, e.g. "%ds"' % (v, v))
        if not isinstance(v, str):
            raise self.error(key, 'expected a duration string such as "10s", got %s' % _type_name(v))
        seconds = _parse_duration(v.strip())
        if seconds is None:
            raise self.error(
                key, 'invalid duration %r: use a number with a unit ns, us, ms, s, m or h, e.g. "10s"' % v
            )
        if seconds < 0:
            raise self.error(key, "invalid duration %r: must not be negative" % v)
        return seconds

    def secret(self, v, key):
        """A secret: inline, "env:NAME" or "file:PATH"; "" when absent. Never echoes the value."""
        if v is None:
            return ""
        if not isinstance(v, str):
            raise self.error(
                key, 'expected a secret string (inline, "env:NAME" or "file:PATH"), got %s' % _type_name(v)
            )
        if v.startswith("env:"):
            name = v[4:]
            if not name or any(c in name for c in "= \t\n\x00"):
                raise self.error(key, 'invalid environment variable name %r in "env:NAME"' % name)
            if name not in os.environ:
                raise self.error(key, "environment variable %s is not set" % name)
            if not os.environ[name]:
                raise self.error(key, "environment variable %s is empty" % name)
            return os.environ[name]
        if v.startswith("file:"):
            p = v[5:]
            if not p:
                raise self.error(key, '"file:" needs a path, e.g. "file:/run/secrets/key"')
            if not os.path.isabs(p):
                p = os.path.join(self.dir, p)
            return self.secret_file(p, key)
        return v

    def secret_file(self, p, key):
        try:
            if not os.path.isfile(p):
                if os.path.exists(p):
                    raise self.error(key, "secret file %s is not a regular file" % p)
                raise self.error(key, "cannot read secret file %s: no such file or directory" % p)
            with open(p, "rb") as f:
                data = f.read(MAX_SECRET_FILE + 1)
        except OSError as e:
            raise self.error(key, "cannot read secret file %s: %s" % (p, e.strerror or e)) from e
        if len(data) > MAX_SECRET_FILE:
            raise self.error(key, "secret file %s is larger than 64KiB" % p)
        text = data.decode("utf-8", "surrogateescape")
        if text.endswith("\n"):
            text = text[:-1]
        if text.endswith("\r"):
            text = text[:-1]
        if not text:
            raise self.error(key, "secret file %s is empty" % p)
        return text


_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _parse_duration(s):
    """Seconds of a Go duration string, or None when it is not one."""
    if s in ("0", "+0", "-0"):
        return 0.0
    sign_ = 1.0
    if s[:1] in "+-" and s:
        sign_ = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if not s:
        return None
    total, i = 0.0, 0
    while i < len(s):
        j = i
        while j < len(s) and (s[j].isdigit() or s[j] == "."):
            j += 1
        number = s[i:j]
        if not number or number == "." or number.count(".") > 1:
            return None
        k = j
        while k < len(s) and not (s[k].isdigit() or s[k] == "."):
            k += 1
        unit = s[j:k]
        if unit not in _UNITS:
            return None
        total += float(number) * _UNITS[unit]
        i = k
    return sign_ * total


def _type_name(v):
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a float"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "a table"
    return "a date or time"


# --- XML-RPC ----------------------------------------------------------------------------------


class _Marshaller(xmlrpc.client.Marshaller):
    """xmlrpc.client's marshaller with 64-bit integers (i8), doubles in decimal notation and
    carriage returns kept (escaped), as the gateway reads them."""

    dispatch = dict(xmlrpc.client.Marshaller.dispatch)

    def dump_long(self, value, write):
        if -(2**31) <= value < 2**31:
            write("<value><int>%d</int></value>\n" % value)
        elif -(2**63) <= value < 2**63:
            write("<value><i8>%d</i8></value>\n" % value)
        else:
            raise OverflowError("integer %d is beyond the 64-bit range of XML-RPC's i8" % value)

    dispatch[int] = dump_long

    def dump_double(self, value, write):
        if math.isnan(value) or math.isinf(value):
            raise ValueError("XML-RPC cannot carry the double %r" % value)
        text = repr(value)
        if "e" in text or "E" in text:
            text = format(Decimal(text), "f")
        if "." not in text:
            text += ".0"
        write("<value><double>%s</double></value>\n" % text)

    dispatch[float] = dump_double

    def dump_unicode(self, value, write, escape=xmlrpc.client.escape):
        write("<value><string>%s</string></value>\n" % escape(value).replace("\r", "&#13;"))

    dispatch[str] = dump_unicode


def _method_call(method, params):
    body = _Marshaller("utf-8", allow_none=True).dumps(params)
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n<methodCall>\n<methodName>%s</methodName>\n%s</methodCall>\n"
        % (xmlrpc.client.escape(method), body)
    ).encode("utf-8")


class _SigningMixin:
    """Adds the signature headers over the exact XML body (send_content sees the bytes sent)."""

    def __init__(self, *a, signer=None, **kw):
        super().__init__(*a, **kw)
        self._signer = signer
        self._handler = None

    def send_request(self, host, handler, request_body, debug):
        self._handler = handler
        return super().send_request(host, handler, request_body, debug)

    def send_content(self, connection, request_body):
        if self._signer is not None:
            for name, value in self._signer("POST", self._handler, request_body):
                connection.putheader(name, value)
        super().send_content(connection, request_body)


class _XMLRPCTransport(_SigningMixin, xmlrpc.client.Transport):
    user_agent = "gateway-proxy-python/1"


class _XMLRPCSafeTransport(_SigningMixin, xmlrpc.client.SafeTransport):
    user_agent = "gateway-proxy-python/1"


# --- transports -------------------------------------------------------------------------------


class _HTTPBase:
    def __init__(self, proxy):
        self.proxy = proxy

    def auth_headers(self, method, request_uri, body):
        p = self.proxy
        if p.key_id:
            ts = int(time.time())
            nonce = _new_nonce()
            return [
                (HEADER_KEY_ID, p.key_id),
                (HEADER_TIMESTAMP, str(ts)),
                (HEADER_NONCE, nonce),
                (HEADER_SIGNATURE, sign(p.secret, method, request_uri, ts, nonce, body)),
            ]
        if p.api_key:
            return [("Authorization", "Bearer " + p.api_key)]
        return []

    def close(self):
        pass


class _HTTPTransport(_HTTPBase):
    """HTTP/JSON: POST <url>/api/v1/<operation>."""

    def __init__(self, proxy):
        super().__init__(proxy)
        self.base = _endpoint(proxy.url, "/api/v1/")
        host = urllib.parse.urlsplit(proxy.url).hostname or ""
        if host == "localhost" or host == "::1" or host.startswith("127."):
            # A loopback gateway is never reached through the environment's HTTP proxy.
            self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        else:
            self.opener = urllib.request.build_opener()

    def invoke(self, op, fields, timeout):
        body = json.dumps(fields, separators=(",", ":")).encode("utf-8")
        url = self.base + op
        parts = urllib.parse.urlsplit(url)
        request_uri = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "User-Agent": "gateway-proxy-python/1"}
        headers.update(self.auth_headers("POST", request_uri, body))
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with self.opener.open(req, timeout=timeout) as resp:
                status, answer = resp.status, resp.read(MAX_ANSWER + 1)
        except urllib.error.HTTPError as e:
            status, answer = e.code, e.read(MAX_ANSWER + 1)
            e.close()
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
            raise TransportError("%s over http: %s: %s" % (op, url, getattr(e, "reason", e))) from e
        if len(answer) > MAX_ANSWER:
            raise TransportError("%s over http: the answer exceeds %d bytes" % (op, MAX_ANSWER))
        try:
            decoded = json.loads(answer)
        except ValueError:
            decoded = None
        if status == 200 and decoded is not None:
            return decoded
        err = GatewayError.from_json(decoded, status)
        if err is not None:
            raise err
        raise TransportError("%s over http: unexpected answer (HTTP %d): %s" % (op, status, _excerpt(answer)))


class _XMLRPCTransportImpl(_HTTPBase):
    """XML-RPC: POST <url>/RPC2, method gateway.<operation> with positional params."""

    def __init__(self, proxy):
        super().__init__(proxy)
        self.url = _endpoint(proxy.url, "/RPC2")
        parts = urllib.parse.urlsplit(self.url)
        self.scheme, self.host = parts.scheme, parts.netloc
        self.handler = (parts.path or "/") + ("?" + parts.query if parts.query else "")

    def invoke(self, op, fields, timeout):
        names = OPERATION_PARAMS.get(op)
        if names is None:
            if fields:
                raise ValueError("XML-RPC cannot carry the fields of unknown operation %r (their order is unknown)" % op)
            names = ()
        unknown = set(fields) - set(names)
        if unknown:
            raise ValueError("operation %s has no field %s" % (op, ", ".join(sorted(unknown))))
        params = [fields.get(n) for n in names]
        while params and params[-1] is None:
            params.pop()
        body = _method_call("gateway." + op, tuple(params))
        p = self.proxy
        signer = (lambda m, h, b: self.auth_headers(m, h, b)) if p.key_id else None
        headers = [] if p.key_id else self.auth_headers("POST", self.handler, body)
        cls = _XMLRPCSafeTransport if self.scheme == "https" else _XMLRPCTransport
        # A transport per request: xmlrpc.client's transports are not thread-safe.
        tr = cls(use_builtin_types=True, headers=headers, signer=signer)
        tr.make_connection = _with_timeout(tr.make_connection, timeout)
        try:
            result = tr.request(self.host, self.handler, body)
        except xmlrpc.client.Fault as f:
            raise GatewayError.from_fault(f.faultCode, f.faultString) from None
        except xmlrpc.client.ProtocolError as e:
            raise TransportError("%s over xmlrpc: unexpected answer (HTTP %d %s) from %s"
                                 % (op, e.errcode, e.errmsg, self.url)) from e
        except (OSError, http.client.HTTPException) as e:
            raise TransportError("%s over xmlrpc: %s: %s" % (op, self.url, e)) from e
        except Exception as e:  # the answer is not XML-RPC (expat errors, bad values)
            raise TransportError("%s over xmlrpc: the answer is not an XML-RPC response: %s" % (op, e)) from e
        finally:
            tr.close()
        if len(result) != 1:
            raise TransportError("%s over xmlrpc: the answer holds %d values, want 1" % (op, len(result)))
        value = result[0]
        if op == "publish":
            value = {"publication": value}  # gateway.publish answers the bare publication id
        return value


def _with_timeout(make_connection, timeout):
    def make(host):
        conn = make_connection(host)
        conn.timeout = timeout
        return conn

    return make


class _AMQPTransport:
    """AMQP 0-9-1 with pika: a persistent {"op": ..., ...} message with message_id, reply_to and
    correlation_id, published with confirms (mandatory: no queue taking it is an error); the reply
    comes on a private exclusive auto-delete queue. Requests are serialized (pika's blocking
    connection is not thread-safe)."""

    def __init__(self, proxy):
        try:
            import pika  # noqa: F401
        except ImportError as e:
            raise MissingDependency(
                "the amqp transport needs pika (Debian: apt-get install python3-pika; or pip install pika)"
            ) from e
        self.proxy = proxy
        self.lock = threading.Lock()
        self.conn = None
        self.channel = None
        self.reply_queue = None
        self.replies = {}

    def connect(self, timeout):
        import pika

        params = pika.URLParameters(self.proxy.url)
        params.socket_timeout = timeout
        params.blocked_connection_timeout = timeout
        params.client_properties = {"connection_name": "gateway proxy (python)"}
        try:
            self.conn = pika.BlockingConnection(params)
            self.channel = self.conn.channel()
            self.channel.confirm_delivery()
            q = self.channel.queue_declare("", exclusive=True, auto_delete=True)
            self.reply_queue = q.method.queue
            self.channel.basic_consume(self.reply_queue, self.on_reply, auto_ack=True)
        except Exception as e:
            self.drop()
            raise TransportError("connecting to %s: %s" % (_redact(self.proxy.url), str(e) or type(e).__name__)) from e

    def on_reply(self, _channel, _method, props, body):
        if props.correlation_id in self.replies:
            self.replies[props.correlation_id] = body

    def drop(self):
        conn, self.conn, self.channel = self.conn, None, None
        self.replies.clear()
        if conn is not None and conn.is_open:
            try:
                conn.close()
            except Exception:
                pass

    def invoke(self, op, fields, timeout, message_id=None):
        import pika

        if "op" in fields:
            raise ValueError("the %s request has a field named 'op'" % op)
        envelope = dict(fields)
        envelope["op"] = op
        body = json.dumps(envelope, separators=(",", ":")).encode("utf-8")
        p = self.proxy
        exchange, key = p.exchange or "", p.routing_key(op)
        deadline = time.monotonic() + timeout
        with self.lock:
            if self.conn is not None and self.conn.is_open:
                try:  # notice a connection the broker closed while idle, before publishing on it
                    self.conn.process_data_events(time_limit=0)
                except (pika.exceptions.AMQPError, OSError):
                    self.drop()
            if self.conn is None or not self.conn.is_open:
                self.connect(timeout)
            corr = _new_nonce()
            self.replies[corr] = None
            try:
                try:
                    self.channel.basic_publish(
                        exchange, key, body,
                        properties=pika.BasicProperties(
                            content_type="application/json", delivery_mode=2,
                            message_id=message_id or _new_nonce(), correlation_id=corr,
                            reply_to=self.reply_queue, timestamp=int(time.time()),
                            app_id="gateway-proxy-python"),
                        mandatory=True)
                except pika.exceptions.UnroutableError as e:
                    raise TransportError(
                        "%s over amqp: no queue took the request (%s): is the gateway's queue declared? "
                        "(it is once the gateway has started with [webapp.amqp])" % (op, _route(exchange, key))
                    ) from e
                except pika.exceptions.NackError as e:
                    raise TransportError("%s over amqp: the broker refused the request (basic.nack)" % op) from e
                while self.replies.get(corr) is None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TransportError(
                            "%s over amqp: no reply from the gateway within %.1fs (the request stays in queue %r "
                            "until a gateway takes it; transient failures are retried by the gateway without a "
                            "reply)" % (op, timeout, p.queue))
                    self.conn.process_data_events(time_limit=min(left, 1.0))
                reply = self.replies[corr]
            except TransportError:
                raise
            except (pika.exceptions.AMQPError, OSError) as e:
                self.drop()
                raise TransportError("%s over amqp: the connection to the broker failed (%s); the request may or "
                                     "may not have been processed" % (op, str(e) or type(e).__name__)) from e
            finally:
                self.replies.pop(corr, None)
        return _decode_envelope(op, reply)

    def close(self):
        with self.lock:
            self.drop()


def _route(exchange, key):
    return "queue %r" % key if not exchange else "exchange %r with routing key %r" % (exchange, key)


def _decode_envelope(op, data):
    try:
        env = json.loads(data)
    except ValueError:
        env = None
    if not isinstance(env, dict):
        raise TransportError("%s: the reply is not a JSON object: %s" % (op, _excerpt(data)))
    if "error" in env:
        err = GatewayError.from_json(env)
        if err is None:
            raise TransportError("%s: the reply's error is not an error URI: %s" % (op, _excerpt(data)))
        raise err
    if "result" not in env:
        raise TransportError("%s: the reply has neither result nor error: %s" % (op, _excerpt(data)))
    return env["result"]


# --- the proxy --------------------------------------------------------------------------------


class GatewayProxy:
    """The gateway's web-app operations over one transport.

    ``GatewayProxy(transport="http", url=None, *, api_key=None, key_id=None, secret=None,
    timeout=10.0, queue=None, exchange=None, binding_key=None)``: ``url`` is the gateway's base
    URL for http/xmlrpc (default http://127.0.0.1:8080), the broker URL for amqp. ``key_id`` and
    ``secret`` sign requests (they win over ``api_key``, sent as a Bearer token). ``queue`` is the
    queue the gateway consumes (amqp); ``exchange``/``binding_key`` route through an exchange
    instead. ``timeout`` (seconds) bounds each request.
    """

    def __init__(self, transport="http", url=None, *, api_key=None, key_id=None, secret=None,
                 timeout=DEFAULT_TIMEOUT, queue=None, exchange=None, binding_key=None,
                 subject_prefix=None, nats_user=None, nats_password=None, nats_token=None):
        transport = transport or "http"
        if transport == "nats":
            raise ConfigError(
                "the Python proxy supports the transports %s; nats needs a NATS client, which the "
                "standard library lacks (use the Go proxy, or set [webapp.proxy] transport to one of these)"
                % ", ".join(SUPPORTED_TRANSPORTS))
        if transport not in SUPPORTED_TRANSPORTS:
            raise ConfigError("unknown transport %r: the Python proxy supports %s"
                              % (transport, ", ".join(SUPPORTED_TRANSPORTS)))
        if bool(key_id) != bool(secret):
            raise ConfigError("key_id and secret go together: set both to sign requests, or neither")
        if timeout is None or timeout <= 0:
            raise ConfigError("timeout must be a positive number of seconds")
        self.transport = transport
        self.api_key, self.key_id, self.secret = api_key or "", key_id or "", secret or ""
        self.timeout = float(timeout)
        self.queue, self.exchange = queue or "", exchange or ""
        self.binding_key = binding_key or DEFAULT_BINDING_KEY
        for name, v in (("api_key", self.api_key), ("key_id", self.key_id)):
            if "\r" in v or "\n" in v:
                raise ConfigError("%s must not contain line breaks" % name)
        if transport in ("http", "xmlrpc"):
            self.url = url or DEFAULT_URL
            parts = urllib.parse.urlsplit(self.url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigError("url %r must be an http:// or https:// URL with a host" % _redact(self.url))
            self._t = _HTTPTransport(self) if transport == "http" else _XMLRPCTransportImpl(self)
        else:
            self.url = url or ""
            if urllib.parse.urlsplit(self.url).scheme not in ("amqp", "amqps"):
                raise ConfigError("url %r must be an amqp:// or amqps:// broker URL" % _redact(self.url))
            if not self.queue and not self.exchange:
                raise ConfigError("amqp needs the queue the gateway consumes (or an exchange bound to it)")
            self._t = _AMQPTransport(self)

    @classmethod
    def from_config(cls, path, transport=None):
        """A proxy configured by the gateway's configuration file (see load_config); transport,
        when given, replaces ``[webapp.proxy].transport``."""
        return cls(**load_config(path, transport))

    @property
    def endpoint(self):
        """Where requests go, without credentials."""
        if self.transport == "http":
            return _endpoint(self.url, "/api/v1/")
        if self.transport == "xmlrpc":
            return _endpoint(self.url, "/RPC2")
        if self.exchange:
            return "%s exchange %s (%s)" % (_redact(self.url), self.exchange, self.binding_key)
        return "%s queue %s" % (_redact(self.url), self.queue)

    def routing_key(self, op):
        """The AMQP routing key of operation op."""
        if not self.exchange:
            return self.queue
        return ".".join(op if w in ("*", "#") else w for w in self.binding_key.split("."))

    def close(self):
        """Releases the transport's connection."""
        self._t.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "GatewayProxy(%s, %s)" % (self.transport, self.endpoint)

    # --- operations -------------------------------------------------------------------------

    def invoke(self, op, fields=None, *, extra_timeout=0.0, message_id=None):
        """Runs operation op with its request fields (the JSON request object) and returns its
        result as the JSON transports answer it (for XML-RPC, publish's bare id becomes
        {"publication": id})."""
        fields = {k: v for k, v in (fields or {}).items() if v is not None}
        timeout = self.timeout + extra_timeout
        if isinstance(self._t, _AMQPTransport):
            return self._t.invoke(op, fields, timeout, message_id)
        return self._t.invoke(op, fields, timeout)

    def publish(self, topic=None, args=None, kwargs=None, *, cls=None, retain=False, exclude=None,
                eligible=None, exclude_authid=None, eligible_authid=None, exclude_authrole=None,
                eligible_authrole=None, disclose_me=False, message_id=None):
        """Publishes an event on topic (or on event class cls's topic) and returns the
        publication id. message_id makes it idempotent over AMQP (a repeated id within the
        gateway's dedup window answers the first publication's id without publishing again)."""
        if not topic and not cls:
            raise ValueError("publish needs a topic or an event class (cls=)")
        options = _publish_options(cls, retain, exclude, eligible, exclude_authid, eligible_authid,
                                   exclude_authrole, eligible_authrole, disclose_me, message_id)
        res = self.invoke("publish", _publication(topic, args, kwargs, options), message_id=message_id)
        return res["publication"]

    def publish_batch(self, publications):
        """Publishes several events in order. Each element is a dict with "topic", "args",
        "kwargs" and "options" (the gateway's option names: class, retain, exclude, ...). Returns
        one dict per event: {"publication": id, "duplicate": bool}, or {"error": GatewayError} for
        an event the gateway refused (the others are published all the same)."""
        pubs = []
        for p in publications:
            unknown = set(p) - {"topic", "args", "kwargs", "options"}
            if unknown:
                raise ValueError("a publication has unknown keys %s" % ", ".join(sorted(unknown)))
            pubs.append(_publication(p.get("topic"), p.get("args"), p.get("kwargs"), p.get("options")))
        res = self.invoke("publish_batch", {"publications": pubs})
        out = []
        for r in res.get("results", []):
            if r.get("error"):
                out.append({"error": GatewayError.from_json(r["error"]) or GatewayError(
                    "gateway.error.internal", repr(r["error"]))})
            else:
                out.append({"publication": r.get("publication", 0), "duplicate": bool(r.get("duplicate"))})
        return out

    def issue_ticket(self, authid, authrole, ttl=None, authextra=None):
        """Issues a one-time ticket for authid with authrole, valid ttl seconds (default: the
        gateway's, 60). Returns {"ticket", "expires", "authid", "authrole", "realm"}."""
        if ttl is not None and ttl < 0:
            raise ValueError("ttl must not be negative")
        return self.invoke("issue_ticket", {"authid": authid, "authrole": authrole,
                                            "ttl": float(ttl) if ttl else None, "authextra": authextra or None})

    def revoke(self, authid):
        """Closes authid's sessions and invalidates its tickets and client tokens. Returns
        {"sessions", "tickets", "tokens"} counts."""
        return self.invoke("revoke", {"authid": authid})

    def sessions(self, authid=None, authrole=None):
        """Lists the realm's sessions (as wamp.session.get describes them), optionally filtered."""
        return self.invoke("sessions", {"authid": authid or None, "authrole": authrole or None}).get("sessions") or []

    def kill_session(self, session, reason=None, message=None):
        """Closes session with the GOODBYE reason (default wamp.close.killed) and message, and
        returns whether it was closed. A session that does not exist raises GatewayError
        wamp.error.no_such_session."""
        res = self.invoke("kill_session", {"session": session, "reason": reason or None, "message": message or None})
        return bool(res.get("killed"))

    def call(self, procedure, args=None, kwargs=None, *, timeout=None):
        """Calls procedure (registered by a WAMP client) and returns a CallResult. timeout
        (seconds) bounds the call at the gateway and extends the request's own timeout. A callee's
        ERROR raises GatewayError with its URI, args_ and kwargs."""
        options = None
        extra = 0.0
        if timeout is not None:
            if timeout < 0:
                raise ValueError("timeout must not be negative")
            options = {"timeout": int(math.ceil(timeout * 1000))}
            extra = float(timeout)
        res = self.invoke("call", {"procedure": procedure, "args": _list_or_none(args),
                                   "kwargs": kwargs or None, "options": options}, extra_timeout=extra)
        return CallResult(list(res.get("args") or []), dict(res.get("kwargs") or {}))

    def event_classes(self):
        """Lists the realm's event classes."""
        return self.invoke("event_classes").get("classes") or []

    def describe_class(self, name):
        """Describes event class name."""
        return self.invoke("describe_class", {"class": name}).get("class") or {}

    def define_class(self, definition):
        """Defines or replaces an event class at run time.

        definition is a dict with the keys of a ``[[realms.event_classes]]`` table (name, topic,
        extends, description, strict, visibility, retention, fields). Answers
        ``{"class": <the class as describe_class describes it>, "replaced": bool}``. A refused
        definition raises GatewayError wamp.error.invalid_argument whose message names the key
        (``class.fields.amount: ...``). The class lasts until the gateway restarts: put it in the
        configuration file to keep it.
        """
        if not isinstance(definition, dict) or not definition:
            raise ValueError("definition must be a non-empty dict")
        res = self.invoke("define_class", {"class": definition})
        return {"class": res.get("class") or {}, "replaced": bool(res.get("replaced"))}

    def health(self):
        """{"status": "ok" or "degraded", "store", "realm"}."""
        return self.invoke("health")

    def stats(self):
        """{"realm", "sessions", "subscriptions", "registrations", "publications", "uptime"}."""
        return self.invoke("stats")


def _list_or_none(v):
    if v is None:
        return None
    return list(v)


def _publication(topic, args, kwargs, options):
    return {k: v for k, v in (("topic", topic or None), ("args", _list_or_none(args)),
                              ("kwargs", kwargs or None), ("options", options or None)) if v is not None}


def _publish_options(cls, retain, exclude, eligible, exclude_authid, eligible_authid, exclude_authrole,
                     eligible_authrole, disclose_me, message_id):
    opts = {}
    if cls:
        opts["class"] = cls
    if retain:
        opts["retain"] = True
    for name, v in (("exclude", exclude), ("eligible", eligible), ("exclude_authid", exclude_authid),
                    ("eligible_authid", eligible_authid), ("exclude_authrole", exclude_authrole),
                    ("eligible_authrole", eligible_authrole)):
        if v:
            opts[name] = list(v)
    if disclose_me:
        opts["disclose_me"] = True
    if message_id:
        opts["message_id"] = message_id
    return opts or None
