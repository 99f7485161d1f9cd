package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gateway-dev/gateway/wamp"
)

// ackRing is the number of publications whose send time a publisher remembers for the
// acknowledgement latency (request id modulo ackRing).
const ackRing = 1 << 16

// flushAt is how many bytes a late publisher queues before it writes them.
const flushAt = 32 << 10

// stepState is the measured window of the running step. Every subscriber reads it per delivery.
type stepState struct {
	winStart, winEnd int64 // unix ns: deliveries received in [winStart, winEnd) count for throughput,
	// publications due in it for latency
	delivered atomic.Uint64
	lat       hist // delivery latency from the due time
	ack       hist // PUBLISHED latency from the send time
}

// subscriber is one subscriber connection and its counters. Counters are written by the
// connection's reader goroutine and read by the coordinator.
type subscriber struct {
	idx, topic int
	conn       atomic.Pointer[conn]

	deliveries, distinct, dups, reorders, unmarked atomic.Uint64
	churned                                        atomic.Bool // disconnected on purpose at least once
	disconnected                                   atomic.Bool // the router ended its connection
	busy                                           atomic.Bool // being reconnected

	// Values at the end of the previous step (coordinator only).
	prevMissing, prevDups, prevReorders, prevUnmarked uint64
	prevDisconnected                                  bool
}

// publisher is one publisher connection.
type publisher struct {
	id        int
	c         *conn
	sent      []uint64 // per topic: publications so far, the next sequence number (sending goroutine)
	reqID     wamp.ID
	sendTimes []atomic.Int64 // unix ns by request id modulo ackRing, for acknowledge=true
	errors    atomic.Uint64
	buf       []byte
}

// fanoutRun is a Fanout or Churn run.
type fanoutRun struct {
	*runner
	topics  []string
	subs    []*subscriber
	pubs    []*publisher
	cur     atomic.Pointer[stepState]
	engine  engine         // reads the subscribers
	readers sync.WaitGroup // publisher readers

	errMu    sync.Mutex
	firstErr string // first unexpected subscriber or publisher failure
	pubDead  atomic.Bool

	churn *churner
}

func (f *fanoutRun) recordErr(format string, args ...any) {
	f.errMu.Lock()
	defer f.errMu.Unlock()
	if f.firstErr == "" {
		f.firstErr = fmt.Sprintf(format, args...)
		f.logf("%s", f.firstErr)
	}
}

// runID returns a short random id that keeps the URIs of concurrent runs apart.
func runID() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (r *runner) runFanout(ctx context.Context) error {
	o := r.o
	f := &fanoutRun{runner: r}
	id := runID()
	for k := range o.Topics {
		f.topics = append(f.topics, fmt.Sprintf("bench.%s.topic%d", id, k))
	}
	f.cur.Store(&stepState{winStart: math.MaxInt64, winEnd: math.MaxInt64})
	var err error
	if f.engine, err = newEngine(o.Engine); err != nil {
		return err
	}
	defer f.closeAll()

	f.subs = make([]*subscriber, o.Subscribers)
	for i := range f.subs {
		f.subs[i] = &subscriber{idx: i, topic: i % o.Topics}
	}
	r.logf("connecting %d subscribers to %s (%d at a time)", o.Subscribers, o.URL, o.ConnectConcurrency)
	setup, err := r.connectAll(ctx, o.Subscribers, true, func(ctx context.Context, i int) error {
		s := f.subs[i]
		c, err := f.dialSubscriber(ctx, s)
		if err != nil {
			return err
		}
		s.conn.Store(c)
		return f.engine.add(c, f.newSubReader(s, false))
	})
	r.report.Setup = setup
	if err != nil {
		return fmt.Errorf("setting up subscribers: %w", err)
	}
	r.logf("%d subscribers ready in %.2fs", o.Subscribers, setup.Seconds)

	for p := range o.Publishers {
		c, err := dial(ctx, r.t, r.localAddr(o.Subscribers+p))
		if err == nil {
			if _, err = c.join("publisher"); err != nil {
				c.nc.Close()
			}
		}
		if err != nil {
			return fmt.Errorf("publisher %d: %w", p, err)
		}
		pub := &publisher{id: p, c: c, sent: make([]uint64, o.Topics), sendTimes: make([]atomic.Int64, ackRing)}
		f.pubs = append(f.pubs, pub)
		f.readers.Add(1)
		go f.readPublisher(pub)
	}

	if o.Scenario == Churn {
		f.churn = newChurner(f)
	}

	type plan struct {
		rate           float64
		warmup, window time.Duration
	}
	plans := []plan{{o.Rate, o.Warmup, o.Duration}}
	for _, rate := range o.Ramp {
		plans = append(plans, plan{rate, min(o.Warmup, time.Second), o.RampDuration})
	}
	for i, p := range plans {
		r.logf("step %d of %d: %g publications/s (%s deliveries/s) for %s after %s warm-up",
			i+1, len(plans), p.rate, fmtRate(p.rate*float64(o.Subscribers)/float64(o.Topics)), p.window, p.warmup)
		st, err := f.runStep(ctx, p.rate, p.warmup, p.window)
		if err != nil {
			return err
		}
		r.report.Steps = append(r.report.Steps, st)
		r.logf("step %d: %s deliveries/s, p99 %s, lost %d, dup %d, reorder %d, server %.2f µs/delivery: %s",
			i+1, fmtRate(st.DeliveriesPerS), fmtMS(latP99(st.Latency)), st.Lost, st.Duplicates, st.Reorders,
			serverUS(st.Server), passText(st))
		if i == 0 {
			continue
		}
		sat := r.report.Saturation
		if sat == nil {
			sat = &Saturation{}
			r.report.Saturation = sat
		}
		if !st.Pass {
			sat.StoppedAt, sat.Reason, sat.ClientLimited = st.Rate, st.Failure, st.ClientLimited
			if st.ClientLimited {
				// Failed only for the client's sake? Then the server did deliver this rate.
				st.ClientLimited = false
				if ok, _ := judge(st, o); ok {
					sat.ClientBoundPerS = st.DeliveriesPerS
				}
			}
			break
		}
		sat.MaxRate, sat.MaxDeliveriesPerS = st.Rate, st.DeliveriesPerS
	}
	if f.churn != nil {
		r.report.Churn = f.churn.result()
	}
	f.errMu.Lock()
	first := f.firstErr
	f.errMu.Unlock()
	if first != "" {
		r.warn("first failure seen: %s", first)
	}
	return nil
}

func latP99(l *Latency) float64 {
	if l == nil {
		return 0
	}
	return l.P99MS
}

func serverUS(s *ServerCPU) float64 {
	if s == nil {
		return 0
	}
	if s.Core != nil && s.USPerOp == 0 {
		return s.Core.USPerOp
	}
	return s.USPerOp
}

func passText(st Step) string {
	if st.Pass {
		return "pass"
	}
	return "FAIL: " + st.Failure
}

// dialSubscriber connects, joins and subscribes subscriber s.
func (f *fanoutRun) dialSubscriber(ctx context.Context, s *subscriber) (*conn, error) {
	c, err := dial(ctx, f.t, f.localAddr(s.idx))
	if err != nil {
		return nil, err
	}
	if _, err := c.join("subscriber"); err != nil {
		c.nc.Close()
		return nil, err
	}
	if err := c.subscribe(1, f.topics[s.topic]); err != nil {
		c.nc.Close()
		return nil, err
	}
	return c, nil
}

// closeAll closes every connection and waits for the readers and reconnections to end.
func (f *fanoutRun) closeAll() {
	if f.churn != nil {
		f.churn.wait()
	}
	f.engine.close()
	for _, p := range f.pubs {
		p.c.close()
	}
	f.readers.Wait()
}

// subReader is the reading state of one subscriber connection.
type subReader struct {
	f        *fanoutRun
	s        *subscriber
	trackers []seqTracker
	every, n uint64 // latency sampling
}

// newSubReader returns the reader of s; with resync the sequence numbers of each publisher may
// start anywhere (a subscriber that reconnected).
func (f *fanoutRun) newSubReader(s *subscriber, resync bool) *subReader {
	r := &subReader{f: f, s: s, trackers: make([]seqTracker, f.o.Publishers), every: uint64(f.o.SampleEvery)}
	for i := range r.trackers {
		r.trackers[i] = newSeqTracker(resync)
	}
	return r
}

func (r *subReader) failed(err error) {
	r.s.disconnected.Store(true)
	r.f.recordErr("subscriber %d lost its connection: %v", r.s.idx, err)
}

func (r *subReader) message(b []byte, now int64) bool {
	s, f := r.s, r.f
	m, _, ok := findMarker(b)
	if !ok || int(m.source) >= len(r.trackers) {
		return !f.otherMessage(s, b)
	}
	s.deliveries.Add(1)
	switch r.trackers[m.source].observe(m.seq) {
	case seqDup:
		s.dups.Add(1)
		return true
	case seqLate:
		s.reorders.Add(1)
	}
	s.distinct.Add(1)
	st := f.cur.Load()
	if now >= st.winStart && now < st.winEnd {
		st.delivered.Add(1)
	}
	if m.intended >= st.winStart && m.intended < st.winEnd {
		if r.n++; r.n%r.every == 0 {
			st.lat.Record(time.Duration(now - m.intended))
		}
	}
	return true
}

// otherMessage handles a message without a marker. It reports whether the session ended.
func (f *fanoutRun) otherMessage(s *subscriber, b []byte) bool {
	m, err := f.t.ser.Decode(b)
	if err != nil {
		s.unmarked.Add(1)
		return false
	}
	switch m := m.(type) {
	case *wamp.Goodbye:
		s.disconnected.Store(true)
		f.recordErr("router ended subscriber %d's session: GOODBYE %s", s.idx, m.Reason)
		return true
	case *wamp.Abort:
		s.disconnected.Store(true)
		f.recordErr("router ended subscriber %d's session: ABORT %s", s.idx, m.Reason)
		return true
	}
	s.unmarked.Add(1)
	return false
}

// readPublisher reads a publisher connection: acknowledgements and errors.
func (f *fanoutRun) readPublisher(p *publisher) {
	defer f.readers.Done()
	id := f.t.ser.ID()
	for {
		b, err := p.c.readMessage()
		if err != nil {
			if !p.c.closing.Load() {
				f.pubDead.Store(true)
				f.recordErr("publisher %d lost its connection: %v", p.id, err)
			}
			return
		}
		now := time.Now().UnixNano()
		if typ, req, ok := peekHead(id, b); ok && typ == uint64(wamp.PUBLISHED) {
			st := f.cur.Load()
			if t := p.sendTimes[req%ackRing].Load(); t >= st.winStart && t < st.winEnd {
				st.ack.Record(time.Duration(now - t))
			}
			continue
		}
		m, err := f.t.ser.Decode(b)
		if err != nil {
			f.recordErr("publisher %d: undecodable message from the router: %v", p.id, err)
			continue
		}
		switch m := m.(type) {
		case *wamp.Error:
			p.errors.Add(1)
			f.recordErr("publisher %d: PUBLISH failed: %s %v", p.id, m.Error, m.Args)
		case *wamp.Goodbye, *wamp.Abort:
			f.pubDead.Store(true)
			f.recordErr("router ended publisher %d's session: %v", p.id, m)
			p.c.close()
			return
		}
	}
}

// publish sends publisher p's share of the step's schedule: messages p, p+n, p+2n, ... below total.
func (f *fanoutRun) publish(ctx context.Context, p *publisher, sched schedule, total uint64, lag *hist) error {
	n := uint64(len(f.pubs))
	opts := wamp.Dict{}
	if f.o.Acknowledge {
		opts = wamp.Dict{"acknowledge": true}
	}
	args := wamp.List{nil}
	msg := &wamp.Publish{Options: opts, Args: args}
	c := p.c
	for i := uint64(p.id); i < total; i += n {
		due := sched.due(i)
		if time.Now().Before(due) {
			if err := c.flush(); err != nil {
				return err
			}
			if !sleepUntil(ctx, due) {
				return ctx.Err()
			}
		}
		now := time.Now()
		lag.Record(now.Sub(due))
		topic := int(i % uint64(len(f.topics)))
		seq := p.sent[topic]
		p.sent[topic]++
		p.reqID++
		p.buf = appendMarker(p.buf[:0], marker{seq: seq, intended: due.UnixNano(), source: uint32(p.id)}, f.o.PayloadSize)
		args[0] = string(p.buf)
		msg.Request, msg.Topic = p.reqID, wamp.URI(f.topics[topic])
		p.sendTimes[uint64(p.reqID)%ackRing].Store(now.UnixNano())
		c.wmu.Lock()
		err := c.queueLocked(msg)
		if err == nil && len(c.wbuf) >= flushAt {
			err = c.flushLocked()
		}
		c.wmu.Unlock()
		if err != nil {
			return err
		}
	}
	return c.flush()
}

// runStep runs one step at rate publications/s: warm-up, measured window, then the drain.
func (f *fanoutRun) runStep(ctx context.Context, rate float64, warmup, window time.Duration) (Step, error) {
	o := f.o
	t0 := time.Now().Add(50 * time.Millisecond)
	st := &stepState{winStart: t0.Add(warmup).UnixNano(), winEnd: t0.Add(warmup + window).UnixNano()}
	f.cur.Store(st)
	sched := schedule{t0: t0, rate: rate}
	total := sched.count(warmup + window)
	var lag hist
	pubCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(f.pubs))
	for _, p := range f.pubs {
		go func() { errs <- f.publish(pubCtx, p, sched, total, &lag) }()
	}
	end := t0.Add(warmup + window)
	var churnDone chan struct{}
	if f.churn != nil {
		churnDone = make(chan struct{})
		go func() { defer close(churnDone); f.churn.run(pubCtx, end) }()
	}
	sleepUntil(ctx, time.Unix(0, st.winStart))
	a := f.snap()
	sleepUntil(ctx, end)
	b := f.snap()
	var pubErr error
	for range f.pubs {
		if err := <-errs; err != nil && pubErr == nil {
			pubErr = err
		}
	}
	if churnDone != nil {
		<-churnDone
	}
	if err := ctx.Err(); err != nil {
		return Step{}, fmt.Errorf("interrupted: %w", err)
	}
	if pubErr != nil {
		return Step{}, fmt.Errorf("publishing: %w", pubErr)
	}

	// Deliveries due to each subscriber of a topic since the start (the counters are cumulative).
	expected := make([]uint64, len(f.topics))
	for _, p := range f.pubs {
		for k, n := range p.sent {
			expected[k] += n
		}
	}

	// Drain: wait until every counted subscriber has everything, or Drain passed.
	drainStart := time.Now()
	for {
		if f.missing(expected, true) == 0 || time.Since(drainStart) > o.Drain || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	drained := time.Since(drainStart)

	step := Step{
		Rate: rate, OfferedPerS: rate * float64(o.Subscribers) / float64(o.Topics),
		WarmupS: warmup.Seconds(), WindowS: window.Seconds(), Published: total,
		Deliveries: st.delivered.Load(), Latency: st.lat.Summary(), PublishAck: st.ack.Summary(),
		SendLag: lag.Summary(), DrainedInS: drained.Seconds(),
	}
	step.DeliveriesPerS = float64(step.Deliveries) / window.Seconds()
	for _, p := range f.pubs {
		step.PublishErrors += p.errors.Swap(0)
	}
	for _, s := range f.subs {
		dups, reo, unm := s.dups.Load(), s.reorders.Load(), s.unmarked.Load()
		bad := dups > s.prevDups || reo > s.prevReorders
		step.Duplicates += dups - s.prevDups
		step.Reorders += reo - s.prevReorders
		step.UnmarkedMessages += unm - s.prevUnmarked
		s.prevDups, s.prevReorders, s.prevUnmarked = dups, reo, unm
		if d := s.disconnected.Load(); d && !s.prevDisconnected {
			step.Disconnected++
			bad = true
		}
		s.prevDisconnected = s.disconnected.Load()
		if !s.churned.Load() {
			step.CountedSubs++
			step.Expected += stepShare(total, len(f.topics), s.topic)
			missing := expected[s.topic] - min(expected[s.topic], s.distinct.Load())
			if missing > s.prevMissing {
				step.Lost += missing - s.prevMissing
				bad = true
			}
			s.prevMissing = missing
		}
		if bad {
			step.BadSubscribers++
		}
	}
	step.Server, step.Client, step.ClientLimited = f.cpuBetween(a, b, step.Deliveries)
	if step.Deliveries > 0 && step.Client.Cores > 0 {
		step.ClientUSPerDelivery = step.Client.Cores * window.Seconds() * 1e6 / float64(step.Deliveries)
		perPublication := float64(o.Subscribers) / float64(o.Topics)
		step.ClientFloorMS = perPublication * step.ClientUSPerDelivery / 1e3 / float64(step.Client.Available)
	}
	step.Pass, step.Failure = judge(step, o)
	return step, nil
}

// stepShare is how many of a step's total publications went to topic k of ntopics: message i goes
// to topic i mod ntopics.
func stepShare(total uint64, ntopics, k int) uint64 {
	n := total / uint64(ntopics)
	if uint64(k) < total%uint64(ntopics) {
		n++
	}
	return n
}

// missing returns how many deliveries the counted subscribers still lack; with live, subscribers
// the router disconnected are skipped (they will not catch up).
func (f *fanoutRun) missing(expected []uint64, live bool) uint64 {
	var m uint64
	for _, s := range f.subs {
		if s.churned.Load() || live && s.disconnected.Load() {
			continue
		}
		if d := s.distinct.Load(); d < expected[s.topic] {
			m += expected[s.topic] - d
		}
	}
	return m
}

// judge decides whether a step passed.
func judge(st Step, o Options) (bool, string) {
	var why []string
	if st.Lost+st.Duplicates+st.Reorders > 0 {
		why = append(why, fmt.Sprintf("loss or disorder (gaps %d, duplicates %d, reorders %d)", st.Lost, st.Duplicates, st.Reorders))
	}
	if st.Disconnected > 0 {
		why = append(why, fmt.Sprintf("%d subscribers disconnected by the router", st.Disconnected))
	}
	if st.PublishErrors > 0 {
		why = append(why, fmt.Sprintf("%d publications refused", st.PublishErrors))
	}
	if st.Latency == nil {
		why = append(why, "no deliveries in the window")
	} else if p99 := time.Duration(st.Latency.P99MS * 1e6); p99 > o.MaxP99 {
		why = append(why, fmt.Sprintf("latency p99 %s above %s", fmtMS(st.Latency.P99MS), o.MaxP99))
	}
	if st.SendLag != nil && time.Duration(st.SendLag.P99MS*1e6) > o.MaxLag {
		why = append(why, fmt.Sprintf("publishers fell behind the schedule (send lag p99 %s)", fmtMS(st.SendLag.P99MS)))
	}
	if st.ClientLimited {
		why = append(why, fmt.Sprintf("client CPU at %.0f%% of its %d core(s): the client is the limit", 100*st.Client.Fraction, st.Client.Available))
	}
	if len(why) == 0 {
		return true, ""
	}
	return false, joinReasons(why)
}

// churner disconnects and reconnects a share of the subscribers every second.
type churner struct {
	f          *fanoutRun
	candidates []*subscriber
	perTick    float64 // reconnections per 100 ms
	lat        hist
	reconnects atomic.Uint64
	failures   atomic.Uint64
	wg         sync.WaitGroup
	errMu      sync.Mutex
	firstErr   string
}

const churnTick = 100 * time.Millisecond

func newChurner(f *fanoutRun) *churner {
	stable := int(math.Round(f.o.StableFraction * float64(len(f.subs))))
	c := &churner{f: f, candidates: f.subs[stable:]}
	c.perTick = float64(len(f.subs)) * f.o.ChurnPercent / 100 * churnTick.Seconds()
	if len(c.candidates) == 0 {
		f.warn("churn: no subscriber may churn (stable fraction %.2f)", f.o.StableFraction)
	}
	return c
}

// run churns until the deadline or ctx ends.
func (c *churner) run(ctx context.Context, until time.Time) {
	if len(c.candidates) == 0 {
		return
	}
	tick := time.NewTicker(churnTick)
	defer tick.Stop()
	acc := 0.0
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if !now.Before(until) {
				return
			}
		}
		for acc += c.perTick; acc >= 1; acc-- {
			for range 8 { // pick one that is not reconnecting already
				s := c.candidates[mrand.IntN(len(c.candidates))]
				if s.busy.CompareAndSwap(false, true) {
					c.wg.Add(1)
					go c.reconnect(ctx, s)
					break
				}
			}
		}
	}
}

func (c *churner) reconnect(ctx context.Context, s *subscriber) {
	defer c.wg.Done()
	defer s.busy.Store(false)
	s.churned.Store(true)
	if old := s.conn.Load(); old != nil {
		c.f.engine.remove(old)
	}
	start := time.Now()
	nc, err := c.f.dialSubscriber(context.WithoutCancel(ctx), s)
	if err != nil {
		c.fail(err)
		return
	}
	elapsed := time.Since(start)
	s.conn.Store(nc)
	if err := c.f.engine.add(nc, c.f.newSubReader(s, true)); err != nil {
		c.fail(err)
		nc.close()
		return
	}
	c.lat.Record(elapsed)
	c.reconnects.Add(1)
}

// fail counts a failed reconnection.
func (c *churner) fail(err error) {
	c.failures.Add(1)
	c.errMu.Lock()
	defer c.errMu.Unlock()
	if c.firstErr == "" {
		c.firstErr = err.Error()
	}
}

func (c *churner) wait() { c.wg.Wait() }

func (c *churner) result() *ChurnResult {
	c.wait()
	return &ChurnResult{
		PercentPerS: c.f.o.ChurnPercent, Churnable: len(c.candidates), Reconnects: c.reconnects.Load(),
		Failures: c.failures.Load(), FirstError: c.firstErr, ReconnectLatency: c.lat.Summary(),
	}
}
