package proxy

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/internal/webapp/natsrep"
)

// runNATS starts an embedded NATS server on a random loopback port, stopped at the end.
func runNATS(t *testing.T, opts *server.Options) *server.Server {
	t.Helper()
	if opts == nil {
		opts = &server.Options{}
	}
	opts.Host, opts.Port, opts.NoLog, opts.NoSigs = "127.0.0.1", server.RANDOM_PORT, true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(5 * time.Second) {
		t.Fatal("the embedded NATS server did not start")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// startNATSGateway runs the gateway's real NATS representative of inv.
func startNATSGateway(t *testing.T, inv webapp.Invoker, cfg natsrep.Config) {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	rep, err := natsrep.Start(inv, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rep.Close() })
}

func TestNATSConformance(t *testing.T) {
	s := runNATS(t, nil)
	gw := newGateway()
	startNATSGateway(t, gw, natsrep.Config{URL: s.ClientURL(), SubjectPrefix: "acme.gw"})
	p := newProxy(t, Config{Transport: TransportNATS, URL: s.ClientURL(), SubjectPrefix: "acme.gw"})
	waitReady(t, p)
	conformance(t, p, gw)
}

// waitReady retries Health until the representative answers (its subscription is asynchronous).
func waitReady(t *testing.T, p *Proxy) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := p.Health(ctx(t))
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the representative never answered: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestNATSCredentials(t *testing.T) {
	s := runNATS(t, &server.Options{Authorization: "s3cret-token"})
	gw := newGateway()
	startNATSGateway(t, gw, natsrep.Config{URL: s.ClientURL(), Token: "s3cret-token"})
	waitReady(t, newProxy(t, Config{Transport: TransportNATS, URL: s.ClientURL(), NATSToken: "s3cret-token"}))

	_, err := newProxy(t, Config{Transport: TransportNATS, URL: s.ClientURL(), NATSToken: "wrong"}).Health(ctx(t))
	if err == nil || !strings.Contains(err.Error(), "connecting to") {
		t.Fatalf("a wrong token got %v, want a connection error", err)
	}
}

func TestNATSNoGateway(t *testing.T) {
	s := runNATS(t, nil)
	_, err := newProxy(t, Config{Transport: TransportNATS, URL: s.ClientURL()}).Stats(ctx(t))
	if !errors.Is(err, nats.ErrNoResponders) || !strings.Contains(err.Error(), "gateway.api.stats") {
		t.Fatalf("got %v, want no responders on gateway.api.stats", err)
	}
}

// TestNATSForeignReplies checks the errors for replies that are not the gateway's envelope.
func TestNATSForeignReplies(t *testing.T) {
	s := runNATS(t, nil)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	replies := map[string]string{
		"notjson":  "hello",
		"empty":    "{}",
		"weird":    `{"error": 5}`,
		"refusal":  `{"error":"wamp.error.not_authorized","message":"no","details":{},"status":403}`,
		"nullbody": `{"result": null}`,
	}
	sub, err := nc.Subscribe("t.>", func(m *nats.Msg) {
		_ = m.Respond([]byte(replies[strings.TrimPrefix(m.Subject, "t.")]))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for op, want := range map[string]string{"notjson": "not a JSON object", "empty": "neither result nor error", "weird": "not an error URI"} {
		_, err := newProxy(t, Config{Transport: TransportNATS, URL: s.ClientURL(), SubjectPrefix: "t"}).Invoke(ctx(t), op, nil)
		var e *Error
		if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", op, err, want)
		}
	}
	_, err = newProxy(t, Config{Transport: TransportNATS, URL: s.ClientURL(), SubjectPrefix: "t"}).Invoke(ctx(t), "refusal", nil)
	var e *Error
	if !errors.As(err, &e) || e.URI != ErrNotAuthorized || e.Status != 403 || e.Details != nil {
		t.Errorf("refusal: got %#v", err)
	}
	raw, err := newProxy(t, Config{Transport: TransportNATS, URL: s.ClientURL(), SubjectPrefix: "t"}).Invoke(ctx(t), "nullbody", nil)
	if err != nil || string(raw) != "null" {
		t.Errorf("null result: %s %v", raw, err)
	}
}

func TestNATSClosed(t *testing.T) {
	s := runNATS(t, nil)
	p, err := New(Config{Transport: TransportNATS, URL: s.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Health(ctx(t)); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("a closed proxy answered %v", err)
	}
}
