package bench

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// fakeNetConn reads from in and records writes.
type fakeNetConn struct {
	net.Conn
	in  io.Reader
	out bytes.Buffer
}

func (f *fakeNetConn) Read(b []byte) (int, error)  { return f.in.Read(b) }
func (f *fakeNetConn) Write(b []byte) (int, error) { return f.out.Write(b) }
func (f *fakeNetConn) Close() error                { return nil }

func testConn(websocket bool, in []byte, bufSize int) (*conn, *fakeNetConn) {
	nc := &fakeNetConn{in: bytes.NewReader(in)}
	t := &target{websocket: websocket, maxMsg: 1000, readBuf: bufSize}
	return &conn{t: t, nc: nc, rbuf: make([]byte, bufSize)}, nc
}

// serverFrame builds an unmasked WebSocket frame as a router sends it.
func serverFrame(fin bool, op byte, payload string) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	n := len(payload)
	var b []byte
	switch {
	case n < 126:
		b = []byte{b0, byte(n)}
	case n <= 0xffff:
		b = []byte{b0, 126, byte(n >> 8), byte(n)}
	default:
		b = []byte{b0, 127}
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}

// clientFrames parses the masked frames a client wrote.
func clientFrames(t *testing.T, b []byte) (ops []ws.OpCode, payloads []string) {
	t.Helper()
	r := bytes.NewReader(b)
	for r.Len() > 0 {
		h, err := ws.ReadHeader(r)
		if err != nil {
			t.Fatal(err)
		}
		if !h.Masked {
			t.Fatalf("client frame %v is not masked", h.OpCode)
		}
		p := make([]byte, h.Length)
		io.ReadFull(r, p)
		ws.Cipher(p, h.Mask, 0)
		ops, payloads = append(ops, h.OpCode), append(payloads, string(p))
	}
	return ops, payloads
}

func TestWebSocketMessagesPingsAndFragments(t *testing.T) {
	var in []byte
	in = append(in, serverFrame(true, 0x1, `[36,1,2,{},["a"]]`)...)
	in = append(in, serverFrame(true, 0x9, "ping!")...)
	in = append(in, serverFrame(false, 0x1, "he")...)
	in = append(in, serverFrame(false, 0x0, "ll")...)
	in = append(in, serverFrame(true, 0x9, "mid")...) // control frames may interleave
	in = append(in, serverFrame(true, 0x0, "o")...)
	in = append(in, serverFrame(true, 0x2, strings.Repeat("z", 300))...) // larger than the buffer
	in = append(in, serverFrame(true, 0xA, "unsolicited pong")...)
	in = append(in, serverFrame(true, 0x8, "\x03\xe8")...)
	c, nc := testConn(true, in, 64)
	want := []string{`[36,1,2,{},["a"]]`, "hello", strings.Repeat("z", 300)}
	for _, w := range want {
		got, err := c.readMessage()
		if err != nil || string(got) != w {
			t.Fatalf("readMessage = %q, %v; want %q", got, err, w)
		}
	}
	if _, err := c.readMessage(); !errors.Is(err, errRouterClosed) {
		t.Errorf("after the close frame: %v, want errRouterClosed", err)
	}
	ops, payloads := clientFrames(t, nc.out.Bytes())
	if len(ops) != 2 || ops[0] != ws.OpPong || payloads[0] != "ping!" || ops[1] != ws.OpPong || payloads[1] != "mid" {
		t.Errorf("client wrote %v %q, want two pongs echoing the pings", ops, payloads)
	}
}

func TestWebSocketFrameErrors(t *testing.T) {
	masked := serverFrame(true, 0x1, "x")
	masked[1] |= 0x80
	bad := map[string][]byte{
		"masked frame from the router":    masked,
		"reserved bits":                   append([]byte{0xC1, 1}, 'x'),
		"unknown opcode":                  serverFrame(true, 0x3, "x"),
		"continuation without a start":    serverFrame(true, 0x0, "x"),
		"new message inside a fragmented": append(serverFrame(false, 0x1, "a"), serverFrame(true, 0x1, "b")...),
		"fragmented control frame":        serverFrame(false, 0x9, "x"),
		"message beyond the limit":        serverFrame(true, 0x1, strings.Repeat("x", 1001)),
		"truncated stream":                serverFrame(true, 0x1, "abc")[:3],
	}
	for name, in := range bad {
		c, _ := testConn(true, in, 64)
		if p, err := c.readMessage(); err == nil {
			t.Errorf("%s: readMessage = %q, want an error", name, p)
		}
	}
}

func TestNextMessageWaitsForWholeFrames(t *testing.T) {
	frame := serverFrame(true, 0x1, strings.Repeat("y", 200)) // 2+2 header bytes
	c, _ := testConn(true, nil, 512)
	for i := range frame[:len(frame)-1] {
		c.rbuf[c.rend] = frame[i]
		c.rend++
		if p, ok, err := c.nextMessage(); ok || err != nil {
			t.Fatalf("after %d bytes: %q, %v, %v; want to wait", i+1, p, ok, err)
		}
	}
	c.rbuf[c.rend] = frame[len(frame)-1]
	c.rend++
	if p, ok, err := c.nextMessage(); !ok || err != nil || len(p) != 200 || c.buffered() != 0 {
		t.Errorf("complete frame: %d bytes, %v, %v, %d left", len(p), ok, err, c.buffered())
	}
}

func TestRawSocketMessagesAndPings(t *testing.T) {
	rs := func(typ byte, payload string) []byte {
		n := len(payload)
		return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, payload...)
	}
	in := append(rs(0, "one"), rs(1, "ping")...)
	in = append(in, rs(2, "pong")...)
	in = append(in, rs(0, strings.Repeat("t", 100))...)
	c, nc := testConn(false, in, 16)
	for _, w := range []string{"one", strings.Repeat("t", 100)} {
		if got, err := c.readMessage(); err != nil || string(got) != w {
			t.Fatalf("readMessage = %q, %v; want %q", got, err, w)
		}
	}
	if got := nc.out.String(); got != "\x02\x00\x00\x04ping" {
		t.Errorf("client wrote %q, want a pong echoing the ping", got)
	}
	if _, err := c.readMessage(); err != io.EOF {
		t.Errorf("at the end: %v, want EOF", err)
	}
	for name, in := range map[string][]byte{
		"bad frame type":           rs(3, "x"),
		"message beyond the limit": rs(0, strings.Repeat("x", 1001)),
	} {
		c, _ := testConn(false, in, 64)
		if p, err := c.readMessage(); err == nil {
			t.Errorf("%s: readMessage = %q, want an error", name, p)
		}
	}
}
