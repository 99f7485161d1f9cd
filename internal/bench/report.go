package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Report is the outcome of one run. It marshals to JSON as it is.
type Report struct {
	Scenario   string    `json:"scenario"`
	URL        string    `json:"url"`
	Serializer string    `json:"serializer"`
	Started    time.Time `json:"started"`
	Options    Options   `json:"options"`
	Setup      *Setup    `json:"setup,omitempty"`
	// Steps are the fan-out steps (Fanout, Churn): the first at Options.Rate, then the ramp.
	Steps []Step `json:"steps,omitempty"`
	// Saturation summarises the ramp, when there was one.
	Saturation *Saturation   `json:"saturation,omitempty"`
	Churn      *ChurnResult  `json:"churn,omitempty"`
	RPC        *RPCResult    `json:"rpc,omitempty"`
	Idle       *IdleResult   `json:"idle,omitempty"`
	Webapp     *WebappResult `json:"webapp,omitempty"`
	Warnings   []string      `json:"warnings,omitempty"`
	Elapsed    time.Duration `json:"elapsed_ns"`
}

// Setup describes how the connections were established.
type Setup struct {
	Connections int      `json:"connections"`
	Failures    int      `json:"failures"`
	FirstError  string   `json:"first_error,omitempty"`
	Seconds     float64  `json:"seconds"`
	PerSecond   float64  `json:"per_second"`
	SourceIPs   int      `json:"source_ips"`
	Latency     *Latency `json:"latency,omitempty"` // per connection: TCP, handshake, join, subscribe
}

// Step is one fan-out step at a fixed publication rate.
type Step struct {
	Rate           float64    `json:"publications_per_s"`
	OfferedPerS    float64    `json:"offered_deliveries_per_s"`
	WarmupS        float64    `json:"warmup_s"`
	WindowS        float64    `json:"window_s"`
	Published      uint64     `json:"published"`
	Deliveries     uint64     `json:"deliveries_in_window"`
	DeliveriesPerS float64    `json:"deliveries_per_s"`
	Expected       uint64     `json:"expected"` // deliveries due to the counted subscribers in the whole step
	Lost           uint64     `json:"lost"`     // gaps: sequence numbers that never arrived (within Drain)
	Duplicates     uint64     `json:"duplicates"`
	Reorders       uint64     `json:"reorders"`
	BadSubscribers int        `json:"subscribers_with_errors"`
	Disconnected   int        `json:"subscribers_disconnected"` // by the router, not by churn
	CountedSubs    int        `json:"counted_subscribers"`      // never churned: their losses count
	Latency        *Latency   `json:"latency"`
	PublishAck     *Latency   `json:"publish_ack,omitempty"`
	PublishErrors  uint64     `json:"publish_errors"`
	SendLag        *Latency   `json:"send_lag"` // publishers: actual send time minus due time
	Server         *ServerCPU `json:"server,omitempty"`
	Client         ClientCPU  `json:"client"`
	ClientLimited  bool       `json:"client_limited"`
	// ClientUSPerDelivery is the client's own CPU per delivery, and ClientFloorMS the CPU time it
	// needs to read all deliveries of one publication (subscribers per topic x ClientUSPerDelivery,
	// spread over its CPUs): the last subscriber cannot see a publication sooner, whatever the
	// server does, so latencies near this floor measure the client.
	ClientUSPerDelivery float64 `json:"client_us_per_delivery,omitempty"`
	ClientFloorMS       float64 `json:"client_floor_ms,omitempty"`
	Pass                bool    `json:"pass"`
	Failure             string  `json:"failure,omitempty"`
	DrainedInS          float64 `json:"drained_in_s"`
	UnmarkedMessages    uint64  `json:"unmarked_messages"` // messages to subscribers without a marker
}

// Saturation is the outcome of a ramp.
type Saturation struct {
	// MaxRate is the highest ramp rate (publications/s) that passed; 0 if none did.
	MaxRate           float64 `json:"max_publications_per_s"`
	MaxDeliveriesPerS float64 `json:"max_deliveries_per_s"`
	// StoppedAt is the rate of the first failing step and Reason why it failed; empty when the
	// whole ramp passed.
	StoppedAt     float64 `json:"stopped_at_publications_per_s,omitempty"`
	Reason        string  `json:"reason,omitempty"`
	ClientLimited bool    `json:"client_limited"`
	// ClientBoundPerS is what the failing step still delivered when it failed only because the
	// client saturated: the server's capacity is at least this.
	ClientBoundPerS float64 `json:"client_bound_deliveries_per_s,omitempty"`
}

// ChurnResult describes the reconnections during a Churn run.
type ChurnResult struct {
	PercentPerS      float64  `json:"percent_per_s"`
	Churnable        int      `json:"churnable_subscribers"`
	Reconnects       uint64   `json:"reconnects"`
	Failures         uint64   `json:"failures"`
	FirstError       string   `json:"first_error,omitempty"`
	ReconnectLatency *Latency `json:"reconnect_latency,omitempty"` // connect, join, subscribe
}

// RPCResult describes an RPC run.
type RPCResult struct {
	Callees    int        `json:"callees"`
	Callers    int        `json:"callers"`
	InFlight   int        `json:"in_flight"`
	Procedures int        `json:"procedures"`
	Calls      uint64     `json:"calls_in_window"`
	CallsPerS  float64    `json:"calls_per_s"`
	Errors     uint64     `json:"errors"`
	FirstError string     `json:"first_error,omitempty"`
	Latency    *Latency   `json:"latency"`
	Server     *ServerCPU `json:"server,omitempty"`
	// CallsPerServerCore is calls/s divided by the server's process CPU use in cores.
	CallsPerServerCore float64   `json:"calls_per_server_core,omitempty"`
	Client             ClientCPU `json:"client"`
	ClientLimited      bool      `json:"client_limited"`
}

// IdleResult describes an Idle run.
type IdleResult struct {
	Connections int        `json:"connections"`
	Baseline    *MemSample `json:"baseline,omitempty"`
	Loaded      *MemSample `json:"loaded,omitempty"`
	// Per connection: (Loaded - Baseline) / Connections, in KiB.
	RSSPerConnKiB         float64 `json:"rss_per_conn_kib,omitempty"`
	HeapPerConnKiB        float64 `json:"heap_per_conn_kib,omitempty"`
	StackPerConnKiB       float64 `json:"stack_per_conn_kib,omitempty"`
	HeapStackPerConnKiB   float64 `json:"heap_stack_per_conn_kib,omitempty"`
	GoroutinesPerConn     float64 `json:"goroutines_per_conn,omitempty"`
	IdleCPUUSPerConnPerS  float64 `json:"idle_cpu_us_per_conn_per_s,omitempty"`
	RSSMaxPerConnKiB      float64 `json:"rss_max_per_conn_kib,omitempty"` // the highest RSS sampled while held
	DisconnectedWhileHeld int     `json:"disconnected_while_held"`
}

// MemSample is the server's memory at one moment.
type MemSample struct {
	RSS        uint64 `json:"rss_bytes,omitempty"`
	HeapAlloc  uint64 `json:"go_heap_alloc_bytes,omitempty"` // after a forced GC
	StackInuse uint64 `json:"go_stack_inuse_bytes,omitempty"`
	Goroutines int    `json:"goroutines,omitempty"`
}

// ServerCPU is the server's CPU use over a measured window.
type ServerCPU struct {
	PID     int     `json:"pid,omitempty"`
	Seconds float64 `json:"cpu_s,omitempty"` // utime+stime of the process
	Cores   float64 `json:"cores,omitempty"` // Seconds / window
	// USPerOp is process CPU µs per delivery (fan-out) or per call (RPC).
	USPerOp float64   `json:"us_per_op,omitempty"`
	Core    *CoreBusy `json:"core,omitempty"`
}

// CoreBusy is the busy time of the server's cores (from /proc/stat) over a window.
type CoreBusy struct {
	Cores   []int   `json:"cores"`
	Busy    float64 `json:"busy"` // fraction of the cores' time (0..1), everything but idle and iowait
	User    float64 `json:"user"`
	System  float64 `json:"system"`
	Softirq float64 `json:"softirq"`
	Steal   float64 `json:"steal"`
	// USPerOp is busy core µs per delivery or call: includes softirq work the process accounting misses.
	USPerOp float64 `json:"us_per_op,omitempty"`
}

// ClientCPU is the load client's own CPU use over a window.
type ClientCPU struct {
	Cores     float64 `json:"cores"`     // CPU seconds per second
	Available int     `json:"available"` // CPUs the client may run on
	Fraction  float64 `json:"fraction"`  // Cores / Available
}

// clientLimitFraction is the client CPU share above which the client, not the server, is
// presumed to be the limit.
const clientLimitFraction = 0.9

func fmtMS(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.2fs", v/1000)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	case v >= 1:
		return fmt.Sprintf("%.2fms", v)
	default:
		return fmt.Sprintf("%.0fµs", v*1000)
	}
}

func fmtLatency(l *Latency) string {
	if l == nil {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (%d samples)",
		fmtMS(l.P50MS), fmtMS(l.P90MS), fmtMS(l.P99MS), fmtMS(l.P999MS), fmtMS(l.MaxMS), l.Count)
}

func fmtRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

func writeServer(w io.Writer, s *ServerCPU, unit string) {
	if s == nil {
		fmt.Fprintf(w, "  server CPU     not measured (give --server-pid and/or --server-cpu)\n")
		return
	}
	if s.PID != 0 {
		fmt.Fprintf(w, "  server CPU     %.2f cores (pid %d): %.2f µs/%s\n", s.Cores, s.PID, s.USPerOp, unit)
	}
	if c := s.Core; c != nil {
		fmt.Fprintf(w, "  server core    cpu %v busy %.0f%% (user %.0f%%, system %.0f%%, softirq %.0f%%, steal %.0f%%): %.2f µs/%s\n",
			c.Cores, 100*c.Busy, 100*c.User, 100*c.System, 100*c.Softirq, 100*c.Steal, c.USPerOp, unit)
	}
}

func writeClient(w io.Writer, c ClientCPU, limited bool) {
	note := ""
	if limited {
		note = "  <-- THE CLIENT IS THE LIMIT: results understate the server"
	}
	fmt.Fprintf(w, "  client CPU     %.2f cores of %d (%.0f%%)%s\n", c.Cores, c.Available, 100*c.Fraction, note)
}

// WriteText prints the report for people.
func (r *Report) WriteText(w io.Writer) {
	o := r.Options
	fmt.Fprintf(w, "gateway bench %s  %s  %s  (%s)\n", r.Scenario, r.URL, r.Serializer, r.Started.Format(time.RFC3339))
	switch r.Scenario {
	case Fanout, Churn:
		fmt.Fprintf(w, "  %d subscribers over %d topic(s), %d publisher(s), payload %d B, acknowledge=%v, latency of every %s delivery\n",
			o.Subscribers, o.Topics, o.Publishers, o.PayloadSize, o.Acknowledge, ordinal(o.SampleEvery))
	case RPC:
		fmt.Fprintf(w, "  %d callee(s), %d caller(s), %d calls in flight, payload %d B\n", o.Callees, o.Callers, o.InFlight, o.PayloadSize)
	case Idle:
		fmt.Fprintf(w, "  %d connections subscribed over %d topic(s), held %s\n", o.Subscribers, o.Topics, o.Duration)
	case Webapp:
		mode := "closed loop"
		if o.Rate > 0 {
			mode = fmt.Sprintf("%g publications/s", o.Rate)
		}
		fmt.Fprintf(w, "  transport %s, %d concurrent publishers (%s), %d subscribers on %s, payload %d B\n",
			o.Transport, o.Concurrency, mode, o.Subscribers, o.Topic, o.PayloadSize)
	}
	if s := r.Setup; s != nil {
		fmt.Fprintf(w, "setup: %d connections in %.2fs (%.0f/s) from %d source address(es), %d failures",
			s.Connections, s.Seconds, s.PerSecond, max(s.SourceIPs, 1), s.Failures)
		if s.FirstError != "" {
			fmt.Fprintf(w, " (first: %s)", s.FirstError)
		}
		fmt.Fprintln(w)
		if s.Latency != nil {
			fmt.Fprintf(w, "  per connection %s\n", fmtLatency(s.Latency))
		}
	}
	for i, st := range r.Steps {
		kind := "step"
		if i > 0 {
			kind = "ramp step"
		}
		fmt.Fprintf(w, "%s %d: %g publications/s = %s deliveries/s offered; window %.0fs after %.0fs warm-up\n",
			kind, i+1, st.Rate, fmtRate(st.OfferedPerS), st.WindowS, st.WarmupS)
		fmt.Fprintf(w, "  deliveries     %d in window = %s/s  (published %d in the step)\n", st.Deliveries, fmtRate(st.DeliveriesPerS), st.Published)
		verdict := "OK"
		if st.Lost+st.Duplicates+st.Reorders > 0 || st.Disconnected > 0 {
			verdict = "*** NOT ZERO ***"
		}
		fmt.Fprintf(w, "  LOSS/ORDER     gaps %d  duplicates %d  reorders %d  subscribers with errors %d  disconnected %d  -> %s\n",
			st.Lost, st.Duplicates, st.Reorders, st.BadSubscribers, st.Disconnected, verdict)
		fmt.Fprintf(w, "  latency        %s\n", fmtLatency(st.Latency))
		if st.PublishAck != nil {
			fmt.Fprintf(w, "  publish ack    %s\n", fmtLatency(st.PublishAck))
		}
		if st.PublishErrors > 0 {
			fmt.Fprintf(w, "  PUBLISH ERRORS %d\n", st.PublishErrors)
		}
		fmt.Fprintf(w, "  send lag       %s\n", fmtLatency(st.SendLag))
		writeServer(w, st.Server, "delivery")
		writeClient(w, st.Client, st.ClientLimited)
		if st.ClientFloorMS > 0 {
			note := ""
			if st.Latency != nil && st.Latency.P99MS < 2*st.ClientFloorMS {
				note = "  <-- latencies this low are mostly the client's own reading time"
			}
			fmt.Fprintf(w, "  client floor   %.2f µs per delivery: %s to read one publication's deliveries%s\n",
				st.ClientUSPerDelivery, fmtMS(st.ClientFloorMS), note)
		}
		if st.UnmarkedMessages > 0 {
			fmt.Fprintf(w, "  unmarked       %d messages to subscribers carried no marker\n", st.UnmarkedMessages)
		}
		if st.Pass {
			fmt.Fprintf(w, "  verdict        pass (drained in %.2fs)\n", st.DrainedInS)
		} else {
			fmt.Fprintf(w, "  verdict        FAIL: %s\n", st.Failure)
		}
	}
	if s := r.Saturation; s != nil {
		fmt.Fprintf(w, "saturation: highest passing ramp step %g publications/s = %s deliveries/s", s.MaxRate, fmtRate(s.MaxDeliveriesPerS))
		if s.Reason != "" {
			fmt.Fprintf(w, "; stopped at %g/s: %s", s.StoppedAt, s.Reason)
		}
		fmt.Fprintln(w)
		if s.ClientBoundPerS > 0 {
			fmt.Fprintf(w, "  the server delivered %s/s without loss when the client saturated: its capacity is at least that\n", fmtRate(s.ClientBoundPerS))
		}
	}
	if c := r.Churn; c != nil {
		fmt.Fprintf(w, "churn: %.2f%%/s of subscribers (%d churnable): %d reconnects, %d failures\n",
			c.PercentPerS, c.Churnable, c.Reconnects, c.Failures)
		if c.FirstError != "" {
			fmt.Fprintf(w, "  first failure  %s\n", c.FirstError)
		}
		fmt.Fprintf(w, "  reconnect      %s\n", fmtLatency(c.ReconnectLatency))
	}
	if p := r.RPC; p != nil {
		fmt.Fprintf(w, "rpc: %d calls in window = %s calls/s, %d errors\n", p.Calls, fmtRate(p.CallsPerS), p.Errors)
		if p.FirstError != "" {
			fmt.Fprintf(w, "  first error    %s\n", p.FirstError)
		}
		fmt.Fprintf(w, "  latency        %s\n", fmtLatency(p.Latency))
		writeServer(w, p.Server, "call")
		if p.CallsPerServerCore > 0 {
			fmt.Fprintf(w, "  per core       %s calls/s per server core\n", fmtRate(p.CallsPerServerCore))
		}
		writeClient(w, p.Client, p.ClientLimited)
	}
	if d := r.Idle; d != nil {
		fmt.Fprintf(w, "idle: %d connections held\n", d.Connections)
		if d.Baseline != nil && d.Loaded != nil {
			b, l := d.Baseline, d.Loaded
			if l.RSS > 0 {
				fmt.Fprintf(w, "  RSS            %.1f MiB -> %.1f MiB: %.1f KiB per connection (highest while held: %.1f KiB)\n",
					mib(b.RSS), mib(l.RSS), d.RSSPerConnKiB, d.RSSMaxPerConnKiB)
			}
			if l.HeapAlloc > 0 {
				fmt.Fprintf(w, "  Go after GC    heap %.1f KiB + stacks %.1f KiB = %.1f KiB per connection\n",
					d.HeapPerConnKiB, d.StackPerConnKiB, d.HeapStackPerConnKiB)
			}
			if l.Goroutines > 0 {
				fmt.Fprintf(w, "  goroutines     %d -> %d: %.2f per connection\n", b.Goroutines, l.Goroutines, d.GoroutinesPerConn)
			}
		} else {
			fmt.Fprintf(w, "  server memory  not measured (give --server-pid and/or --server-debug)\n")
		}
		if d.IdleCPUUSPerConnPerS > 0 {
			fmt.Fprintf(w, "  idle CPU       %.2f µs per connection per second\n", d.IdleCPUUSPerConnPerS)
		}
		if d.DisconnectedWhileHeld > 0 {
			fmt.Fprintf(w, "  DISCONNECTED   %d connections while held\n", d.DisconnectedWhileHeld)
		}
	}
	if r.Webapp != nil {
		r.Webapp.writeText(w)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "WARNING: %s\n", warn)
	}
	fmt.Fprintf(w, "elapsed %s\n", r.Elapsed.Round(100*time.Millisecond))
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func ordinal(n int) string {
	if n == 1 {
		return "1st"
	}
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}

// joinReasons joins failure reasons.
func joinReasons(r []string) string { return strings.Join(r, "; ") }
