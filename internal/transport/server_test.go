package transport

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"go.uber.org/goleak"

	"github.com/gateway-dev/gateway/internal/peer"
)

func httpGet(t *testing.T, client *http.Client, url string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func noKeepAlive() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: waitTimeout}
}

func TestUniversalPort(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello from "+r.URL.Path)
	})
	ts := startServer(t, Config{HTTPHandler: handler}, nil)

	wsc, _ := dialWS(t, ts.addr, "wamp.2.json")
	ts.acc.next(t)
	raw, _ := dialRaw(t, ts.addr, 15, 2)
	ts.acc.next(t)

	writeFrame(t, wsc, true, ws.OpText, []byte(`["ws"]`))
	writeRaw(t, raw, rawRegular, []byte(`["raw"]`))
	if _, p := readData(t, wsc); string(p) != `["ws"]` {
		t.Errorf("websocket echo %q", p)
	}
	if _, p := readRaw(t, raw); string(p) != `["raw"]` {
		t.Errorf("rawsocket echo %q", p)
	}
	status, _, body := httpGet(t, noKeepAlive(), "http://"+ts.addr+"/info")
	if status != http.StatusOK || string(body) != "hello from /info" {
		t.Errorf("GET /info: %d %q", status, body)
	}
	// Keep-alive HTTP connections are served too, and closed by Shutdown.
	client := &http.Client{Timeout: waitTimeout}
	for range 2 {
		if status, _, _ := httpGet(t, client, "http://"+ts.addr+"/again"); status != http.StatusOK {
			t.Errorf("keep-alive GET: %d", status)
		}
	}
	st := ts.Stats()
	if st.WebSocketOpened != 1 || st.RawSocketOpened != 1 || st.WebSocketOpen != 1 || st.RawSocketOpen != 1 ||
		st.MessagesIn != 2 || st.MessagesOut != 2 || st.BytesIn == 0 || st.BytesOut == 0 || st.Accepted < 4 {
		t.Errorf("stats %+v", st)
	}
	wsc.Close()
	raw.Close()
	ts.shutdown(t)
	client.CloseIdleConnections()
}

func TestNotFoundJSON(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	status, h, body := httpGet(t, noKeepAlive(), "http://"+ts.addr+"/nothing")
	var v map[string]string
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	if status != http.StatusNotFound || h.Get("Content-Type") != "application/json" || v["error"] != "not_found" || v["message"] == "" {
		t.Errorf("got %d %v %v", status, h, v)
	}
}

func TestCustomWebSocketPath(t *testing.T) {
	ts := startServer(t, Config{WebSocketPath: "/wamp"}, nil)
	dialWSWith(t, ws.Dialer{}, "ws://"+ts.addr+"/wamp", "wamp.2.json")
	if status, _, _ := httpGet(t, noKeepAlive(), "http://"+ts.addr+"/ws"); status != http.StatusNotFound {
		t.Errorf("GET /ws with a custom path: %d", status)
	}
}

func TestUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gw.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, Config{}, nil, ln)
	d := ws.Dialer{NetDial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}
	c, _ := dialWSWith(t, d, "ws://localhost/ws", "wamp.2.json")
	sess := ts.acc.next(t)
	if info := sess.conn.Info(); info.Network != "unix" || info.Transport != "websocket" {
		t.Errorf("Info %+v", info)
	}
	writeFrame(t, c, true, ws.OpText, []byte(`[1]`))
	if _, p := readData(t, c); string(p) != `[1]` {
		t.Errorf("echo %q", p)
	}

	rc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if reply := rawHandshake(t, rc, [4]byte{0x7F, 0xF1, 0, 0}); reply[1]&0x0F != 1 {
		t.Fatalf("raw handshake reply % x", reply)
	}
	sess = ts.acc.next(t)
	if info := sess.conn.Info(); info.Network != "unix" || info.Transport != "rawsocket" {
		t.Errorf("Info %+v", info)
	}
	writeRaw(t, rc, rawRegular, []byte(`[2]`))
	if _, p := readRaw(t, rc); string(p) != `[2]` {
		t.Errorf("echo %q", p)
	}
}

// selfSigned returns a server TLS config and a client config trusting it.
func selfSigned(t *testing.T) (*tls.Config, *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

func TestTLSListener(t *testing.T) {
	srvCfg, cliCfg := selfSigned(t)
	var sawTLS bool
	var mu sync.Mutex
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sawTLS = r.TLS != nil && r.TLS.HandshakeComplete
		mu.Unlock()
		_, _ = io.WriteString(w, "secure")
	})
	ln := tls.NewListener(listenTCP(t), srvCfg)
	ts := startServer(t, Config{HTTPHandler: handler}, nil, ln)

	c, _ := dialWSWith(t, ws.Dialer{TLSConfig: cliCfg}, "wss://"+ts.addr+"/ws", "wamp.2.msgpack")
	sess := ts.acc.next(t)
	if info := sess.conn.Info(); !info.TLS || info.Transport != "websocket" {
		t.Errorf("Info %+v", info)
	}
	writeFrame(t, c, true, ws.OpBinary, []byte{1, 2, 3})
	if _, p := readData(t, c); string(p) != "\x01\x02\x03" {
		t.Errorf("echo %q", p)
	}

	rc, err := tls.Dial("tcp", ts.addr, cliCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if reply := rawHandshake(t, rc, [4]byte{0x7F, 0xF2, 0, 0}); reply[1]&0x0F != 2 {
		t.Fatalf("raw handshake reply % x", reply)
	}
	sess = ts.acc.next(t)
	if info := sess.conn.Info(); !info.TLS || info.Transport != "rawsocket" {
		t.Errorf("Info %+v", info)
	}
	writeRaw(t, rc, rawRegular, []byte("tls raw"))
	if _, p := readRaw(t, rc); string(p) != "tls raw" {
		t.Errorf("echo %q", p)
	}

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: cliCfg, DisableKeepAlives: true}, Timeout: waitTimeout}
	status, _, body := httpGet(t, client, "https://"+ts.addr+"/")
	mu.Lock()
	defer mu.Unlock()
	if status != http.StatusOK || string(body) != "secure" || !sawTLS {
		t.Errorf("HTTPS GET: %d %q, handler saw TLS: %v", status, body, sawTLS)
	}

	// A plain-text client on the TLS port fails its handshake without harm.
	pc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = pc.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	expectEOF(t, pc)
	pc.Close()
	waitFor(t, "TLS handshake failure counted", func() bool { return ts.Stats().HandshakeFailures == 1 })
}

func TestDroppedHandshakes(t *testing.T) {
	cfg := Config{HandshakeTimeout: 5 * time.Second}
	ts := startServer(t, cfg, nil)
	const total = 2000
	stages := [][]byte{
		nil,         // connect and drop
		[]byte("G"), // one byte of HTTP
		[]byte("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"), // mid-request
		{0x7F},       // first byte of a RawSocket handshake
		{0x7F, 0xF1}, // mid-RawSocket-handshake
	}
	work := make(chan int)
	var wg sync.WaitGroup
	errs := make(chan error, total)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				c, err := net.Dial("tcp", ts.addr)
				if err != nil {
					errs <- err
					continue
				}
				if p := stages[i%len(stages)]; p != nil {
					_, _ = c.Write(p)
				}
				c.Close()
			}
		})
	}
	for i := range total {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("dial: %v", err)
	}
	// Drops seen by the transport itself: before the first byte and inside the RawSocket handshake.
	waitFor(t, "handshake failures to be counted", func() bool {
		return ts.Stats().HandshakeFailures == uint64(total/len(stages)*3)
	})
	waitFor(t, "pending sockets to be released", func() bool {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		return len(ts.pending) == 0
	})

	// A normal client of each kind still works.
	c, _ := dialWS(t, ts.addr, "wamp.2.json")
	ts.acc.next(t)
	writeFrame(t, c, true, ws.OpText, []byte(`["still here"]`))
	if _, p := readData(t, c); string(p) != `["still here"]` {
		t.Errorf("echo %q", p)
	}
	rc, _ := dialRaw(t, ts.addr, 15, 1)
	ts.acc.next(t)
	writeRaw(t, rc, rawRegular, []byte(`[1]`))
	if _, p := readRaw(t, rc); string(p) != `[1]` {
		t.Errorf("echo %q", p)
	}
	c.Close()
	rc.Close()
	ts.shutdown(t)
	goleak.VerifyNone(t)
}

func TestHandshakeTimeout(t *testing.T) {
	ts := startServer(t, Config{HandshakeTimeout: 100 * time.Millisecond}, nil)
	for _, p := range [][]byte{nil, {0x7F, 0x21}, []byte("GET /ws HTTP/1.1\r\n")} {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write(p)
		start := time.Now()
		expectEOF(t, c) // the server gives up on the silent client
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("handshake of %q timed out after %v", p, d)
		}
		c.Close()
	}
}

func TestDeadPeerDetection(t *testing.T) {
	cfg := Config{PingInterval: 100 * time.Millisecond, PingTimeout: 300 * time.Millisecond}
	ts := startServer(t, cfg, nil)

	// A WebSocket client that answers pings stays; a silent one is closed.
	alive, _ := dialWS(t, ts.addr, "wamp.2.json")
	aliveSess := ts.acc.next(t)
	pings := make(chan struct{}, 100)
	go func() {
		for {
			h, p, err := readFrameErr(alive)
			if err != nil {
				return
			}
			if h.OpCode == ws.OpPing {
				pings <- struct{}{}
				_, _ = alive.Write(clientFrame(true, ws.OpPong, p, true))
			}
		}
	}()
	start := time.Now()
	_, _ = dialWS(t, ts.addr, "wamp.2.json")
	silentSess := ts.acc.next(t)
	if err := silentSess.waitClosed(t); !errors.Is(err, ErrPingTimeout) {
		t.Errorf("silent WebSocket peer: Closed(%v), want ErrPingTimeout", err)
	}
	if d := time.Since(start); d < 350*time.Millisecond {
		t.Errorf("silent peer closed after %v, before PingInterval+PingTimeout", d)
	}

	// The same for RawSocket.
	rawAlive, _ := dialRaw(t, ts.addr, 15, 1)
	rawAliveSess := ts.acc.next(t)
	go func() {
		for {
			var h [4]byte
			_ = rawAlive.SetReadDeadline(time.Now().Add(waitTimeout))
			if _, err := io.ReadFull(rawAlive, h[:]); err != nil {
				return
			}
			p := make([]byte, int(h[1])<<16|int(h[2])<<8|int(h[3]))
			if _, err := io.ReadFull(rawAlive, p); err != nil {
				return
			}
			if h[0] == rawPing {
				_, _ = rawAlive.Write(rawFrame(rawPong, p))
			}
		}
	}()
	_, _ = dialRaw(t, ts.addr, 15, 1)
	rawSilent := ts.acc.next(t)
	if err := rawSilent.waitClosed(t); !errors.Is(err, ErrPingTimeout) {
		t.Errorf("silent RawSocket peer: Closed(%v), want ErrPingTimeout", err)
	}

	time.Sleep(300 * time.Millisecond)
	aliveSess.assertOpen(t)
	rawAliveSess.assertOpen(t)
	if len(pings) < 2 {
		t.Errorf("the live client saw %d pings", len(pings))
	}
	if n := ts.Stats().PingTimeouts; n != 2 {
		t.Errorf("PingTimeouts = %d, want 2", n)
	}
}

func TestKeepaliveDisabled(t *testing.T) {
	ts := startServer(t, Config{PingInterval: -1, PingTimeout: time.Millisecond}, nil)
	dialWS(t, ts.addr, "wamp.2.json")
	sess := ts.acc.next(t)
	time.Sleep(100 * time.Millisecond)
	sess.assertOpen(t)
}

func TestShutdownAfterRouterCloses(t *testing.T) {
	ts := startServer(t, Config{}, newAcceptor(false))
	c, _ := dialWS(t, ts.addr, "wamp.2.json")
	wsSess := ts.acc.next(t)
	rc, _ := dialRaw(t, ts.addr, 15, 1)
	rawSess := ts.acc.next(t)

	// The router says GOODBYE and closes; the WebSocket client answers the close handshake.
	go func() {
		for {
			h, _, err := readFrameErr(c)
			if err != nil {
				return
			}
			if h.OpCode == ws.OpClose {
				_, _ = c.Write(clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(ws.StatusGoingAway, ""), true))
			}
		}
	}()
	for _, s := range []*testSession{wsSess, rawSess} {
		_ = s.conn.Send([]byte(`[6,{},"wamp.close.system_shutdown"]`))
		s.conn.Close(peer.CloseGoingAway, "shutdown")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, s := range []*testSession{wsSess, rawSess} {
		if err := s.waitClosed(t); err != nil {
			t.Errorf("Closed(%v)", err)
		}
	}
	if _, p := readRaw(t, rc); string(p) != `[6,{},"wamp.close.system_shutdown"]` {
		t.Errorf("GOODBYE not flushed: %q", p)
	}
	if _, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		t.Error("listener still accepts after Shutdown")
	}
	st := ts.Stats()
	if st.WebSocketOpen != 0 || st.RawSocketOpen != 0 {
		t.Errorf("open connections after Shutdown: %+v", st)
	}
	if err := ts.Serve(listenTCP(t)); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v", err)
	}
}

func TestShutdownForceCloses(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	dialWS(t, ts.addr, "wamp.2.json")
	sess := ts.acc.next(t)
	// A client idle in the middle of an HTTP request.
	hc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	_, _ = hc.Write([]byte("GET /ws HTTP/1.1\r\n"))

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Shutdown took %v", d)
	}
	if err := sess.waitClosed(t); !errors.Is(err, ErrShutdown) {
		t.Errorf("Closed(%v), want ErrShutdown", err)
	}
	expectEOF(t, hc)
	if err := <-ts.errs; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v", err)
	}
	ts.nln = 0
}

func TestDefaultSerializers(t *testing.T) {
	if got := New(Config{}, newAcceptor(true)).subprotocolList(); got != "wamp.2.json, wamp.2.msgpack, wamp.2.cbor" {
		t.Errorf("default subprotocols %q", got)
	}
}

// A ping written by the connection's writer goroutine sets a write deadline; data written later by a
// flush worker must not fail on that stale deadline (it closed every connection 40 s after connect
// with the default ping settings).
func TestWritesAfterKeepalivePingOutliveTheWriteTimeout(t *testing.T) {
	cfg := Config{PingInterval: 40 * time.Millisecond, PingTimeout: time.Second, WriteTimeout: 60 * time.Millisecond}
	ts := startServer(t, cfg, newAcceptor(false))
	nc, _ := dialWS(t, ts.addr, "wamp.2.json")
	sess := ts.acc.next(t)
	data := make(chan string, 100)
	go func() {
		for {
			h, p, err := readFrameErr(nc)
			if err != nil {
				close(data)
				return
			}
			switch h.OpCode {
			case ws.OpPing:
				_, _ = nc.Write(clientFrame(true, ws.OpPong, p, true))
			case ws.OpText:
				data <- string(p)
			}
		}
	}()
	for i := 0; i < 5; i++ {
		time.Sleep(100 * time.Millisecond) // pings went out; their write deadline has passed
		msg := fmt.Sprintf(`["after ping %d"]`, i)
		if err := sess.conn.Send([]byte(msg)); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		select {
		case got, ok := <-data:
			if !ok || got != msg {
				t.Fatalf("message %d: got %q (open %v)", i, got, ok)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("message %d not delivered", i)
		}
	}
	sess.assertOpen(t)
}
