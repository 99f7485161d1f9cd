// Command querybench prints the benchmark table of the query package's filter index (see
// docs/EVENTS.md). Run it on one core for the per-core figures:
//
//	go run ./internal/query/cmd/querybench -sizes 10000,100000,1000000
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/gateway-dev/gateway/internal/query/querybench"
)

func main() {
	sizes := flag.String("sizes", "10000,100000,1000000", "comma-separated subscription counts")
	mixes := flag.String("mixes", "channel,mixed,range", "comma-separated workloads: channel, mixed, range")
	procs := flag.Int("gomaxprocs", 1, "GOMAXPROCS for the run")
	matchTime := flag.Duration("match-time", 3*time.Second, "time spent matching through the index per run")
	maxEvents := flag.Int("events", 100000, "at most this many events through the index per run")
	naive := flag.Int("naive-events", 20, "events evaluated against every filter (and cross-checked) per run")
	celProgs := flag.Int("cel-programs", 2000, "cel-go programs in the cel-go sample")
	celEvents := flag.Int("cel-events", 50, "events evaluated by every cel-go program of the sample")
	churn := flag.Duration("churn-time", 5*time.Second, "churn run length (0: none)")
	churnPct := flag.Float64("churn-percent", 1, "subscriptions replaced per second, in percent")
	seed := flag.Uint64("seed", 1, "random seed")
	quiet := flag.Bool("q", false, "no progress lines on stderr")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "querybench:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	runtime.GOMAXPROCS(*procs)
	cfg := querybench.Config{MatchTime: *matchTime, MaxEvents: *maxEvents, NaiveEvents: *naive,
		CELPrograms: *celProgs, CELEvents: *celEvents, ChurnTime: *churn, ChurnPercent: *churnPct, Seed: *seed}
	if !*quiet {
		cfg.Log = os.Stderr
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "querybench: bad size %q\n", s)
			os.Exit(2)
		}
		cfg.Sizes = append(cfg.Sizes, n)
	}
	for _, m := range strings.Split(*mixes, ",") {
		cfg.Mixes = append(cfg.Mixes, querybench.Mix(strings.TrimSpace(m)))
	}
	results, err := querybench.Run(cfg)
	querybench.WriteTable(os.Stdout, results)
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "querybench:", err)
		os.Exit(1)
	}
}
