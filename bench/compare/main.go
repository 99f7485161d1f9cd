// Command compare measures the gateway against nexus v3.3.0 (a Go WAMP router) on this machine
// and prints one table with both servers' numbers, their ratios and Centrifugo's anchor numbers
// from issue 3 (those are a reference, not measured here). It also writes the table and every raw
// report as JSON.
//
// It builds both servers, then runs each workload against each server in turn: the server pinned
// to one core (taskset) with GOMAXPROCS=1 and the load client (`gateway bench`) pinned to another.
// Every run gets a freshly started server.
//
//	go run ./bench/compare            # the full comparison, about 6-8 minutes
//	go run ./bench/compare -quick     # a shorter smoke run, about 3 minutes
//
// See docs/PERFORMANCE.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gateway-dev/gateway/bench/internal/host"
	"github.com/gateway-dev/gateway/internal/bench"
)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "compare: "+format+"\n", args...)
}

// comparison holds the settings and the results.
type comparison struct {
	root, work           string
	gatewayBin, nexusBin string
	pin                  bool
	serverCore           int
	clientCore           int
	quietWait            time.Duration
	gatewayPing          string

	subscribers  int
	payload      int
	rate         float64
	duration     time.Duration
	warmup       time.Duration
	ramp         string
	rampDuration time.Duration
	rpcDuration  time.Duration
	inFlight     int
	idle         []int
	idleHold     time.Duration
	servers      []string
	profilePath  string

	out output
}

// output is what -json writes.
type output struct {
	Date     string                    `json:"date"`
	Machine  host.Machine              `json:"machine"`
	Params   map[string]string         `json:"params"`
	Servers  map[string]*serverResults `json:"servers"`
	Table    []row                     `json:"table"`
	Warnings []string                  `json:"warnings,omitempty"`
	ElapsedS float64                   `json:"elapsed_s"`
	Notes    map[string]string         `json:"notes"`
}

// serverResults are the raw reports of one server.
type serverResults struct {
	Fanout  *bench.Report            `json:"fanout,omitempty"`
	RPC     *bench.Report            `json:"rpc,omitempty"`
	Idle    map[string]*bench.Report `json:"idle,omitempty"` // by connection count
	Profile string                   `json:"cpu_profile,omitempty"`
	Errors  []string                 `json:"errors,omitempty"`
	// BusyBefore is the machine's busy share just before each run (other work on the machine).
	BusyBefore map[string]float64 `json:"machine_busy_before_run"`
}

func main() {
	os.Exit(run())
}

func run() int {
	c := &comparison{}
	var (
		quick    bool
		jsonPath string
		markdown bool
		workDir  string
		idle     string
		servers  string
	)
	flag.BoolVar(&quick, "quick", false, "shorter runs: a smoke check of the whole comparison")
	flag.IntVar(&c.subscribers, "subscribers", 5000, "fan-out subscribers (one topic)")
	flag.IntVar(&c.payload, "payload", 100, "payload bytes (JSON)")
	flag.Float64Var(&c.rate, "rate", 12, "fan-out publications/s (x subscribers = deliveries/s)")
	flag.DurationVar(&c.duration, "duration", 20*time.Second, "fan-out measured window")
	flag.DurationVar(&c.warmup, "warmup", 3*time.Second, "warm-up before each measured window")
	flag.StringVar(&c.ramp, "ramp", "4,8,16,24,32,48,64,96,128,192,256", "saturation probe: publications/s of the ramp steps")
	flag.DurationVar(&c.rampDuration, "ramp-duration", 4*time.Second, "measured window of each ramp step")
	flag.DurationVar(&c.rpcDuration, "rpc-duration", 10*time.Second, "RPC measured window")
	flag.IntVar(&c.inFlight, "in-flight", 64, "RPC calls in flight")
	flag.StringVar(&idle, "idle", "5000,15000", "idle connection counts")
	flag.DurationVar(&c.idleHold, "idle-hold", 5*time.Second, "how long idle connections are held")
	flag.StringVar(&servers, "servers", "gateway,nexus", "servers to measure")
	flag.IntVar(&c.serverCore, "server-core", 1, "CPU the servers are pinned to")
	flag.IntVar(&c.clientCore, "client-core", 0, "CPU the load client is pinned to")
	flag.StringVar(&jsonPath, "json", "", "write the results here (default: compare.json in the work directory)")
	flag.BoolVar(&markdown, "markdown", false, "print the table as Markdown")
	flag.StringVar(&workDir, "workdir", "", "directory for binaries, logs and results (default: a new temporary directory)")
	flag.StringVar(&c.profilePath, "cpuprofile", "", "save a 10 s CPU profile of the gateway during the fan-out window here")
	flag.DurationVar(&c.quietWait, "quiet-wait", 20*time.Second, "before each run, wait up to this long for the machine to be idle")
	flag.StringVar(&c.gatewayPing, "gateway-ping", "0s", "the gateway's limits.ping_interval (nexus sends no keepalive pings by default)")
	flag.Parse()
	if quick {
		c.duration, c.warmup, c.rampDuration, c.rpcDuration, c.idleHold = 6*time.Second, 2*time.Second, 3*time.Second, 4*time.Second, 2*time.Second
		c.ramp = "12,48,128"
		idle = "5000"
		c.quietWait = 5 * time.Second
	}
	for _, f := range strings.Split(idle, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			logf("-idle: bad connection count %q", f)
			return 2
		}
		c.idle = append(c.idle, n)
	}
	c.servers = strings.Split(servers, ",")
	for _, s := range c.servers {
		if s != kindGateway && s != kindNexus {
			logf("-servers: unknown server %q (gateway, nexus)", s)
			return 2
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	if err := c.setup(workDir); err != nil {
		logf("%v", err)
		return 1
	}
	var err error
	if c.gatewayBin, c.nexusBin, err = build(ctx, c.root, c.work); err != nil {
		logf("%v", err)
		return 1
	}
	c.measure(ctx)
	if ctx.Err() != nil {
		logf("interrupted")
		return 1
	}
	c.out.Table = c.table()
	c.out.ElapsedS = time.Since(start).Seconds()
	if markdown {
		printMarkdown(os.Stdout, &c.out)
	} else {
		printText(os.Stdout, &c.out)
	}
	if jsonPath == "" {
		jsonPath = filepath.Join(c.work, "compare.json")
	}
	b, _ := json.MarshalIndent(&c.out, "", "  ")
	if err := os.WriteFile(jsonPath, append(b, '\n'), 0o644); err != nil {
		logf("writing %s: %v", jsonPath, err)
		return 1
	}
	logf("results written to %s; server logs in %s; elapsed %s", jsonPath, c.work, time.Since(start).Round(time.Second))
	return 0
}

// setup finds the module root, the work directory and the machine facts.
func (c *comparison) setup(workDir string) error {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		return fmt.Errorf("run this from inside the gateway module (go env GOMOD: %v)", err)
	}
	c.root = filepath.Dir(strings.TrimSpace(string(out)))
	if workDir == "" {
		if workDir, err = os.MkdirTemp("", "gateway-compare-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(workDir, 0o755); err != nil {
		return err
	}
	c.work = workDir
	ncpu := runtime.NumCPU()
	_, tsErr := exec.LookPath("taskset")
	c.pin = ncpu > max(c.serverCore, c.clientCore) && c.serverCore != c.clientCore && tsErr == nil
	if !c.pin {
		c.warn("servers and client are NOT pinned (needs taskset and at least 2 CPUs): server numbers include client interference")
	}
	c.out = output{
		Date:    time.Now().UTC().Format(time.RFC3339),
		Machine: host.Describe(c.root, ncpu, c.pin, c.serverCore, c.clientCore),
		Params: map[string]string{
			"fanout": fmt.Sprintf("%d subscribers, 1 topic, %d B JSON payload, open-loop %g publications/s (%g deliveries/s), %s window after %s warm-up, acknowledge=true",
				c.subscribers, c.payload, c.rate, c.rate*float64(c.subscribers), c.duration, c.warmup),
			"saturation": fmt.Sprintf("ramp at %s publications/s, %s per step, stops at the first step with loss, send lag p99 > 100ms, latency p99 > 1s or a saturated client", c.ramp, c.rampDuration),
			"rpc":        fmt.Sprintf("4 callees (one procedure, invoke=roundrobin), 16 callers, %d calls in flight, %s window, JSON", c.inFlight, c.rpcDuration),
			"idle":       fmt.Sprintf("%v connections joined and subscribed to one topic, held %s; memory after a forced GC", c.idle, c.idleHold),
			"servers":    fmt.Sprintf("each server pinned to its core with GOMAXPROCS=1, started fresh for every run; gateway with the default configuration except limits.ping_interval = %q, nexus v3.3.0 via bench/nexusd with its defaults (no keepalive pings)", c.gatewayPing),
		},
		Servers: map[string]*serverResults{},
		Notes: map[string]string{
			"centrifugo": "Centrifugo v6.9.1 anchors from issue 3 and research/gateways_perf.md section 7 (same machine class, not measured by this program)",
			"ratio":      "gateway / nexus; 'advantage' says how many times better the gateway is (or worse, marked)",
		},
	}
	for _, s := range c.servers {
		c.out.Servers[s] = &serverResults{Idle: map[string]*bench.Report{}, BusyBefore: map[string]float64{}}
	}
	logf("work directory %s; %d CPUs (%s); server core %d, client core %d, pinned=%v",
		c.work, ncpu, c.out.Machine.CPUModel, c.serverCore, c.clientCore, c.pin)
	return nil
}

func (c *comparison) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.out.Warnings = append(c.out.Warnings, msg)
	logf("WARNING: %s", msg)
}

// measure runs every workload against every server, alternating servers so that drifting load
// on the machine affects both alike.
func (c *comparison) measure(ctx context.Context) {
	type workload struct {
		name string
		fn   func(ctx context.Context, s *server, r *serverResults) error
	}
	workloads := []workload{{"fanout", c.fanout}, {"rpc", c.rpc}}
	for _, n := range c.idle {
		workloads = append(workloads, workload{fmt.Sprintf("idle%d", n), func(ctx context.Context, s *server, r *serverResults) error {
			rep, err := c.runBench(ctx, s, "idle", nil, "--subscribers", strconv.Itoa(n), "--topics", "1",
				"--duration", c.idleHold.String(), "--warmup", "2s")
			if err == nil {
				r.Idle[strconv.Itoa(n)] = rep
			}
			return err
		}})
	}
	for _, w := range workloads {
		for _, kind := range c.servers {
			if ctx.Err() != nil {
				return
			}
			r := c.out.Servers[kind]
			busy := host.WaitQuiet(ctx, 0.15, c.quietWait, logf)
			r.BusyBefore[w.name] = busy
			if busy > 0.15 {
				c.warn("%s %s: the machine was %.0f%% busy with other work before the run", kind, w.name, 100*busy)
			}
			logf("%s: %s", kind, w.name)
			s, err := c.startServer(ctx, kind)
			if err == nil {
				err = w.fn(ctx, s, r)
				s.Stop()
			}
			if err != nil {
				r.Errors = append(r.Errors, fmt.Sprintf("%s: %v", w.name, err))
				c.warn("%s %s failed: %v", kind, w.name, err)
			}
		}
	}
}

func (c *comparison) fanout(ctx context.Context, s *server, r *serverResults) error {
	var onProgress func(string)
	profDone := make(chan error, 1)
	profiling := false
	if c.profilePath != "" && s.kind == kindGateway {
		secs := int(min(10*time.Second, c.duration) / time.Second)
		onProgress = func(line string) {
			if profiling || !strings.Contains(line, "step 1 of") {
				return
			}
			profiling = true
			go func() {
				time.Sleep(c.warmup + 1*time.Second)
				logf("gateway: taking a %d s CPU profile", secs)
				profDone <- host.CPUProfile(ctx, s.debug, secs, c.profilePath)
			}()
		}
	}
	rep, err := c.runBench(ctx, s, "fanout", onProgress,
		"--subscribers", strconv.Itoa(c.subscribers), "--topics", "1", "--publishers", "1",
		"--rate", fmt.Sprint(c.rate), "--payload", strconv.Itoa(c.payload),
		"--duration", c.duration.String(), "--warmup", c.warmup.String(), "--ack",
		"--ramp", c.ramp, "--ramp-duration", c.rampDuration.String())
	if profiling {
		if perr := <-profDone; perr != nil {
			c.warn("CPU profile: %v", perr)
		} else {
			r.Profile = c.profilePath
			logf("CPU profile of the gateway saved to %s (go tool pprof -top %s %s)", c.profilePath, c.gatewayBin, c.profilePath)
		}
	}
	if err == nil {
		r.Fanout = rep
	}
	return err
}

func (c *comparison) rpc(ctx context.Context, s *server, r *serverResults) error {
	rep, err := c.runBench(ctx, s, "rpc", nil, "--callees", "4", "--callers", "16",
		"--in-flight", strconv.Itoa(c.inFlight), "--duration", c.rpcDuration.String(), "--warmup", "2s")
	if err == nil {
		r.RPC = rep
	}
	return err
}
