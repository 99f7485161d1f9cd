package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc: 100 on every Linux architecture Go
// supports.
const clockTicks = 100

// parseProcStat returns utime+stime, in seconds, from the contents of /proc/PID/stat.
func parseProcStat(b []byte) (float64, error) {
	// The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc stat format")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 { // f[0] is field 3 (state); utime and stime are fields 14 and 15
		return 0, fmt.Errorf("unexpected /proc stat format: %d fields", len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc stat format: utime %q stime %q", f[11], f[12])
	}
	return float64(ut+st) / clockTicks, nil
}

// processCPU returns the CPU time (user+system, seconds) process pid has used.
func processCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading server CPU time: %w", err)
	}
	return parseProcStat(b)
}

// parseRSS returns VmRSS in bytes from the contents of /proc/PID/status.
func parseRSS(b []byte) (uint64, error) {
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseUint(f[0], 10, 64)
				if err == nil {
					return kb << 10, nil
				}
			}
			return 0, fmt.Errorf("unexpected VmRSS line %q", strings.TrimSpace(line))
		}
	}
	return 0, fmt.Errorf("no VmRSS line in /proc status")
}

// processRSS returns process pid's resident set size in bytes.
func processRSS(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading server RSS: %w", err)
	}
	return parseRSS(b)
}

// coreTimes are one CPU's cumulative times from /proc/stat, in seconds.
type coreTimes struct {
	user, nice, system, idle, iowait, irq, softirq, steal float64
}

func (c coreTimes) total() float64 {
	return c.user + c.nice + c.system + c.idle + c.iowait + c.irq + c.softirq + c.steal
}

func (c coreTimes) busy() float64 { return c.total() - c.idle - c.iowait }

func (c coreTimes) sub(o coreTimes) coreTimes {
	return coreTimes{c.user - o.user, c.nice - o.nice, c.system - o.system, c.idle - o.idle,
		c.iowait - o.iowait, c.irq - o.irq, c.softirq - o.softirq, c.steal - o.steal}
}

// parseCoreTimes returns the times of CPU core (or of all CPUs together when core < 0) from the
// contents of /proc/stat.
func parseCoreTimes(b []byte, core int) (coreTimes, error) {
	name := "cpu"
	if core >= 0 {
		name = "cpu" + strconv.Itoa(core)
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < 9 || f[0] != name {
			continue
		}
		var v [8]float64
		for i := range v {
			n, err := strconv.ParseUint(f[i+1], 10, 64)
			if err != nil {
				return coreTimes{}, fmt.Errorf("unexpected /proc/stat line %q", strings.TrimSpace(line))
			}
			v[i] = float64(n) / clockTicks
		}
		return coreTimes{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]}, nil
	}
	return coreTimes{}, fmt.Errorf("no %s line in /proc/stat", name)
}

func readCoreTimes(core int) (coreTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return coreTimes{}, err
	}
	return parseCoreTimes(b, core)
}

// selfCPU returns the CPU time (user+system, seconds) this process has used.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// goMem is the Go runtime's memory use read from a process's pprof endpoint after a forced GC.
type goMem struct {
	heapAlloc  uint64 // bytes of live heap objects
	stackInuse uint64 // bytes of goroutine stacks in use
	goroutines int    // -1 when unknown
}

// parseHeapProfile reads "# HeapAlloc = N" and "# Stack = INUSE / SYS" from a debug=1 heap profile.
func parseHeapProfile(r io.Reader) (goMem, error) {
	m := goMem{goroutines: -1}
	var haveHeap, haveStack bool
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "# HeapAlloc = "); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return m, fmt.Errorf("heap profile: bad HeapAlloc line %q", line)
			}
			m.heapAlloc, haveHeap = n, true
		}
		if v, ok := strings.CutPrefix(line, "# Stack = "); ok {
			inuse, _, _ := strings.Cut(v, "/")
			n, err := strconv.ParseUint(strings.TrimSpace(inuse), 10, 64)
			if err != nil {
				return m, fmt.Errorf("heap profile: bad Stack line %q", line)
			}
			m.stackInuse, haveStack = n, true
		}
	}
	if err := sc.Err(); err != nil {
		return m, fmt.Errorf("reading heap profile: %w", err)
	}
	if !haveHeap || !haveStack {
		return m, fmt.Errorf("heap profile has no HeapAlloc or Stack line (is it debug=1 output?)")
	}
	return m, nil
}

// parseGoroutineCount reads "goroutine profile: total N" from a debug=1 goroutine profile.
func parseGoroutineCount(r io.Reader) (int, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && line == "" {
		return 0, fmt.Errorf("reading goroutine profile: %w", err)
	}
	v, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutine profile: total ")
	if !ok {
		return 0, fmt.Errorf("unexpected goroutine profile header %q", strings.TrimSpace(line))
	}
	return strconv.Atoi(v)
}

// debugBase normalises a --server-debug value (host:port or http://host:port[/...]) to a URL
// without a trailing slash or /debug/pprof suffix.
func debugBase(s string) string {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	s = strings.TrimRight(s, "/")
	s = strings.TrimSuffix(s, "/debug/pprof")
	return strings.TrimRight(s, "/")
}

// debugClient reads the server's debug endpoint; no connection is kept between samples.
var debugClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}

// readGoMem forces a GC in the server and reads its heap, stack and goroutine count.
func readGoMem(ctx context.Context, base string) (goMem, error) {
	get := func(path string) (io.ReadCloser, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return nil, err
		}
		resp, err := debugClient.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("GET %s: %s", base+path, resp.Status)
		}
		return resp.Body, nil
	}
	body, err := get("/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return goMem{}, fmt.Errorf("reading server Go memory: %w", err)
	}
	m, err := parseHeapProfile(body)
	body.Close()
	if err != nil {
		return m, err
	}
	if body, err := get("/debug/pprof/goroutine?debug=1"); err == nil {
		if n, err := parseGoroutineCount(body); err == nil {
			m.goroutines = n
		}
		body.Close()
	}
	return m, nil
}

// availableCPUs is the number of CPUs this process may run on (its affinity mask).
func availableCPUs() int { return runtime.NumCPU() }
