package bench

import (
	"os"
	"strings"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	// The command name may hold spaces and parentheses.
	stat := "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 123 456 789"
	got, err := parseProcStat([]byte(stat))
	if err != nil || got != 3.25 {
		t.Errorf("parseProcStat = %v, %v; want 3.25s", got, err)
	}
	if _, err := parseProcStat([]byte("4242 (x) S 1 2")); err == nil {
		t.Error("a short stat line was accepted")
	}
	// This process's own line parses.
	if _, err := processCPU(os.Getpid()); err != nil {
		t.Error(err)
	}
}

func TestParseRSS(t *testing.T) {
	status := "Name:\tgateway\nVmPeak:\t  99999 kB\nVmRSS:\t   12345 kB\nThreads:\t5\n"
	if got, err := parseRSS([]byte(status)); err != nil || got != 12345*1024 {
		t.Errorf("parseRSS = %d, %v", got, err)
	}
	if _, err := parseRSS([]byte("Name:\tx\n")); err == nil {
		t.Error("a status without VmRSS was accepted")
	}
	if rss, err := processRSS(os.Getpid()); err != nil || rss == 0 {
		t.Errorf("own RSS = %d, %v", rss, err)
	}
}

func TestParseCoreTimes(t *testing.T) {
	stat := "cpu  300 0 100 1000 10 0 50 5 0 0\ncpu0 100 0 50 500 5 0 20 1 0 0\ncpu1 200 0 50 500 5 0 30 4 0 0\nintr 1\n"
	c1, err := parseCoreTimes([]byte(stat), 1)
	if err != nil {
		t.Fatal(err)
	}
	if c1.user != 2 || c1.system != 0.5 || c1.idle != 5 || c1.softirq != 0.3 || c1.steal != 0.04 {
		t.Errorf("cpu1 = %+v", c1)
	}
	if busy := c1.busy(); busy < 2.839 || busy > 2.841 { // 2 + 0.5 + 0.3 + 0.04
		t.Errorf("cpu1 busy = %v, want 2.84", busy)
	}
	all, err := parseCoreTimes([]byte(stat), -1)
	if err != nil || all.user != 3 {
		t.Errorf("all CPUs = %+v, %v", all, err)
	}
	if _, err := parseCoreTimes([]byte(stat), 7); err == nil {
		t.Error("a missing core was found")
	}
}

func TestParseHeapProfileAndGoroutines(t *testing.T) {
	prof := "heap profile: 1: 2 [3: 4] @ heap/1048576\n1: 2 [3: 4] @ 0x1\n\n# runtime.MemStats\n# Alloc = 111\n# HeapAlloc = 5000\n# HeapSys = 9\n# Stack = 65536 / 131072\n# MSpan = 1 / 2\n"
	m, err := parseHeapProfile(strings.NewReader(prof))
	if err != nil || m.heapAlloc != 5000 || m.stackInuse != 65536 {
		t.Errorf("parseHeapProfile = %+v, %v", m, err)
	}
	if _, err := parseHeapProfile(strings.NewReader("heap profile: binary?")); err == nil {
		t.Error("a profile without MemStats was accepted")
	}
	n, err := parseGoroutineCount(strings.NewReader("goroutine profile: total 15007\n5000 @ 0x1\n"))
	if err != nil || n != 15007 {
		t.Errorf("parseGoroutineCount = %d, %v", n, err)
	}
}

func TestDebugBase(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:6060":                         "http://127.0.0.1:6060",
		"http://127.0.0.1:6060/":                 "http://127.0.0.1:6060",
		"http://127.0.0.1:6060/debug/pprof/":     "http://127.0.0.1:6060",
		"https://example.com:8443/x/debug/pprof": "https://example.com:8443/x",
	} {
		if got := debugBase(in); got != want {
			t.Errorf("debugBase(%q) = %q, want %q", in, got, want)
		}
	}
}
