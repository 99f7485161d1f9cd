package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	_ "net/http/pprof" // the idle test reads this process's heap profile like a server's
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/server"
)

// startGateway runs an in-process gateway with the embedded defaults on a free port.
func startGateway(t *testing.T) server.Endpoint {
	t.Helper()
	cfg := config.Default()
	cfg.Listeners[0].Address = "127.0.0.1:0"
	cfg.Store.DataDir = t.TempDir()
	s, err := server.New(cfg, slog.New(slog.DiscardHandler))
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
	return s.Endpoints()[0]
}

func run(t *testing.T, o Options) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rep, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestFanoutEndToEnd(t *testing.T) {
	ep := startGateway(t)
	rep := run(t, Options{
		Scenario: Fanout, URL: ep.WebSocketURL, Subscribers: 20, Topics: 2, Publishers: 2,
		Rate: 400, Warmup: 100 * time.Millisecond, Duration: 400 * time.Millisecond,
		Ramp: []float64{800}, RampDuration: 200 * time.Millisecond,
		Acknowledge: true, ConnectConcurrency: 8, ServerPID: os.Getpid(), ServerCores: []int{0},
	})
	if rep.Setup.Connections != 20 || rep.Setup.Failures != 0 {
		t.Errorf("setup = %+v", rep.Setup)
	}
	if len(rep.Steps) != 2 || rep.Saturation == nil {
		t.Fatalf("%d steps, saturation %+v; want 2 steps and a saturation summary", len(rep.Steps), rep.Saturation)
	}
	st := rep.Steps[0]
	// 0.5 s at 400/s = 200 publications over 2 topics, each delivered to the topic's 10 subscribers.
	if st.Published != 200 || st.Expected != 2000 || st.CountedSubs != 20 {
		t.Errorf("published %d, expected %d, counted %d; want 200, 2000, 20", st.Published, st.Expected, st.CountedSubs)
	}
	for i, st := range rep.Steps {
		if st.Lost != 0 || st.Duplicates != 0 || st.Reorders != 0 || st.Disconnected != 0 || st.PublishErrors != 0 {
			t.Errorf("step %d: lost %d, dups %d, reorders %d, disconnected %d, publish errors %d; want none",
				i, st.Lost, st.Duplicates, st.Reorders, st.Disconnected, st.PublishErrors)
		}
		if st.Latency == nil || st.Deliveries == 0 || st.PublishAck == nil || st.SendLag == nil {
			t.Errorf("step %d: no latency, deliveries, acks or lag: %+v", i, st)
		}
		if st.Server == nil || st.Server.PID != os.Getpid() || st.Server.Core == nil {
			t.Errorf("step %d: server CPU not measured: %+v", i, st.Server)
		}
	}
	if rep.Steps[1].Published != 240 { // 0.3 s at 800/s (100 ms warm-up + 200 ms)
		t.Errorf("ramp step published %d, want 240", rep.Steps[1].Published)
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	for _, want := range []string{"gaps 0  duplicates 0  reorders 0", "-> OK", "publish ack", "ramp step 2", "saturation:"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Error(err)
	}
}

func TestRPCEndToEnd(t *testing.T) {
	ep := startGateway(t)
	for _, tt := range []struct {
		url, ser string
		distinct bool
	}{
		{ep.RawSocketURL, "msgpack", false},
		{ep.WebSocketURL, "cbor", true},
	} {
		rep := run(t, Options{
			Scenario: RPC, URL: tt.url, Serializer: tt.ser, Callees: 2, Callers: 3, InFlight: 8,
			DistinctProcedures: tt.distinct, Warmup: 100 * time.Millisecond, Duration: 300 * time.Millisecond,
		})
		r := rep.RPC
		if r == nil || r.Calls == 0 || r.Errors != 0 || r.Latency == nil || r.Latency.Count != r.Calls {
			t.Errorf("%s %s: rpc result %+v", tt.url, tt.ser, r)
		}
		if want := map[bool]int{false: 1, true: 2}[tt.distinct]; r != nil && r.Procedures != want {
			t.Errorf("%d procedures, want %d", r.Procedures, want)
		}
		for _, w := range rep.Warnings { // the client-limit warning is expected: the router runs in this process
			if strings.Contains(w, "failed") || strings.Contains(w, "unanswered") {
				t.Errorf("warning: %s", w)
			}
		}
	}
}

func TestChurnEndToEnd(t *testing.T) {
	ep := startGateway(t)
	for _, eng := range []string{EngineEpoll, EngineGoroutine} {
		rep := run(t, Options{
			Scenario: Churn, URL: ep.WebSocketURL, Subscribers: 20, Rate: 100, ChurnPercent: 30,
			Warmup: 100 * time.Millisecond, Duration: 700 * time.Millisecond, Engine: eng,
		})
		c := rep.Churn
		if c == nil || c.Reconnects == 0 || c.Failures != 0 || c.ReconnectLatency == nil || c.Churnable != 10 {
			t.Fatalf("%s: churn = %+v", eng, c)
		}
		st := rep.Steps[0]
		if st.Lost != 0 || st.Duplicates != 0 || st.Reorders != 0 || st.Disconnected != 0 {
			t.Errorf("%s: stable subscribers: lost %d, dups %d, reorders %d, disconnected %d",
				eng, st.Lost, st.Duplicates, st.Reorders, st.Disconnected)
		}
		if st.CountedSubs < 10 || st.CountedSubs == 20 {
			t.Errorf("%s: %d subscribers counted for loss, want the never-churned ones (10..19)", eng, st.CountedSubs)
		}
	}
}

func TestIdleEndToEnd(t *testing.T) {
	ep := startGateway(t)
	debug := httptest.NewServer(http.DefaultServeMux)
	defer debug.Close()
	rep := run(t, Options{
		Scenario: Idle, URL: ep.WebSocketURL, Subscribers: 10, Topics: 10,
		Warmup: 50 * time.Millisecond, Duration: 200 * time.Millisecond,
		ServerPID: os.Getpid(), ServerDebug: debug.URL,
	})
	d := rep.Idle
	if d == nil || d.Connections != 10 || d.Baseline == nil || d.Loaded == nil {
		t.Fatalf("idle = %+v", d)
	}
	if d.Loaded.HeapAlloc == 0 || d.Loaded.StackInuse == 0 || d.Loaded.RSS == 0 {
		t.Errorf("memory not read: %+v", d.Loaded)
	}
	// Server and client share this process: every connection adds goroutines on both sides.
	if d.GoroutinesPerConn < 1 {
		t.Errorf("%.2f goroutines per connection, want at least 1", d.GoroutinesPerConn)
	}
	if len(rep.Warnings) > 0 {
		t.Errorf("warnings: %q", rep.Warnings)
	}
}
