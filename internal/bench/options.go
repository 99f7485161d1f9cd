package bench

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// Scenario names.
const (
	Fanout = "fanout" // subscribers over topics, open-loop publishers
	RPC    = "rpc"    // callers keeping calls in flight against callees
	Idle   = "idle"   // connections that join and subscribe, then stay idle while memory is sampled
	Churn  = "churn"  // fanout while a share of the subscribers reconnects every second
	Webapp = "webapp" // web-app publishers through a representative (HTTP, XML-RPC, AMQP, NATS), WAMP subscribers
)

// Options configure a run. Zero values take the defaults given in brackets.
type Options struct {
	Scenario   string // Fanout, RPC, Idle, Churn or Webapp
	URL        string // router: ws://host:port/path or rs://host:port
	Realm      string // ["realm1"]
	Serializer string // "json" ["json"], "msgpack" or "cbor"

	// Fanout, Churn, Idle and Webapp.
	Subscribers int // connections that each subscribe to one topic [1000; Webapp: 0]
	Topics      int // topics the subscribers are spread over, round-robin [1]

	// Fanout and Churn.
	Publishers   int           // publisher connections, taking turns on the schedule [1]
	Rate         float64       // publications per second over all publishers [10]
	Ramp         []float64     // further steps at these rates, run until one fails (saturation probe)
	RampDuration time.Duration // measured window of each ramp step [5s]
	PayloadSize  int           // length of Arguments[0], the marker string [100; at least MarkerLen]
	Acknowledge  bool          // publish with acknowledge=true and measure PUBLISHED latency
	SampleEvery  int           // per subscriber, record the latency of every Nth delivery [1]
	Drain        time.Duration // after a step, how long to wait for deliveries still due [5s; negative: none]
	MaxP99       time.Duration // a ramp step fails when latency p99 exceeds this [1s]
	MaxLag       time.Duration // a ramp step fails when the publishers' p99 send lag exceeds this [100ms]

	// Churn.
	ChurnPercent   float64 // percent of all subscribers that disconnect and reconnect per second [1]
	StableFraction float64 // share of subscribers that never churn [0.5]

	// RPC.
	Callees            int  // callee connections [4]
	Callers            int  // caller connections [16]
	InFlight           int  // calls kept in flight over all callers [64]
	DistinctProcedures bool // each callee registers its own procedure instead of sharing one (invoke=roundrobin)

	// Webapp (see WebappOptions).
	WebappOptions

	// Timing of the measured window (every scenario; for Idle, Duration is how long connections are held).
	Duration time.Duration // measured window [10s]
	Warmup   time.Duration // before the window [2s; negative: none]

	// Connections.
	ConnectConcurrency int           // connections set up in parallel [256]
	SourceIPs          int           // spread connections over 127.0.0.1..127.0.0.N [0: automatic]
	ReadBuffer         int           // read buffer per connection, bytes [4096]
	ConnectTimeout     time.Duration // per connection: TCP, handshake, join, subscribe [10s]
	Engine             string        // how subscribers are read: EngineEpoll [on Linux] or EngineGoroutine

	// Observing the server.
	ServerPID   int    // read the server's CPU time and RSS from /proc/PID [0: not read]
	ServerCores []int  // read these cores' busy time from /proc/stat [none]
	ServerDebug string // server's pprof address (host:port or URL) for Go heap and stacks after GC

	// Progress receives progress lines; nil discards them.
	Progress io.Writer `json:"-"`
}

// Validate reports the first problem with o, without connecting anywhere.
func (o Options) Validate() error {
	o, err := o.withDefaults()
	if err != nil {
		return err
	}
	_, err = parseTarget(o.URL, o.Serializer, o.Realm)
	return err
}

// withDefaults returns o with defaults filled in, or an error naming the first bad option.
func (o Options) withDefaults() (Options, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if o.Realm == "" {
		o.Realm = "realm1"
	}
	if o.Serializer == "" {
		o.Serializer = "json"
	}
	if o.Scenario != Webapp {
		def(&o.Subscribers, 1000)
	}
	def(&o.Topics, 1)
	def(&o.Publishers, 1)
	def(&o.PayloadSize, 100)
	def(&o.SampleEvery, 1)
	def(&o.Callees, 4)
	def(&o.Callers, 16)
	def(&o.InFlight, 64)
	def(&o.ConnectConcurrency, 256)
	def(&o.ReadBuffer, 4096)
	if o.Rate == 0 && o.Scenario != Webapp { // Webapp: 0 is a closed loop
		o.Rate = 10
	}
	if o.ChurnPercent == 0 {
		o.ChurnPercent = 1
	}
	if o.StableFraction == 0 {
		o.StableFraction = 0.5
	}
	defDur(&o.Duration, 10*time.Second)
	defDur(&o.Warmup, 2*time.Second)
	defDur(&o.RampDuration, 5*time.Second)
	defDur(&o.Drain, 5*time.Second)
	defDur(&o.MaxP99, time.Second)
	defDur(&o.MaxLag, 100*time.Millisecond)
	defDur(&o.ConnectTimeout, 10*time.Second)
	o.Warmup, o.Drain = max(o.Warmup, 0), max(o.Drain, 0)

	switch o.Scenario {
	case Fanout, RPC, Idle, Churn:
	case Webapp:
		if err := o.webappDefaults(); err != nil {
			return o, err
		}
	case "":
		return o, errors.New("no scenario: fanout, rpc, idle, churn or webapp")
	default:
		return o, fmt.Errorf("unknown scenario %q: fanout, rpc, idle, churn or webapp", o.Scenario)
	}
	if o.URL == "" {
		return o, errors.New("no router URL")
	}
	pos := []struct {
		name string
		v    int
	}{
		{"subscribers", o.Subscribers}, {"topics", o.Topics}, {"publishers", o.Publishers},
		{"sample-every", o.SampleEvery}, {"callees", o.Callees}, {"callers", o.Callers},
		{"in-flight", o.InFlight}, {"connect-concurrency", o.ConnectConcurrency},
	}
	for _, p := range pos {
		if p.v < 0 {
			return o, fmt.Errorf("%s must be positive, got %d", p.name, p.v)
		}
	}
	switch {
	case o.PayloadSize < MarkerLen:
		return o, fmt.Errorf("payload size must be at least %d bytes (the marker), got %d", MarkerLen, o.PayloadSize)
	case o.PayloadSize > 1<<20:
		return o, fmt.Errorf("payload size must be at most 1 MiB, got %d", o.PayloadSize)
	case o.ReadBuffer < 512:
		return o, fmt.Errorf("read buffer must be at least 512 bytes, got %d", o.ReadBuffer)
	case o.Rate < 0 || math.IsInf(o.Rate, 0) || math.IsNaN(o.Rate):
		return o, fmt.Errorf("rate must be positive, got %v", o.Rate)
	case o.Duration < 0 || o.RampDuration < 0 || o.ConnectTimeout < 0:
		return o, errors.New("durations must not be negative")
	case o.ChurnPercent < 0 || o.ChurnPercent > 100:
		return o, fmt.Errorf("churn percent must be in (0, 100], got %v", o.ChurnPercent)
	case o.StableFraction < 0 || o.StableFraction > 1:
		return o, fmt.Errorf("stable fraction must be in [0, 1], got %v", o.StableFraction)
	case o.Scenario == RPC && o.Callers > o.InFlight:
		return o, fmt.Errorf("callers (%d) must not exceed calls in flight (%d)", o.Callers, o.InFlight)
	case o.SourceIPs < 0 || o.SourceIPs > 254:
		return o, fmt.Errorf("source IPs must be in [0, 254], got %d", o.SourceIPs)
	}
	for _, r := range o.Ramp {
		if r <= 0 || math.IsInf(r, 0) || math.IsNaN(r) {
			return o, fmt.Errorf("ramp rates must be positive, got %v", r)
		}
	}
	switch o.Engine {
	case "", EngineEpoll, EngineGoroutine:
	default:
		return o, fmt.Errorf("unknown reader engine %q (epoll or goroutine)", o.Engine)
	}
	for _, c := range o.ServerCores {
		if c < 0 {
			return o, fmt.Errorf("server CPU core must not be negative, got %d", c)
		}
	}
	return o, nil
}
