package server

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"go.uber.org/goleak"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs a gateway on a free loopback port with the embedded defaults.
func start(t *testing.T, edit func(*config.Config)) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.Listeners[0].Address = "127.0.0.1:0"
	cfg.Store.DataDir = t.TempDir()
	cfg.Limits.HelloTimeout = 2 * time.Second
	if edit != nil {
		edit(cfg)
	}
	s, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

func addr(s *Server) string { return s.Endpoints()[0].Addr.String() }

var helloJSON = `[1,"realm1",{"roles":{"subscriber":{},"publisher":{}}}]`

// wsConn is a raw WebSocket client speaking one subprotocol.
type wsConn struct {
	t    *testing.T
	conn net.Conn
	ser  codec.Serializer
}

func dialWS(t *testing.T, s *Server, ser codec.Serializer) *wsConn {
	t.Helper()
	d := ws.Dialer{Protocols: []string{ser.Subprotocol()}, Timeout: 2 * time.Second}
	conn, _, _, err := d.Dial(context.Background(), "ws://"+addr(s)+"/ws")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &wsConn{t: t, conn: conn, ser: ser}
}

func (c *wsConn) sendRaw(op ws.OpCode, b []byte) {
	c.t.Helper()
	if err := wsutil.WriteClientMessage(c.conn, op, b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *wsConn) send(m wamp.Message) {
	c.t.Helper()
	b, err := c.ser.Encode(nil, m)
	if err != nil {
		c.t.Fatal(err)
	}
	op := ws.OpText
	if c.ser.Binary() {
		op = ws.OpBinary
	}
	c.sendRaw(op, b)
}

// recv reads the next WAMP message; on a close frame it returns nil and the close code.
func (c *wsConn) recv() (wamp.Message, ws.StatusCode) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		data, op, err := wsutil.ReadServerData(c.conn)
		if err != nil {
			var ce wsutil.ClosedError
			if errors.As(err, &ce) {
				return nil, ce.Code
			}
			c.t.Fatalf("read: %v", err)
		}
		if op == ws.OpText || op == ws.OpBinary {
			m, err := c.ser.Decode(data)
			if err != nil {
				c.t.Fatalf("router sent an undecodable message: %v", err)
			}
			return m, 0
		}
	}
}

func (c *wsConn) join() *wamp.Welcome {
	c.t.Helper()
	c.sendRaw(ws.OpText, []byte(helloJSON))
	m, code := c.recv()
	w, ok := m.(*wamp.Welcome)
	if !ok {
		c.t.Fatalf("expected WELCOME, got %v (close %d)", m, code)
	}
	return w
}

// expectAbortThenClose asserts ABORT with reason, then a close frame with code.
func (c *wsConn) expectAbortThenClose(reason wamp.URI, code ws.StatusCode) {
	c.t.Helper()
	m, _ := c.recv()
	a, ok := m.(*wamp.Abort)
	if !ok || a.Reason != reason {
		c.t.Fatalf("expected ABORT %s, got %+v", reason, m)
	}
	if _, got := c.recv(); got != code {
		c.t.Fatalf("close code %d, want %d", got, code)
	}
}

func TestHostileWebSocketInput(t *testing.T) {
	s := start(t, nil)
	cases := []struct {
		name   string
		joined bool
		frame  string
	}{
		{"undecodable", false, `[1, "realm1", {`},
		{"not an array", false, `{"hello": 1}`},
		{"unknown message type", true, `[99, 1, {}]`},
		{"wrong arity", true, `[16, 1, {}]`},
		{"wrong element type", true, `[32, 1, {}, 42]`},
		{"message before HELLO", false, `[16, 1, {}, "a.b"]`},
		{"second HELLO", true, helloJSON},
		{"id zero", true, `[32, 0, {}, "a.b"]`},
		{"id above 2^53", true, `[32, 9007199254740993, {}, "a.b"]`},
		{"negative id", true, `[32, -1, {}, "a.b"]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialWS(t, s, codec.JSONSerializer)
			if tc.joined {
				c.join()
			}
			c.sendRaw(ws.OpText, []byte(tc.frame))
			c.expectAbortThenClose(wamp.ErrProtocolViolation, ws.StatusProtocolError)
		})
	}
	// The router still serves a new client.
	dialWS(t, s, codec.JSONSerializer).join()
}

func TestUnknownRealmOverWebSocket(t *testing.T) {
	s := start(t, nil)
	c := dialWS(t, s, codec.JSONSerializer)
	c.sendRaw(ws.OpText, []byte(`[1,"nosuch",{"roles":{"caller":{}}}]`))
	m, _ := c.recv()
	if a, ok := m.(*wamp.Abort); !ok || a.Reason != wamp.ErrNoSuchRealm {
		t.Fatalf("got %+v", m)
	}
}

func TestOversizedFrameIsRefused(t *testing.T) {
	s := start(t, nil)
	c := dialWS(t, s, codec.JSONSerializer)
	c.join()
	// A header announcing a 64 MiB frame; the payload is never sent.
	h := ws.Header{Fin: true, OpCode: ws.OpText, Length: 64 << 20, Masked: true, Mask: ws.NewMask()}
	if err := ws.WriteHeader(c.conn, h); err != nil {
		t.Fatal(err)
	}
	if _, code := c.recv(); code != ws.StatusMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
	dialWS(t, s, codec.JSONSerializer).join()
}

// rawSocket is a raw RawSocket client.
type rawSocket struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	ser  codec.Serializer
}

func dialRS(t *testing.T, s *Server, ser codec.Serializer) *rawSocket {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr(s), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	conn.Write([]byte{0x7F, 0xF0 | byte(ser.ID()), 0, 0})
	var reply [4]byte
	r := bufio.NewReader(conn)
	if _, err := io.ReadFull(r, reply[:]); err != nil {
		t.Fatal(err)
	}
	if reply[0] != 0x7F || reply[1]&0x0F != byte(ser.ID()) {
		t.Fatalf("handshake reply % x", reply)
	}
	return &rawSocket{t: t, conn: conn, r: r, ser: ser}
}

func (c *rawSocket) sendRaw(b []byte) {
	var h [4]byte
	binary.BigEndian.PutUint32(h[:], uint32(len(b)))
	h[0] = 0
	c.conn.Write(append(h[:], b...))
}

// recv returns the next regular message, or nil when the connection was closed.
func (c *rawSocket) recv() wamp.Message {
	c.t.Helper()
	for {
		var h [4]byte
		if _, err := io.ReadFull(c.r, h[:]); err != nil {
			return nil
		}
		n := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
		b := make([]byte, n)
		if _, err := io.ReadFull(c.r, b); err != nil {
			return nil
		}
		if h[0]&7 != 0 {
			continue // PING/PONG
		}
		m, err := c.ser.Decode(b)
		if err != nil {
			c.t.Fatalf("router sent an undecodable message: %v", err)
		}
		return m
	}
}

func TestHostileRawSocketInput(t *testing.T) {
	s := start(t, nil)
	for _, frame := range []string{`[1, "realm1"`, `"hello"`, `[99]`, `[1, "realm1", {}]`, `[16, 1, {}, "a.b"]`} {
		c := dialRS(t, s, codec.JSONSerializer)
		c.sendRaw([]byte(frame))
		m := c.recv()
		if a, ok := m.(*wamp.Abort); !ok || a.Reason != wamp.ErrProtocolViolation {
			t.Fatalf("%s: got %+v", frame, m)
		}
		if m := c.recv(); m != nil {
			t.Fatalf("%s: connection still open after ABORT: %+v", frame, m)
		}
	}
	// A frame larger than the router's announced maximum closes the connection.
	c := dialRS(t, s, codec.JSONSerializer)
	c.conn.Write([]byte{0, 0xFF, 0xFF, 0xFF})
	if m := c.recv(); m != nil {
		t.Fatalf("oversize frame: got %+v", m)
	}
	// Serving goes on: a proper session works over RawSocket with MessagePack.
	ok := dialRS(t, s, codec.MsgPackSerializer)
	b, _ := codec.MsgPackSerializer.Encode(nil, &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}}})
	ok.sendRaw(b)
	if _, isWelcome := ok.recv().(*wamp.Welcome); !isWelcome {
		t.Fatal("no WELCOME over RawSocket after hostile clients")
	}
}

func TestConnectionsDroppedMidHandshake(t *testing.T) {
	s := start(t, nil)
	partial := []string{
		"",                            // connect and close
		"\x7F",                        // first RawSocket byte only
		"\x7F\xF1",                    // half a RawSocket handshake
		"GET /ws HTTP/1.1\r\nHost: x", // half an HTTP request
		"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := 0; i < 2000; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			conn, err := net.Dial("tcp", addr(s))
			if err != nil {
				t.Error(err)
				return
			}
			conn.Write([]byte(partial[i%len(partial)]))
			conn.Close()
		}(i)
	}
	wg.Wait()
	c := dialWS(t, s, codec.CBORSerializer)
	b, _ := codec.CBORSerializer.Encode(nil, &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}}})
	c.sendRaw(ws.OpBinary, b)
	if m, _ := c.recv(); m == nil || m.MessageType() != wamp.WELCOME {
		t.Fatalf("after 2000 dropped handshakes: %+v", m)
	}
}

func TestNoCommonSubprotocolIsRefused(t *testing.T) {
	s := start(t, nil)
	d := ws.Dialer{Protocols: []string{"wamp.2.flatbuffers"}, Timeout: 2 * time.Second}
	_, _, _, err := d.Dial(context.Background(), "ws://"+addr(s)+"/ws")
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("handshake without a common subprotocol: %v", err)
	}
}

func TestShutdownSendsGoodbyeToEverySession(t *testing.T) {
	cfg := config.Default()
	cfg.Listeners[0].Address = "127.0.0.1:0"
	cfg.Store.DataDir = t.TempDir()
	s, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	clients := []*wsConn{dialWS(t, s, codec.JSONSerializer), dialWS(t, s, codec.JSONSerializer)}
	for _, c := range clients {
		c.join()
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		done <- s.Shutdown(ctx)
	}()
	for _, c := range clients {
		m, _ := c.recv()
		g, ok := m.(*wamp.Goodbye)
		if !ok || g.Reason != wamp.ErrSystemShutdown {
			t.Fatalf("expected GOODBYE system_shutdown, got %+v", m)
		}
		c.sendRaw(ws.OpText, []byte(`[6,{},"wamp.close.goodbye_and_out"]`))
		if _, code := c.recv(); code != ws.StatusNormalClosure {
			t.Fatalf("close code %d after GOODBYE, want 1000", code)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := net.DialTimeout("tcp", addr(s), time.Second); err == nil {
		t.Fatal("listener still open after shutdown")
	}
}

func TestDebugEndpoint(t *testing.T) {
	port := freePort(t)
	start(t, func(c *config.Config) { c.Server.DebugAddress = "127.0.0.1:" + port })
	resp, err := http.Get("http://127.0.0.1:" + port + "/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "# HeapAlloc") {
		t.Fatalf("heap profile: %d %.200s", resp.StatusCode, body)
	}
	resp, err = http.Get("http://127.0.0.1:" + port + "/debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "memstats") {
		t.Fatalf("vars: %.200s", body)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}
