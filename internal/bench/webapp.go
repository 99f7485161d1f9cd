package bench

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// webappRequestTimeout bounds one publish request (send to answer).
const webappRequestTimeout = 30 * time.Second

// webappRun is a Webapp run: closed-loop publishers through a web-app representative, WAMP
// subscribers that count what they receive.
type webappRun struct {
	*runner
	client  webappClient
	engine  engine
	subs    []*webappSub
	workers []*webappWorker
	cur     atomic.Pointer[stepState] // lat: delivery latency; ack: publish latency

	stop     atomic.Bool   // no new requests
	answered atomic.Uint64 // publish answers received in the window
	errors   atomic.Uint64
	errMu    sync.Mutex
	firstErr string
}

// webappWorker is one publisher: one request in flight at a time. Its publications carry
// sequence numbers 0, 1, 2, ...; a number is used again after a failed request, so the
// acknowledged publications are exactly 0 .. acked-1.
type webappWorker struct {
	id     int
	acked  atomic.Uint64 // acknowledged publications, the next sequence number (written by the worker)
	mark   []byte        // the marker being sent
	body   []byte        // the request body (the client's)
	answer []byte        // the answer (the client's)
}

// webappSub is one subscriber's counters: written by its reader, read by the coordinator.
type webappSub struct {
	idx int
	got []atomic.Uint64 // per worker: distinct sequence numbers received
	hi  []atomic.Uint64 // per worker: highest sequence number received + 1

	deliveries, dups, reorders, unmarked atomic.Uint64
	disconnected                         atomic.Bool
}

func newWebappSub(idx, workers int) *webappSub {
	return &webappSub{idx: idx, got: make([]atomic.Uint64, workers), hi: make([]atomic.Uint64, workers)}
}

// missing returns how many acknowledged publications (acked[w] of worker w) s has not received.
// A publication whose request failed after the gateway had taken it may arrive too; it carries the
// number acked[w] (the next one), is not acknowledged, and is not counted.
func (s *webappSub) missing(acked []uint64) uint64 {
	var m uint64
	for w, a := range acked {
		got := s.got[w].Load()
		if s.hi[w].Load() > a && got > 0 {
			got--
		}
		if got < a {
			m += a - got
		}
	}
	return m
}

func (x *webappRun) recordErr(format string, args ...any) {
	x.errMu.Lock()
	defer x.errMu.Unlock()
	if x.firstErr == "" {
		x.firstErr = fmt.Sprintf(format, args...)
		x.logf("%s", x.firstErr)
	}
}

func (r *runner) runWebapp(ctx context.Context) error {
	o := r.o
	x := &webappRun{runner: r}
	x.cur.Store(&stepState{winStart: math.MaxInt64, winEnd: math.MaxInt64})
	var err error
	if x.engine, err = newEngine(o.Engine); err != nil {
		return err
	}
	defer x.engine.close()
	if x.client, err = newWebappClient(ctx, o); err != nil {
		return err
	}
	defer x.client.close()
	for i := range o.Concurrency {
		x.workers = append(x.workers, &webappWorker{id: i})
	}
	if o.Subscribers > 0 {
		x.subs = make([]*webappSub, o.Subscribers)
		r.logf("connecting %d subscribers to %s (%d at a time)", o.Subscribers, o.URL, o.ConnectConcurrency)
		setup, err := r.connectAll(ctx, o.Subscribers, true, func(ctx context.Context, i int) error {
			s := newWebappSub(i, o.Concurrency)
			x.subs[i] = s
			return x.connectSubscriber(ctx, s)
		})
		r.report.Setup = setup
		if err != nil {
			return fmt.Errorf("setting up subscribers: %w", err)
		}
		r.logf("%d subscribers ready in %.2fs", o.Subscribers, setup.Seconds)
	}
	// One request first: a representative that does not answer fails the run at once.
	if err := x.probe(ctx); err != nil {
		return err
	}
	res, err := x.measure(ctx)
	if err != nil {
		return err
	}
	r.report.Webapp = res
	return nil
}

// connectSubscriber connects, joins and subscribes s, then hands its connection to the engine.
func (x *webappRun) connectSubscriber(ctx context.Context, s *webappSub) error {
	c, err := dial(ctx, x.t, x.localAddr(s.idx))
	if err != nil {
		return err
	}
	if _, err := c.join("subscriber"); err != nil {
		c.nc.Close()
		return err
	}
	if err := c.subscribe(1, x.o.Topic); err != nil {
		c.nc.Close()
		return err
	}
	rd := &webappReader{x: x, s: s, trackers: make([]seqTracker, x.o.Concurrency), every: uint64(x.o.SampleEvery)}
	for i := range rd.trackers {
		rd.trackers[i] = newSeqTracker(false)
	}
	return x.engine.add(c, rd)
}

// probe sends worker 0's first publication and waits for its answer, trying again for up to
// ConnectTimeout while the representative is not ready (a gateway that has just started may not
// have subscribed to NATS yet).
func (x *webappRun) probe(ctx context.Context) error {
	x.logf("probing %s", x.client.target())
	w := x.workers[0]
	deadline := time.Now().Add(x.o.ConnectTimeout)
	for {
		w.mark = appendMarker(w.mark[:0], marker{seq: 0, intended: time.Now().UnixNano(), source: 0}, x.o.PayloadSize)
		rctx, cancel := context.WithTimeout(ctx, min(webappRequestTimeout, x.o.ConnectTimeout))
		_, err := x.client.publish(rctx, w, w.mark)
		cancel()
		if err == nil {
			w.acked.Store(1)
			return nil
		}
		if time.Now().After(deadline) || !sleepUntil(ctx, time.Now().Add(100*time.Millisecond)) {
			return fmt.Errorf("the first publish request through %s failed: %w", x.client.target(), err)
		}
	}
}

// work is one publisher's loop: send, wait for the answer, repeat, until stop (or, with a rate,
// until the schedule ends at end).
func (x *webappRun) work(ctx context.Context, w *webappWorker, sched *schedule, next *atomic.Uint64, end time.Time, lag *hist) {
	streak := 0
	for !x.stop.Load() && ctx.Err() == nil {
		if sched != nil {
			due := sched.due(next.Add(1) - 1)
			if !due.Before(end) || !sleepUntil(ctx, due) {
				return
			}
			lag.Record(time.Since(due))
		}
		seq := w.acked.Load()
		sent := time.Now()
		w.mark = appendMarker(w.mark[:0], marker{seq: seq, intended: sent.UnixNano(), source: uint32(w.id)}, x.o.PayloadSize)
		rctx, cancel := context.WithTimeout(ctx, webappRequestTimeout)
		_, err := x.client.publish(rctx, w, w.mark)
		cancel()
		now := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			x.errors.Add(1)
			x.recordErr("publisher %d: %v", w.id, err)
			streak++
			sleepUntil(ctx, now.Add(min(time.Duration(streak)*10*time.Millisecond, time.Second)))
			continue
		}
		streak = 0
		w.acked.Store(seq + 1)
		st := x.cur.Load()
		if t := sent.UnixNano(); t >= st.winStart && t < st.winEnd {
			st.ack.Record(now.Sub(sent))
		}
		if t := now.UnixNano(); t >= st.winStart && t < st.winEnd {
			x.answered.Add(1)
		}
	}
}

// measure runs the publishers through the warm-up and the window, stops them, waits for the
// deliveries and tallies.
func (x *webappRun) measure(ctx context.Context) (*WebappResult, error) {
	o := x.o
	t0 := time.Now().Add(20 * time.Millisecond)
	st := &stepState{winStart: t0.Add(o.Warmup).UnixNano(), winEnd: t0.Add(o.Warmup + o.Duration).UnixNano()}
	x.cur.Store(st)
	end := time.Unix(0, st.winEnd)
	var (
		sched *schedule
		next  atomic.Uint64
		lag   hist
		wg    sync.WaitGroup
	)
	mode := "closed loop"
	if o.Rate > 0 {
		sched = &schedule{t0: t0, rate: o.Rate}
		mode = fmt.Sprintf("%g publications/s", o.Rate)
	}
	x.logf("%d publishers (%s) through %s, %d subscribers; window %s after %s warm-up",
		o.Concurrency, mode, x.client.target(), len(x.subs), o.Duration, o.Warmup)
	for _, w := range x.workers {
		wg.Add(1)
		go func() { defer wg.Done(); x.work(ctx, w, sched, &next, end, &lag) }()
	}
	sleepUntil(ctx, time.Unix(0, st.winStart))
	a := x.snap()
	tick := time.NewTicker(time.Second)
	prev, prevT := x.answered.Load(), time.Now()
	for ctx.Err() == nil && time.Now().Before(end) {
		select {
		case <-tick.C:
			n, now := x.answered.Load(), time.Now()
			x.logf("publishing: %s/s, %d errors", fmtRate(float64(n-prev)/now.Sub(prevT).Seconds()), x.errors.Load())
			prev, prevT = n, now
		case <-time.After(time.Until(end)):
		case <-ctx.Done():
		}
	}
	tick.Stop()
	b := x.snap()
	x.stop.Store(true)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("interrupted: %w", err)
	}
	acked := make([]uint64, len(x.workers))
	for i, w := range x.workers {
		acked[i] = w.acked.Load()
	}
	drainStart := time.Now()
	for x.missingLive(acked) > 0 && time.Since(drainStart) < o.Drain && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	res := &WebappResult{
		Transport: o.Transport, Target: x.client.target(), Topic: o.Topic, Concurrency: o.Concurrency,
		Rate: o.Rate, Subscribers: len(x.subs), WarmupS: o.Warmup.Seconds(), WindowS: o.Duration.Seconds(),
		Publishes: x.answered.Load(), Errors: x.errors.Load(), Latency: st.ack.Summary(),
		Deliveries: st.delivered.Load(), DeliveryLatency: st.lat.Summary(),
		DrainedInS: time.Since(drainStart).Seconds(),
	}
	if sched != nil {
		res.SendLag = lag.Summary()
	}
	res.PublishesPerS = float64(res.Publishes) / o.Duration.Seconds()
	res.DeliveriesPerS = float64(res.Deliveries) / o.Duration.Seconds()
	x.errMu.Lock()
	res.FirstError = x.firstErr
	x.errMu.Unlock()
	res.tally(x.subs, acked)
	res.Server, res.Client, res.ClientLimited = x.cpuBetween(a, b, res.Publishes)
	if s := res.Server; s != nil && s.Cores > 0 {
		res.PublishesPerServerCore = res.PublishesPerS / s.Cores
	}
	res.judge()
	x.logf("%s: %s publishes/s, p99 %s, %s deliveries/s, lost %d, errors %d: %s", o.Transport,
		fmtRate(res.PublishesPerS), fmtMS(latP99(res.Latency)), fmtRate(res.DeliveriesPerS), res.Lost, res.Errors, res.verdict())
	return res, nil
}

// missingLive returns the publications the connected subscribers still lack.
func (x *webappRun) missingLive(acked []uint64) uint64 {
	var m uint64
	for _, s := range x.subs {
		if !s.disconnected.Load() {
			m += s.missing(acked)
		}
	}
	return m
}

// tally counts, per subscriber, what it received of the acknowledged publications (acked[w] of
// worker w).
func (res *WebappResult) tally(subs []*webappSub, acked []uint64) {
	var total uint64
	for _, a := range acked {
		total += a
	}
	res.Acknowledged = total
	for _, s := range subs {
		res.Expected += total
		m := s.missing(acked)
		res.Received += total - m
		res.Lost += m
		if m > 0 {
			res.SubscribersWithLoss++
		}
		res.Duplicates += s.dups.Load()
		res.Reorders += s.reorders.Load()
		res.Unmarked += s.unmarked.Load()
		if s.disconnected.Load() {
			res.Disconnected++
		}
	}
}

// judge decides whether the run passed: every request answered, every acknowledged publication
// received once and in order by every subscriber.
func (res *WebappResult) judge() {
	var why []string
	if res.Publishes == 0 {
		why = append(why, "no publish answered in the window")
	}
	if res.Errors > 0 {
		why = append(why, fmt.Sprintf("%d publish requests failed", res.Errors))
	}
	if res.Lost > 0 {
		why = append(why, fmt.Sprintf("%d deliveries lost (%d subscribers)", res.Lost, res.SubscribersWithLoss))
	}
	if res.Duplicates+res.Reorders > 0 {
		why = append(why, fmt.Sprintf("%d duplicates, %d reorders", res.Duplicates, res.Reorders))
	}
	if res.Disconnected > 0 {
		why = append(why, fmt.Sprintf("%d subscribers disconnected", res.Disconnected))
	}
	res.Pass, res.Failure = len(why) == 0, joinReasons(why)
}

func (res *WebappResult) verdict() string {
	if res.Pass {
		return "pass"
	}
	return "FAIL: " + res.Failure
}
