package store

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// SyncMode says when durable writes reach the disk.
type SyncMode int

const (
	// SyncGroup (the default) fsyncs every commit, and gathers concurrent appends into one
	// commit: appends that arrive while a commit is being written, or within
	// SyncPolicy.Window of the first, share one fsync.
	SyncGroup SyncMode = iota
	// SyncAlways commits and fsyncs every append on its own.
	SyncAlways
	// SyncNone never waits for fsync: a crash of the machine (not of the process alone) may
	// lose the last writes. For tests and benchmarks.
	SyncNone
)

func (m SyncMode) String() string {
	switch m {
	case SyncGroup:
		return "group"
	case SyncAlways:
		return "always"
	case SyncNone:
		return "none"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// SyncPolicy configures durability of appends and other durable writes.
type SyncPolicy struct {
	Mode SyncMode
	// Window (SyncGroup only) is how long the committer waits after the first append of a
	// group for more; 0 (the default) waits for none, so a group is what queued up while the
	// previous commit was being synced — no added latency for a lone appender.
	Window time.Duration
	// MaxBatch bounds the appends in one commit (SyncGroup and SyncNone); 0 means 512.
	MaxBatch int
}

// writeOpts returns pebble's write options for durable writes under p.
func (p SyncPolicy) writeOpts() *pebble.WriteOptions {
	if p.Mode == SyncNone {
		return pebble.NoSync
	}
	return pebble.Sync
}

// request is one Append (or Trim) handed to the committer.
type request struct {
	topic    string
	val      []byte // encoded event; nil for trimOnly
	t        int64  // event time, unix ns
	ret      *Retention
	trimOnly bool
	truncate bool       // trimOnly: drop every event (Truncate)
	batch    []*request // a container of appends committed together (AppendBatch); no topic of its own
	seq      uint64
	err      error
	done     chan struct{}
}

var reqPool = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

// committer assigns sequence numbers and commits appends in groups; it is the only writer of
// event log entries and heads, so it caches heads in memory.
type committer struct {
	s      *Store
	policy SyncPolicy
	ch     chan *request
	quit   chan struct{}
	exited chan struct{}
	heads  map[string]*head
	timer  *time.Timer
	now    func() time.Time
	// commits counts append commits (for tests of grouping).
	commits atomic.Uint64
}

func newCommitter(s *Store, p SyncPolicy) *committer {
	if p.MaxBatch <= 0 {
		p.MaxBatch = 512
	}
	return &committer{
		s: s, policy: p,
		ch:     make(chan *request),
		quit:   make(chan struct{}),
		exited: make(chan struct{}),
		heads:  make(map[string]*head),
		now:    time.Now,
	}
}

// stop ends the committer after the group it is working on; later submissions fail.
func (c *committer) stop() {
	select {
	case <-c.quit:
	default:
		close(c.quit)
	}
	<-c.exited
}

// append encodes ev and submits it.
func (s *Store) append(topic string, ev Event, r *Retention) (uint64, error) {
	if len(topic) > math.MaxUint16 {
		return 0, fmt.Errorf("store: append: topic is longer than %d bytes", math.MaxUint16)
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	req := reqPool.Get().(*request)
	*req = request{topic: topic, val: encodeEvent(nil, &ev), t: ev.Time.UnixNano(), ret: r, done: req.done}
	return s.submit(req)
}

// submit hands req to the committer and waits for its result.
func (s *Store) submit(req *request) (uint64, error) {
	if req.done == nil {
		req.done = make(chan struct{}, 1)
	}
	what := "append"
	if req.trimOnly {
		what = "trim"
	}
	pooled := !req.trimOnly && req.batch == nil
	if s == nil || s.com == nil {
		return 0, fmt.Errorf("store: %s: %w (not opened)", what, ErrUnavailable)
	}
	select {
	case s.com.ch <- req:
	case <-s.com.quit:
		return 0, fmt.Errorf("store: %s: %w (closed)", what, ErrUnavailable)
	}
	<-req.done
	seq, err := req.seq, req.err
	if pooled {
		*req = request{done: req.done}
		reqPool.Put(req)
	}
	return seq, err
}

func (c *committer) run() {
	defer close(c.exited)
	c.timer = time.NewTimer(time.Hour)
	c.timer.Stop()
	var group []*request
	for {
		select {
		case r := <-c.ch:
			group = append(group[:0], r)
		case <-c.quit:
			return
		}
		if c.policy.Mode != SyncAlways && !group[0].trimOnly {
			group = c.gather(group)
		}
		c.commit(group)
		clear(group)
	}
}

// gather adds to group the appends already waiting, and with a Window those arriving within
// it, up to MaxBatch.
func (c *committer) gather(group []*request) []*request {
	var deadline <-chan time.Time
	if c.policy.Mode == SyncGroup && c.policy.Window > 0 {
		c.timer.Reset(c.policy.Window)
		defer c.timer.Stop()
		deadline = c.timer.C
	}
	for len(group) < c.policy.MaxBatch {
		select {
		case r := <-c.ch:
			group = append(group, r)
			continue
		default:
		}
		if deadline == nil {
			return group
		}
		select {
		case r := <-c.ch:
			group = append(group, r)
		case <-deadline:
			return group
		case <-c.quit:
			return group
		}
	}
	return group
}

// headFor returns topic's cached head, reading it on first use.
func (c *committer) headFor(db *pebble.DB, topic string) (*head, error) {
	if h, ok := c.heads[topic]; ok {
		return h, nil
	}
	h, err := readHead(db, topic)
	if err != nil {
		return nil, fmt.Errorf("topic %q: %w", topic, err)
	}
	c.heads[topic] = &h
	return &h, nil
}

// flatten returns the requests of group with each AppendBatch container replaced by its appends.
func flatten(group []*request) []*request {
	n, containers := 0, false
	for _, r := range group {
		if r.batch != nil {
			n += len(r.batch)
			containers = true
		} else {
			n++
		}
	}
	if !containers {
		return group
	}
	out := make([]*request, 0, n)
	for _, r := range group {
		if r.batch != nil {
			out = append(out, r.batch...)
		} else {
			out = append(out, r)
		}
	}
	return out
}

// commit writes group in one batch, applies retention to the topics it touched, and answers
// every request (a container of an AppendBatch once, for all its appends).
func (c *committer) commit(group []*request) {
	type touched struct {
		topic    string
		h        *head
		ret      *Retention
		truncate bool
		saved    head
	}
	leaves := flatten(group)
	var topics []touched
	index := func(topic string) int {
		for i := range topics {
			if topics[i].topic == topic {
				return i
			}
		}
		return -1
	}
	err := c.s.do("append", func(db *pebble.DB) error {
		b := db.NewBatch()
		defer b.Close()
		for _, r := range leaves {
			h, err := c.headFor(db, r.topic)
			if err != nil {
				return err
			}
			i := index(r.topic)
			if i < 0 {
				topics = append(topics, touched{topic: r.topic, h: h, saved: *h})
				i = len(topics) - 1
			}
			if r.ret != nil {
				topics[i].ret = r.ret
			}
			if r.trimOnly {
				topics[i].truncate = topics[i].truncate || r.truncate
				continue
			}
			r.seq = h.next
			if h.oldest == h.next {
				h.oldestTime = r.t
			}
			h.next++
			h.bytes += uint64(len(r.val))
			if err := b.Set(eventKey(r.topic, r.seq), r.val, nil); err != nil {
				return err
			}
		}
		if b.Empty() {
			return nil
		}
		for _, t := range topics {
			if err := b.Set(headKey(t.topic), t.h.encode(), nil); err != nil {
				return err
			}
		}
		c.commits.Add(1)
		return b.Commit(c.policy.writeOpts())
	})
	if err != nil {
		for _, t := range topics {
			*t.h = t.saved // the cached head must match the disk
		}
	}
	defer func() {
		if err != nil {
			for _, r := range leaves {
				r.seq = 0
			}
		}
		for _, r := range group {
			if err != nil {
				r.seq, r.err = 0, err
			}
			r.done <- struct{}{}
		}
	}()
	if err != nil {
		return
	}
	// Trim before answering, so that a caller sees the retention applied when Append returns.
	for _, t := range topics {
		r := t.ret
		if r == nil {
			rr := c.s.retentionFor(t.topic)
			r = &rr
		}
		if terr := c.trim(t.topic, t.h, *r, t.truncate); terr != nil {
			c.s.log.Warn("store: trimming event log failed", "topic", t.topic, "err", terr)
			for _, req := range group {
				if req.trimOnly && req.topic == t.topic {
					req.err = terr
				}
			}
		}
	}
}

// trim drops the oldest events of topic beyond r (every event with all) with one DeleteRange.
// The write is not synced: if it is lost, the next trim redoes it.
func (c *committer) trim(topic string, h *head, r Retention, all bool) error {
	if (r.IsZero() && !all) || h.oldest == h.next {
		return nil
	}
	var cutoff int64 = math.MinInt64
	if r.MaxAge > 0 {
		cutoff = c.now().Add(-r.MaxAge).UnixNano()
	}
	if !all && !(r.MaxCount > 0 && h.next-h.oldest > r.MaxCount) &&
		!(r.MaxBytes > 0 && h.bytes > r.MaxBytes) &&
		!(h.oldestTime < cutoff) {
		return nil
	}
	n := *h
	err := c.s.do("trim event log", func(db *pebble.DB) error {
		if all {
			n.oldest, n.bytes, n.oldestTime = h.next, 0, 0
		} else if err := c.scanTrim(db, topic, h, &n, r, cutoff); err != nil {
			return err
		}
		b := db.NewBatch()
		defer b.Close()
		if err := b.DeleteRange(eventKey(topic, h.oldest), eventKey(topic, n.oldest), nil); err != nil {
			return err
		}
		if err := b.Set(headKey(topic), n.encode(), nil); err != nil {
			return err
		}
		return b.Commit(pebble.NoSync)
	})
	if err != nil {
		delete(c.heads, topic) // reread from disk next time
		return err
	}
	*h = n
	return nil
}

// scanTrim computes into n the head of topic's log once the events beyond r (and older than
// cutoff) are dropped, reading from the oldest event until the first one that stays.
func (c *committer) scanTrim(db *pebble.DB, topic string, h, n *head, r Retention, cutoff int64) error {
	it, err := db.NewIter(&pebble.IterOptions{
		LowerBound: eventKey(topic, h.oldest),
		UpperBound: eventKey(topic, h.next),
	})
	if err != nil {
		return err
	}
	defer it.Close()
	kept := false
	for ok := it.First(); ok; ok = it.Next() {
		seq, ok := eventSeq(topic, it.Key())
		if !ok {
			return fmt.Errorf("%w: bad key %q", errBadEvent, it.Key())
		}
		v := it.Value()
		t, err := eventTime(v)
		if err != nil {
			return fmt.Errorf("topic %q seq %d: %w", topic, seq, err)
		}
		drop := (r.MaxCount > 0 && h.next-seq > r.MaxCount) ||
			(r.MaxBytes > 0 && n.bytes > r.MaxBytes) || t < cutoff
		if !drop {
			n.oldestTime, kept = t, true
			break
		}
		n.bytes -= uint64(len(v))
		n.oldest = seq + 1
	}
	if err := it.Error(); err != nil {
		return err
	}
	if !kept { // everything went
		n.oldest, n.bytes, n.oldestTime = h.next, 0, 0
	}
	return nil
}
