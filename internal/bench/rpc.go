package bench

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gateway-dev/gateway/wamp"
)

// rpcRun is an RPC run: callers keep a fixed number of calls in flight (closed loop) against
// callees that answer at once with the call's own argument.
type rpcRun struct {
	*runner
	procs    []string
	cur      atomic.Pointer[stepState] // delivered counts calls completed in the window
	stop     atomic.Bool               // no new calls
	inflight atomic.Int64
	errors   atomic.Uint64
	readers  sync.WaitGroup

	connMu sync.Mutex
	conns  []*conn // every connection opened, for closeAll

	errMu    sync.Mutex
	firstErr string
}

func (r *rpcRun) recordErr(format string, args ...any) {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	if r.firstErr == "" {
		r.firstErr = fmt.Sprintf(format, args...)
		r.logf("%s", r.firstErr)
	}
}

// caller is one caller connection.
type caller struct {
	id    int
	c     *conn
	slots int // calls it keeps in flight
	reqID wamp.ID
	seq   uint64
	buf   []byte
	msg   wamp.Call
}

func (r *runner) runRPC(ctx context.Context) error {
	o := r.o
	x := &rpcRun{runner: r}
	x.cur.Store(&stepState{winStart: math.MaxInt64, winEnd: math.MaxInt64})
	id := runID()
	nprocs := 1
	if o.DistinctProcedures {
		nprocs = o.Callees
	}
	for k := range nprocs {
		x.procs = append(x.procs, fmt.Sprintf("bench.%s.proc%d", id, k))
	}
	defer x.closeAll()

	// Callees first (all registered before the first call), then callers.
	callees := make([]*conn, o.Callees)
	callers := make([]*caller, o.Callers)
	r.logf("connecting %d callees and %d callers to %s", o.Callees, o.Callers, o.URL)
	setup, err := r.connectAll(ctx, o.Callees, true, func(ctx context.Context, k int) error {
		c, err := x.dialRole(ctx, k, "callee")
		if err != nil {
			return err
		}
		proc, opts := x.procs[0], wamp.Dict{"invoke": "roundrobin"}
		if o.DistinctProcedures {
			proc, opts = x.procs[k], wamp.Dict{}
		}
		if err := c.register(1, proc, opts); err != nil {
			return err
		}
		callees[k] = c
		return nil
	})
	if err == nil {
		var s2 *Setup
		s2, err = r.connectAll(ctx, o.Callers, true, func(ctx context.Context, j int) error {
			c, err := x.dialRole(ctx, o.Callees+j, "caller")
			if err != nil {
				return err
			}
			slots := o.InFlight / o.Callers
			if j < o.InFlight%o.Callers {
				slots++
			}
			callers[j] = &caller{id: j, c: c, slots: slots}
			return nil
		})
		setup.Connections += s2.Connections
		setup.Failures += s2.Failures
		setup.Seconds += s2.Seconds
		setup.PerSecond = float64(setup.Connections) / setup.Seconds
		setup.FirstError = s2.FirstError
	}
	r.report.Setup = setup
	if err != nil {
		return fmt.Errorf("setting up callees and callers: %w", err)
	}
	for _, c := range callees {
		x.readers.Add(1)
		go x.serveCallee(c)
	}

	t0 := time.Now()
	st := &stepState{winStart: t0.Add(o.Warmup).UnixNano(), winEnd: t0.Add(o.Warmup + o.Duration).UnixNano()}
	x.cur.Store(st)
	r.logf("calling with %d calls in flight for %s after %s warm-up", o.InFlight, o.Duration, o.Warmup)
	for _, cl := range callers {
		x.readers.Add(1)
		go x.runCaller(cl)
	}
	sleepUntil(ctx, time.Unix(0, st.winStart))
	a := r.snap()
	sleepUntil(ctx, time.Unix(0, st.winEnd))
	b := r.snap()
	x.stop.Store(true)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	deadline := time.Now().Add(o.Drain)
	for x.inflight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := x.inflight.Load(); n > 0 {
		r.warn("%d calls still unanswered %s after the window", n, o.Drain)
	}

	x.errMu.Lock()
	first := x.firstErr
	x.errMu.Unlock()
	res := &RPCResult{Callees: o.Callees, Callers: o.Callers, InFlight: o.InFlight, Procedures: len(x.procs),
		Calls: st.delivered.Load(), Errors: x.errors.Load(), FirstError: first, Latency: st.lat.Summary()}
	res.CallsPerS = float64(res.Calls) / o.Duration.Seconds()
	res.Server, res.Client, res.ClientLimited = r.cpuBetween(a, b, res.Calls)
	if s := res.Server; s != nil {
		cores := s.Cores
		if cores == 0 && s.Core != nil {
			cores = s.Core.Busy * float64(len(s.Core.Cores))
		}
		if cores > 0 {
			res.CallsPerServerCore = res.CallsPerS / cores
		}
	}
	if res.ClientLimited {
		r.warn("client CPU at %.0f%% of its %d core(s): the client, not the server, is the limit", 100*res.Client.Fraction, res.Client.Available)
	}
	if res.Errors > 0 {
		r.warn("%d calls failed (first: %s)", res.Errors, first)
	}
	r.report.RPC = res
	return nil
}

// dialRole connects connection i and joins with role; closeAll closes it.
func (x *rpcRun) dialRole(ctx context.Context, i int, role string) (*conn, error) {
	c, err := dial(ctx, x.t, x.localAddr(i))
	if err != nil {
		return nil, err
	}
	x.track(c)
	if _, err := c.join(role); err != nil {
		return nil, err
	}
	return c, nil
}

// track remembers c for closeAll.
func (x *rpcRun) track(c *conn) {
	x.connMu.Lock()
	x.conns = append(x.conns, c)
	x.connMu.Unlock()
}

func (x *rpcRun) closeAll() {
	x.stop.Store(true)
	x.connMu.Lock()
	defer x.connMu.Unlock()
	for _, c := range x.conns {
		c.close()
	}
	x.readers.Wait()
}

// serveCallee answers every INVOCATION with a YIELD that carries the call's marker back.
func (x *rpcRun) serveCallee(c *conn) {
	defer x.readers.Done()
	id := x.t.ser.ID()
	size := x.o.PayloadSize
	y := &wamp.Yield{Options: wamp.Dict{}, Args: wamp.List{""}}
	for {
		b, err := c.readMessage()
		if err != nil {
			if !c.closing.Load() {
				x.recordErr("callee lost its connection: %v", err)
			}
			return
		}
		if typ, req, ok := peekHead(id, b); ok && typ == uint64(wamp.INVOCATION) {
			y.Request = wamp.ID(req)
			y.Args[0] = ""
			if _, off, found := findMarker(b); found && off+size <= len(b) {
				y.Args[0] = string(b[off : off+size])
			}
			c.wmu.Lock()
			err := c.queueLocked(y)
			if err == nil && (c.buffered() == 0 || len(c.wbuf) >= flushAt) {
				err = c.flushLocked()
			}
			c.wmu.Unlock()
			if err != nil {
				if !c.closing.Load() {
					x.recordErr("callee: %v", err)
				}
				return
			}
			continue
		}
		m, err := x.t.ser.Decode(b)
		if err != nil {
			x.recordErr("callee: undecodable message from the router: %v", err)
			continue
		}
		switch m := m.(type) {
		case *wamp.Goodbye, *wamp.Abort:
			x.recordErr("router ended a callee's session: %v", m)
			c.close()
			return
		}
	}
}

// queueCall queues the next call of cl.
func (x *rpcRun) queueCall(cl *caller) error {
	cl.reqID++
	cl.buf = appendMarker(cl.buf[:0], marker{seq: cl.seq, intended: time.Now().UnixNano(), source: uint32(cl.id)}, x.o.PayloadSize)
	cl.msg.Request = cl.reqID
	cl.msg.Procedure = wamp.URI(x.procs[cl.seq%uint64(len(x.procs))])
	cl.msg.Args[0] = string(cl.buf)
	cl.seq++
	x.inflight.Add(1)
	return cl.c.queueLocked(&cl.msg)
}

// runCaller keeps cl.slots calls in flight until stop is set.
func (x *rpcRun) runCaller(cl *caller) {
	defer x.readers.Done()
	c := cl.c
	cl.msg = wamp.Call{Options: wamp.Dict{}, Args: wamp.List{""}}
	id := x.t.ser.ID()
	c.wmu.Lock()
	var err error
	for range cl.slots {
		if err = x.queueCall(cl); err != nil {
			break
		}
	}
	if err == nil {
		err = c.flushLocked()
	}
	c.wmu.Unlock()
	if err != nil {
		x.recordErr("caller %d: %v", cl.id, err)
		return
	}
	for {
		b, err := c.readMessage()
		if err != nil {
			if !c.closing.Load() {
				x.recordErr("caller %d lost its connection: %v", cl.id, err)
			}
			return
		}
		now := time.Now().UnixNano()
		typ, _, ok := peekHead(id, b)
		switch {
		case ok && typ == uint64(wamp.RESULT):
			if m, _, found := findMarker(b); found {
				if st := x.cur.Load(); now >= st.winStart && now < st.winEnd {
					st.delivered.Add(1)
					st.lat.Record(time.Duration(now - m.intended))
				}
			}
		case ok && typ == uint64(wamp.ERROR):
			x.errors.Add(1)
			if m, err := x.t.ser.Decode(b); err == nil {
				if e, ok := m.(*wamp.Error); ok {
					x.recordErr("CALL failed: %s %v", e.Error, e.Args)
				}
			}
		default:
			if m, err := x.t.ser.Decode(b); err == nil {
				switch m.(type) {
				case *wamp.Goodbye, *wamp.Abort:
					x.recordErr("router ended caller %d's session: %v", cl.id, m)
					c.close()
					return
				}
			}
			continue
		}
		x.inflight.Add(-1)
		c.wmu.Lock()
		err = nil
		if !x.stop.Load() {
			err = x.queueCall(cl)
		}
		if err == nil && (c.buffered() == 0 || len(c.wbuf) >= flushAt) {
			err = c.flushLocked()
		}
		c.wmu.Unlock()
		if err != nil {
			if !c.closing.Load() {
				x.recordErr("caller %d: %v", cl.id, err)
			}
			return
		}
	}
}
