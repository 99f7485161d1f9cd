package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gateway-dev/gateway/internal/config"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// runCmd runs the command line in-process and returns its exit status and output.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gateway.toml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"serve", "-h"}, {"check-config", "--help"}} {
		code, stdout, stderr := runCmd(t, args...)
		if code != 0 || stderr != "" {
			t.Errorf("%q: exit %d, stderr %q; want 0 and nothing", args, code, stderr)
		}
		for _, want := range []string{"serve", "check-config FILE", "version", "help", "--config FILE", "--listen ADDR"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%q: usage does not mention %q:\n%s", args, want, stdout)
			}
		}
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"frobnicate"}, `gateway: unknown command "frobnicate"`},
		{[]string{"--nope"}, "gateway: flag provided but not defined: -nope"},
		{[]string{"serve", "--config"}, "gateway: flag needs an argument: -config"},
		{[]string{"serve", "extra"}, `gateway: unexpected argument "extra"`},
		{[]string{"check-config"}, "gateway: check-config needs exactly one FILE"},
		{[]string{"check-config", "a.toml", "b.toml"}, "gateway: check-config needs exactly one FILE"},
		{[]string{"version", "x"}, "gateway: version takes no arguments"},
		{[]string{"--listen", "nonsense"}, `gateway: --listen: invalid address "nonsense"`},
	}
	for _, tt := range tests {
		code, stdout, stderr := runCmd(t, tt.args...)
		if code != 2 || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q; want 2 and nothing", tt.args, code, stdout)
		}
		if !strings.HasPrefix(stderr, tt.msg) || !strings.Contains(stderr, "Usage:") {
			t.Errorf("%q: stderr = %q, want %q and the usage", tt.args, stderr, tt.msg)
		}
	}
}

func TestVersion(t *testing.T) {
	code, stdout, stderr := runCmd(t, "version")
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "gateway ") || !strings.Contains(stdout, "go1.") {
		t.Errorf("version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	version = "v1.2.3"
	defer func() { version = "" }()
	if _, stdout, _ := runCmd(t, "version"); !strings.HasPrefix(stdout, "gateway v1.2.3 (") {
		t.Errorf("version with -X main.version: %q", stdout)
	}
}

func TestCheckConfig(t *testing.T) {
	good := writeConfig(t, "[server]\nlog_level = \"debug\"\n\n[[realms]]\nname = \"com.example\"\n")
	code, stdout, stderr := runCmd(t, "check-config", good)
	if code != 0 || stdout != good+": OK\n" || stderr != "" {
		t.Errorf("good file: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	bad := writeConfig(t, `[server]
log_level = "loud"

[limits]
max_message_size = "16 MB"

[[listeners]]
address = ":0"
unix = "g.sock"
websocket_path = "ws"

[[realms]]
name = "a b"
`)
	code, stdout, stderr = runCmd(t, "check-config", bad)
	want := bad + `:2: server.log_level: invalid log level "loud": use debug, info, warn or error
` + bad + `:5: limits.max_message_size: invalid size "16 MB": use a number of bytes or a unit B, KiB, MiB, GiB
` + bad + `:9: listeners[0].unix: set either address or unix, not both
` + bad + `:10: listeners[0].websocket_path: invalid path "ws": must start with "/", e.g. "/ws"
` + bad + `:13: realms[0].name: invalid realm name "a b": not a valid WAMP URI (loose rules): contains whitespace
`
	if code != 1 || stdout != "" || stderr != want {
		t.Errorf("bad file: exit %d, stdout %q, stderr:\n%s\nwant:\n%s", code, stdout, stderr, want)
	}

	missing := filepath.Join(t.TempDir(), "missing.toml")
	code, _, stderr = runCmd(t, "check-config", missing)
	if code != 1 || stderr != missing+": cannot read configuration: no such file or directory\n" {
		t.Errorf("missing file: exit %d, stderr %q", code, stderr)
	}
}

// The example in the docs must pass check-config.
func TestCheckConfigExample(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "examples", "gateway.toml")
	if code, stdout, stderr := runCmd(t, "check-config", path); code != 0 || stdout != path+": OK\n" {
		t.Errorf("check-config %s: exit %d, stdout %q, stderr:\n%s", path, code, stdout, stderr)
	}
}

// stubServe replaces serve for one test and records what it was called with.
func stubServe(t *testing.T, err error) (cfg **config.Config, logger **slog.Logger) {
	t.Helper()
	var gotCfg *config.Config
	var gotLogger *slog.Logger
	serveFunc = func(ctx context.Context, c *config.Config, l *slog.Logger) error {
		if ctx.Err() != nil {
			t.Error("serve got a context that is already done")
		}
		gotCfg, gotLogger = c, l
		return err
	}
	t.Cleanup(func() { serveFunc = serve })
	return &gotCfg, &gotLogger
}

func TestServeDefaults(t *testing.T) {
	cfg, logger := stubServe(t, nil)
	if code, _, stderr := runCmd(t); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if *cfg == nil || (*cfg).Listeners[0].Address != config.DefaultAddress || (*cfg).Realms[0].Name != config.DefaultRealm {
		t.Errorf("serve got %+v, want the defaults", *cfg)
	}
	if (*logger).Enabled(context.Background(), slog.LevelDebug) || !(*logger).Enabled(context.Background(), slog.LevelInfo) {
		t.Error("default logger should log info but not debug")
	}
}

func TestServeConfigAndListen(t *testing.T) {
	path := writeConfig(t, "[server]\nlog_level = \"debug\"\nlog_format = \"json\"\n\n[[listeners]]\nunix = \"g.sock\"\nwebsocket_path = \"/wamp\"\n")
	cfg, logger := stubServe(t, errors.New("port in use"))
	code, stdout, stderr := runCmd(t, "serve", "--config", path, "--listen", "127.0.0.1:0")
	if code != 1 {
		t.Errorf("serve failing: exit %d, want 1", code)
	}
	// The failure is logged in the configured format (JSON) to stderr.
	if stdout != "" || !strings.HasPrefix(stderr, `{"time":`) || !strings.Contains(stderr, `"msg":"gateway stopped","err":"port in use"`) {
		t.Errorf("stdout %q, stderr %q", stdout, stderr)
	}
	want := config.Listener{Address: "127.0.0.1:0", WebSocketPath: "/wamp"}
	if l := (*cfg).Listeners[0]; l != want {
		t.Errorf("listener = %+v, want %+v (--listen replaces the first listener's address)", l, want)
	}
	if !(*logger).Enabled(context.Background(), slog.LevelDebug) {
		t.Error("log_level = debug not applied")
	}
}

func TestServeBadConfig(t *testing.T) {
	cfg, _ := stubServe(t, nil)
	path := writeConfig(t, "[limits]\nping_interval = \"often\"\n")
	code, _, stderr := runCmd(t, "--config", path)
	if code != 1 || !strings.HasPrefix(stderr, path+`:2: limits.ping_interval: invalid duration "often"`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if *cfg != nil {
		t.Error("serve was called despite configuration errors")
	}
}

// --listen must not silently create a clash with another configured listener.
func TestServeListenClash(t *testing.T) {
	cfg, _ := stubServe(t, nil)
	path := writeConfig(t, "[[listeners]]\naddress = \"127.0.0.1:7000\"\n[[listeners]]\naddress = \"127.0.0.1:7001\"\n")
	code, _, stderr := runCmd(t, "--config", path, "--listen", "127.0.0.1:7001")
	if code != 1 || !strings.Contains(stderr, `listeners[1].address: address "127.0.0.1:7001" is already used by listeners[0]`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if *cfg != nil {
		t.Error("serve was called despite the clash")
	}
}
