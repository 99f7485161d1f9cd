package client

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/gateway-dev/gateway/wamp/codec"
)

// wsHeadroom is the largest client frame header: 2 bytes, 8 bytes of length, 4 bytes of mask.
const wsHeadroom = ws.MaxHeaderSize

// wsTransport speaks WebSocket (RFC 6455) as a client: masked frames out, unmasked frames in, no
// extensions. Fragmented messages are reassembled; text messages must be valid UTF-8.
type wsTransport struct {
	br        *bufio.Reader
	opcode    ws.OpCode // OpText or OpBinary, per serializer
	max       int
	pong      pongFunc
	closeCode atomic.Uint32 // status for our close frame; 0 means 1000
	hdr       [ws.MaxHeaderSize]byte
	ctrl      [ws.MaxControlFramePayloadSize]byte
	msg       []byte
}

// wsCloseError reports the router's WebSocket close frame.
type wsCloseError struct {
	code   ws.StatusCode
	reason string
}

func (e *wsCloseError) Error() string {
	return fmt.Sprintf("websocket closed by the router: %d %s", e.code, e.reason)
}

func dialWebSocket(ctx context.Context, ep *endpoint, cfg *Config, ser codec.Serializer, pong pongFunc) (net.Conn, transport, error) {
	status := 0
	d := ws.Dialer{
		Protocols:     []string{ser.Subprotocol()},
		TLSConfig:     cfg.TLSConfig,
		OnStatusError: func(s int, _ []byte, _ io.Reader) { status = s },
	}
	if len(cfg.HTTPHeader) > 0 {
		d.Header = ws.HandshakeHeaderHTTP(cfg.HTTPHeader)
	}
	if ep.network == "unix" {
		d.NetDial = func(ctx context.Context, _, _ string) (net.Conn, error) { return netDial(ctx, ep) }
	}
	conn, br, hs, err := d.Dial(ctx, ep.wsURL)
	if err != nil {
		if status != 0 {
			err = fmt.Errorf("HTTP status %d: %w", status, err)
		}
		return nil, nil, fmt.Errorf("wamp client: websocket upgrade %s: %w", ep.wsURL, err)
	}
	if hs.Protocol != ser.Subprotocol() {
		_ = conn.Close()
		return nil, nil, fmt.Errorf("wamp client: router did not accept subprotocol %s", ser.Subprotocol())
	}
	t := &wsTransport{br: newReader(conn, br), opcode: ws.OpText, max: cfg.MaxMessageSize, pong: pong}
	if ser.Binary() {
		t.opcode = ws.OpBinary
	}
	return conn, t, nil
}

func (t *wsTransport) headroom() int { return wsHeadroom }
func (t *wsTransport) maxSend() int  { return 0 }

func (t *wsTransport) frame(kind frameKind, b []byte) []byte {
	op := t.opcode
	if kind == framePong {
		op = ws.OpPong
	}
	return wsFrame(op, b)
}

// wsFrame writes a masked client frame header into b[:wsHeadroom] in front of the payload
// b[wsHeadroom:], masks the payload in place and returns the frame.
func wsFrame(op ws.OpCode, b []byte) []byte {
	payload := b[wsHeadroom:]
	n := len(payload)
	var hl int
	switch {
	case n < 126:
		hl = 2 + 4
	case n <= 0xffff:
		hl = 4 + 4
	default:
		hl = 10 + 4
	}
	h := b[wsHeadroom-hl : wsHeadroom]
	h[0] = 0x80 | byte(op)
	switch {
	case n < 126:
		h[1] = 0x80 | byte(n)
	case n <= 0xffff:
		h[1] = 0x80 | 126
		binary.BigEndian.PutUint16(h[2:], uint16(n))
	default:
		h[1] = 0x80 | 127
		binary.BigEndian.PutUint64(h[2:], uint64(n))
	}
	var mask [4]byte
	binary.LittleEndian.PutUint32(mask[:], rand.Uint32())
	copy(h[hl-4:], mask[:])
	ws.Cipher(payload, mask, 0)
	return b[wsHeadroom-hl:]
}

func (t *wsTransport) closeFrame() []byte {
	code := ws.StatusCode(t.closeCode.Load())
	if code == 0 {
		code = ws.StatusNormalClosure
	}
	b := make([]byte, wsHeadroom+2)
	binary.BigEndian.PutUint16(b[wsHeadroom:], uint16(code))
	return wsFrame(ws.OpClose, b)
}

// fail records the close status for a violation by the router and returns the error.
func (t *wsTransport) fail(code ws.StatusCode, format string, args ...any) error {
	t.closeCode.Store(uint32(code))
	return &protocolError{msg: fmt.Sprintf(format, args...)}
}

func (t *wsTransport) readMessage() ([]byte, error) {
	if cap(t.msg) > 1<<20 {
		t.msg = nil // do not keep a huge buffer after a huge message
	}
	t.msg = t.msg[:0]
	op := ws.OpContinuation
	state := ws.StateClientSide
	for {
		h, err := ws.ReadHeaderBuffer(t.br, t.hdr[:])
		if err != nil {
			return nil, err
		}
		if err := ws.CheckHeader(h, state); err != nil {
			return nil, t.fail(ws.StatusProtocolError, "%v", err)
		}
		if h.OpCode.IsControl() {
			p := t.ctrl[:h.Length]
			if _, err := io.ReadFull(t.br, p); err != nil {
				return nil, err
			}
			switch h.OpCode {
			case ws.OpPing:
				t.pong(p)
			case ws.OpClose:
				return nil, t.closed(p)
			}
			continue
		}
		if h.Length > int64(t.max-len(t.msg)) {
			return nil, t.fail(ws.StatusMessageTooBig, "message longer than %d bytes", t.max)
		}
		if op == ws.OpContinuation {
			op = h.OpCode
		}
		t.msg, err = readAppend(t.br, t.msg, int(h.Length))
		if err != nil {
			return nil, err
		}
		if h.Fin {
			break
		}
		state = state.Set(ws.StateFragmented)
	}
	if op == ws.OpText && !utf8.Valid(t.msg) {
		return nil, t.fail(ws.StatusInvalidFramePayloadData, "text message is not valid UTF-8")
	}
	return t.msg, nil
}

// closed validates the router's close frame payload and returns the error that ends the reader.
func (t *wsTransport) closed(p []byte) error {
	if len(p) == 0 {
		return &wsCloseError{code: ws.StatusNoStatusRcvd}
	}
	if len(p) == 1 {
		return t.fail(ws.StatusProtocolError, "close frame with a 1-byte payload")
	}
	code, reason := ws.ParseCloseFrameData(p)
	if err := ws.CheckCloseFrameData(code, reason); err != nil {
		return t.fail(ws.StatusProtocolError, "close frame: %v", err)
	}
	return &wsCloseError{code: code, reason: reason}
}
