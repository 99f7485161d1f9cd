package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gateway-dev/gateway/bench/internal/host"
	"github.com/gateway-dev/gateway/internal/bench"
)

// Server kinds.
const (
	kindGateway = "gateway"
	kindNexus   = "nexus"
)

// build compiles the gateway and the nexus wrapper into dir.
func build(ctx context.Context, root, dir string) (gateway, nexusd string, err error) {
	gateway = filepath.Join(dir, "gateway")
	nexusd = filepath.Join(dir, "nexusd")
	logf("building the gateway (%s)", gateway)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", gateway, "./cmd/gateway")
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", "", fmt.Errorf("building the gateway: %w", err)
	}
	// bench/nexusd is a module of its own (go.mod pins nexus v3.3.0), so the gateway's module does
	// not depend on it; `go install ...nexus/v3/nexusd@v3.3.0` would fail because the module proxy
	// refuses nexus's version list.
	logf("building nexus v3.3.0 with the wrapper in bench/nexusd (%s)", nexusd)
	cmd = exec.CommandContext(ctx, "go", "build", "-o", nexusd, ".")
	cmd.Dir, cmd.Stdout, cmd.Stderr = filepath.Join(root, "bench", "nexusd"), os.Stderr, os.Stderr
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if err := cmd.Run(); err != nil {
		return "", "", fmt.Errorf("building bench/nexusd: %w", err)
	}
	return gateway, nexusd, nil
}

// server is a running router under test.
type server struct {
	*host.Process
	kind  string
	url   string // WebSocket URL
	debug string // pprof host:port
}

// startServer starts a fresh router of the given kind, pinned to the server core with
// GOMAXPROCS=1, and waits until it accepts connections.
func (c *comparison) startServer(ctx context.Context, kind string) (*server, error) {
	port, err := host.FreePort()
	if err != nil {
		return nil, err
	}
	dport, err := host.FreePort()
	if err != nil {
		return nil, err
	}
	addr, daddr := fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("127.0.0.1:%d", dport)
	var argv []string
	switch kind {
	case kindGateway:
		cfg := filepath.Join(c.work, "gateway.toml")
		// Keepalive pings off: nexus has none by default, and the runs are shorter than an interval.
		toml := fmt.Sprintf("[server]\ndebug_address = %q\nlog_level = \"warn\"\n\n[[listeners]]\naddress = %q\n\n[limits]\nping_interval = %q\n",
			daddr, addr, c.gatewayPing)
		if err := os.WriteFile(cfg, []byte(toml), 0o644); err != nil {
			return nil, err
		}
		argv = []string{c.gatewayBin, "--config", cfg}
	case kindNexus:
		argv = []string{c.nexusBin, "-ws", addr, "-debug", daddr, "-realm", "realm1"}
	}
	argv = host.Taskset(c.pin, c.serverCore, argv...)
	p, err := host.Start(ctx, kind, argv, filepath.Join(c.work, kind+".log"), addr, daddr)
	if err != nil {
		return nil, err
	}
	return &server{Process: p, kind: kind, url: "ws://" + addr + "/ws", debug: daddr}, nil
}

// runBench runs `gateway bench` pinned to the client core against s and returns its report.
// onProgress sees every progress line.
func (c *comparison) runBench(ctx context.Context, s *server, scenario string, onProgress func(string), args ...string) (*bench.Report, error) {
	argv := append([]string{c.gatewayBin, "bench", scenario, "--url", s.url, "--json",
		"--server-pid", strconv.Itoa(s.PID()), "--server-debug", s.debug}, args...)
	if c.pin {
		argv = append(argv, "--server-cpu", strconv.Itoa(c.serverCore))
	}
	argv = host.Taskset(c.pin, c.clientCore, argv...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out strings.Builder
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	logf("%s: %s", s.kind, strings.Join(argv, " "))
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintf(os.Stderr, "    %s %s\n", s.kind, line)
		if onProgress != nil {
			onProgress(line)
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 3) { // 3: completed, found losses
		return nil, fmt.Errorf("gateway bench %s against %s: %w", scenario, s.kind, err)
	}
	var rep bench.Report
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		return nil, fmt.Errorf("reading the report of gateway bench %s: %w", scenario, err)
	}
	return &rep, nil
}
