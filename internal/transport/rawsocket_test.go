package transport

import (
	"bytes"
	"errors"
	"net"
	"testing"

	"github.com/gateway-dev/gateway/internal/peer"
	"github.com/gateway-dev/gateway/wamp/codec"
)

func TestRawSocketHandshake(t *testing.T) {
	ts := startServer(t, Config{MaxMessageSize: 1 << 20}, nil) // announces 2^(11+9) = 1 MiB
	cases := []struct {
		name  string
		req   [4]byte
		reply [4]byte
	}{
		{
			name:  "json",
			req:   [4]byte{0x7F, 0xF1, 0, 0},
			reply: [4]byte{0x7F, 0xB1, 0, 0},
		},
		{
			name:  "msgpack, small client limit",
			req:   [4]byte{0x7F, 0x02, 0, 0},
			reply: [4]byte{0x7F, 0xB2, 0, 0},
		},
		{
			name:  "cbor not configured",
			req:   [4]byte{0x7F, 0xF3, 0, 0},
			reply: [4]byte{0x7F, 0x10, 0, 0},
		},
		{
			name:  "illegal serializer 0",
			req:   [4]byte{0x7F, 0xF0, 0, 0},
			reply: [4]byte{0x7F, 0x10, 0, 0},
		},
		{
			name:  "reserved bits",
			req:   [4]byte{0x7F, 0xF1, 0, 1},
			reply: [4]byte{0x7F, 0x30, 0, 0},
		},
	}
	failures := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", ts.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			reply := rawHandshake(t, c, tc.req)
			if reply != tc.reply {
				t.Fatalf("reply % x, want % x", reply, tc.reply)
			}
			if reply[1]&0x0F == 0 {
				failures++
				expectEOF(t, c)
				return
			}
			sess := ts.acc.next(t)
			info := sess.conn.Info()
			if info.Transport != "rawsocket" || info.Header != nil || sess.conn.Serializer().ID() != codec.ID(tc.req[1]&0x0F) {
				t.Errorf("unexpected Info %+v / serializer %v", info, sess.conn.Serializer())
			}
			writeRaw(t, c, rawRegular, []byte(`["hi"]`))
			if typ, p := readRaw(t, c); typ != rawRegular || string(p) != `["hi"]` {
				t.Errorf("echo: type %d %q", typ, p)
			}
		})
	}
	st := ts.Stats()
	if st.HandshakeFailures != uint64(failures) || st.RawSocketOpened != uint64(len(cases)-failures) {
		t.Errorf("stats %+v", st)
	}
}

func TestRawSocketLimitExponent(t *testing.T) {
	for _, tc := range []struct{ max, exp, limit int }{
		{512, 0, 512},
		{1000, 0, 512},
		{1024, 1, 1024},
		{16 << 20, 15, 16 << 20},
		{64 << 20, 15, 16 << 20},
	} {
		exp, limit := rawLimit(tc.max)
		if int(exp) != tc.exp || limit != tc.limit {
			t.Errorf("rawLimit(%d) = %d, %d; want %d, %d", tc.max, exp, limit, tc.exp, tc.limit)
		}
	}
}

func TestRawSocketPingPong(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	c, _ := dialRaw(t, ts.addr, 15, 1)
	ts.acc.next(t)
	writeRaw(t, c, rawPing, []byte("ping payload"))
	writeRaw(t, c, rawPong, []byte("unsolicited pong is ignored"))
	writeRaw(t, c, rawRegular, []byte("[1]"))
	if typ, p := readRaw(t, c); typ != rawPong || string(p) != "ping payload" {
		t.Errorf("got type %d %q, want PONG echoing the payload", typ, p)
	}
	if typ, p := readRaw(t, c); typ != rawRegular || string(p) != "[1]" {
		t.Errorf("got type %d %q", typ, p)
	}
}

func TestRawSocketViolations(t *testing.T) {
	cases := []struct {
		name  string
		frame []byte
		want  error
	}{
		{
			name:  "reserved bits",
			frame: []byte{0x10, 0, 0, 2, '[', ']'},
			want:  ErrProtocol,
		},
		{
			name:  "reserved type",
			frame: []byte{0x03, 0, 0, 2, '[', ']'},
			want:  ErrProtocol,
		},
		{
			name:  "length bit 24 with low bits",
			frame: []byte{0x08, 0, 0, 1, '['},
			want:  ErrProtocol,
		},
		{
			name:  "over the announced maximum",
			frame: []byte{0x00, 0x00, 0x04, 0x01}, // 1025 bytes, none sent
			want:  ErrMessageTooBig,
		},
		{
			name:  "ping over the announced maximum",
			frame: []byte{0x01, 0x10, 0x00, 0x00},
			want:  ErrMessageTooBig,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, Config{MaxMessageSize: 1024}, nil)
			c, reply := dialRaw(t, ts.addr, 15, 1)
			if reply != [4]byte{0x7F, 0x11, 0, 0} {
				t.Fatalf("handshake reply % x", reply)
			}
			sess := ts.acc.next(t)
			if _, err := c.Write(tc.frame); err != nil {
				t.Fatal(err)
			}
			expectEOF(t, c)
			if err := sess.waitClosed(t); !errors.Is(err, tc.want) {
				t.Errorf("Session.Closed(%v), want %v", err, tc.want)
			}
			st := ts.Stats()
			if errors.Is(tc.want, ErrMessageTooBig) && st.TooBig != 1 || errors.Is(tc.want, ErrProtocol) && st.ProtocolErrors != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestRawSocketClientMaxLength(t *testing.T) {
	ts := startServer(t, Config{}, newAcceptor(false))
	c, _ := dialRaw(t, ts.addr, 0, 2) // the client accepts at most 512 bytes
	sess := ts.acc.next(t)
	if err := sess.conn.Send(make([]byte, 513)); !errors.Is(err, peer.ErrTooBig) {
		t.Fatalf("Send(513 bytes) = %v, want ErrTooBig", err)
	}
	msg := bytes.Repeat([]byte{7}, 512)
	if err := sess.conn.Send(msg); err != nil {
		t.Fatalf("Send(512 bytes) = %v", err)
	}
	if _, p := readRaw(t, c); !bytes.Equal(p, msg) {
		t.Errorf("got %d bytes", len(p))
	}
	sess.assertOpen(t)
}

func TestRawSocketMaximumLength(t *testing.T) {
	// A 16 MiB message needs the 25th length bit, both ways.
	ts := startServer(t, Config{}, nil)
	c, reply := dialRaw(t, ts.addr, 15, 2)
	if reply[1] != 0xF2 {
		t.Fatalf("reply % x", reply)
	}
	sess := ts.acc.next(t)
	msg := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
	go func() { _, _ = c.Write(rawFrame(rawRegular, msg)) }()
	typ, p := readRaw(t, c)
	if typ != rawRegular || !bytes.Equal(p, msg) {
		t.Errorf("echo of 16 MiB: type %d, %d bytes", typ, len(p))
	}
	sess.assertOpen(t)
}

func TestRawSocketCloseByRouter(t *testing.T) {
	ts := startServer(t, Config{}, newAcceptor(false))
	c, _ := dialRaw(t, ts.addr, 15, 1)
	sess := ts.acc.next(t)
	_ = sess.conn.Send([]byte(`[6,{},"wamp.close.system_shutdown"]`))
	sess.conn.Close(peer.CloseGoingAway, "")
	if _, p := readRaw(t, c); string(p) != `[6,{},"wamp.close.system_shutdown"]` {
		t.Errorf("queued message not flushed before close: %q", p)
	}
	expectEOF(t, c)
	if err := sess.waitClosed(t); err != nil {
		t.Errorf("Session.Closed(%v)", err)
	}
}
