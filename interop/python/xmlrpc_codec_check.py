"""End-to-end check of the gateway's XML-RPC representative with Python's stdlib xmlrpc.client.

Usage: python3 xmlrpc_codec_check.py URL API_KEY

The Go test internal/webapp/xmlrpc (TestPythonClient) runs it against the representative over a fake
operation layer: publish answers 1099511627783, call echoes its args and kwargs (app.denied fails
with wamp.error.not_authorized), health answers a fixed status. Prints one line per check and
"ALL OK" at the end; any failed check raises (non-zero exit).
"""
import datetime
import sys
import xmlrpc.client as xc

PUBLICATION = 2**40 + 7


def check(what, got, want):
    """Fails unless got equals want with the same types, recursively."""
    if not same(got, want):
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def expect_fault(what, fn):
    try:
        result = fn()
    except xc.Fault as f:
        print(f"fault {f.faultCode} {f.faultString}")
        return f
    raise AssertionError(f"{what}: got {result!r}, want a fault")


def main():
    url, key = sys.argv[1], sys.argv[2]
    auth = [("Authorization", "Bearer " + key)]
    proxy = xc.ServerProxy(url, allow_none=True, use_builtin_types=True, headers=auth)

    result = proxy.gateway.publish("com.example.topic", [1, "a"], {"k": "v"}, {"retain": True})
    check("publish", result, PUBLICATION)
    print(f"publish {result}")

    expect_fault("unknown method", lambda: proxy.gateway.publsh("t"))
    expect_fault("operation error", lambda: proxy.gateway.call("app.denied"))
    expect_fault("too many params", lambda: proxy.gateway.revoke("a", "b"))
    anonymous = xc.ServerProxy(url, allow_none=True)
    expect_fault("no credentials", lambda: anonymous.gateway.health())

    multi = xc.MultiCall(proxy)
    multi.gateway.publish("com.example.topic")
    multi.gateway.health()
    multi.gateway.nope()
    results = multi()
    check("multicall publish", results[0], PUBLICATION)
    check("multicall health", results[1], {"status": "ok", "store": "none", "realm": "realm1"})
    expect_fault("multicall unknown method", lambda: results[2])
    print("multicall ok")

    # Each type through the echo. JSON in the middle turns bytes into base64, dateTime into RFC 3339
    # and an integral double into an integer.
    echoes = [
        (42, 42),
        (-(2**31), -(2**31)),
        (2**31 - 1, 2**31 - 1),
        (1.5, 1.5),
        (1.0, 1),
        (1e300, 1e300),
        (-2.5e-10, -2.5e-10),
        (True, True),
        (False, False),
        ("a<&>\"' é😀\n\ttab ]]>", "a<&>\"' é😀\n\ttab ]]>"),
        ("", ""),
        (None, None),
        (b"\x00\xffhello", "AP9oZWxsbw=="),
        (datetime.datetime(2026, 1, 1, 12, 0, 0), "2026-01-01T12:00:00Z"),
        ({"a": 1, "b": [1, "x", None], "c": {}}, {"a": 1, "b": [1, "x", None], "c": {}}),
        ([1, "two", 3.25, [], {}], [1, "two", 3.25, [], {}]),
    ]
    sent = [v for v, _ in echoes]
    want = [w for _, w in echoes]
    result = proxy.gateway.call("app.echo", sent, {"k": sent})
    check("echo args", result["args"], want)
    check("echo kwargs", result["kwargs"], {"k": want})
    print(f"echo ok {len(echoes)}")

    # xmlrpc.client cannot send ints beyond 32 bits (OverflowError); a 64-bit id goes as a double.
    result = proxy.gateway.kill_session(float(2**53), "wamp.close.killed")
    check("id as double", result, {"session": 2**53, "reason": "wamp.close.killed"})
    print("id as double ok")

    methods = proxy.system.listMethods()
    if "gateway.publish" not in methods or "system.multicall" not in methods:
        raise AssertionError(f"listMethods: {methods!r}")
    help_text = proxy.system.methodHelp("gateway.publish")
    if not help_text.startswith("gateway.publish(topic, args, kwargs, options): "):
        raise AssertionError(f"methodHelp: {help_text!r}")
    print("introspection ok")
    print("ALL OK")


if __name__ == "__main__":
    main()
