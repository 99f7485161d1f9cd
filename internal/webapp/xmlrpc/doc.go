// Package xmlrpc is the XML-RPC representative of the web-app interface, and its codec (built on
// encoding/xml).
//
// Methods: "gateway.<operation>" for every webapp.Operations entry, with the operation's request
// fields as positional params in Operation.Params order (trailing params may be left out; a nil param
// counts as left out; more params than fields is a fault), plus system.listMethods,
// system.methodHelp, system.methodSignature and system.multicall. gateway.publish answers the bare
// publication id; every other operation answers its JSON response object as a struct.
//
// Types, decoding → Go: struct → map[string]any; array → []any; int, i4, i8 (also with a namespace
// prefix, as Apache's ex:i8) → int64; double → float64; boolean (0 or 1) → bool; string, or a value
// without a type element → string; base64 → []byte; dateTime.iso8601 (20260101T12:00:00 or
// 2026-01-01T12:00:00, optional fraction and zone; no zone means UTC) → time.Time; nil and ex:nil →
// nil. Encoding writes the same types back (integers as int within the 32-bit range, else i8); see
// AppendValue.
//
// Faults: faultString is "<WAMP error URI>: <message>"; faultCode is the HTTP status the HTTP/JSON
// representative answers for the same error (webapp.HTTPStatus), except FaultNotWellFormed (-32700)
// for XML that is not well formed. HTTP status is 200 for every fault.
package xmlrpc
