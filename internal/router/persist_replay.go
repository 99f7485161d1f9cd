package router

import (
	"time"

	"github.com/gateway-dev/gateway/internal/store"
	"github.com/gateway-dev/gateway/wamp"
)

// Replay: a returning client's backlog (the log after its position) is read from the store in
// batches and sent, while the live events of its log are not sent to it; when it is at most
// replaySwitch events behind, the rest is read and sent under the log's lock and the session
// switches to live delivery at the log's current number. Every EVENT carries x_seq; events that
// retention dropped are reported (x_gap on the next EVENT, and gateway.subscription.on_gap).

const (
	replayBatch  = 512 // events read from the store at a time
	replaySwitch = 256 // at most this many behind: finish under the log's lock
	// replayQueueTarget is the most replayed bytes left queued on a connection that reports its
	// queue (queueReporter) before the replay waits.
	replayQueueTarget = 1 << 20
	// replayRate bounds the replay on a connection that does not report its queue, so a large
	// backlog does not overflow the queue of a client that reads slowly (bytes per second).
	replayRate = 32 << 20
)

// queueReporter is implemented by connections that report the bytes waiting in their outbound
// queue; the replay then keeps that queue short instead of bounding its rate.
type queueReporter interface {
	QueuedBytes() int
}

// replay sends a's backlog and switches it to live delivery. It runs on its own goroutine and
// ends when done or when a is detached.
func (b *broker) replay(a *attachment) {
	defer b.pers.replays.Done()
	pr, l := b.pers, a.rec.log
	if pr.st.RetentionFor(l.key).MaxAge > 0 {
		if err := pr.st.Trim(l.key, nil); err != nil { // age out before replaying
			pr.log.Warn("persistent subscription log not trimmed", "log", l.key, "err", err)
		}
	}
	r := &replayer{b: b, a: a, cursor: a.rec.pos.Load()}
	r.leading()
	for {
		select {
		case <-a.stop:
			return
		default:
		}
		if behind := l.delivered.Load() - min(r.cursor, l.delivered.Load()); behind <= replaySwitch {
			if r.finish() {
				return
			}
			continue
		}
		evs, err := pr.st.Range(l.key, r.cursor+1, replayBatch)
		if err != nil {
			pr.log.Warn("backlog of a persistent subscription unreadable", "log", l.key, "err", err)
			r.finishWithout(err)
			return
		}
		a.sendMu.Lock()
		if a.detached {
			a.sendMu.Unlock()
			return
		}
		sent := r.send(evs, l.delivered.Load())
		a.sendMu.Unlock()
		r.commit()
		r.notify()
		if !r.pace(sent) {
			return
		}
	}
}

// replayer is the state of one replay.
type replayer struct {
	b      *broker
	a      *attachment
	cursor uint64      // the last sequence number handled (sent or skipped)
	gaps   []wamp.Dict // detected, not yet announced on gateway.subscription.on_gap
	gap    wamp.Dict   // to put into the next EVENT's details
	broken bool        // a send failed: the connection is gone
}

// send sends the events of evs up to bound (the log's delivered number: later ones may still be
// waiting to be delivered live) and returns the bytes sent.
func (r *replayer) send(evs []store.StoredEvent, bound uint64) int {
	a, rl := r.a, r.b.realm
	sent := 0
	for _, se := range evs {
		if se.Seq > bound || r.broken {
			break
		}
		if se.Seq <= r.cursor {
			continue
		}
		if se.Seq > r.cursor+1 {
			r.lost(r.cursor+1, se.Seq-1)
		}
		p, err := decodePersisted(rl, se)
		if err != nil {
			rl.router.log.Warn("unreadable event in a persistent subscription's log skipped", "log", a.rec.log.key, "err", err)
			r.lost(se.Seq, se.Seq)
			r.cursor = se.Seq
			continue
		}
		if a.eligible(p) {
			buf, err := a.s.ser.Encode(nil, a.event(p, se.Seq, r.gap))
			if err != nil {
				rl.router.log.Error("cannot encode EVENT", "topic", p.topic, "err", err)
			} else if !a.sendBytes(r.b, buf, p) {
				r.broken = true
				break
			} else {
				sent += len(buf)
				r.gap = nil
			}
		}
		r.cursor = se.Seq
	}
	return sent
}

// leading announces at once the events retention dropped from the start of the backlog, before
// any replayed EVENT (whose first one carries x_gap).
func (r *replayer) leading() {
	l := r.a.rec.log
	oldest, err := r.b.pers.st.Oldest(l.key)
	if err != nil {
		return // the replay reports the unreadable store
	}
	if to := min(oldest-1, l.delivered.Load()); to > r.cursor {
		r.lost(r.cursor+1, to)
		r.cursor = to
		r.notify()
	}
}

// lost records that the events from..to are gone from the log: each loss is announced on
// gateway.subscription.on_gap, and the next EVENT's x_gap covers every loss since the previous
// EVENT.
func (r *replayer) lost(from, to uint64) {
	r.gaps = append(r.gaps, gapNotice(from, to))
	if r.gap != nil {
		from = uint64(r.gap["from"].(int64))
	}
	r.gap = gapNotice(from, to)
}

// gapNotice describes the lost events from..to (x_gap, gateway.subscription.on_gap).
func gapNotice(from, to uint64) wamp.Dict {
	return wamp.Dict{"from": int64(from), "to": int64(to), "lost": int64(to - from + 1)}
}

// commit records the replay's progress as the subscription's position.
func (r *replayer) commit() {
	l := r.a.rec.log
	l.mu.Lock()
	r.a.advance(r.b.pers, r.cursor)
	l.mu.Unlock()
}

// notify publishes the gaps found so far on gateway.subscription.on_gap, to the session only.
func (r *replayer) notify() {
	for _, g := range r.gaps {
		s := r.a.s
		r.b.deliver(&publication{id: randomID(), topic: topicOnGap, args: wamp.List{r.a.sub.id, g},
			filter: &deliveryFilter{eligible: map[wamp.ID]struct{}{s.id: {}}}})
	}
	r.gaps = nil
}

// finish sends the last events under the log's lock and switches a to live delivery; false when
// the log ran ahead again (more than a few batches) and the replay must go on unlocked.
func (r *replayer) finish() bool {
	a, pr := r.a, r.b.pers
	l := a.rec.log
	l.mu.Lock()
	if a.detached {
		l.mu.Unlock()
		return true
	}
	bound := l.next - 1
	if bound > r.cursor && bound-r.cursor > 4*replaySwitch {
		l.mu.Unlock()
		return false
	}
	for r.cursor < bound && !r.broken {
		evs, err := pr.st.Range(l.key, r.cursor+1, int(bound-r.cursor))
		if err != nil {
			pr.log.Warn("backlog of a persistent subscription unreadable", "log", l.key, "err", err)
			break
		}
		before := r.cursor
		r.send(evs, bound)
		if r.cursor == before {
			break // nothing left in the store up to bound
		}
	}
	if r.cursor < bound && !r.broken {
		r.lost(r.cursor+1, bound) // trimmed (or unreadable) to the end
		r.cursor = bound
	}
	a.gap, r.gap = r.gap, nil // a gap with no event after it yet goes on the first live EVENT
	a.live = true
	a.advance(pr, r.cursor)
	l.mu.Unlock()
	r.notify()
	return true
}

// finishWithout switches a to live delivery when its backlog cannot be read: the client is told
// that everything up to the log's current number is lost.
func (r *replayer) finishWithout(err error) {
	a, pr := r.a, r.b.pers
	l := a.rec.log
	l.mu.Lock()
	if !a.detached {
		if bound := l.next - 1; bound > r.cursor {
			r.lost(r.cursor+1, bound)
			r.gap["reason"] = "store unavailable: " + err.Error()
			r.gaps[len(r.gaps)-1]["reason"] = r.gap["reason"]
			r.cursor = bound
		}
		a.gap, r.gap = r.gap, nil
		a.live = true
		a.advance(pr, r.cursor)
	}
	l.mu.Unlock()
	r.notify()
}

// pace waits before the next batch so the connection's queue stays short; false when a was
// detached meanwhile.
func (r *replayer) pace(sent int) bool {
	a := r.a
	if r.broken {
		return false
	}
	if q, ok := a.s.conn.(queueReporter); ok {
		for q.QueuedBytes() > replayQueueTarget {
			select {
			case <-a.stop:
				return false
			case <-time.After(time.Millisecond):
			}
		}
		return true
	}
	if sent == 0 {
		return true
	}
	t := time.NewTimer(time.Duration(sent) * time.Second / replayRate)
	defer t.Stop()
	select {
	case <-a.stop:
		return false
	case <-t.C:
		return true
	}
}
