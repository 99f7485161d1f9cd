// Package host reads what benchmark harnesses (bench/compare, bench/webapp) need to know about this
// machine and its processes: free ports, whether a server listens, how busy the CPUs are, CPU
// profiles from a server's pprof endpoint, the repository's revision.
package host

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPUProfile saves a CPU profile of seconds from the gateway's pprof endpoint to path.
func CPUProfile(ctx context.Context, debug string, seconds int, path string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(seconds+30)*time.Second)
	defer cancel()
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", debug, seconds)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("saving %s: %w", path, err)
	}
	return f.Close()
}

// FreePort returns a TCP port on 127.0.0.1 nobody listens on right now.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func Ready(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// procStatBusy returns the busy and total jiffies of all CPUs from /proc/stat.
func procStatBusy() (busy, total float64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, errors.New("unexpected /proc/stat")
	}
	var v [8]float64
	for i := range v {
		v[i], _ = strconv.ParseFloat(f[i+1], 64)
		total += v[i]
	}
	return total - v[3] - v[4], total, nil
}

// MachineBusy returns the share of all CPUs that was busy over d.
func MachineBusy(d time.Duration) float64 {
	b1, t1, err := procStatBusy()
	if err != nil {
		return 0
	}
	time.Sleep(d)
	b2, t2, err := procStatBusy()
	if err != nil || t2 <= t1 {
		return 0
	}
	return (b2 - b1) / (t2 - t1)
}

// WaitQuiet waits until the machine is at most threshold busy over one second, or maxWait passed;
// it returns the last busy share measured.
func WaitQuiet(ctx context.Context, threshold float64, maxWait time.Duration, logf func(format string, args ...any)) float64 {
	deadline := time.Now().Add(maxWait)
	for {
		b := MachineBusy(time.Second)
		if b <= threshold || time.Now().After(deadline) || ctx.Err() != nil {
			return b
		}
		logf("machine %.0f%% busy (other work); waiting for a quiet moment", 100*b)
	}
}

// ReadFirstLine returns the first line of a file with the given prefix, without the prefix.
func ReadFirstLine(path, prefix string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			return strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(v), ":"))
		}
	}
	return ""
}

func FileText(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Revision returns the gateway's git revision, marked "+dirty" with uncommitted changes.
func Revision(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		rev += "+dirty"
	}
	return rev
}

// Machine describes where a benchmark ran, for its report.
type Machine struct {
	Revision   string `json:"gateway_revision"`
	CPUs       int    `json:"cpus"`
	CPUModel   string `json:"cpu_model"`
	Kernel     string `json:"kernel"`
	GoVersion  string `json:"go_version"`
	Pinned     bool   `json:"pinned"`
	ServerCore int    `json:"server_core"`
	ClientCore int    `json:"client_core"`
}

// Describe reads this machine's description; root is the repository (for its revision).
func Describe(root string, cpus int, pinned bool, serverCore, clientCore int) Machine {
	return Machine{
		Revision: Revision(root), CPUs: cpus, CPUModel: ReadFirstLine("/proc/cpuinfo", "model name"),
		Kernel: FileText("/proc/sys/kernel/osrelease"), GoVersion: runtime.Version(),
		Pinned: pinned, ServerCore: serverCore, ClientCore: clientCore,
	}
}

// Taskset returns argv prefixed with "taskset -c core" when pinned, else argv.
func Taskset(pinned bool, core int, argv ...string) []string {
	if !pinned {
		return argv
	}
	return append([]string{"taskset", "-c", strconv.Itoa(core)}, argv...)
}

// Process is a server started for a benchmark, its output going to a log file.
type Process struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan error
}

// Start runs argv (already prefixed by Taskset when pinned) with GOMAXPROCS=1, its output appended
// to logPath, and waits until every address in ready accepts connections (within 15 s). name says
// what it is in errors.
func Start(ctx context.Context, name string, argv []string, logPath string, ready ...string) (*Process, error) {
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the %s log: %w", name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Process{cmd: cmd, log: lf, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		up := true
		for _, addr := range ready {
			up = up && Ready(addr)
		}
		if up {
			return p, nil
		}
		select {
		case err := <-p.done:
			lf.Close()
			return nil, fmt.Errorf("%s exited at start (%v); see %s", name, err, logPath)
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("%s did not start listening on %v within 15s; see %s", name, ready, logPath)
		}
	}
}

// PID is the process's ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Stop ends the process: SIGTERM, then SIGKILL after 10 s.
func (p *Process) Stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
	p.log.Close()
}
