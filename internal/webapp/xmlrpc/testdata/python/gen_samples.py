"""Regenerates the XML-RPC samples of Python's xmlrpc.client that the Go tests decode.

Run from this directory: /usr/bin/python3 gen_samples.py
"""
import datetime
import xmlrpc.client as x

CALLS = {
    "int": 42,
    "int_min": -(2**31),
    "int_max": 2**31 - 1,
    "bool_true": True,
    "bool_false": False,
    "double": 1.5,
    "double_integral": 1.0,
    "double_big": 1e300,
    "double_small": -2.5e-10,
    "double_inf": float("inf"),
    "string": "a<&>\"' é😀\n\ttab",
    "string_empty": "",
    "bytes": b"\x00\xffhello",
    "datetime": datetime.datetime(2026, 1, 1, 12, 0, 0),
    "none": None,
    "struct": {"a": 1, "b": [1, "x"], "c": {}},
    "array": [1, "two", 3.0, True, None],
    "array_empty": [],
    "struct_empty": {},
}

for name, value in CALLS.items():
    with open(name + ".xml", "w", encoding="utf-8") as f:
        f.write(x.dumps((value,), "m", allow_none=True))

with open("publish.xml", "w", encoding="utf-8") as f:
    f.write(x.dumps(("com.example.topic", [1, "a"], {"k": "v"}, {"retain": True}), "gateway.publish"))

with open("multicall.xml", "w", encoding="utf-8") as f:
    calls = [{"methodName": "gateway.health", "params": ()},
             {"methodName": "gateway.publish", "params": ("t",)}]
    f.write(x.dumps((calls,), "system.multicall"))

with open("fault_response.xml", "w", encoding="utf-8") as f:
    f.write(x.dumps(x.Fault(404, "gateway.error.no_such_operation: no"), methodresponse=True))
