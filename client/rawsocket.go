package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/gateway-dev/gateway/wamp/codec"
)

// RawSocket framing: a 4-byte prefix, RRRRRTTT and a 24-bit big-endian length.
const (
	rsMagic     = 0x7f
	rsHeadroom  = 4
	rsTypeWAMP  = 0
	rsTypePing  = 1
	rsTypePong  = 2
	rsTypeMask  = 0x07
	rsReserved  = 0xf8
	rsMaxLength = 1<<24 - 1
)

// rsHandshakeErrors names the RawSocket handshake error codes.
var rsHandshakeErrors = [...]string{
	1: "serializer unsupported",
	2: "maximum message length unacceptable",
	3: "use of reserved bits (unsupported feature)",
	4: "maximum connection count reached",
}

// rsTransport speaks WAMP-over-RawSocket.
type rsTransport struct {
	br      *bufio.Reader
	maxRecv int // the limit we announced
	maxOut  int // the limit the router announced
	pong    pongFunc
	hdr     [rsHeadroom]byte
	msg     []byte
}

func dialRawSocket(ctx context.Context, ep *endpoint, cfg *Config, ser codec.Serializer, pong pongFunc) (net.Conn, transport, error) {
	conn, err := netDial(ctx, ep)
	if err != nil {
		return nil, nil, err
	}
	stop := watchContext(ctx, conn)
	conn, t, err := rawSocketHandshake(ctx, conn, ep, cfg, ser, pong)
	if stop() {
		err = fmt.Errorf("wamp client: rawsocket handshake with %s: %w", ep.address, ctx.Err())
	}
	if err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	return conn, t, nil
}

// rawSocketHandshake runs TLS (for rss://) and the RawSocket handshake on conn. It returns the
// connection to use from now on (the TLS one for rss://) even when it fails.
func rawSocketHandshake(ctx context.Context, conn net.Conn, ep *endpoint, cfg *Config, ser codec.Serializer, pong pongFunc) (net.Conn, *rsTransport, error) {
	if ep.tls {
		tc := tls.Client(conn, tlsConfig(cfg, ep.host))
		if err := tc.HandshakeContext(ctx); err != nil {
			return conn, nil, fmt.Errorf("wamp client: TLS handshake with %s: %w", ep.address, err)
		}
		conn = tc
	}
	lenExp, maxRecv := rawSocketLength(cfg.MaxMessageSize)
	req := [4]byte{rsMagic, lenExp<<4 | byte(ser.ID()), 0, 0}
	if _, err := conn.Write(req[:]); err != nil {
		return conn, nil, fmt.Errorf("wamp client: rawsocket handshake: %w", err)
	}
	var rep [4]byte
	if _, err := io.ReadFull(conn, rep[:]); err != nil {
		return conn, nil, fmt.Errorf("wamp client: rawsocket handshake: %w", err)
	}
	if rep[0] != rsMagic || rep[2] != 0 || rep[3] != 0 {
		return conn, nil, errors.New("wamp client: rawsocket handshake: malformed reply")
	}
	if rep[1]&0x0f == 0 {
		code := int(rep[1] >> 4)
		msg := "unknown error"
		if code < len(rsHandshakeErrors) && rsHandshakeErrors[code] != "" {
			msg = rsHandshakeErrors[code]
		}
		return conn, nil, fmt.Errorf("wamp client: rawsocket handshake refused: %s (%d)", msg, code)
	}
	if codec.ID(rep[1]&0x0f) != ser.ID() {
		return conn, nil, fmt.Errorf("wamp client: rawsocket handshake: router chose serializer %d, asked for %d",
			rep[1]&0x0f, ser.ID())
	}
	maxOut := rsMaxLength
	if exp := rep[1] >> 4; exp < 15 {
		maxOut = 1 << (9 + exp)
	}
	t := &rsTransport{br: bufio.NewReaderSize(conn, 8<<10), maxRecv: maxRecv, maxOut: maxOut, pong: pong}
	return conn, t, nil
}

func (t *rsTransport) headroom() int { return rsHeadroom }
func (t *rsTransport) maxSend() int  { return t.maxOut }

func (t *rsTransport) frame(kind frameKind, b []byte) []byte {
	n := len(b) - rsHeadroom
	typ := byte(rsTypeWAMP)
	if kind == framePong {
		typ = rsTypePong
	}
	b[0] = typ
	b[1], b[2], b[3] = byte(n>>16), byte(n>>8), byte(n)
	return b
}

func (t *rsTransport) closeFrame() []byte { return nil }

func (t *rsTransport) readMessage() ([]byte, error) {
	if cap(t.msg) > 1<<20 {
		t.msg = nil
	}
	for {
		if _, err := io.ReadFull(t.br, t.hdr[:]); err != nil {
			return nil, err
		}
		if t.hdr[0]&rsReserved != 0 {
			return nil, &protocolError{msg: "rawsocket frame with reserved bits set"}
		}
		n := int(t.hdr[1])<<16 | int(t.hdr[2])<<8 | int(t.hdr[3])
		if n > t.maxRecv {
			return nil, &protocolError{msg: fmt.Sprintf("rawsocket message of %d bytes exceeds the announced %d", n, t.maxRecv)}
		}
		var err error
		t.msg, err = readAppend(t.br, t.msg[:0], n)
		if err != nil {
			return nil, err
		}
		switch t.hdr[0] & rsTypeMask {
		case rsTypeWAMP:
			return t.msg, nil
		case rsTypePing:
			t.pong(t.msg)
		case rsTypePong:
		default:
			return nil, &protocolError{msg: fmt.Sprintf("rawsocket frame of reserved type %d", t.hdr[0]&rsTypeMask)}
		}
	}
}
