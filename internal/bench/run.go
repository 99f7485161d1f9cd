package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// portsPerSourceIP is how many connections one loopback source address is given before the next
// one is used (the ephemeral port range here has about 28k ports).
const portsPerSourceIP = 20000

// runner holds what every scenario needs.
type runner struct {
	o        Options
	t        *target
	report   *Report
	progress io.Writer
	nsrc     int // source addresses in use (0 or 1: the default)
}

// Run executes the scenario described by o and returns its report. A run that could not be
// carried out (bad options, a router that refuses connections) returns an error; problems found
// by the measurement (losses, client limits) are in the report.
func Run(ctx context.Context, o Options) (*Report, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	t, err := parseTarget(o.URL, o.Serializer, o.Realm)
	if err != nil {
		return nil, err
	}
	t.readBuf, t.timeout = o.ReadBuffer, o.ConnectTimeout
	r := &runner{o: o, t: t, progress: o.Progress}
	if r.progress == nil {
		r.progress = io.Discard
	}
	r.report = &Report{Scenario: o.Scenario, URL: o.URL, Serializer: t.ser.Name(), Started: time.Now(), Options: o}
	if err := r.planConnections(); err != nil {
		return nil, err
	}
	switch o.Scenario {
	case Fanout, Churn:
		err = r.runFanout(ctx)
	case RPC:
		err = r.runRPC(ctx)
	case Idle:
		err = r.runIdle(ctx)
	case Webapp:
		err = r.runWebapp(ctx)
	}
	r.report.Elapsed = time.Since(r.report.Started)
	if err != nil {
		return nil, err
	}
	return r.report, nil
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.progress, "bench: "+format+"\n", args...)
}

func (r *runner) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.report.Warnings = append(r.report.Warnings, msg)
	r.logf("WARNING: %s", msg)
}

// connections returns how many connections the scenario opens.
func (r *runner) connections() int {
	switch r.o.Scenario {
	case RPC:
		return r.o.Callees + r.o.Callers
	case Webapp:
		return r.o.Subscribers + r.o.Concurrency
	default:
		return r.o.Subscribers + r.o.Publishers
	}
}

// planConnections checks the file descriptor limit and chooses the source addresses.
func (r *runner) planConnections() error {
	n := r.connections()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && uint64(n)+64 > lim.Cur {
		return fmt.Errorf("%d connections need more file descriptors than the limit of %d (ulimit -n)", n, lim.Cur)
	}
	r.nsrc = r.o.SourceIPs
	if r.nsrc == 0 && n > portsPerSourceIP {
		host, _, _ := net.SplitHostPort(r.t.addr)
		if ip := net.ParseIP(host); ip != nil && ip.To4() != nil && ip.IsLoopback() {
			r.nsrc = (n + portsPerSourceIP - 1) / portsPerSourceIP
		} else {
			r.warn("%d connections may exhaust the ephemeral ports of one source address; give --source-ips for a loopback router", n)
		}
	}
	return nil
}

// localAddr returns the source address of connection i, or nil for the default.
func (r *runner) localAddr(i int) *net.TCPAddr {
	if r.nsrc <= 1 {
		return nil
	}
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%r.nsrc))}
}

// connectAll runs setup(i) for i in [0, n) with at most ConnectConcurrency at once. It stops
// early when ctx ends. The returned Setup counts failures; err is the first failure when
// failuresFatal, else nil.
func (r *runner) connectAll(ctx context.Context, n int, failuresFatal bool, setup func(ctx context.Context, i int) error) (*Setup, error) {
	var (
		h        hist
		next     atomic.Int64
		failures atomic.Int64
		firstErr error
		mu       sync.Mutex
		wg       sync.WaitGroup
	)
	parent := ctx
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	start := time.Now()
	workers := min(r.o.ConnectConcurrency, n)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t := time.Now()
				err := setup(ctx, i)
				if err == nil {
					h.Record(time.Since(t))
					continue
				}
				failures.Add(1)
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("connection %d: %w", i, err)
				}
				mu.Unlock()
				if failuresFatal {
					cancel()
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
wait:
	for {
		select {
		case <-done:
			break wait
		case <-tick.C:
			r.logf("connecting: %d of %d", min(int(next.Load()), n), n)
		}
	}
	el := time.Since(start)
	s := &Setup{Connections: n - int(failures.Load()), Failures: int(failures.Load()), Seconds: el.Seconds(),
		SourceIPs: r.nsrc, Latency: h.Summary()}
	if el > 0 {
		s.PerSecond = float64(s.Connections) / el.Seconds()
	}
	if firstErr != nil {
		s.FirstError = firstErr.Error()
	}
	if err := parent.Err(); err != nil {
		return s, fmt.Errorf("connecting interrupted: %w", err)
	}
	if failuresFatal && firstErr != nil {
		return s, firstErr
	}
	return s, nil
}

// cpuSnap is a snapshot of the CPU counters used for a measured window.
type cpuSnap struct {
	wall   time.Time
	self   float64
	server float64 // -1 when not read
	cores  coreTimes
	coreOK bool
}

func (r *runner) snap() cpuSnap {
	s := cpuSnap{wall: time.Now(), self: selfCPU(), server: -1}
	if r.o.ServerPID > 0 {
		if v, err := processCPU(r.o.ServerPID); err == nil {
			s.server = v
		} else {
			r.warn("%v", err)
		}
	}
	if len(r.o.ServerCores) > 0 {
		var sum coreTimes
		s.coreOK = true
		for _, c := range r.o.ServerCores {
			t, err := readCoreTimes(c)
			if err != nil {
				r.warn("reading /proc/stat: %v", err)
				s.coreOK = false
				break
			}
			sum = coreTimes{sum.user + t.user, sum.nice + t.nice, sum.system + t.system, sum.idle + t.idle,
				sum.iowait + t.iowait, sum.irq + t.irq, sum.softirq + t.softirq, sum.steal + t.steal}
		}
		s.cores = sum
	}
	return s
}

// cpuBetween computes the server's and the client's CPU use between two snapshots; ops is the
// number of deliveries or calls in the window.
func (r *runner) cpuBetween(a, b cpuSnap, ops uint64) (*ServerCPU, ClientCPU, bool) {
	wall := b.wall.Sub(a.wall).Seconds()
	cl := ClientCPU{Available: availableCPUs()}
	if wall > 0 {
		cl.Cores = (b.self - a.self) / wall
		cl.Fraction = cl.Cores / float64(cl.Available)
	}
	var srv *ServerCPU
	if a.server >= 0 && b.server >= 0 && wall > 0 {
		srv = &ServerCPU{PID: r.o.ServerPID, Seconds: b.server - a.server}
		srv.Cores = srv.Seconds / wall
		if ops > 0 {
			srv.USPerOp = srv.Seconds * 1e6 / float64(ops)
		}
	}
	if a.coreOK && b.coreOK {
		d := b.cores.sub(a.cores)
		if tot := d.total(); tot > 0 {
			if srv == nil {
				srv = &ServerCPU{}
			}
			cb := &CoreBusy{Cores: r.o.ServerCores, Busy: d.busy() / tot, User: (d.user + d.nice) / tot,
				System: (d.system + d.irq) / tot, Softirq: d.softirq / tot, Steal: d.steal / tot}
			if ops > 0 {
				cb.USPerOp = d.busy() * 1e6 / float64(ops)
			}
			srv.Core = cb
		}
	}
	return srv, cl, cl.Fraction >= clientLimitFraction
}

// sleepUntil sleeps until t or until ctx ends; it reports whether t was reached.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
