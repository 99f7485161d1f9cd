package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"

	"github.com/gateway-dev/gateway/internal/bench"
)

const benchUsage = `Usage:
  gateway bench SCENARIO [flags]

A WAMP load generator for any router (see docs/PERFORMANCE.md).

Scenarios:
  fanout   N subscribers over T topics; open-loop publishers at R publications/s; latency is
           measured from each publication's due time; gaps, duplicates and reorders are counted
  churn    fanout while --churn percent of the subscribers disconnect and reconnect per second
  rpc      callers keep --in-flight calls in flight against callees; calls/s and latency
  idle     N connections join and subscribe, then stay idle while the server's memory is sampled
  webapp   publishers over the web-app interface (HTTP/JSON, XML-RPC, AMQP, NATS) while N WAMP
           subscribers receive; publish latency, publishes/s, loss

Router and connections:
  --url URL                  router: ws://host:port/path or rs://host:port (default ws://127.0.0.1:8080/ws)
  --realm NAME               realm (default realm1)
  --serializer NAME          json, msgpack or cbor (default json)
  --connect-concurrency N    connections set up in parallel (default 256)
  --source-ips N             spread connections over 127.0.0.1..127.0.0.N (default: automatic above 20000)
  --read-buffer BYTES        read buffer per connection (default 4096)
  --connect-timeout D        per connection: connect, handshake, join, subscribe (default 10s)
  --engine NAME              how subscribers are read: epoll (one loop, the default on Linux)
                             or goroutine (one goroutine per connection)

Timing:
  --duration D               measured window; idle: how long connections are held (default 10s)
  --warmup D                 before the window; idle: settling time (default 2s)
  --drain D                  after publishing, how long to wait for deliveries still due (default 5s)

fanout and churn:
  --subscribers N            subscriber connections (default 1000; idle uses it too)
  --topics T                 topics, assigned to subscribers round-robin (default 1; idle too)
  --publishers P             publisher connections taking turns on the schedule (default 1)
  --rate R                   publications per second over all publishers (default 10)
  --payload BYTES            size of Arguments[0], the marker string (default 100, at least 47)
  --ack                      publish with acknowledge=true and report PUBLISHED latency
  --sample-every N           record the latency of every Nth delivery per subscriber (default 1)
  --ramp R1,R2,...           saturation probe: further steps at these rates until one fails
  --ramp-duration D          measured window of each ramp step (default 5s)
  --max-p99 D                a ramp step fails above this latency p99 (default 1s)
  --max-lag D                a ramp step fails when the publishers' p99 lag exceeds this (default 100ms)
  --churn PERCENT            churn: percent of subscribers reconnecting per second (default 1)
  --stable FRACTION          churn: share of subscribers that never churn (default 0.5)

rpc:
  --callees K                callee connections (default 4)
  --callers C                caller connections (default 16)
  --in-flight F              calls in flight over all callers (default 64)
  --distinct-procedures      one procedure per callee instead of one shared with invoke=roundrobin

` + bench.WebappUsage + `
Observing the server (all optional):
  --server-pid PID           server CPU time (utime+stime) and RSS from /proc/PID
  --server-cpu N[,N...]      busy time of these cores from /proc/stat (pin the server to them)
  --server-debug ADDR        the server's pprof address: Go heap and stacks after a forced GC

Output:
  --json                     print the report as JSON instead of text
  --quiet                    no progress lines on standard error
  --cpuprofile FILE          write a CPU profile of the load client itself

Exit status: 0 when the run completed and the first step lost nothing; 3 when it completed but
found gaps, duplicates, reorders or disconnections in the first step; 1 when it could not run;
2 on a usage error.
`

// floatList is a comma-separated list of numbers.
type floatList []float64

func (l *floatList) String() string { return fmt.Sprint(*l) }
func (l *floatList) Set(s string) error {
	for f := range strings.SplitSeq(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return fmt.Errorf("not a number: %q", f)
		}
		*l = append(*l, v)
	}
	return nil
}

// intList is a comma-separated list of integers.
type intList []int

func (l *intList) String() string { return fmt.Sprint(*l) }
func (l *intList) Set(s string) error {
	for f := range strings.SplitSeq(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("not an integer: %q", f)
		}
		*l = append(*l, v)
	}
	return nil
}

func runBench(args []string, stdout, stderr io.Writer) int {
	fail := func(msg string) int {
		fmt.Fprintf(stderr, "gateway bench: %s\n\n%s", msg, benchUsage)
		return 2
	}
	if len(args) == 0 {
		return fail("missing SCENARIO")
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, benchUsage)
		return 0
	}
	o := bench.Options{Scenario: args[0]}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.URL, "url", "ws://127.0.0.1:8080/ws", "")
	fs.StringVar(&o.Realm, "realm", "", "")
	fs.StringVar(&o.Serializer, "serializer", "", "")
	fs.IntVar(&o.ConnectConcurrency, "connect-concurrency", 0, "")
	fs.IntVar(&o.SourceIPs, "source-ips", 0, "")
	fs.IntVar(&o.ReadBuffer, "read-buffer", 0, "")
	fs.DurationVar(&o.ConnectTimeout, "connect-timeout", 0, "")
	fs.StringVar(&o.Engine, "engine", "", "")
	fs.DurationVar(&o.Duration, "duration", 0, "")
	fs.DurationVar(&o.Warmup, "warmup", 0, "")
	fs.DurationVar(&o.Drain, "drain", 0, "")
	fs.IntVar(&o.Subscribers, "subscribers", 0, "")
	fs.IntVar(&o.Topics, "topics", 0, "")
	fs.IntVar(&o.Publishers, "publishers", 0, "")
	fs.Float64Var(&o.Rate, "rate", 0, "")
	fs.IntVar(&o.PayloadSize, "payload", 0, "")
	fs.BoolVar(&o.Acknowledge, "ack", false, "")
	fs.IntVar(&o.SampleEvery, "sample-every", 0, "")
	fs.Var((*floatList)(&o.Ramp), "ramp", "")
	fs.DurationVar(&o.RampDuration, "ramp-duration", 0, "")
	fs.DurationVar(&o.MaxP99, "max-p99", 0, "")
	fs.DurationVar(&o.MaxLag, "max-lag", 0, "")
	fs.Float64Var(&o.ChurnPercent, "churn", 0, "")
	fs.Float64Var(&o.StableFraction, "stable", 0, "")
	fs.IntVar(&o.Callees, "callees", 0, "")
	fs.IntVar(&o.Callers, "callers", 0, "")
	fs.IntVar(&o.InFlight, "in-flight", 0, "")
	fs.BoolVar(&o.DistinctProcedures, "distinct-procedures", false, "")
	fs.IntVar(&o.ServerPID, "server-pid", 0, "")
	fs.Var((*intList)(&o.ServerCores), "server-cpu", "")
	fs.StringVar(&o.ServerDebug, "server-debug", "", "")
	bench.WebappFlags(fs, &o.WebappOptions)
	asJSON := fs.Bool("json", false, "")
	quiet := fs.Bool("quiet", false, "")
	cpuprofile := fs.String("cpuprofile", "", "")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, benchUsage)
			return 0
		}
		return fail(err.Error())
	}
	if fs.NArg() > 0 {
		return fail(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	fs.Visit(func(f *flag.Flag) { // an explicit 0 means none, not the default
		if f.Name == "warmup" && o.Warmup == 0 {
			o.Warmup = -1
		}
		if f.Name == "drain" && o.Drain == 0 {
			o.Drain = -1
		}
	})
	if err := o.Validate(); err != nil {
		return fail(err.Error())
	}
	if !*quiet {
		o.Progress = stderr
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintf(stderr, "gateway bench: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "gateway bench: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "gateway bench: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "gateway bench: %v\n", err)
			return 1
		}
	} else {
		rep.WriteText(stdout)
	}
	if w := rep.Webapp; w != nil && (w.Lost+w.Duplicates+w.Reorders > 0 || w.Disconnected > 0) {
		return 3
	}
	if len(rep.Steps) > 0 {
		if st := rep.Steps[0]; st.Lost+st.Duplicates+st.Reorders > 0 || st.Disconnected > 0 {
			return 3
		}
	}
	return 0
}
