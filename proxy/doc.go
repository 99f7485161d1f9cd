// Package proxy is the web application's side of the gateway's web-app interface: one Proxy with a
// method per operation (Publish, PublishBatch, IssueTicket, Revoke, Sessions, KillSession, Call,
// EventClasses, DescribeClass, DefineClass, Health, Stats), whatever representative carries it: HTTP/JSON,
// XML-RPC, AMQP 0-9-1 or NATS.
//
// Load reads the gateway's own configuration file (the shared-configuration policy): its [webapp]
// section and [[listeners]] say which transport to use, where the gateway listens and which
// credentials to present, so the web application and the gateway cannot disagree. New takes a Config
// built in code instead.
//
// Rules Load applies to the file:
//
//   - transport: [webapp.proxy].transport; when empty, "http" if [webapp.http] is present (or
//     "xmlrpc" when it sets json = false), else "amqp" if [webapp.amqp] is present, else "nats" if
//     [webapp.nats] is present.
//   - address (http, xmlrpc): [webapp.proxy].url when set; else [webapp.http].address; else the
//     first [[listeners]] entry with a TCP address (https when it has tls_cert); else the default
//     listener 127.0.0.1:8080. A wildcard host (empty, 0.0.0.0, ::) becomes the loopback address.
//   - address (amqp): [webapp.proxy].url, else [webapp.amqp].url; requests go to the default
//     exchange with routing key [webapp.amqp].queue, or, when exchange is set, to that exchange
//     with a routing key matching binding_key (its "*" and "#" words replaced by the operation name;
//     "#" when binding_key is empty).
//   - address (nats): [webapp.proxy].url, else [webapp.nats].url; subjects
//     <subject_prefix>.<operation> (default prefix "gateway.api"), with user/password or token.
//   - credentials (http, xmlrpc): [webapp.proxy].key_id names the [[webapp.http.hmac_keys]] key
//     whose secret signs each request; else the first [webapp.http].api_keys entry is sent as a
//     Bearer token; else none (the gateway must allow loopback clients without credentials).
//   - secrets are written inline, as "env:NAME" or as "file:PATH" (relative to the configuration
//     file's directory; one trailing newline removed), as the gateway reads them. Only the secrets
//     the proxy uses are resolved.
//   - timeout: [webapp.proxy].timeout (default 10s) bounds each request; a call's own timeout is
//     added to it.
//
// Errors: an operation the gateway refused returns an *Error (URI, Message, Details, Args, Kwargs
// and the HTTP-equivalent Status) on every transport. Other errors (the gateway cannot be reached,
// an answer that is not the gateway's) are ordinary errors wrapping their cause.
//
// Values: args, kwargs and the generic maps of answers hold what JSON carries: nil, bool, string,
// []any, map[string]any, and numbers as int64 (uint64 beyond its range) when written without a
// fraction or exponent, else float64. Values given to a Proxy are marshaled with encoding/json, so
// structs with JSON tags may be passed as args or kwargs.
//
// A Proxy is safe for concurrent use. The AMQP and NATS transports connect on first use and
// reconnect after a lost connection; Close releases them.
package proxy
