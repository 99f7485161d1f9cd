package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/client"
	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/server"
	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/wamp"
)

// startWebappGateway runs an in-process gateway with the web-app configuration extra (TOML) on a
// free port.
func startWebappGateway(t *testing.T, extra string) *server.Server {
	t.Helper()
	dir := t.TempDir()
	text := "[store]\ndata_dir = \"data\"\n\n[[listeners]]\naddress = \"127.0.0.1:0\"\n\n" + extra
	cfg, err := config.Parse(filepath.Join(dir, "gateway.toml"), []byte(text))
	if err != nil {
		t.Fatalf("configuration: %v\n%s", err, text)
	}
	s, err := server.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

// countEvents subscribes a client of the gateway's own Go library to topic and counts its events:
// a witness independent of the load client's subscribers.
func countEvents(t *testing.T, url, topic string) *atomic.Uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, url, client.Config{Realm: "realm1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var n atomic.Uint64
	if _, err := c.Subscribe(ctx, topic, func(*wamp.Event) { n.Add(1) }, nil); err != nil {
		t.Fatal(err)
	}
	return &n
}

// publicationsAccepted asks the gateway's web-app service how many publish operations it accepted.
func publicationsAccepted(t *testing.T, s *server.Server) uint64 {
	t.Helper()
	res, err := s.Webapp().Invoke(context.Background(), "stats", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	var st webapp.StatsResponse
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st.Publications
}

// checkWebapp checks a passing run's counts against the gateway's own count of accepted
// publications and against an independent subscriber's count.
func checkWebapp(t *testing.T, rep *Report, subs int, accepted uint64, witness *atomic.Uint64) {
	t.Helper()
	w := rep.Webapp
	if w == nil {
		t.Fatal("no webapp result")
	}
	if !w.Pass || w.Errors != 0 || w.Lost != 0 || w.SubscribersWithLoss != 0 || w.Duplicates+w.Reorders != 0 {
		t.Fatalf("%s: verdict %q, errors %d (%s), lost %d, dups %d, reorders %d", w.Transport, w.Failure, w.Errors, w.FirstError, w.Lost, w.Duplicates, w.Reorders)
	}
	if w.Acknowledged != accepted {
		t.Errorf("%s: %d acknowledged, the gateway accepted %d", w.Transport, w.Acknowledged, accepted)
	}
	if w.Subscribers != subs || w.Expected != w.Acknowledged*uint64(subs) || w.Received != w.Expected {
		t.Errorf("%s: %d subscribers, expected %d, received %d; want %d x %d received", w.Transport,
			w.Subscribers, w.Expected, w.Received, w.Acknowledged, subs)
	}
	if w.Publishes == 0 || w.Publishes > w.Acknowledged || w.Latency == nil {
		t.Errorf("%s: %d publishes in the window of %d acknowledged, latency %v", w.Transport, w.Publishes, w.Acknowledged, w.Latency)
	}
	// Latency samples are the requests sent in the window, publishes those answered in it: they
	// differ by at most the requests in flight at either edge.
	if w.Latency != nil && absDiff(w.Latency.Count, w.Publishes) > uint64(2*w.Concurrency) {
		t.Errorf("%s: %d latency samples for %d publishes", w.Transport, w.Latency.Count, w.Publishes)
	}
	if w.Deliveries == 0 || w.Deliveries > w.Expected || w.DeliveryLatency == nil {
		t.Errorf("%s: %d deliveries in the window of %d expected, delivery latency %v", w.Transport, w.Deliveries, w.Expected, w.DeliveryLatency)
	}
	deadline := time.Now().Add(3 * time.Second)
	for witness.Load() < w.Acknowledged && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := witness.Load(); n != w.Acknowledged {
		t.Errorf("%s: an independent subscriber received %d events, want the %d acknowledged", w.Transport, n, w.Acknowledged)
	}
}

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}

func TestWebappHTTPEndToEnd(t *testing.T) {
	s := startWebappGateway(t, "[webapp.http]\nloopback_without_credentials = true\n")
	url := s.Endpoints()[0].WebSocketURL
	const topic = "com.bench.webapp.http"
	witness := countEvents(t, url, topic)
	rep := run(t, Options{
		Scenario: Webapp, URL: url, Subscribers: 50, WebappOptions: WebappOptions{Concurrency: 4, Topic: topic},
		Warmup: 200 * time.Millisecond, Duration: time.Second, ServerPID: os.Getpid(),
	})
	if got := rep.Options.WebappURL; got != s.WebappURL() {
		t.Errorf("web-app URL derived from %s: %q, want %q", url, got, s.WebappURL())
	}
	checkWebapp(t, rep, 50, publicationsAccepted(t, s), witness)
	w := rep.Webapp
	if w.Server == nil || w.Server.USPerOp <= 0 || w.PublishesPerServerCore <= 0 {
		t.Errorf("server CPU per publish not measured: %+v", w.Server)
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	t.Logf("report:\n%s", text.String())
	for _, want := range []string{"publishes/s", "lost 0 (0 subscribers)", "-> OK", "µs/publish", "verdict        pass"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"publishes_per_s"`)) || !bytes.Contains(b, []byte(`"Transport":"http"`)) {
		t.Errorf("JSON report lacks the webapp result or options: %s", b)
	}
}

func TestWebappXMLRPCClosedLoopWithoutSubscribers(t *testing.T) {
	s := startWebappGateway(t, "[webapp.http]\nloopback_without_credentials = true\n")
	rep := run(t, Options{
		Scenario: Webapp, URL: s.Endpoints()[0].WebSocketURL, WebappOptions: WebappOptions{Transport: TransportXMLRPC, Concurrency: 3},
		Warmup: 50 * time.Millisecond, Duration: 300 * time.Millisecond,
	})
	w := rep.Webapp
	if !w.Pass || w.Subscribers != 0 || w.Expected != 0 || w.Publishes == 0 || w.Acknowledged != publicationsAccepted(t, s) {
		t.Errorf("xmlrpc: %+v", w)
	}
	if rep.Setup != nil {
		t.Errorf("a run without subscribers reports a connection setup: %+v", rep.Setup)
	}
}

func TestWebappRefusedRequestsFailTheRun(t *testing.T) {
	s := startWebappGateway(t, "[webapp.http]\napi_keys = [\"0123456789abcdef0123\"]\n")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Run(ctx, Options{
		Scenario: Webapp, URL: s.Endpoints()[0].WebSocketURL, ConnectTimeout: 300 * time.Millisecond,
		WebappOptions: WebappOptions{APIKey: "wrong-key-wrong-key"}, Duration: 100 * time.Millisecond,
	})
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "unauthenticated") {
		t.Fatalf("wrong API key: %v, want the 401 of the first request", err)
	}
	rep := run(t, Options{
		Scenario: Webapp, URL: s.Endpoints()[0].WebSocketURL, Subscribers: 5,
		WebappOptions: WebappOptions{APIKey: "0123456789abcdef0123", Concurrency: 2},
		Warmup:        50 * time.Millisecond, Duration: 200 * time.Millisecond,
	})
	if !rep.Webapp.Pass {
		t.Errorf("with the right API key: %s", rep.Webapp.Failure)
	}
}
