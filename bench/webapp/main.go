// Command webapp measures the gateway's web-app publish path through each representative
// (HTTP/JSON, XML-RPC, AMQP 0-9-1, NATS) on this machine and prints one table: publish requests/s
// per representative on one server core, the gateway's CPU per publish, and publish latency while
// 5000 WAMP subscribers receive every publication (with zero loss). It also writes every raw
// report as JSON.
//
// It builds the gateway, writes a configuration enabling [webapp.http], [webapp.amqp] (the local
// RabbitMQ, a queue of its own, deleted at the end) and [webapp.nats] (the local NATS server, a
// subject prefix of its own), and for each transport and each workload starts a fresh gateway
// pinned to one core (taskset) with GOMAXPROCS=1, while the load client (`gateway bench webapp`,
// run in this process) is pinned to another. A transport whose broker does not answer is skipped.
//
//	go run ./bench/webapp              # about 3-4 minutes
//	go run ./bench/webapp -markdown -cpuprofile /tmp/webapp-prof
//
// See docs/PERFORMANCE.md, section "Web-app publish".
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

// pinnedEnv marks the process that re-executed itself pinned to the client core.
const pinnedEnv = "GATEWAY_BENCH_WEBAPP_PINNED"

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "webapp: "+format+"\n", args...)
}

// harness holds the settings and the results.
type harness struct {
	root, work, gatewayBin string
	pin                    bool
	serverCore, clientCore int
	quietWait              time.Duration

	transports         []string
	amqpURL, natsURL   string
	amqpOK, natsOK     bool
	queue, prefix      string
	concurrency        int
	duration, warmup   time.Duration
	subscribers        int
	fanoutConcurrency  int
	fanoutRate         float64
	fanoutDuration     time.Duration
	profileDir         string
	out                output
	brokerPID          map[string]int // transport -> broker process, when found
	transportsMeasured []string
}

// output is what -json writes.
type output struct {
	Date     string                    `json:"date"`
	Machine  machine                   `json:"machine"`
	Params   map[string]string         `json:"params"`
	Runs     map[string]*transportRuns `json:"runs"`
	Skipped  map[string]string         `json:"skipped,omitempty"`
	Header   []string                  `json:"header"` // the table's columns after the transport
	Table    []row                     `json:"table"`
	Warnings []string                  `json:"warnings,omitempty"`
	ElapsedS float64                   `json:"elapsed_s"`
}

type machine struct {
	host.Machine
	LoadAvg   string  `json:"loadavg_at_start"`
	BusyStart float64 `json:"machine_busy_at_start"`
}

// transportRuns are the raw reports of one transport.
type transportRuns struct {
	Throughput *bench.Report `json:"throughput,omitempty"`
	Fanout     *bench.Report `json:"fanout,omitempty"`
	// BrokerUSPerPublish is the broker's (RabbitMQ's, NATS's) CPU per acknowledged publish over
	// the whole throughput run, warm-up included.
	BrokerUSPerPublish float64            `json:"broker_us_per_publish,omitempty"`
	BrokerCores        float64            `json:"broker_cores,omitempty"`
	Profile            string             `json:"cpu_profile,omitempty"`
	Errors             []string           `json:"errors,omitempty"`
	BusyBefore         map[string]float64 `json:"machine_busy_before_run"`
}

func main() {
	os.Exit(run())
}

func run() int {
	h := &harness{brokerPID: map[string]int{}}
	var (
		transports, jsonPath, workDir string
		markdown                      bool
	)
	flag.StringVar(&transports, "transports", "http,xmlrpc,amqp,nats", "representatives to measure")
	flag.StringVar(&h.amqpURL, "amqp-url", "amqp://guest:guest@127.0.0.1:5672/", "RabbitMQ for [webapp.amqp]")
	flag.StringVar(&h.natsURL, "nats-url", "nats://127.0.0.1:4222", "NATS server for [webapp.nats]")
	flag.IntVar(&h.concurrency, "concurrency", 32, "throughput: concurrent closed-loop publishers")
	flag.DurationVar(&h.duration, "duration", 10*time.Second, "measured window of each run")
	flag.DurationVar(&h.warmup, "warmup", 2*time.Second, "warm-up before each window")
	flag.IntVar(&h.subscribers, "subscribers", 5000, "fan-out: WAMP subscribers on the topic")
	flag.IntVar(&h.fanoutConcurrency, "fanout-concurrency", 8, "fan-out: concurrent publishers")
	flag.Float64Var(&h.fanoutRate, "fanout-rate", 12, "fan-out: publications/s over all publishers (0: closed loop)")
	flag.DurationVar(&h.fanoutDuration, "fanout-duration", 15*time.Second, "fan-out: measured window")
	flag.IntVar(&h.serverCore, "server-core", 1, "CPU the gateway is pinned to")
	flag.IntVar(&h.clientCore, "client-core", 0, "CPU the load client (this program) is pinned to")
	flag.DurationVar(&h.quietWait, "quiet-wait", 5*time.Second, "before each run, wait up to this long for the machine to be idle")
	flag.StringVar(&workDir, "workdir", "", "directory for the binary, logs and results (default: a new temporary directory)")
	flag.StringVar(&jsonPath, "json", "", "write the results here (default: webapp.json in the work directory)")
	flag.BoolVar(&markdown, "markdown", false, "print the table as Markdown")
	flag.StringVar(&h.profileDir, "cpuprofile", "", "save a 5 s CPU profile of the gateway during each throughput window into this directory")
	flag.Parse()
	for _, t := range strings.Split(transports, ",") {
		switch t = strings.TrimSpace(t); t {
		case bench.TransportHTTP, bench.TransportXMLRPC, bench.TransportAMQP, bench.TransportNATS:
			h.transports = append(h.transports, t)
		case "":
		default:
			logf("-transports: unknown transport %q (http, xmlrpc, amqp, nats)", t)
			return 2
		}
	}
	ncpu := h.pinSelf()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	if err := h.setup(workDir, ncpu); err != nil {
		logf("%v", err)
		return 1
	}
	var err error
	if h.gatewayBin, err = buildGateway(ctx, h.root, h.work); err != nil {
		logf("%v", err)
		return 1
	}
	h.checkBrokers()
	if h.amqpOK {
		defer func() {
			if err := deleteAMQPTopology(h.amqpURL, h.queue); err != nil {
				h.warn("cleaning up RabbitMQ: %v", err)
			} else {
				logf("deleted the queue %s, %s.dead and the exchange %s.dlx", h.queue, h.queue, h.queue)
			}
		}()
	}
	h.measure(ctx)
	if ctx.Err() != nil {
		logf("interrupted")
		return 1
	}
	h.out.Header, h.out.Table = h.header(), h.table()
	h.out.ElapsedS = time.Since(start).Seconds()
	if markdown {
		printMarkdown(os.Stdout, &h.out)
	} else {
		printText(os.Stdout, &h.out)
	}
	if jsonPath == "" {
		jsonPath = filepath.Join(h.work, "webapp.json")
	}
	b, _ := json.MarshalIndent(&h.out, "", "  ")
	if err := os.WriteFile(jsonPath, append(b, '\n'), 0o644); err != nil {
		logf("writing %s: %v", jsonPath, err)
		return 1
	}
	logf("results written to %s; gateway log in %s; elapsed %s", jsonPath, h.work, time.Since(start).Round(time.Second))
	return 0
}

// pinSelf re-executes this program pinned to the client core (taskset), once, when the machine has
// the cores and taskset exists: the load client's goroutines, and with them GOMAXPROCS, then stay
// on that core. It returns the machine's CPU count (the pinned process sees only its core).
func (h *harness) pinSelf() int {
	if v := os.Getenv(pinnedEnv); v != "" { // the pinned copy: the parent checked everything
		ncpu, _ := strconv.Atoi(v)
		h.pin = true
		return ncpu
	}
	ncpu := runtime.NumCPU()
	h.pin = ncpu > max(h.serverCore, h.clientCore) && h.serverCore != h.clientCore
	taskset, err := exec.LookPath("taskset")
	if err != nil || !h.pin {
		h.pin = false
		return ncpu
	}
	self, err := os.Executable()
	if err != nil {
		logf("cannot pin the client (%v); running unpinned", err)
		h.pin = false
		return ncpu
	}
	argv := append([]string{"taskset", "-c", strconv.Itoa(h.clientCore), self}, os.Args[1:]...)
	err = syscall.Exec(taskset, argv, append(os.Environ(), pinnedEnv+"="+strconv.Itoa(ncpu)))
	logf("cannot pin the client with taskset (%v); running unpinned", err)
	h.pin = false
	return ncpu
}

// setup finds the module root, the work directory and the machine facts.
func (h *harness) setup(workDir string, ncpu int) error {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if gomod := strings.TrimSpace(string(out)); err != nil || gomod == "" || gomod == os.DevNull {
		return fmt.Errorf("run this from inside the gateway module (go env GOMOD: %v)", err)
	}
	h.root = filepath.Dir(strings.TrimSpace(string(out)))
	if workDir == "" {
		if workDir, err = os.MkdirTemp("", "gateway-webapp-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(workDir, 0o755); err != nil {
		return err
	}
	h.work = workDir
	if h.profileDir != "" {
		if err := os.MkdirAll(h.profileDir, 0o755); err != nil {
			return err
		}
	}
	id := randomID()
	h.queue, h.prefix = "gateway-bench-"+id, "gwbench."+id
	if !h.pin {
		h.warn("the gateway and the client are NOT pinned (needs taskset and at least 2 CPUs): server numbers include client interference")
	}
	h.out = output{
		Date: time.Now().UTC().Format(time.RFC3339),
		Machine: machine{Machine: host.Describe(h.root, ncpu, h.pin, h.serverCore, h.clientCore),
			LoadAvg: host.FileText("/proc/loadavg"), BusyStart: host.MachineBusy(time.Second)},
		Params: map[string]string{
			"throughput": fmt.Sprintf("%d concurrent closed-loop publishers, no subscribers, %s window after %s warm-up, 100 B payload",
				h.concurrency, h.duration, h.warmup),
			"fanout": fmt.Sprintf("%d WAMP subscribers (JSON, one topic), %d concurrent publishers at %s, %s window after %s warm-up",
				h.subscribers, h.fanoutConcurrency, rateText(h.fanoutRate), h.fanoutDuration, h.warmup),
			"gateway": "fresh gateway per run, pinned with GOMAXPROCS=1, limits.ping_interval = 0s, log_level warn; [webapp.http] loopback_without_credentials; AMQP messages persistent with message_id (dedup on), publisher confirms off",
		},
		Runs:    map[string]*transportRuns{},
		Skipped: map[string]string{},
	}
	logf("work directory %s; %d CPUs (%s); server core %d, client core %d, pinned=%v; load average %s",
		h.work, h.out.Machine.CPUs, h.out.Machine.CPUModel, h.serverCore, h.clientCore, h.pin, h.out.Machine.LoadAvg)
	return nil
}

func rateText(r float64) string {
	if r <= 0 {
		return "closed loop"
	}
	return fmt.Sprintf("%g publications/s", r)
}

// checkBrokers finds out which message brokers answer; transports without one are skipped.
func (h *harness) checkBrokers() {
	for _, t := range h.transports {
		switch t {
		case bench.TransportAMQP:
			if err := checkAMQP(h.amqpURL); err != nil {
				h.skip(t, fmt.Sprintf("RabbitMQ is not reachable at %s: %v", redact(h.amqpURL), err))
				continue
			}
			h.amqpOK = true
			h.brokerPID[t] = findProcess("beam.smp")
		case bench.TransportNATS:
			if err := checkNATS(h.natsURL); err != nil {
				h.skip(t, fmt.Sprintf("NATS is not reachable at %s: %v", h.natsURL, err))
				continue
			}
			h.natsOK = true
			h.brokerPID[t] = findProcess("nats-server")
		}
		h.transportsMeasured = append(h.transportsMeasured, t)
	}
}

func (h *harness) skip(t, why string) {
	h.out.Skipped[t] = why
	h.warn("skipping %s: %s", t, why)
}

func (h *harness) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	h.out.Warnings = append(h.out.Warnings, msg)
	logf("WARNING: %s", msg)
}

func randomID() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
