// Package client is a WAMP v2 client: one Client is one session with a router, over WebSocket or
// RawSocket (TCP, TLS or Unix socket) with the JSON, MessagePack or CBOR serializer.
//
// Connect dials, joins a realm (answering CHALLENGEs through Config.Authenticate) and returns the
// session. Then:
//
//   - pub/sub: Subscribe (handlers run in order on one event goroutine per client), Publish
//     (acknowledged or fire-and-forget);
//   - caller: Call, with progressive results (WithProgress), cancellation through the context
//     (CANCEL with WithCancelMode) and router-side timeouts (opts {"timeout": ms});
//     CallStream for progressive call invocations (the caller's input in several chunks);
//   - callee: Register a Handler; each invocation runs in its own goroutine with a context that is
//     canceled on INTERRUPT, on a forwarded timeout and at session end, and can send progressive
//     results (Invocation.SendProgress) and read input chunks (Invocation.Next).
//
// Errors: an ERROR from the router or a callee is an *RPCError (see IsError); a session the router
// ended or refused reports a *CloseError; operations on an ended session, and requests pending when
// it ended, fail with errors matching ErrClosed.
//
// Concurrency: all methods are safe for concurrent use. Messages are encoded by the sending
// goroutine and written by one writer goroutine, which coalesces queued messages into one write;
// request ids are session-scoped, start at 1 and reach the router in order. One reader goroutine
// decodes and routes incoming messages and never runs user code, so handlers may call back into
// the client. After Close returns, the reader and writer goroutines have exited; event and
// invocation handlers still running finish on their own (their contexts are canceled).
//
// Not implemented: reconnection, WebSocket compression, payload encryption (payload passthru
// options are passed through unchanged), and the batched WebSocket and long-poll transports.
package client
