// Package bench is a WAMP load generator: it measures a router's fan-out (open-loop publishers,
// many subscribers), RPC throughput, memory per idle connection and behaviour under connection
// churn, together with the CPU the router and the load client spend.
//
// It speaks WAMP over WebSocket (ws://) and RawSocket (rs://) with the JSON, MessagePack and CBOR
// serializers to any router. Subscribers are deliberately cheap: every publication carries a
// marker string in Arguments[0] ("gwb:" seq ":" intended-send-time ":" publisher id, padded to the
// payload size); a string appears verbatim in all three encodings, so subscribers find it with
// bytes.Index in the raw frame and never decode EVENTs. Latency is measured from the time a
// publication was due on the open-loop schedule, so a router (or publisher) that falls behind
// shows up in the latency instead of silently lowering the offered load.
//
// Run executes one scenario and returns a Report; Report.WriteText prints it for people and the
// Report itself marshals to JSON. The gateway command exposes it as `gateway bench`.
package bench
