package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/router/auth"
	"go.uber.org/goleak"

	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const testRealm = "realm1"

// nexusRouter is an in-process nexus router listening on WebSocket and RawSocket, over TCP and
// Unix sockets.
type nexusRouter struct {
	r         router.Router
	ws        string // ws://127.0.0.1:port/ws
	rs        string // rs://127.0.0.1:port
	wsUnix    string // ws+unix:///...#/ws
	rsUnix    string // rs+unix:///...
	mu        sync.Mutex
	wsHeaders []http.Header // upgrade request headers seen
}

type routerOptions struct {
	realm      *router.RealmConfig
	rsRecvMax  int // RawSocket server's receive limit (0: nexus default)
	noRealmCfg bool
}

// startRouter starts a nexus router; it is closed when the test ends.
func startRouter(t testing.TB, opts routerOptions) *nexusRouter {
	t.Helper()
	realm := opts.realm
	if realm == nil {
		realm = &router.RealmConfig{URI: testRealm, AnonymousAuth: true, AllowDisclose: true, EnableMetaKill: true}
	}
	r, err := router.NewRouter(&router.Config{RealmConfigs: []*router.RealmConfig{realm}}, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatalf("nexus router: %v", err)
	}
	nr := &nexusRouter{r: r}
	var closers []func()

	wss := router.NewWebsocketServer(r)
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		nr.mu.Lock()
		nr.wsHeaders = append(nr.wsHeaders, req.Header.Clone())
		nr.mu.Unlock()
		wss.ServeHTTP(w, req)
	})
	serveHTTP := func(l net.Listener) {
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(l) }()
		closers = append(closers, func() { _ = srv.Close() })
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveHTTP(l)
	nr.ws = "ws://" + l.Addr().String() + "/ws"

	dir := t.TempDir()
	wsSock := filepath.Join(dir, "ws.sock")
	ul, err := net.Listen("unix", wsSock)
	if err != nil {
		t.Fatal(err)
	}
	serveHTTP(ul)
	nr.wsUnix = "ws+unix://" + wsSock + "#/ws"

	rss := router.NewRawSocketServer(r)
	rss.RecvLimit = opts.rsRecvMax
	rl, err := rss.ListenAndServe("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closers = append(closers, func() { _ = rl.Close() })
	nr.rs = "rs://" + rl.(net.Listener).Addr().String()

	rsSock := filepath.Join(dir, "rs.sock")
	rul, err := rss.ListenAndServe("unix", rsSock)
	if err != nil {
		t.Fatal(err)
	}
	closers = append(closers, func() { _ = rul.Close() })
	nr.rsUnix = "rs+unix://" + rsSock

	t.Cleanup(func() {
		for _, c := range closers {
			c()
		}
		r.Close()
	})
	return nr
}

// headers returns the WebSocket upgrade request headers the router saw.
func (nr *nexusRouter) headers() []http.Header {
	nr.mu.Lock()
	defer nr.mu.Unlock()
	return append([]http.Header(nil), nr.wsHeaders...)
}

// connect joins testRealm at url; the client is closed when the test ends.
func connect(t testing.TB, url string, cfg Config) *Client {
	t.Helper()
	if cfg.Realm == "" {
		cfg.Realm = testRealm
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Connect(ctx, url, cfg)
	if err != nil {
		t.Fatalf("Connect(%s): %v", url, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// testCtx returns a context that ends with the test or after 10 seconds.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// serializers lists the codecs to test with.
var serializers = []struct {
	name string
	id   codec.ID
}{
	{"json", codec.JSON},
	{"msgpack", codec.MsgPack},
	{"cbor", codec.CBOR},
}

// ticketKeyStore is a nexus KeyStore with one user for ticket authentication.
type ticketKeyStore struct{ ticket string }

func (ks ticketKeyStore) AuthKey(authid, authmethod string) ([]byte, error) {
	return []byte(ks.ticket), nil
}
func (ticketKeyStore) PasswordInfo(string) (string, int, int) { return "", 0, 0 }
func (ticketKeyStore) AuthRole(string) (string, error)        { return "user", nil }
func (ticketKeyStore) Provider() string                       { return "test" }

var _ auth.KeyStore = ticketKeyStore{}

// recv waits for a value from ch.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// noRecv asserts that nothing arrives on ch for a short while.
func noRecv[T any](t testing.TB, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %v", what, v)
	case <-time.After(200 * time.Millisecond):
	}
}

var _ = wamp.MaxID

// selfSigned returns a certificate for 127.0.0.1 and localhost, and a pool that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// startTLS adds wss:// and rss:// listeners to nr and returns their URLs.
func (nr *nexusRouter) startTLS(t testing.TB, cert tls.Certificate) (wss, rss string) {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: router.NewWebsocketServer(nr.r), ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	rl, err := router.NewRawSocketServer(nr.r).ListenAndServeTLS("tcp", "127.0.0.1:0", cfg, "", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rl.Close() })
	return "wss://" + l.Addr().String() + "/ws", "rss://" + rl.(net.Listener).Addr().String()
}
