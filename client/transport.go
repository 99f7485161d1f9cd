package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gateway-dev/gateway/wamp/codec"
)

// frameKind is the kind of an outgoing transport frame.
type frameKind uint8

const (
	frameMessage frameKind = iota // a WAMP message
	framePong                     // the answer to a ping
)

// transport frames WAMP messages on a connection (WebSocket or RawSocket). readMessage is called by
// one goroutine at a time; frame and closeFrame only by the writer goroutine.
type transport interface {
	// headroom is the number of bytes reserved in front of every outgoing payload for the header.
	headroom() int
	// maxSend is the largest payload the router accepts; 0 means no announced limit.
	maxSend() int
	// frame writes the header into b's headroom, masks the payload if the transport needs it, and
	// returns the bytes to write (a suffix of b).
	frame(kind frameKind, b []byte) []byte
	// closeFrame returns the frame to send before closing the connection, or nil.
	closeFrame() []byte
	// readMessage returns the next WAMP message. The slice is valid until the next call. Pings are
	// answered through the pong callback given at construction.
	readMessage() ([]byte, error)
}

// pongFunc queues a pong with a copy of payload; it must not block.
type pongFunc func(payload []byte)

// endpoint is a parsed Connect URL.
type endpoint struct {
	websocket bool   // WebSocket (else RawSocket)
	network   string // "tcp" or "unix"
	address   string // host:port or socket path
	tls       bool
	wsURL     string // URL for the WebSocket upgrade request
	host      string // TLS server name
}

// parseURL parses a Connect URL. See Connect for the accepted forms.
func parseURL(raw string) (*endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("wamp client: bad URL: %w", err)
	}
	ep := &endpoint{network: "tcp"}
	switch strings.ToLower(u.Scheme) {
	case "ws":
		ep.websocket = true
	case "wss":
		ep.websocket, ep.tls = true, true
	case "rs", "tcp":
	case "rss", "tcps":
		ep.tls = true
	case "ws+unix":
		ep.websocket, ep.network = true, "unix"
	case "rs+unix":
		ep.network = "unix"
	default:
		return nil, fmt.Errorf("wamp client: unsupported URL scheme %q in %q", u.Scheme, raw)
	}
	if ep.network == "unix" {
		ep.address = u.Host + u.Path
		if ep.address == "" {
			return nil, fmt.Errorf("wamp client: no socket path in %q", raw)
		}
		if ep.websocket {
			path := u.Fragment
			if path == "" {
				path = "/ws"
			}
			if !strings.HasPrefix(path, "/") {
				path = "/" + path
			}
			ep.wsURL = "ws://localhost" + path
		}
		return ep, nil
	}
	if u.Host == "" {
		return nil, fmt.Errorf("wamp client: no host in %q", raw)
	}
	ep.host = u.Hostname()
	if ep.websocket {
		ep.address = u.Host
		ep.wsURL = raw
		return ep, nil
	}
	if u.Port() == "" {
		return nil, fmt.Errorf("wamp client: no port in RawSocket URL %q", raw)
	}
	ep.address = u.Host
	return ep, nil
}

// dial connects to ep and runs the transport handshake.
func dial(ctx context.Context, ep *endpoint, cfg *Config, ser codec.Serializer, pong pongFunc) (net.Conn, transport, error) {
	if cfg.DialTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.DialTimeout)
		defer cancel()
	}
	if ep.websocket {
		return dialWebSocket(ctx, ep, cfg, ser, pong)
	}
	return dialRawSocket(ctx, ep, cfg, ser, pong)
}

// netDial opens the plain connection to ep.
func netDial(ctx context.Context, ep *endpoint) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, ep.network, ep.address)
	if err != nil {
		return nil, fmt.Errorf("wamp client: dial %s %s: %w", ep.network, ep.address, err)
	}
	return conn, nil
}

// tlsConfig returns cfg's TLS configuration with the server name set for host.
func tlsConfig(cfg *Config, host string) *tls.Config {
	tc := cfg.TLSConfig
	if tc == nil {
		tc = &tls.Config{}
	} else {
		tc = tc.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	return tc
}

// watchContext makes blocking I/O on conn fail once ctx ends. The returned function stops watching
// and reports whether ctx ended first (the connection's deadline is then poisoned).
func watchContext(ctx context.Context, conn net.Conn) (stop func() bool) {
	if ctx.Done() == nil {
		return func() bool { return false }
	}
	unwatch := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	return func() bool { return !unwatch() }
}

// maxGrowChunk bounds how much a read buffer grows ahead of the bytes that actually arrive, so a
// peer-declared length cannot make the client allocate memory it never sends.
const maxGrowChunk = 64 << 10

// readAppend appends exactly n bytes from r to buf.
func readAppend(r io.Reader, buf []byte, n int) ([]byte, error) {
	for n > 0 {
		if cap(buf) == len(buf) {
			buf = slices.Grow(buf, min(n, maxGrowChunk))
		}
		k := min(n, cap(buf)-len(buf))
		m, err := io.ReadFull(r, buf[len(buf):len(buf)+k])
		buf = buf[:len(buf)+m]
		n -= m
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return buf, err
		}
	}
	return buf, nil
}

// newReader returns a buffered reader for conn, reusing br when the handshake left one.
func newReader(conn net.Conn, br *bufio.Reader) *bufio.Reader {
	if br != nil {
		return br
	}
	return bufio.NewReaderSize(conn, 8<<10)
}

// protocolError is a transport-level violation by the router.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return "wamp client: transport protocol violation: " + e.msg }
