package natsrep

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// runServer starts an embedded NATS server on a random loopback port and stops it at the end.
func runServer(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	if opts == nil {
		opts = &server.Options{}
	}
	opts.Host = "127.0.0.1"
	if opts.Port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	opts.NoLog, opts.NoSigs = true, true
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

// quiet is a logger for tests (set GATEWAY_TEST_LOG=1 to see the representative's log).
func quiet() *slog.Logger {
	if os.Getenv("GATEWAY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// syncBuffer is a concurrency-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// call is one recorded Invoke.
type call struct {
	op   string
	body string
}

// fakeInvoker records its calls and answers with fn (default: {"op": op}).
type fakeInvoker struct {
	mu    sync.Mutex
	calls []call
	fn    func(op string, body []byte) (any, error)
}

func (f *fakeInvoker) Invoke(_ context.Context, op string, body []byte) (any, error) {
	f.mu.Lock()
	f.calls = append(f.calls, call{op, string(body)})
	f.mu.Unlock()
	if f.fn == nil {
		return map[string]any{"op": op}, nil
	}
	return f.fn(op, body)
}

func (f *fakeInvoker) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// startRep starts a representative on s and closes it at the end of the test.
func startRep(t testing.TB, s *server.Server, inv *fakeInvoker, cfg Config) *Rep {
	t.Helper()
	cfg.URL = s.ClientURL()
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	r, err := Start(inv, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	// The subscription is registered once the server has processed it.
	if err := r.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return r
}

// client connects a requester to s.
func client(t testing.TB, s *server.Server, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// request sends body to subject and decodes the reply envelope.
func request(t testing.TB, nc *nats.Conn, subject, body string) (string, map[string]any) {
	t.Helper()
	m, err := nc.Request(subject, []byte(body), 5*time.Second)
	if err != nil {
		t.Fatalf("request %s: %v", subject, err)
	}
	var env map[string]any
	if err := json.Unmarshal(m.Data, &env); err != nil {
		t.Fatalf("reply %q is not JSON: %v", m.Data, err)
	}
	return string(m.Data), env
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// jsonEqual reports whether two JSON texts have the same value.
func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}
