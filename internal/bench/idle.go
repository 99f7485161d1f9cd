package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// memSample reads the server's memory: Go heap and stacks after a forced GC (when ServerDebug is
// set), then RSS (when ServerPID is set). It returns nil when neither is configured.
func (r *runner) memSample(ctx context.Context) *MemSample {
	if r.o.ServerDebug == "" && r.o.ServerPID == 0 {
		return nil
	}
	m := &MemSample{}
	if r.o.ServerDebug != "" {
		g, err := readGoMem(ctx, debugBase(r.o.ServerDebug))
		if err != nil {
			r.warn("%v", err)
		} else {
			m.HeapAlloc, m.StackInuse, m.Goroutines = g.heapAlloc, g.stackInuse, g.goroutines
		}
	}
	if r.o.ServerPID > 0 {
		rss, err := processRSS(r.o.ServerPID)
		if err != nil {
			r.warn("%v", err)
		}
		m.RSS = rss
	}
	return m
}

func perConnKiB(after, before uint64, n int) float64 {
	return (float64(after) - float64(before)) / float64(n) / 1024
}

// idleHandler reads idle connections: nothing but pings (answered by the connection) is expected.
type idleHandler struct{ disconnected atomic.Int64 }

func (h *idleHandler) message([]byte, int64) bool { return true }
func (h *idleHandler) failed(error)               { h.disconnected.Add(1) }

func (r *runner) runIdle(ctx context.Context) error {
	o := r.o
	id := runID()
	base := r.memSample(ctx)
	eng, err := newEngine(o.Engine)
	if err != nil {
		return err
	}
	defer eng.close()
	h := &idleHandler{}
	r.logf("connecting %d idle subscribers to %s (%d at a time)", o.Subscribers, o.URL, o.ConnectConcurrency)
	setup, err := r.connectAll(ctx, o.Subscribers, false, func(ctx context.Context, i int) error {
		c, err := dial(ctx, r.t, r.localAddr(i))
		if err != nil {
			return err
		}
		if _, err = c.join("subscriber"); err == nil {
			err = c.subscribe(1, fmt.Sprintf("bench.%s.topic%d", id, i%o.Topics))
		}
		if err == nil {
			err = eng.add(c, h)
		}
		if err != nil {
			c.nc.Close()
			return err
		}
		return nil
	})
	r.report.Setup = setup
	if err != nil {
		return err
	}
	if setup.Failures > 0 {
		r.warn("%d of %d connections failed (first: %s)", setup.Failures, o.Subscribers, setup.FirstError)
	}
	n := setup.Connections
	if n == 0 {
		return fmt.Errorf("no connection succeeded: %s", setup.FirstError)
	}
	r.logf("%d connections up in %.2fs; settling for %s, then holding for %s", n, setup.Seconds, o.Warmup, o.Duration)
	if !sleepUntil(ctx, time.Now().Add(o.Warmup)) {
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	a := r.snap()
	var maxRSS uint64
	end := time.Now().Add(o.Duration)
	for time.Now().Before(end) {
		if o.ServerPID > 0 {
			if rss, err := processRSS(o.ServerPID); err == nil {
				maxRSS = max(maxRSS, rss)
			}
		}
		next := time.Now().Add(time.Second)
		if next.After(end) {
			next = end
		}
		if !sleepUntil(ctx, next) {
			return fmt.Errorf("interrupted: %w", ctx.Err())
		}
	}
	b := r.snap()
	loaded := r.memSample(ctx)

	res := &IdleResult{Connections: n, Baseline: base, Loaded: loaded, DisconnectedWhileHeld: int(h.disconnected.Load())}
	if base != nil && loaded != nil {
		if loaded.RSS > 0 {
			res.RSSPerConnKiB = perConnKiB(loaded.RSS, base.RSS, n)
			res.RSSMaxPerConnKiB = perConnKiB(max(maxRSS, loaded.RSS), base.RSS, n)
		}
		if loaded.HeapAlloc > 0 {
			res.HeapPerConnKiB = perConnKiB(loaded.HeapAlloc, base.HeapAlloc, n)
			res.StackPerConnKiB = perConnKiB(loaded.StackInuse, base.StackInuse, n)
			res.HeapStackPerConnKiB = res.HeapPerConnKiB + res.StackPerConnKiB
		}
		if loaded.Goroutines > 0 && base.Goroutines > 0 {
			res.GoroutinesPerConn = float64(loaded.Goroutines-base.Goroutines) / float64(n)
		}
	}
	if srv, _, _ := r.cpuBetween(a, b, 0); srv != nil && srv.PID != 0 {
		res.IdleCPUUSPerConnPerS = srv.Seconds * 1e6 / float64(n) / b.wall.Sub(a.wall).Seconds()
	}
	if res.DisconnectedWhileHeld > 0 {
		r.warn("%d connections were closed by the router while held", res.DisconnectedWhileHeld)
	}
	r.report.Idle = res
	return nil
}
