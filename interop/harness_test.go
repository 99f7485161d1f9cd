package interop

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

const (
	realm = "realm1"
	// suiteTimeout bounds one client suite run; each suite also stops itself after 60 s.
	suiteTimeout = 120 * time.Second
	// readyTimeout bounds the router's start-up (until its ports accept connections).
	readyTimeout = 30 * time.Second
	// stopTimeout bounds the router's graceful shutdown after SIGTERM.
	stopTimeout = 15 * time.Second
	// python is Debian's interpreter, the one python3-autobahn is installed for.
	python = "/usr/bin/python3"
)

var (
	// rt is the router under test; nil when it could not be started (rtErr says why).
	rt    *router
	rtErr error
	// moduleRoot is the directory holding go.mod.
	moduleRoot string
	// required makes missing dependencies fail tests instead of skipping them.
	required = os.Getenv("GATEWAY_INTEROP") == "required"
	// scratch is TestMain's temporary directory (the gateway binary lives there).
	scratch string
	// gatewayBinary builds ./cmd/gateway once and returns its path.
	gatewayBinary = sync.OnceValues(buildGateway)
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	flag.Parse()
	root, err := findModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	moduleRoot = root
	tmp, err := os.MkdirTemp("", "gateway-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	scratch = tmp

	if testing.Short() && !required {
		rtErr = errors.New("interop suites are skipped in -short mode")
	} else {
		rt, rtErr = startRouter(tmp)
	}
	if rtErr != nil && required {
		fmt.Fprintln(os.Stderr, "interop: cannot start the router under test:", rtErr)
		return 1
	}
	code := m.Run()
	if rt != nil {
		if err := rt.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "interop: %v\n--- %s output (tail) ---\n%s\n", err, rt.kind, rt.log.tail(8192))
			code = 1
		}
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "interop: leaked goroutines:", err)
			code = 1
		}
	}
	return code
}

func findModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding the module root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// need skips t, or fails it when GATEWAY_INTEROP=required, when err says a dependency is missing.
func need(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if required {
		t.Fatalf("%s: %v (scripts/install-test-deps installs the test dependencies)", what, err)
	}
	t.Skipf("%s: %v (run scripts/install-test-deps; GATEWAY_INTEROP=required makes this a failure)", what, err)
}

// needRouter returns the running router under test, or skips/fails t.
func needRouter(t *testing.T) *router {
	t.Helper()
	if rt == nil {
		need(t, "router under test", rtErr)
		t.Fatal("no router under test") // unreachable: need skips or fails
	}
	if err := rt.exited(); err != nil {
		t.Fatalf("the %s router is gone: %v\n--- output (tail) ---\n%s", rt.kind, err, rt.log.tail(8192))
	}
	return rt
}

// router is a router process under test.
type router struct {
	kind  string // "gateway" or "nexus"
	wsURL string // WebSocket endpoint, ws://127.0.0.1:PORT/ws
	rsURL string // RawSocket endpoint, rs://127.0.0.1:PORT
	// rsAddr is the RawSocket endpoint's host:port.
	rsAddr string
	// cfgPath is the configuration file a configured gateway was started with ("" otherwise); the
	// web-app proxies read it too.
	cfgPath string
	cmd     *exec.Cmd
	log     *logBuffer
	done    chan struct{} // closed when the process has exited
	err     error         // the process's exit error, valid after done is closed
}

// startRouter builds and starts the router that GATEWAY_TEST_ROUTER names: "gateway" (default) or "nexus".
func startRouter(tmp string) (*router, error) {
	switch kind := os.Getenv("GATEWAY_TEST_ROUTER"); kind {
	case "", "gateway":
		return startGateway(tmp)
	case "nexus":
		return startNexus(tmp)
	default:
		return nil, fmt.Errorf("GATEWAY_TEST_ROUTER=%q: want gateway or nexus", kind)
	}
}

// startGateway starts the gateway (see launchGateway) with the anonymous realm the client suites use.
func startGateway(tmp string) (*router, error) {
	return launchGateway(tmp, fmt.Sprintf("[[realms]]\nname = %q\n", realm), nil)
}

// buildGateway builds ./cmd/gateway into the scratch directory, with -race when the tests run with
// -race, so interop traffic is race-checked too.
func buildGateway() (string, error) {
	if _, err := os.Stat(filepath.Join(moduleRoot, "cmd", "gateway")); err != nil {
		return "", fmt.Errorf("no ./cmd/gateway to build: %w", err)
	}
	bin := filepath.Join(scratch, "gateway")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/gateway")
	build := exec.Command("go", args...)
	build.Dir = moduleRoot
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return bin, nil
}

// gatewayConfig returns a gateway configuration: the store in the "data" directory next to the
// configuration file (so nothing is written into the repository), one listener on addr serving
// WebSocket at /ws and RawSocket, then body (realms, [auth], [client_token], ...).
func gatewayConfig(addr, body string) string {
	return fmt.Sprintf("[store]\ndata_dir = \"data\"\n\n[[listeners]]\naddress = %q\nwebsocket_path = \"/ws\"\n\n%s", addr, body)
}

// launchGateway writes gatewayConfig(free port, body) to dir/gateway.toml and starts the gateway
// binary with it; env adds environment variables (for "env:NAME" secrets).
func launchGateway(dir, body string, env []string) (*router, error) {
	bin, err := gatewayBinary()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cfgPath := filepath.Join(dir, "gateway.toml")
	if err := os.WriteFile(cfgPath, []byte(gatewayConfig(addr, body)), 0o600); err != nil {
		return nil, fmt.Errorf("writing the gateway config: %w", err)
	}
	r := &router{kind: "gateway", wsURL: "ws://" + addr + "/ws", rsURL: "rs://" + addr, rsAddr: addr, cfgPath: cfgPath}
	if err := r.start(bin, []string{"--config", cfgPath}, env, addr); err != nil {
		return nil, err
	}
	return r, nil
}

// startConfiguredGateway starts a gateway of t's own with the configuration body (see
// gatewayConfig; realms with auth and roles, [auth], [client_token]) and stops it when t ends,
// failing t unless it exits cleanly. It is always our gateway, whatever GATEWAY_TEST_ROUTER says:
// these tests are about the gateway's own configuration.
func startConfiguredGateway(t *testing.T, body string, env ...string) *router {
	t.Helper()
	if testing.Short() && !required {
		t.Skip("interop suites are skipped in -short mode")
	}
	_, err := gatewayBinary()
	need(t, "gateway binary", err)
	r, err := launchGateway(t.TempDir(), body, env)
	if err != nil {
		t.Fatalf("starting the gateway: %v\n--- configuration ---\n%s", err, body)
	}
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("%v\n--- gateway output (tail) ---\n%s", err, r.log.tail(8192))
		}
	})
	return r
}

// startNexus starts nexusd (github.com/gammazero/nexus/v3 v3.3.0) with WebSocket and RawSocket on two
// free ports. GATEWAY_NEXUSD names a prebuilt binary; otherwise it is built once in the user cache.
func startNexus(tmp string) (*router, error) {
	bin := os.Getenv("GATEWAY_NEXUSD")
	if bin == "" {
		var err error
		if bin, err = buildNexusd(); err != nil {
			return nil, err
		}
	}
	wsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	rsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	wsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(wsPort))
	rsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(rsPort))
	cfg := fmt.Sprintf(`{
  "websocket": {"address": %q, "allow_origins": ["*"]},
  "rawsocket": {"tcp_address": %q},
  "router": {"realms": [{"uri": %q, "anonymous_auth": true, "allow_disclose": true}]}
}`, wsAddr, rsAddr, realm)
	cfgPath := filepath.Join(tmp, "nexus.json")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, fmt.Errorf("writing the nexusd config: %w", err)
	}
	r := &router{kind: "nexus", wsURL: "ws://" + wsAddr + "/ws", rsURL: "rs://" + rsAddr, rsAddr: rsAddr}
	if err := r.start(bin, []string{"-c", cfgPath}, nil, wsAddr, rsAddr); err != nil {
		return nil, err
	}
	return r, nil
}

// buildNexusd builds nexusd in a scratch module in the user cache directory (once) and returns its path.
func buildNexusd() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("building nexusd: %w", err)
	}
	dir := filepath.Join(cache, "gateway-interop", "nexusd-v3.3.0")
	bin := filepath.Join(dir, "nexusd")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("building nexusd: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module nexusd\n\ngo 1.24\n"), 0o644); err != nil {
		return "", fmt.Errorf("building nexusd: %w", err)
	}
	for _, args := range [][]string{
		{"get", "github.com/gammazero/nexus/v3/nexusd@v3.3.0"},
		{"build", "-o", bin, "github.com/gammazero/nexus/v3/nexusd"},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("building nexusd: go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	return bin, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs bin with the extra environment variables env and waits until every address in ready
// accepts TCP connections.
func (r *router) start(bin string, args, env []string, ready ...string) error {
	r.log = &logBuffer{}
	r.done = make(chan struct{})
	r.cmd = exec.Command(bin, args...)
	r.cmd.Stdout = r.log
	r.cmd.Stderr = r.log
	r.cmd.Env = append(append(os.Environ(), "GORACE=halt_on_error=0"), env...)
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", r.kind, err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	deadline := time.Now().Add(readyTimeout)
	for _, addr := range ready {
		for {
			if err := r.exited(); err != nil {
				return fmt.Errorf("%s exited during start-up: %w\n%s", r.kind, err, r.log.tail(8192))
			}
			conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
			if err == nil {
				conn.Close()
				break
			}
			if time.Now().After(deadline) {
				_ = r.cmd.Process.Kill()
				<-r.done
				return fmt.Errorf("%s did not accept connections on %s within %v: %w\n%s",
					r.kind, addr, readyTimeout, err, r.log.tail(8192))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// exited returns nil while the process runs, else why it is gone.
func (r *router) exited() error {
	select {
	case <-r.done:
		if r.err == nil {
			return errors.New("exited with status 0")
		}
		return r.err
	default:
		return nil
	}
}

// stop sends SIGTERM and waits for the process. For our gateway it also requires a clean exit (status 0)
// and no race report in its output.
func (r *router) stop() error {
	if err := r.exited(); err != nil {
		return fmt.Errorf("%s had exited before the end of the tests: %w", r.kind, err)
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(stopTimeout):
		_ = r.cmd.Process.Kill()
		<-r.done
		return fmt.Errorf("%s did not stop within %v of SIGTERM", r.kind, stopTimeout)
	}
	if r.kind != "gateway" {
		return nil
	}
	if r.err != nil {
		return fmt.Errorf("gateway exit after SIGTERM: %w (want status 0)", r.err)
	}
	if strings.Contains(r.log.String(), "WARNING: DATA RACE") {
		return errors.New("the gateway reported a data race")
	}
	return nil
}

// logBuffer collects a process's output; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail returns at most the last n bytes.
func (b *logBuffer) tail(n int) string {
	s := b.String()
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}

// runCommand runs name with args in dir, with extra environment variables, and returns its combined
// output. The whole process group is killed after timeout.
func runCommand(timeout time.Duration, dir string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("killed after %v: %w", timeout, err)
	}
	return out.String(), err
}

// scenarioResult is one "PASS name" or "FAIL name: detail" line of a client suite.
type scenarioResult struct {
	name   string
	pass   bool
	detail string
}

var summaryLine = regexp.MustCompile(`^(\S+): (\d+) passed, (\d+) failed$`)

// parseSuiteOutput reads the line protocol of the client suites: PASS/FAIL lines (a FAIL's detail may
// continue on lines indented by four spaces) and a closing "LABEL: N passed, M failed" line.
func parseSuiteOutput(out string) (results []scenarioResult, passed, failed int, summary bool) {
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	last := -1
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "PASS "):
			results = append(results, scenarioResult{name: strings.TrimSpace(line[5:]), pass: true})
			last = -1
		case strings.HasPrefix(line, "FAIL "):
			name, detail, _ := strings.Cut(line[5:], ": ")
			results = append(results, scenarioResult{name: name, detail: detail})
			last = len(results) - 1
		case strings.HasPrefix(line, "    ") && last >= 0:
			results[last].detail += "\n" + line
		default:
			last = -1
			if m := summaryLine.FindStringSubmatch(line); m != nil {
				passed, _ = strconv.Atoi(m[2])
				failed, _ = strconv.Atoi(m[3])
				summary = true
			}
		}
	}
	return results, passed, failed, summary
}

// nexusGaps lists scenarios known to fail against nexus (GATEWAY_TEST_ROUTER=nexus) through nexus's own
// behaviour; keyed by "suite/transport/scenario", where transport may be "*".
var nexusGaps = map[string]string{
	"python/rawsocket/meta_session_count_get":      "nexus puts no transport into wamp.session.get for RawSocket sessions",
	"autobahn-js/rawsocket/meta_session_count_get": "nexus puts no transport into wamp.session.get for RawSocket sessions",
	"autobahn-js/*/progressive_results": "nexus forwards receive_progress only to callees that announce call_canceling, " +
		"which Autobahn|JS does not",
	"python/*/query_topic_filters": "content filters are a gateway extension",
	"python/*/event_retention":     "nexus v3.3.0 does not implement event retention",
	"autobahn-js/*/x_filter":       "content filters are a gateway extension",
	"python/*/call_timeout":        nexusTimeoutURI,
	"autobahn-js/*/call_timeout":   nexusTimeoutURI,
	"wampy/*/call_timeout":         nexusTimeoutURI,
}

const nexusTimeoutURI = "nexus answers a call timeout with wamp.error.timeout; gateway sends wamp.error.canceled"

func knownGap(kind, suite, transport, scenario string) (string, bool) {
	if kind != "nexus" {
		return "", false
	}
	if reason, ok := nexusGaps[suite+"/"+transport+"/"+scenario]; ok {
		return reason, true
	}
	reason, ok := nexusGaps[suite+"/*/"+scenario]
	return reason, ok
}

// runClientSuite runs one client suite command and turns each scenario line into a subtest. The
// suite's exit status must agree with its lines, and its summary line with their count.
func runClientSuite(t *testing.T, r *router, suite, transport, dir string, env []string, name string, args ...string) {
	t.Helper()
	out, err := runCommand(suiteTimeout, dir, env, name, args...)
	results, passed, failed, summary := parseSuiteOutput(out)
	nFail := 0
	for _, res := range results {
		if !res.pass {
			nFail++
		}
		t.Run(res.name, func(t *testing.T) {
			if res.pass {
				return
			}
			if reason, ok := knownGap(r.kind, suite, transport, res.name); ok {
				t.Skipf("known %s gap: %s\n%s", r.kind, reason, res.detail)
			}
			t.Error(res.detail)
		})
	}
	switch {
	case len(results) == 0:
		t.Errorf("%s printed no scenario results (exit: %v)", suite, err)
	case !summary:
		t.Errorf("%s printed no summary line: it crashed or timed out (exit: %v)", suite, err)
	case passed+failed != len(results) || failed != nFail:
		t.Errorf("summary says %d passed, %d failed; the lines say %d results, %d failed",
			passed, failed, len(results), nFail)
	case err == nil && nFail > 0:
		t.Errorf("%s exited with status 0 despite %d failed scenarios", suite, nFail)
	case err != nil && nFail == 0:
		t.Errorf("%s failed (%v) although every scenario passed", suite, err)
	}
	if t.Failed() {
		t.Logf("command: %s %s\n--- output ---\n%s", name, strings.Join(args, " "), out)
		t.Logf("--- %s output (tail) ---\n%s", r.kind, r.log.tail(4096))
	}
}

// Dependency probes, run once per test binary.
var (
	pythonDeps = sync.OnceValue(func() error {
		out, err := runCommand(30*time.Second, "", nil, python, "-c", "import autobahn, twisted, msgpack, cbor2")
		if err != nil {
			return fmt.Errorf("%s cannot import autobahn, twisted, msgpack and cbor2: %w\n%s", python, err, out)
		}
		return nil
	})
	nodeDeps = sync.OnceValue(func() error {
		if _, err := exec.LookPath("node"); err != nil {
			return fmt.Errorf("node: %w", err)
		}
		for _, pkg := range []string{"autobahn", "wampy", "ws"} {
			if _, err := os.Stat(filepath.Join(jsDir(), "node_modules", pkg, "package.json")); err != nil {
				return fmt.Errorf("npm package %s is not installed in interop/js: %w", pkg, err)
			}
		}
		return nil
	})
)

func jsDir() string     { return filepath.Join(moduleRoot, "interop", "js") }
func pythonDir() string { return filepath.Join(moduleRoot, "interop", "python") }

// serializers are the WAMP serializers every suite covers.
var serializers = []string{"json", "msgpack", "cbor"}
