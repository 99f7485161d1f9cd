package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gateway-dev/gateway/bench/internal/host"
	"github.com/gateway-dev/gateway/internal/bench"
)

// Workloads of each transport.
const (
	workThroughput = "throughput"
	workFanout     = "fanout"
)

// measure runs both workloads for every transport whose broker answered, each against a freshly
// started gateway.
func (h *harness) measure(ctx context.Context) {
	for _, t := range h.transportsMeasured {
		r := &transportRuns{BusyBefore: map[string]float64{}}
		h.out.Runs[t] = r
		for _, work := range []string{workThroughput, workFanout} {
			if ctx.Err() != nil {
				return
			}
			busy := host.WaitQuiet(ctx, 0.15, h.quietWait, logf)
			r.BusyBefore[work] = busy
			if busy > 0.15 {
				h.warn("%s %s: the machine was %.0f%% busy with other work before the run", t, work, 100*busy)
			}
			g, err := h.startGateway(ctx)
			if err == nil {
				err = h.runOne(ctx, g, t, work, r)
				g.Stop()
			}
			if err != nil {
				r.Errors = append(r.Errors, fmt.Sprintf("%s: %v", work, err))
				h.warn("%s %s failed: %v", t, work, err)
			}
		}
	}
}

// runOne runs one workload of transport t against g.
func (h *harness) runOne(ctx context.Context, g *gateway, t, work string, r *transportRuns) error {
	o := bench.Options{
		Scenario: bench.Webapp, URL: g.url, ServerPID: g.PID(), Warmup: h.warmup, Duration: h.duration,
		WebappOptions: bench.WebappOptions{Transport: t, AMQPURL: h.amqpURL, AMQPQueue: h.queue,
			NATSURL: h.natsURL, NATSPrefix: h.prefix, Concurrency: h.concurrency},
	}
	if h.pin {
		o.ServerCores = []int{h.serverCore}
	}
	var onLine func(string)
	profDone := make(chan error, 1)
	profiling := false
	if work == workFanout {
		o.Subscribers, o.Concurrency, o.Rate, o.Duration = h.subscribers, h.fanoutConcurrency, h.fanoutRate, h.fanoutDuration
	} else if h.profileDir != "" {
		secs := int(min(5*time.Second, h.duration) / time.Second)
		path := filepath.Join(h.profileDir, t+".prof")
		onLine = func(line string) {
			if profiling || !strings.Contains(line, "publishers (") {
				return
			}
			profiling = true
			go func() {
				time.Sleep(h.warmup + time.Second)
				logf("%s: taking a %d s CPU profile of the gateway", t, secs)
				profDone <- host.CPUProfile(ctx, g.debug, secs, path)
			}()
		}
	}
	o.Progress = &lineWriter{prefix: "    " + t + " " + work + " ", onLine: onLine}
	logf("%s %s: %d subscribers, %d publishers (%s)", t, work, o.Subscribers, o.Concurrency, rateText(o.Rate))
	brokerPID := h.brokerPID[t]
	b0, bt0 := brokerCPU(brokerPID), time.Now()
	rep, err := bench.Run(ctx, o)
	b1, bt1 := brokerCPU(brokerPID), time.Now()
	if profiling {
		if perr := <-profDone; perr != nil {
			h.warn("%s CPU profile: %v", t, perr)
		} else {
			r.Profile = filepath.Join(h.profileDir, t+".prof")
			logf("CPU profile saved to %s (go tool pprof -top %s %s)", r.Profile, h.gatewayBin, r.Profile)
		}
	}
	if err != nil {
		return err
	}
	if work == workFanout {
		r.Fanout = rep
		return nil
	}
	r.Throughput = rep
	if w := rep.Webapp; w != nil && b0 >= 0 && b1 >= 0 && w.Acknowledged > 0 {
		r.BrokerUSPerPublish = (b1 - b0) * 1e6 / float64(w.Acknowledged)
		r.BrokerCores = (b1 - b0) / bt1.Sub(bt0).Seconds()
	}
	return nil
}

// brokerCPU returns the CPU seconds the broker process used so far, or -1.
func brokerCPU(pid int) float64 {
	if pid == 0 {
		return -1
	}
	v, err := bench.ProcessCPU(pid)
	if err != nil {
		return -1
	}
	return v
}

// lineWriter prints progress lines with a prefix and hands each line to onLine.
type lineWriter struct {
	prefix string
	onLine func(string)
	mu     sync.Mutex
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		fmt.Fprintf(os.Stderr, "%s%s\n", w.prefix, line)
		if w.onLine != nil {
			w.onLine(line)
		}
	}
}

// redact hides the password of a URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}
