// Package peer defines the boundary between transports (WebSocket, RawSocket) and the router:
// a transport turns a network connection into a Conn that carries encoded WAMP messages, and hands
// it to an Acceptor, which answers with the Session that consumes the inbound messages.
package peer

import (
	"errors"
	"net"
	"net/http"

	"github.com/gateway-dev/gateway/wamp/codec"
)

// ErrSlowConsumer is returned by Conn.Send when the connection's outbound queue is full. The
// transport has then already started closing the connection.
var ErrSlowConsumer = errors.New("slow consumer: outbound queue full")

// ErrTooBig is returned by Conn.Send when msg exceeds the largest message the peer accepts (a RawSocket
// peer announces its limit in the handshake). The connection stays open; the message is not sent.
var ErrTooBig = errors.New("message exceeds the peer's maximum message length")

// ErrClosed is returned by Conn.Send after the connection was closed.
var ErrClosed = errors.New("connection closed")

// CloseCode says why the router closes a connection; transports map it to a WebSocket close code.
type CloseCode int

// Close codes.
const (
	CloseNormal        CloseCode = iota // WebSocket 1000
	CloseGoingAway                      // WebSocket 1001: shutdown
	CloseProtocolError                  // WebSocket 1002: WAMP protocol violation
	ClosePolicy                         // WebSocket 1008: policy violation (e.g. HELLO timeout)
	CloseTooBig                         // WebSocket 1009: message too big
	CloseSlowConsumer                   // WebSocket 1008 with reason "slow consumer"
)

// Info describes a connection to the router (for session details and, later, authentication).
type Info struct {
	Transport  string   // "websocket" or "rawsocket"
	Network    string   // "tcp" or "unix"
	LocalAddr  net.Addr // listener side
	RemoteAddr net.Addr // peer side
	TLS        bool     // connection is TLS-protected
	// Request is the HTTP upgrade request's header (WebSocket only; nil for RawSocket).
	Header http.Header
	// Path is the HTTP request path (WebSocket only).
	Path string
	// Upgrade is what the transport's upgrade hook attached to the connection (WebSocket only;
	// the gateway puts the client's identity token there).
	Upgrade any
}

// Conn is one transport connection carrying WAMP messages in a fixed serializer.
// Send and Close are safe for concurrent use.
type Conn interface {
	// Serializer returns the serializer negotiated in the transport handshake.
	Serializer() codec.Serializer
	// Send queues one encoded WAMP message (unframed); the transport frames and writes it later.
	// It never blocks. The caller must not modify msg afterwards: the same slice may be queued to many
	// connections. It returns ErrSlowConsumer (and closes the connection) when the queue is full, and
	// ErrClosed after Close.
	Send(msg []byte) error
	// Close flushes what is queued (within a short grace period), then closes the connection with the
	// given code and reason text.
	Close(code CloseCode, reason string)
	// Info describes the connection.
	Info() *Info
}

// Session consumes the inbound messages of one Conn.
type Session interface {
	// Receive is called with each complete inbound message, one at a time, from the connection's reader.
	// The slice is only valid during the call.
	Receive(msg []byte)
	// Closed is called exactly once when the connection is gone (read error, peer close or Close).
	Closed(err error)
}

// Acceptor is what transports hand new connections to (the router).
type Acceptor interface {
	// Accept returns the Session for a freshly negotiated connection.
	Accept(c Conn) Session
}
