package transport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"go.uber.org/goleak"

	"github.com/gateway-dev/gateway/internal/peer"
	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeSer is a serializer stand-in: the transport only uses its ids and flags.
type fakeSer struct {
	id  codec.ID
	sub string
	bin bool
}

func (f fakeSer) ID() codec.ID        { return f.id }
func (f fakeSer) Name() string        { return f.sub[len("wamp.2."):] }
func (f fakeSer) Subprotocol() string { return f.sub }
func (f fakeSer) Binary() bool        { return f.bin }
func (f fakeSer) Encode(dst []byte, _ wamp.Message) ([]byte, error) {
	return dst, errors.New("fake serializer")
}
func (f fakeSer) Decode([]byte) (wamp.Message, error) { return nil, errors.New("fake serializer") }

var (
	serJSON    = fakeSer{codec.JSON, "wamp.2.json", false}
	serMsgPack = fakeSer{codec.MsgPack, "wamp.2.msgpack", true}
	serCBOR    = fakeSer{codec.CBOR, "wamp.2.cbor", true}
)

const waitTimeout = 10 * time.Second

// testAcceptor hands out testSessions; with echo set they send every message back.
type testAcceptor struct {
	echo     bool
	refuse   bool
	sessions chan *testSession
}

func newAcceptor(echo bool) *testAcceptor {
	return &testAcceptor{echo: echo, sessions: make(chan *testSession, 4096)}
}

func (a *testAcceptor) Accept(c peer.Conn) peer.Session {
	if a.refuse {
		return nil
	}
	s := &testSession{conn: c, echo: a.echo, msgs: make(chan []byte, 1024), closed: make(chan error, 1)}
	select {
	case a.sessions <- s:
	default:
	}
	return s
}

func (a *testAcceptor) next(t testing.TB) *testSession {
	t.Helper()
	select {
	case s := <-a.sessions:
		return s
	case <-time.After(waitTimeout):
		t.Fatal("no session accepted")
		return nil
	}
}

type testSession struct {
	conn    peer.Conn
	echo    bool
	msgs    chan []byte
	closed  chan error
	nclosed atomic.Int32
	late    atomic.Bool // Receive after Closed
}

func (s *testSession) Receive(msg []byte) {
	if s.nclosed.Load() > 0 {
		s.late.Store(true)
	}
	if s.echo {
		_ = s.conn.Send(bytes.Clone(msg))
	}
	select {
	case s.msgs <- bytes.Clone(msg):
	default:
	}
}

func (s *testSession) Closed(err error) {
	if s.nclosed.Add(1) == 1 {
		s.closed <- err
	}
}

// waitClosed waits for Session.Closed and checks it ran once and nothing arrived after it.
func (s *testSession) waitClosed(t testing.TB) error {
	t.Helper()
	select {
	case err := <-s.closed:
		time.Sleep(10 * time.Millisecond)
		if n := s.nclosed.Load(); n != 1 {
			t.Errorf("Session.Closed called %d times", n)
		}
		if s.late.Load() {
			t.Error("Session.Receive called after Session.Closed")
		}
		return err
	case <-time.After(waitTimeout):
		t.Fatal("Session.Closed not called")
		return nil
	}
}

func (s *testSession) recv(t testing.TB) []byte {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(waitTimeout):
		t.Fatal("no message received by the session")
		return nil
	}
}

func (s *testSession) assertOpen(t testing.TB) {
	t.Helper()
	select {
	case err := <-s.closed:
		t.Fatalf("session closed unexpectedly: %v", err)
	default:
	}
}

// testServer is a Server serving on one or more listeners, shut down at the end of the test.
type testServer struct {
	*Server
	acc  *testAcceptor
	addr string
	errs chan error
	nln  int
	once sync.Once
}

func testLogger() *slog.Logger {
	if os.Getenv("TRANSPORT_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func listenTCP(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// startServer serves cfg on lns (a new loopback TCP listener if none), with an echo acceptor unless
// acc is given.
func startServer(t testing.TB, cfg Config, acc *testAcceptor, lns ...net.Listener) *testServer {
	t.Helper()
	if cfg.Serializers == nil {
		cfg.Serializers = []codec.Serializer{serJSON, serMsgPack}
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger()
	}
	if acc == nil {
		acc = newAcceptor(true)
	}
	if len(lns) == 0 {
		lns = []net.Listener{listenTCP(t)}
	}
	ts := &testServer{Server: New(cfg, acc), acc: acc, addr: lns[0].Addr().String(), errs: make(chan error, len(lns)), nln: len(lns)}
	for _, ln := range lns {
		go func() { ts.errs <- ts.Serve(ln) }()
	}
	t.Cleanup(func() { ts.shutdown(t) })
	return ts
}

func (ts *testServer) shutdown(t testing.TB) {
	ts.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := ts.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		for range ts.nln {
			if err := <-ts.errs; !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		}
	})
}

// waitFor polls cond until it holds or the test times out.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ---- WebSocket client side ----

// bufConn reads through the dialer's leftover buffer.
type bufConn struct {
	net.Conn
	r io.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func dialWS(t testing.TB, addr string, protocols ...string) (net.Conn, ws.Handshake) {
	t.Helper()
	return dialWSWith(t, ws.Dialer{}, "ws://"+addr+"/ws", protocols...)
}

func dialWSWith(t testing.TB, d ws.Dialer, url string, protocols ...string) (net.Conn, ws.Handshake) {
	t.Helper()
	d.Protocols = protocols
	d.Timeout = waitTimeout
	c, br, hs, err := d.Dial(context.Background(), url)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	if br != nil {
		return &bufConn{Conn: c, r: io.MultiReader(br, c)}, hs
	}
	return c, hs
}

// clientFrame encodes a client frame; masked unless told otherwise.
func clientFrame(fin bool, op ws.OpCode, payload []byte, masked bool) []byte {
	var buf bytes.Buffer
	h := ws.Header{Fin: fin, OpCode: op, Length: int64(len(payload)), Masked: masked}
	p := bytes.Clone(payload)
	if masked {
		h.Mask = ws.NewMask()
		ws.Cipher(p, h.Mask, 0)
	}
	if err := ws.WriteHeader(&buf, h); err != nil {
		panic(err)
	}
	buf.Write(p)
	return buf.Bytes()
}

func writeFrame(t testing.TB, c net.Conn, fin bool, op ws.OpCode, payload []byte) {
	t.Helper()
	if _, err := c.Write(clientFrame(fin, op, payload, true)); err != nil {
		t.Fatalf("write frame: %v", err)
	}
}

// readFrame reads one server frame, checking it is unmasked.
func readFrame(t testing.TB, c net.Conn) (ws.Header, []byte) {
	t.Helper()
	h, p, err := readFrameErr(c)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	return h, p
}

func readFrameErr(c net.Conn) (ws.Header, []byte, error) {
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	h, err := ws.ReadHeader(c)
	if err != nil {
		return h, nil, err
	}
	if h.Masked {
		return h, nil, errors.New("server frame is masked")
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(c, p); err != nil {
		return h, nil, err
	}
	return h, p, nil
}

// readData reads frames until a data frame, skipping pings.
func readData(t testing.TB, c net.Conn) (ws.OpCode, []byte) {
	t.Helper()
	for {
		h, p := readFrame(t, c)
		if h.OpCode == ws.OpPing {
			continue
		}
		if !h.Fin {
			t.Fatalf("server sent a fragmented frame")
		}
		return h.OpCode, p
	}
}

// expectClose reads frames until a close frame and returns its code and reason.
func expectClose(t testing.TB, c net.Conn) (ws.StatusCode, string) {
	t.Helper()
	for {
		h, p := readFrame(t, c)
		if h.OpCode == ws.OpClose {
			if len(p) < 2 {
				return 0, ""
			}
			return ws.StatusCode(binary.BigEndian.Uint16(p)), string(p[2:])
		}
	}
}

// expectEOF checks that the server closes the socket.
func expectEOF(t testing.TB, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("server did not close the socket")
		}
		return
	}
}

// ---- RawSocket client side ----

func dialRaw(t testing.TB, addr string, lenExp, serID byte) (net.Conn, [4]byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, rawHandshake(t, c, [4]byte{0x7F, lenExp<<4 | serID, 0, 0})
}

func rawHandshake(t testing.TB, c net.Conn, req [4]byte) [4]byte {
	t.Helper()
	if _, err := c.Write(req[:]); err != nil {
		t.Fatal(err)
	}
	var reply [4]byte
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, err := io.ReadFull(c, reply[:]); err != nil {
		t.Fatalf("read handshake reply: %v", err)
	}
	return reply
}

func rawFrame(typ byte, payload []byte) []byte {
	return append(appendRawHeader(nil, typ, len(payload)), payload...)
}

func writeRaw(t testing.TB, c net.Conn, typ byte, payload []byte) {
	t.Helper()
	if _, err := c.Write(rawFrame(typ, payload)); err != nil {
		t.Fatal(err)
	}
}

func readRaw(t testing.TB, c net.Conn) (byte, []byte) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	var h [4]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		t.Fatalf("read raw frame header: %v", err)
	}
	n := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	if h[0]&0x08 != 0 {
		n = 1 << 24
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c, p); err != nil {
		t.Fatalf("read raw payload: %v", err)
	}
	return h[0] & 0x07, p
}

// ---- in-memory conn for fuzzing ----

// memConn reads from a fixed input and records what the server writes.
type memConn struct {
	r   *bytes.Reader
	mu  sync.Mutex
	out bytes.Buffer
}

func newMemConn(in []byte) *memConn { return &memConn{r: bytes.NewReader(in)} }

func (m *memConn) Read(p []byte) (int, error) { return m.r.Read(p) }
func (m *memConn) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.out.Write(p)
}
func (m *memConn) Close() error                     { return nil }
func (m *memConn) LocalAddr() net.Addr              { return memAddr{} }
func (m *memConn) RemoteAddr() net.Addr             { return memAddr{} }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }
func (m *memConn) output() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.out.Bytes())
}

type memAddr struct{}

func (memAddr) Network() string { return "mem" }
func (memAddr) String() string  { return "mem" }

// wrapListener applies wrap to every accepted conn.
type wrapListener struct {
	net.Listener
	wrap func(net.Conn) net.Conn
}

func (l wrapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.wrap(c), nil
}

func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }
