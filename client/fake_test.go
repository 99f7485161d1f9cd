package client

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

// fakeRouter is a scripted router: each test drives the connection by hand, so it can check what
// the client writes and send what a real router would not.
type fakeRouter struct {
	t     testing.TB
	url   string
	ws    bool
	conns chan *fakeConn
	// rsReply, when set, replaces the RawSocket handshake reply.
	rsReply []byte
	mu      sync.Mutex
}

type fakeConn struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
	ws   bool
	ser  codec.Serializer
	rsHS [4]byte // the client's RawSocket handshake
}

// startFake listens on 127.0.0.1 for WebSocket (wsMode) or RawSocket connections.
func startFake(t testing.TB, wsMode bool, rsReply []byte) *fakeRouter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRouter{t: t, ws: wsMode, conns: make(chan *fakeConn, 4), rsReply: rsReply}
	if wsMode {
		f.url = "ws://" + ln.Addr().String() + "/ws"
	} else {
		f.url = "rs://" + ln.Addr().String()
	}
	var wg sync.WaitGroup
	var open []net.Conn
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			open = append(open, conn)
			f.mu.Unlock()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			fc := &fakeConn{t: t, conn: conn, ws: wsMode}
			wg.Go(func() {
				if err := fc.handshake(f.rsReply); err != nil {
					_ = conn.Close()
					return
				}
				f.conns <- fc
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		f.mu.Lock()
		for _, c := range open {
			_ = c.Close()
		}
		f.mu.Unlock()
		wg.Wait()
	})
	return f
}

// handshake runs the transport handshake as a router.
func (fc *fakeConn) handshake(rsReply []byte) error {
	if fc.ws {
		u := ws.Upgrader{ProtocolCustom: func(b []byte) (string, bool) {
			for p := range strings.SplitSeq(string(b), ",") {
				if s, ok := codec.BySubprotocol(strings.TrimSpace(p)); ok {
					fc.ser = s
					return s.Subprotocol(), true
				}
			}
			return "", false
		}}
		if _, err := u.Upgrade(fc.conn); err != nil {
			return err
		}
		fc.br = bufio.NewReader(fc.conn)
		return nil
	}
	if _, err := io.ReadFull(fc.conn, fc.rsHS[:]); err != nil {
		return err
	}
	s, ok := codec.ByID(codec.ID(fc.rsHS[1] & 0x0f))
	if !ok {
		return errors.New("bad serializer")
	}
	fc.ser = s
	reply := rsReply
	if reply == nil {
		reply = []byte{0x7f, 0xf0 | fc.rsHS[1]&0x0f, 0, 0}
	}
	if _, err := fc.conn.Write(reply); err != nil {
		return err
	}
	fc.br = bufio.NewReader(fc.conn)
	return nil
}

// accept returns the next connection.
func (f *fakeRouter) accept() *fakeConn {
	f.t.Helper()
	return recv(f.t, f.conns, "connection to the fake router")
}

// frame reads one frame: its kind (WebSocket opcode or RawSocket type) and unmasked payload.
func (fc *fakeConn) frame() (byte, []byte, error) {
	if fc.ws {
		fr, err := ws.ReadFrame(fc.br)
		if err != nil {
			return 0, nil, err
		}
		if !fr.Header.Masked {
			return 0, nil, errors.New("client frame not masked")
		}
		fr = ws.UnmaskFrameInPlace(fr)
		return byte(fr.Header.OpCode), fr.Payload, nil
	}
	var h [4]byte
	if _, err := io.ReadFull(fc.br, h[:]); err != nil {
		return 0, nil, err
	}
	p := make([]byte, int(h[1])<<16|int(h[2])<<8|int(h[3]))
	_, err := io.ReadFull(fc.br, p)
	return h[0], p, err
}

// read returns the next WAMP message from the client.
func (fc *fakeConn) read() wamp.Message {
	fc.t.Helper()
	for {
		kind, p, err := fc.frame()
		if err != nil {
			fc.t.Fatalf("fake router read: %v", err)
		}
		if fc.ws && ws.OpCode(kind).IsControl() || !fc.ws && kind != 0 {
			continue
		}
		m, err := fc.ser.Decode(p)
		if err != nil {
			fc.t.Fatalf("fake router decode: %v", err)
		}
		return m
	}
}

// writeFrame writes a frame of the given kind.
func (fc *fakeConn) writeFrame(kind byte, p []byte) {
	fc.t.Helper()
	var err error
	if fc.ws {
		err = ws.WriteFrame(fc.conn, ws.NewFrame(ws.OpCode(kind), true, p))
	} else {
		h := []byte{kind, byte(len(p) >> 16), byte(len(p) >> 8), byte(len(p))}
		_, err = fc.conn.Write(append(h, p...))
	}
	if err != nil {
		fc.t.Fatalf("fake router write: %v", err)
	}
}

// write sends a WAMP message.
func (fc *fakeConn) write(m wamp.Message) {
	fc.t.Helper()
	b, err := fc.ser.Encode(nil, m)
	if err != nil {
		fc.t.Fatalf("fake router encode: %v", err)
	}
	kind := byte(0)
	if fc.ws {
		kind = byte(ws.OpText)
		if fc.ser.Binary() {
			kind = byte(ws.OpBinary)
		}
	}
	fc.writeFrame(kind, b)
}

// welcome reads HELLO and answers WELCOME with a dealer that supports everything.
func (fc *fakeConn) welcome() *wamp.Hello {
	fc.t.Helper()
	hello, ok := fc.read().(*wamp.Hello)
	if !ok {
		fc.t.Fatal("first message is not HELLO")
	}
	fc.write(&wamp.Welcome{Session: 77, Details: wamp.Dict{"roles": wamp.Dict{
		"broker": wamp.Dict{"features": wamp.Dict{}},
		"dealer": wamp.Dict{"features": wamp.Dict{"progressive_call_invocations": true}},
	}}})
	return hello
}

// connectFake connects a client to f in the background and plays the router's side of joining.
func connectFake(t testing.TB, f *fakeRouter, cfg Config) (*Client, *fakeConn) {
	t.Helper()
	cfg.Realm = testRealm
	type res struct {
		c   *Client
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := Connect(context.Background(), f.url, cfg)
		ch <- res{c, err}
	}()
	fc := f.accept()
	fc.welcome()
	r := recv(t, ch, "Connect")
	if r.err != nil {
		t.Fatalf("Connect: %v", r.err)
	}
	t.Cleanup(func() {
		_ = fc.conn.Close()
		<-r.c.Done()
	})
	return r.c, fc
}

// TestHello checks the HELLO the client sends.
func TestHello(t *testing.T) {
	f := startFake(t, false, nil)
	go func() {
		c, err := Connect(t.Context(), f.url, Config{Realm: "r", HelloDetails: wamp.Dict{"authid": "bob"}})
		if err == nil {
			_ = c.Close()
		}
	}()
	fc := f.accept()
	if fc.rsHS[0] != 0x7f || fc.rsHS[1] != 0xf1 || fc.rsHS[2] != 0 || fc.rsHS[3] != 0 {
		t.Errorf("RawSocket handshake % x, want 7f f1 00 00", fc.rsHS)
	}
	hello, ok := fc.read().(*wamp.Hello)
	if !ok {
		t.Fatal("first message is not HELLO")
	}
	if hello.Realm != "r" || hello.Details["authid"] != "bob" {
		t.Errorf("HELLO %v %v", hello.Realm, hello.Details)
	}
	roles, _ := hello.Details["roles"].(map[string]any)
	for role, feature := range map[string]string{
		"publisher": "publisher_exclusion", "subscriber": "pattern_based_subscription",
		"caller": "call_canceling", "callee": "progressive_call_invocations",
	} {
		r, _ := roles[role].(map[string]any)
		fs, _ := r["features"].(map[string]any)
		if fs[feature] != true {
			t.Errorf("HELLO roles.%s lacks %s: %v", role, feature, roles[role])
		}
	}
	_ = fc.conn.Close()
}

// TestRequestIDs checks that request ids start at 1 and reach the router in order without gaps,
// also when many goroutines send at once.
func TestRequestIDs(t *testing.T) {
	for _, wsMode := range []bool{false, true} {
		f := startFake(t, wsMode, nil)
		c, fc := connectFake(t, f, Config{})
		ctx := testCtx(t)
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				for range 20 {
					if _, err := c.Publish(ctx, "t", wamp.List{"x"}, nil, nil); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		for want := wamp.ID(1); want <= 200; want++ {
			m, ok := fc.read().(*wamp.Publish)
			if !ok || m.Request != want {
				t.Fatalf("message %d: %v, want PUBLISH with request id %d", want, m, want)
			}
		}
		wg.Wait()
	}
}

// TestPing checks that pings are answered with pongs echoing the payload.
func TestPing(t *testing.T) {
	for _, wsMode := range []bool{false, true} {
		f := startFake(t, wsMode, nil)
		_, fc := connectFake(t, f, Config{})
		ping, pong := byte(1), byte(2)
		if wsMode {
			ping, pong = byte(ws.OpPing), byte(ws.OpPong)
		}
		fc.writeFrame(ping, []byte("are you there"))
		kind, p, err := fc.frame()
		if err != nil || kind != pong || string(p) != "are you there" {
			t.Fatalf("ws=%v: answer to ping: kind %d payload %q err %v", wsMode, kind, p, err)
		}
	}
}

// TestFragmentedMessage checks WebSocket message reassembly, with a ping between fragments.
func TestFragmentedMessage(t *testing.T) {
	f := startFake(t, true, nil)
	c, fc := connectFake(t, f, Config{})
	ctx := testCtx(t)
	events := make(chan *wamp.Event, 1)
	done := make(chan error, 1)
	go func() {
		_, err := c.Subscribe(ctx, "t", func(ev *wamp.Event) { events <- ev }, nil)
		done <- err
	}()
	sub := fc.read().(*wamp.Subscribe)
	fc.write(&wamp.Subscribed{Request: sub.Request, Subscription: 5})
	if err := recv(t, done, "Subscribe"); err != nil {
		t.Fatal(err)
	}
	b, _ := fc.ser.Encode(nil, &wamp.Event{Subscription: 5, Publication: 9, Details: wamp.Dict{}, Args: wamp.List{"héllo"}})
	mid := len(b) / 2
	for _, fr := range []ws.Frame{
		ws.NewFrame(ws.OpText, false, b[:mid]),
		ws.NewPingFrame([]byte("p")),
		ws.NewFrame(ws.OpContinuation, true, b[mid:]),
	} {
		if err := ws.WriteFrame(fc.conn, fr); err != nil {
			t.Fatal(err)
		}
	}
	ev := recv(t, events, "event")
	if ev.Args[0] != "héllo" || ev.Publication != 9 {
		t.Fatalf("event %v", ev)
	}
}

// TestHostileRouter checks that transport and protocol violations end the session.
func TestHostileRouter(t *testing.T) {
	tooBig := make([]byte, 600)
	for _, tc := range []struct {
		name  string
		ws    bool
		max   int
		send  func(fc *fakeConn)
		want  string
		abort bool // the client must send ABORT protocol_violation
		errIs error
	}{
		{name: "rawsocket frame over the announced limit", max: 512,
			send: func(fc *fakeConn) { fc.writeFrame(0, tooBig) }, want: "exceeds the announced 512"},
		{name: "rawsocket reserved bits",
			send: func(fc *fakeConn) { fc.writeFrame(0x08, []byte("[]")) }, want: "reserved bits"},
		{name: "rawsocket reserved type",
			send: func(fc *fakeConn) { fc.writeFrame(0x05, []byte("[]")) }, want: "reserved type"},
		{name: "websocket message over the limit", ws: true, max: 512,
			send: func(fc *fakeConn) { fc.writeFrame(byte(ws.OpText), tooBig) }, want: "longer than 512"},
		{name: "websocket masked frame", ws: true,
			send: func(fc *fakeConn) {
				_ = ws.WriteFrame(fc.conn, ws.MaskFrame(ws.NewTextFrame([]byte("[]"))))
			}, want: "must be not masked"},
		{name: "websocket invalid UTF-8", ws: true,
			send: func(fc *fakeConn) { fc.writeFrame(byte(ws.OpText), []byte{'[', 0xff, ']'}) }, want: "UTF-8"},
		{name: "undecodable message", abort: true, errIs: codec.ErrInvalidMessage,
			send: func(fc *fakeConn) { fc.writeFrame(0, []byte("[36, oops")) }},
		{name: "message a router must not send", abort: true, want: "unexpected HELLO",
			send: func(fc *fakeConn) { fc.write(&wamp.Hello{Realm: "x", Details: wamp.Dict{}}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := startFake(t, tc.ws, nil)
			c, fc := connectFake(t, f, Config{MaxMessageSize: tc.max})
			tc.send(fc)
			if tc.abort {
				abort, ok := fc.read().(*wamp.Abort)
				if !ok || abort.Reason != wamp.ErrProtocolViolation {
					t.Fatalf("client answered %v, want ABORT protocol_violation", abort)
				}
			}
			recv(t, c.Done(), "session end")
			err := c.Err()
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Err() = %v, want it to mention %q", err, tc.want)
			}
			if tc.errIs != nil && !errors.Is(err, tc.errIs) {
				t.Fatalf("Err() = %v, want %v", err, tc.errIs)
			}
			if tc.ws {
				// The client sends a close frame with a protocol status.
				for {
					kind, p, err := fc.frame()
					if err != nil {
						t.Fatalf("no close frame: %v", err)
					}
					if ws.OpCode(kind) == ws.OpClose {
						if code := binary.BigEndian.Uint16(p); code < 1002 || code == 1005 || code == 1006 {
							t.Fatalf("close status %d", code)
						}
						break
					}
				}
			}
		})
	}
}

// TestRouterGoodbye checks the reply to a router's GOODBYE.
func TestRouterGoodbye(t *testing.T) {
	f := startFake(t, false, nil)
	c, fc := connectFake(t, f, Config{})
	fc.write(&wamp.Goodbye{Details: wamp.Dict{"message": "maintenance"}, Reason: wamp.ErrCloseRealm})
	bye, ok := fc.read().(*wamp.Goodbye)
	if !ok || bye.Reason != wamp.ErrGoodbyeAndOut {
		t.Fatalf("client answered %v, want GOODBYE %s", bye, wamp.ErrGoodbyeAndOut)
	}
	_ = fc.conn.Close()
	recv(t, c.Done(), "session end")
	var ce *CloseError
	if !errors.As(c.Err(), &ce) || ce.Reason != wamp.ErrCloseRealm || !strings.Contains(ce.Error(), "maintenance") {
		t.Fatalf("Err() = %v", c.Err())
	}
}

// TestCloseWithoutAnswer checks that Close gives up after CloseTimeout.
func TestCloseWithoutAnswer(t *testing.T) {
	f := startFake(t, true, nil)
	c, fc := connectFake(t, f, Config{CloseTimeout: 100 * time.Millisecond})
	errc := make(chan error, 1)
	go func() { errc <- c.Close() }()
	bye, ok := fc.read().(*wamp.Goodbye)
	if !ok || bye.Reason != wamp.CloseNormal {
		t.Fatalf("Close sent %v", bye)
	}
	if err := recv(t, errc, "Close"); err == nil || !strings.Contains(err.Error(), "no GOODBYE") {
		t.Fatalf("Close = %v, want a timeout error", err)
	}
	if !errors.Is(c.Err(), ErrClosed) {
		t.Fatalf("Err() = %v", c.Err())
	}
}

// TestConnectErrors checks failures while connecting.
func TestConnectErrors(t *testing.T) {
	// RawSocket handshake refused.
	f := startFake(t, false, []byte{0x7f, 0x10, 0, 0})
	_, err := Connect(testCtx(t), f.url, Config{Realm: testRealm})
	if err == nil || !strings.Contains(err.Error(), "serializer unsupported") {
		t.Errorf("refused handshake: %v", err)
	}
	// No WELCOME within the context's deadline.
	f = startFake(t, true, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = Connect(ctx, f.url, Config{Realm: testRealm})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("Connect without WELCOME: %v after %v", err, time.Since(start))
	}
	// Nothing listening.
	if _, err := Connect(testCtx(t), "rs://127.0.0.1:1", Config{Realm: testRealm}); err == nil {
		t.Error("Connect to a closed port succeeded")
	}
	// Bad configuration.
	if _, err := Connect(testCtx(t), f.url, Config{}); err == nil {
		t.Error("Connect without a realm succeeded")
	}
	if _, err := Connect(testCtx(t), f.url, Config{Realm: testRealm, Serializer: 9}); err == nil {
		t.Error("Connect with serializer 9 succeeded")
	}
}

// TestAbandonedSubscribe checks that a SUBSCRIBED arriving after the caller gave up is undone.
func TestAbandonedSubscribe(t *testing.T) {
	f := startFake(t, false, nil)
	c, fc := connectFake(t, f, Config{})
	ctx, cancel := context.WithCancel(testCtx(t))
	errc := make(chan error, 1)
	go func() {
		_, err := c.Subscribe(ctx, "t", func(*wamp.Event) {}, nil)
		errc <- err
	}()
	sub := fc.read().(*wamp.Subscribe)
	cancel()
	if err := recv(t, errc, "Subscribe"); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled Subscribe: %v", err)
	}
	fc.write(&wamp.Subscribed{Request: sub.Request, Subscription: 31})
	unsub, ok := fc.read().(*wamp.Unsubscribe)
	if !ok || unsub.Subscription != 31 {
		t.Fatalf("client sent %v, want UNSUBSCRIBE 31", unsub)
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want endpoint
	}{
		{"ws://h:8080/ws", endpoint{websocket: true, network: "tcp", address: "h:8080", wsURL: "ws://h:8080/ws", host: "h"}},
		{"wss://h/ws", endpoint{websocket: true, network: "tcp", address: "h", tls: true, wsURL: "wss://h/ws", host: "h"}},
		{"rs://h:9000", endpoint{network: "tcp", address: "h:9000", host: "h"}},
		{"tcp://h:9000", endpoint{network: "tcp", address: "h:9000", host: "h"}},
		{"rss://h:9000", endpoint{network: "tcp", address: "h:9000", tls: true, host: "h"}},
		{"ws+unix:///run/gw.sock", endpoint{websocket: true, network: "unix", address: "/run/gw.sock", wsURL: "ws://localhost/ws"}},
		{"ws+unix:///run/gw.sock#/x/y?a=1", endpoint{websocket: true, network: "unix", address: "/run/gw.sock", wsURL: "ws://localhost/x/y?a=1"}},
		{"rs+unix:///run/gw.sock", endpoint{network: "unix", address: "/run/gw.sock"}},
	} {
		got, err := parseURL(tc.url)
		if err != nil || *got != tc.want {
			t.Errorf("parseURL(%q) = %+v, %v; want %+v", tc.url, got, err, tc.want)
		}
	}
	for _, bad := range []string{"http://h/", "rs://h", "ws:///x", "rs+unix://", "::"} {
		if _, err := parseURL(bad); err == nil {
			t.Errorf("parseURL(%q) succeeded", bad)
		}
	}
}

func TestRawSocketLength(t *testing.T) {
	for _, tc := range []struct{ max, n, limit int }{
		{1, 0, 512}, {512, 0, 512}, {513, 1, 1024}, {1 << 20, 11, 1 << 20}, {1<<23 + 1, 15, 1<<24 - 1}, {1<<24 - 1, 15, 1<<24 - 1},
	} {
		n, limit := rawSocketLength(tc.max)
		if int(n) != tc.n || limit != tc.limit {
			t.Errorf("rawSocketLength(%d) = %d, %d; want %d, %d", tc.max, n, limit, tc.n, tc.limit)
		}
	}
}

// TestBackpressure checks that sending blocks, within its context, while the router does not read.
func TestBackpressure(t *testing.T) {
	f := startFake(t, false, nil)
	c, _ := connectFake(t, f, Config{WriteQueueSize: 1024})
	ctx, cancel := context.WithTimeout(testCtx(t), 300*time.Millisecond)
	defer cancel()
	big := strings.Repeat("x", 60000)
	var err error
	for i := 0; i < 10000 && err == nil; i++ {
		_, err = c.Publish(ctx, "t", wamp.List{big}, nil, nil)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish to a router that does not read: %v, want context.DeadlineExceeded", err)
	}
}

// TestEncodeError checks that a message that cannot be encoded is refused without using up a
// request id.
func TestEncodeError(t *testing.T) {
	f := startFake(t, false, nil)
	c, fc := connectFake(t, f, Config{})
	ctx := testCtx(t)
	if _, err := c.Publish(ctx, "t", wamp.List{make(chan int)}, nil, nil); err == nil {
		t.Fatal("Publish of a channel succeeded")
	}
	if _, err := c.Publish(ctx, "t", wamp.List{"ok"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if m, ok := fc.read().(*wamp.Publish); !ok || m.Request != 1 {
		t.Fatalf("router received %v, want PUBLISH with request id 1", m)
	}
}

// TestRevocation checks subscriptions and registrations revoked by the router.
func TestRevocation(t *testing.T) {
	f := startFake(t, true, nil)
	c, fc := connectFake(t, f, Config{})
	ctx := testCtx(t)
	events := make(chan *wamp.Event, 1)
	subc := make(chan *Subscription, 1)
	go func() {
		s, err := c.Subscribe(ctx, "t", func(ev *wamp.Event) { events <- ev }, nil)
		if err != nil {
			t.Error(err)
		}
		subc <- s
	}()
	sub := fc.read().(*wamp.Subscribe)
	fc.write(&wamp.Subscribed{Request: sub.Request, Subscription: 5})
	s := recv(t, subc, "Subscribe")
	regc := make(chan *Registration, 1)
	go func() {
		r, err := c.Register(ctx, "p", func(context.Context, *Invocation) (*Result, error) { return nil, nil }, nil)
		if err != nil {
			t.Error(err)
		}
		regc <- r
	}()
	reg := fc.read().(*wamp.Register)
	fc.write(&wamp.Registered{Request: reg.Request, Registration: 6})
	r := recv(t, regc, "Register")
	if s == nil || r == nil || s.ID() != 5 || r.ID() != 6 || s.Topic() != "t" || r.Procedure() != "p" {
		t.Fatalf("subscription %v, registration %v", s, r)
	}

	fc.write(&wamp.Event{Subscription: 5, Publication: 1, Details: wamp.Dict{}})
	recv(t, events, "event before revocation")
	fc.write(&wamp.Unsubscribed{Details: wamp.Dict{"subscription": int64(5), "reason": "wamp.error.revoked"}})
	fc.write(&wamp.Unregistered{Details: wamp.Dict{"registration": int64(6)}})
	fc.write(&wamp.Event{Subscription: 5, Publication: 2, Details: wamp.Dict{}})
	fc.write(&wamp.Invocation{Request: 1, Registration: 6, Details: wamp.Dict{}})
	e, ok := fc.read().(*wamp.Error)
	if !ok || e.RequestType != wamp.INVOCATION || e.Request != 1 || e.Error != wamp.ErrNoSuchRegistration {
		t.Fatalf("answer to an INVOCATION of a revoked registration: %v", e)
	}
	noRecv(t, events, "event after revocation")
	// Unsubscribing and unregistering afterwards are no-ops that send nothing.
	if err := s.Unsubscribe(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Unregister(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestDialTimeout checks that DialTimeout bounds the transport handshake.
func TestDialTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	start := time.Now()
	_, err = Connect(testCtx(t), "rs://"+ln.Addr().String(), Config{Realm: testRealm, DialTimeout: 100 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("Connect to a silent listener: %v after %v", err, time.Since(start))
	}
	start = time.Now()
	_, err = Connect(testCtx(t), "ws://"+ln.Addr().String()+"/ws", Config{Realm: testRealm, DialTimeout: 100 * time.Millisecond})
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("Connect to a silent listener: %v after %v", err, time.Since(start))
	}
}
