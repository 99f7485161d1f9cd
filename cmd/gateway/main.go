// Command gateway runs the WAMP router and events gateway. See docs/CONFIG.md for its
// configuration file and `gateway help` for its commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/gateway-dev/gateway/internal/config"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; otherwise it comes from
// the module's build information.
var version = ""

// serveFunc is serve; tests replace it to observe what main passes on.
var serveFunc = serve

const usage = `Usage:
  gateway [serve] [--config FILE] [--listen ADDR]
  gateway check-config FILE
  gateway bench SCENARIO [flags]
  gateway version
  gateway help

Commands:
  serve          run the gateway (the default); SIGINT or SIGTERM shuts it down gracefully
  check-config   check a configuration file and list every problem in it
  bench          WAMP load generator: fanout, churn, rpc, idle (gateway bench -h)
  version        print the version
  help           print this help

Flags of serve:
  --config FILE  TOML configuration file; without it the built-in defaults are used
                 (ws://127.0.0.1:8080/ws and RawSocket on the same port, realm "realm1")
  --listen ADDR  TCP host:port for the first listener, replacing its configured address

Exit status: 0 on success, 1 on a configuration or runtime error, 2 on a usage error.
The configuration file is described in docs/CONFIG.md.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args (without the program name) and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(args, stdout, stderr)
	case "check-config":
		return runCheckConfig(args, stdout, stderr)
	case "bench":
		return runBench(args, stdout, stderr)
	case "ticket":
		return runTicket(args, stdout, stderr)
	case "version":
		if len(args) > 0 {
			return usageError(stderr, "version takes no arguments")
		}
		fmt.Fprintln(stdout, versionString())
		return 0
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		return usageError(stderr, fmt.Sprintf("unknown command %q", cmd))
	}
}

// usageError reports a command-line mistake with the usage text on stderr; exit status 2.
func usageError(stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "gateway: %s\n\n%s", msg, usage)
	return 2
}

// parseFlags parses args into fs. It returns -1 to go on, or the exit status when parsing ended
// the command (help requested, or a usage error).
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) int {
	fs.SetOutput(io.Discard) // errors and usage are printed here, in one format
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		return usageError(stderr, err.Error())
	}
	return -1
}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	configPath := fs.String("config", "", "configuration file")
	listen := fs.String("listen", "", "address of the first listener")
	if code := parseFlags(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(stderr, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	cfg := config.Default()
	if *configPath != "" {
		var err error
		if cfg, err = config.Load(*configPath); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	if *listen != "" {
		if err := cfg.SetListenAddress(*listen); err != nil {
			return usageError(stderr, "--listen: "+err.Error())
		}
		if err := cfg.Validate(); err != nil { // the new address may clash with another listener
			fmt.Fprintf(stderr, "after --listen %s:\n%v\n", *listen, err)
			return 1
		}
	}
	logger := newLogger(stderr, &cfg.Server)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serveFunc(ctx, cfg, logger); err != nil {
		logger.Error("gateway stopped", "err", err)
		return 1
	}
	return 0
}

func runCheckConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	if code := parseFlags(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		return usageError(stderr, "check-config needs exactly one FILE")
	}
	path := fs.Arg(0)
	if _, err := config.Load(path); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: OK\n", path)
	return 0
}

// newLogger builds the process logger from [server] log_level and log_format.
func newLogger(w io.Writer, s *config.Server) *slog.Logger {
	opts := &slog.HandlerOptions{Level: s.LogLevel}
	if s.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// versionString returns "gateway VERSION (GOVERSION OS/ARCH)".
func versionString() string {
	v := version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok {
			if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && v == "devel" {
					v += "+" + s.Value[:min(12, len(s.Value))]
				}
			}
		}
	}
	return fmt.Sprintf("gateway %s (%s %s/%s)", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
