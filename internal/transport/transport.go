// Package transport is the network side of the gateway: it accepts WebSocket and RawSocket
// connections on one "universal" listener, negotiates the serializer, enforces size, time and queue
// limits, and hands each connection to a peer.Acceptor as a peer.Conn.
//
// Inbound, one goroutine per connection reads frames and delivers each complete message to the
// Session. Outbound, Conn.Send only appends the (shared, never copied) message to a bounded queue; a
// writer goroutine that exists only while the queue is non-empty drains the whole queue into one
// pooled buffer and writes it with a single flush, so many small messages cost one write system
// call. An idle connection therefore holds no writer goroutine and no buffer.
package transport

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gateway-dev/gateway/wamp/codec"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultWebSocketPath    = "/ws"
	DefaultMaxMessageSize   = 16 << 20
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultPingInterval     = 30 * time.Second
	DefaultPingTimeout      = 10 * time.Second
	DefaultWriteTimeout     = 10 * time.Second
	DefaultMaxQueueBytes    = 32 << 20

	// MinMaxMessageSize is the smallest accepted MaxMessageSize (the smallest RawSocket limit).
	MinMaxMessageSize = 512
)

// Config configures a Server. The zero value of every field selects its default.
type Config struct {
	// Serializers lists the serializers offered, in server preference order (default codec.All()).
	// A WebSocket client gets the first of these whose subprotocol it offers; a RawSocket client gets
	// the one whose ID it asks for.
	Serializers []codec.Serializer

	// WebSocketPath is the HTTP path of WebSocket upgrades (default "/ws").
	WebSocketPath string

	// MaxMessageSize is the largest inbound message in bytes, after reassembly of WebSocket fragments
	// (default 16 MiB, at least 512). RawSocket announces the largest power of two not above it,
	// capped at 16 MiB, and enforces that.
	MaxMessageSize int

	// HandshakeTimeout bounds the time from accept to a completed WebSocket upgrade or RawSocket
	// handshake, including the TLS handshake and the first-byte peek of the universal listener
	// (default 10s). It is also the time allowed to read each HTTP request's header.
	HandshakeTimeout time.Duration

	// PingInterval is the idle time after which the server pings the peer (default 30s; negative
	// disables keepalive). A peer from which nothing arrived for PingInterval+PingTimeout is closed.
	PingInterval time.Duration

	// PingTimeout is how long a pinged peer has to show a sign of life (default 10s).
	PingTimeout time.Duration

	// WriteTimeout bounds each flush of queued messages to the socket, and the grace period Close
	// allows for flushing the queue and the close handshake (default 10s).
	WriteTimeout time.Duration

	// MaxQueueBytes bounds the bytes queued for one connection and not yet written (default 32 MiB,
	// never less than MaxMessageSize). A Send that would exceed it closes the connection as a slow
	// consumer (WebSocket close 1008 "slow consumer").
	MaxQueueBytes int

	// HTTPHandler serves the HTTP requests that are not WebSocket upgrades on WebSocketPath. When nil,
	// such requests get 404 with a JSON body {"error": ..., "message": ...}.
	HTTPHandler http.Handler

	// OnUpgrade, if set, runs for every valid WebSocket upgrade request before the 101 response. It
	// returns extra headers for the 101 (for example Set-Cookie) and a value the connection carries
	// in peer.Info.Upgrade (for example the client's identity token). An error refuses the upgrade
	// with 403 and the error's text (for example an Origin that is not allowed).
	OnUpgrade func(r *http.Request) (http.Header, any, error)

	// Logger receives per-connection diagnostics at debug level (default slog.Default()).
	Logger *slog.Logger
}

// withDefaults returns cfg with defaults applied.
func (cfg Config) withDefaults() Config {
	if len(cfg.Serializers) == 0 {
		cfg.Serializers = codec.All()
	}
	if cfg.WebSocketPath == "" {
		cfg.WebSocketPath = DefaultWebSocketPath
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	cfg.MaxMessageSize = max(cfg.MaxMessageSize, MinMaxMessageSize)
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	if cfg.PingTimeout <= 0 {
		cfg.PingTimeout = DefaultPingTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.MaxQueueBytes <= 0 {
		cfg.MaxQueueBytes = DefaultMaxQueueBytes
	}
	cfg.MaxQueueBytes = max(cfg.MaxQueueBytes, cfg.MaxMessageSize)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

// Errors passed to peer.Session.Closed (wrapped with detail) and returned by Serve.
var (
	// ErrServerClosed is returned by Serve after Shutdown.
	ErrServerClosed = errors.New("transport: server closed")
	// ErrPingTimeout: nothing arrived from the peer for PingInterval+PingTimeout.
	ErrPingTimeout = errors.New("transport: peer did not answer ping")
	// ErrProtocol: the peer broke the WebSocket or RawSocket framing rules.
	ErrProtocol = errors.New("transport: framing protocol violation")
	// ErrMessageTooBig: the peer sent a message larger than MaxMessageSize.
	ErrMessageTooBig = errors.New("transport: inbound message too big")
	// ErrWriteTimeout: a flush to the peer did not complete within WriteTimeout.
	ErrWriteTimeout = errors.New("transport: write timeout")
	// ErrShutdown: the connection was force-closed by Server.Shutdown.
	ErrShutdown = errors.New("transport: server shutdown")
)
