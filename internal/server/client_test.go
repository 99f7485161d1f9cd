package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/client"
	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

func connect(t *testing.T, url string, ser codec.ID, tlsCfg *tls.Config) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, url, client.Config{Realm: "realm1", Serializer: ser, TLSConfig: tlsCfg})
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

// exercise runs pub/sub and RPC between two clients.
func exercise(t *testing.T, a, b *client.Client) {
	t.Helper()
	events := make(chan *wamp.Event, 1)
	if _, err := a.Subscribe(ctx(t), "com.test.topic", func(e *wamp.Event) { events <- e }, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Register(ctx(t), "com.test.add", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		x, _ := inv.Args[0].(int64)
		y, _ := inv.Args[1].(int64)
		return &client.Result{Args: wamp.List{x + y}}, nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Publish(ctx(t), "com.test.topic", wamp.List{"hi"}, wamp.Dict{"n": int64(1)}, wamp.Dict{"acknowledge": true}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-events:
		if e.Args[0] != "hi" || e.Kwargs["n"] != int64(1) {
			t.Fatalf("event %+v", e)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no event")
	}
	res, err := b.Call(ctx(t), "com.test.add", wamp.List{int64(2), int64(3)}, nil, nil)
	if err != nil || res.Args[0] != int64(5) {
		t.Fatalf("call: %v %v", res, err)
	}
	if _, err := b.Call(ctx(t), "com.test.nothing", nil, nil, nil); !client.IsError(err, wamp.ErrNoSuchProcedure) {
		t.Fatalf("no_such_procedure: %v", err)
	}
}

func TestGoClientAllTransportsAndSerializers(t *testing.T) {
	s := start(t, nil)
	ep := s.Endpoints()[0]
	for _, url := range []string{ep.WebSocketURL, ep.RawSocketURL} {
		for _, ser := range []codec.ID{codec.JSON, codec.MsgPack, codec.CBOR} {
			t.Run(fmt.Sprintf("%s/%d", url[:2], ser), func(t *testing.T) {
				exercise(t, connect(t, url, ser, nil), connect(t, url, ser, nil))
			})
		}
	}
}

func TestGoClientMixedSerializers(t *testing.T) {
	s := start(t, nil)
	ep := s.Endpoints()[0]
	exercise(t, connect(t, ep.RawSocketURL, codec.CBOR, nil), connect(t, ep.WebSocketURL, codec.JSON, nil))
}

func TestUnixSocketListener(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "gw.sock")
	s := start(t, func(c *config.Config) {
		c.Listeners = append(c.Listeners, config.Listener{Unix: sock, WebSocketPath: "/wamp"})
	})
	ep := s.Endpoints()[1]
	if ep.WebSocketURL != "ws+unix://"+sock+"#/wamp" {
		t.Fatalf("endpoint %q", ep.WebSocketURL)
	}
	exercise(t, connect(t, ep.WebSocketURL, codec.MsgPack, nil), connect(t, ep.RawSocketURL, codec.JSON, nil))
}

func TestTLSListener(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	s := start(t, func(c *config.Config) {
		c.Listeners[0].TLSCert, c.Listeners[0].TLSKey = certFile, keyFile
	})
	ep := s.Endpoints()[0]
	tlsCfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	exercise(t, connect(t, ep.WebSocketURL, codec.JSON, tlsCfg), connect(t, ep.RawSocketURL, codec.CBOR, tlsCfg))
	a := connect(t, ep.WebSocketURL, codec.JSON, tlsCfg)
	info, err := a.Call(ctx(t), "wamp.session.get", wamp.List{a.SessionID()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr := info.Args[0].(map[string]any)["transport"].(map[string]any); tr["tls"] != true {
		t.Fatalf("transport details %v", tr)
	}
}

func selfSigned(t *testing.T, dir string) (string, string, *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gateway test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestGoClientProgressiveAndStreams(t *testing.T) {
	s := start(t, nil)
	url := s.Endpoints()[0].WebSocketURL
	callee, caller := connect(t, url, codec.MsgPack, nil), connect(t, url, codec.JSON, nil)
	callee.Register(ctx(t), "com.test.count", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		for i := int64(0); i < 3; i++ {
			if err := inv.SendProgress(wamp.List{i}, nil); err != nil {
				return nil, err
			}
		}
		return &client.Result{Args: wamp.List{"done"}}, nil
	}, nil)
	var progress []any
	res, err := caller.Call(ctx(t), "com.test.count", nil, nil, nil, client.WithProgress(func(r *wamp.Result) { progress = append(progress, r.Args[0]) }))
	if err != nil || res.Args[0] != "done" || fmt.Sprint(progress) != "[0 1 2]" {
		t.Fatalf("progressive results: %v %v %v", res, progress, err)
	}

	callee.Register(ctx(t), "com.test.sum", func(c context.Context, inv *client.Invocation) (*client.Result, error) {
		sum := inv.Args[0].(int64)
		for inv.Progressive() {
			chunk, err := inv.Next(c)
			if err != nil {
				return nil, err
			}
			if len(chunk.Args) > 0 {
				sum += chunk.Args[0].(int64)
			}
		}
		return &client.Result{Args: wamp.List{sum}}, nil
	}, nil)
	st, err := caller.CallStream(ctx(t), "com.test.sum", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 4; i++ {
		if err := st.Send(wamp.List{i}, nil); err != nil {
			t.Fatal(err)
		}
	}
	res, err = st.Finish(wamp.List{int64(10)}, nil)
	if err != nil || res.Args[0] != int64(20) {
		t.Fatalf("progressive invocations: %v %v", res, err)
	}
}

func TestGoClientCancelTimeoutAndInterrupt(t *testing.T) {
	s := start(t, nil)
	url := s.Endpoints()[0].RawSocketURL
	callee, caller := connect(t, url, codec.CBOR, nil), connect(t, url, codec.JSON, nil)
	interrupted := make(chan error, 10)
	callee.Register(ctx(t), "com.test.block", func(c context.Context, _ *client.Invocation) (*client.Result, error) {
		<-c.Done()
		interrupted <- context.Cause(c)
		return nil, &client.RPCError{URI: wamp.ErrCanceled, Args: wamp.List{"stopped by the callee"}}
	}, nil)
	waitInterrupt := func() {
		t.Helper()
		select {
		case err := <-interrupted:
			if !errors.Is(err, client.ErrInterrupted) {
				t.Fatalf("handler context ended by %v, want an INTERRUPT", err)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("callee was not interrupted")
		}
	}

	// Router-side timeout.
	_, err := caller.Call(ctx(t), "com.test.block", nil, nil, wamp.Dict{"timeout": int64(50)})
	var rerr *client.RPCError
	if !errors.As(err, &rerr) || rerr.URI != wamp.ErrCanceled || rerr.Details["reason"] != string(wamp.ErrTimeout) {
		t.Fatalf("timeout: %v", err)
	}
	waitInterrupt()

	// Cancel with mode kill: the callee's own ERROR reaches the caller.
	cctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := caller.Call(cctx, "com.test.block", nil, nil, nil, client.WithCancelMode(client.CancelKill))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	waitInterrupt()
	if err := <-done; err == nil {
		t.Fatal("canceled call succeeded")
	}

	// A caller that leaves interrupts its callee.
	leaver := connect(t, url, codec.JSON, nil)
	go leaver.Call(context.Background(), "com.test.block", nil, nil, nil)
	time.Sleep(50 * time.Millisecond)
	leaver.Close()
	waitInterrupt()
}

func TestGoClientSeesShutdown(t *testing.T) {
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
	c := connect(t, s.Endpoints()[0].WebSocketURL, codec.JSON, nil)
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	<-c.Done()
	var ce *client.CloseError
	if !errors.As(c.Err(), &ce) || ce.Reason != wamp.ErrSystemShutdown {
		t.Fatalf("client saw %v, want GOODBYE wamp.close.system_shutdown", c.Err())
	}
}

// Retained events survive a restart on the same data directory, except those restricted to
// particular sessions or users, which are kept in memory only.
func TestRetainedEventsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	run := func() (*Server, func()) {
		cfg := config.Default()
		cfg.Listeners[0].Address = "127.0.0.1:0"
		cfg.Store.DataDir = dir
		s, err := New(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		return s, func() {
			sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			s.Shutdown(sctx)
		}
	}
	s, stop := run()
	pub := connect(t, s.Endpoints()[0].WebSocketURL, codec.JSON, nil)
	for _, p := range []struct {
		topic string
		opts  wamp.Dict
	}{
		{"sensor.temp", wamp.Dict{"retain": true, "acknowledge": true}},
		{"private.note", wamp.Dict{"retain": true, "acknowledge": true, "eligible_authid": []any{"alice"}}},
	} {
		if _, err := pub.Publish(ctx(t), p.topic, wamp.List{"value of " + p.topic}, wamp.Dict{"unit": "C"}, p.opts); err != nil {
			t.Fatal(err)
		}
	}
	pub.Close()
	stop()

	s, stop = run()
	defer stop()
	sub := connect(t, s.Endpoints()[0].WebSocketURL, codec.CBOR, nil)
	got := make(chan *wamp.Event, 4)
	for _, topic := range []string{"sensor.temp", "private.note"} {
		if _, err := sub.Subscribe(ctx(t), topic, func(e *wamp.Event) { got <- e }, wamp.Dict{"get_retained": true}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case e := <-got:
		if e.Args[0] != "value of sensor.temp" || e.Kwargs["unit"] != "C" || e.Details["retained"] != true {
			t.Fatalf("retained event after restart: %+v", e)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the retained event did not survive the restart")
	}
	select {
	case e := <-got:
		t.Fatalf("a retained event restricted to other users was replayed after restart: %+v", e)
	case <-time.After(200 * time.Millisecond):
	}
}
