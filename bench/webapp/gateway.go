package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gateway-dev/gateway/bench/internal/host"

	"github.com/nats-io/nats.go"
	amqp "github.com/rabbitmq/amqp091-go"
)

// buildGateway compiles ./cmd/gateway into dir.
func buildGateway(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "gateway")
	logf("building the gateway (%s)", bin)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gateway")
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building the gateway: %w", err)
	}
	return bin, nil
}

// gatewayConfig is the configuration file of every gateway the harness starts: the web-app
// representatives whose brokers answered, keepalive pings off (the runs are shorter than an
// interval) and warnings only in the log.
func (h *harness) gatewayConfig(addr, debug string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[server]\ndebug_address = %q\nlog_level = \"warn\"\n\n", debug)
	fmt.Fprintf(&b, "[store]\ndata_dir = %q\n\n", filepath.Join(h.work, "data"))
	fmt.Fprintf(&b, "[[listeners]]\naddress = %q\n\n[limits]\nping_interval = \"0s\"\n\n", addr)
	b.WriteString("[webapp.http]\nloopback_without_credentials = true\n\n")
	if h.amqpOK {
		fmt.Fprintf(&b, "[webapp.amqp]\nurl = %q\nqueue = %q\n\n", h.amqpURL, h.queue)
	}
	if h.natsOK {
		fmt.Fprintf(&b, "[webapp.nats]\nurl = %q\nsubject_prefix = %q\n", h.natsURL, h.prefix)
	}
	return b.String()
}

// gateway is a running gateway under test.
type gateway struct {
	*host.Process
	url   string // WebSocket URL
	debug string // pprof host:port
}

// startGateway starts a fresh gateway pinned to the server core with GOMAXPROCS=1 and waits until
// it accepts connections.
func (h *harness) startGateway(ctx context.Context) (*gateway, error) {
	port, err := host.FreePort()
	if err != nil {
		return nil, err
	}
	dport, err := host.FreePort()
	if err != nil {
		return nil, err
	}
	addr, daddr := fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("127.0.0.1:%d", dport)
	cfg := filepath.Join(h.work, "gateway.toml")
	if err := os.WriteFile(cfg, []byte(h.gatewayConfig(addr, daddr)), 0o600); err != nil {
		return nil, fmt.Errorf("writing the configuration: %w", err)
	}
	argv := host.Taskset(h.pin, h.serverCore, h.gatewayBin, "--config", cfg)
	p, err := host.Start(ctx, "the gateway", argv, filepath.Join(h.work, "gateway.log"), addr, daddr)
	if err != nil {
		return nil, err
	}
	return &gateway{Process: p, url: "ws://" + addr + "/ws", debug: daddr}, nil
}

// checkAMQP reports whether the broker at url accepts a connection.
func checkAMQP(url string) error {
	conn, err := amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
	if err != nil {
		return err
	}
	return conn.Close()
}

// checkNATS reports whether the NATS server at url accepts a connection.
func checkNATS(url string) error {
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second), nats.Name("gateway bench/webapp check"))
	if err != nil {
		return err
	}
	nc.Close()
	return nil
}

// deleteAMQPTopology deletes what the gateway declared for queue: the queue, its dead-letter
// exchange and the dead-letter queue.
func deleteAMQPTopology(url, queue string) error {
	conn, err := amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	var errs []error
	for _, q := range []string{queue, queue + ".dead"} {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			errs = append(errs, fmt.Errorf("deleting queue %s: %w", q, err))
		}
	}
	if err := ch.ExchangeDelete(queue+".dlx", false, false); err != nil {
		errs = append(errs, fmt.Errorf("deleting exchange %s.dlx: %w", queue, err))
	}
	return errors.Join(errs...)
}

// findProcess returns the pid of the longest-running process whose command name is comm, or 0:
// the broker itself, not a short-lived tool with the same name (rabbitmqctl runs a beam.smp too).
func findProcess(comm string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	found, oldest := 0, uint64(math.MaxUint64)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil || strings.TrimSpace(string(b)) != comm {
			continue
		}
		if start, ok := startTime(pid); ok && start < oldest {
			found, oldest = pid, start
		}
	}
	return found
}

// startTime returns when process pid started (clock ticks after boot), from /proc/PID/stat.
func startTime(pid int) (uint64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')') // the command name may contain spaces
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 { // f[0] is field 3 (state); starttime is field 22
		return 0, false
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	return v, err == nil
}
