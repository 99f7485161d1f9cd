package transport

import "sync/atomic"

// Stats is a snapshot of a Server's counters.
type Stats struct {
	Accepted          uint64 // sockets accepted from the listeners
	WebSocketOpened   uint64 // WebSocket connections that completed the handshake
	RawSocketOpened   uint64 // RawSocket connections that completed the handshake
	WebSocketOpen     int64  // WebSocket connections currently open
	RawSocketOpen     int64  // RawSocket connections currently open
	HandshakeFailures uint64 // sockets dropped or refused before a completed handshake (as seen by the transport)
	SlowConsumers     uint64 // connections closed because their outbound queue was full
	TooBig            uint64 // connections closed because the peer sent a message over the limit
	ProtocolErrors    uint64 // connections closed because the peer broke the framing rules
	PingTimeouts      uint64 // connections closed because the peer went silent
	WriteTimeouts     uint64 // connections closed because a flush did not complete in time
	MessagesIn        uint64 // complete messages delivered to sessions
	MessagesOut       uint64 // messages written to sockets
	BytesIn           uint64 // bytes read from established connections, framing included
	BytesOut          uint64 // bytes written to established connections, framing included
}

// counters holds the live atomic counters behind Stats.
type counters struct {
	accepted, wsOpened, rawOpened                          atomic.Uint64
	wsOpen, rawOpen                                        atomic.Int64
	handshakeFailures, slowConsumers, tooBig, protocolErrs atomic.Uint64
	pingTimeouts, writeTimeouts                            atomic.Uint64
	messagesIn, messagesOut, bytesIn, bytesOut             atomic.Uint64
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Accepted:          c.accepted.Load(),
		WebSocketOpened:   c.wsOpened.Load(),
		RawSocketOpened:   c.rawOpened.Load(),
		WebSocketOpen:     c.wsOpen.Load(),
		RawSocketOpen:     c.rawOpen.Load(),
		HandshakeFailures: c.handshakeFailures.Load(),
		SlowConsumers:     c.slowConsumers.Load(),
		TooBig:            c.tooBig.Load(),
		ProtocolErrors:    c.protocolErrs.Load(),
		PingTimeouts:      c.pingTimeouts.Load(),
		WriteTimeouts:     c.writeTimeouts.Load(),
		MessagesIn:        c.messagesIn.Load(),
		MessagesOut:       c.messagesOut.Load(),
		BytesIn:           c.bytesIn.Load(),
		BytesOut:          c.bytesOut.Load(),
	}
}
