package bench

import (
	"time"

	"github.com/gateway-dev/gateway/wamp"
)

// webappReader reads one subscriber connection of a Webapp run. It finds the marker in each raw
// EVENT frame without decoding it.
type webappReader struct {
	x        *webappRun
	s        *webappSub
	trackers []seqTracker // per worker
	every, n uint64       // latency sampling
}

func (r *webappReader) failed(err error) {
	r.s.disconnected.Store(true)
	r.x.recordErr("subscriber %d lost its connection: %v", r.s.idx, err)
}

func (r *webappReader) message(b []byte, now int64) bool {
	s := r.s
	m, _, ok := findMarker(b)
	if !ok || int(m.source) >= len(r.trackers) {
		return !r.other(b)
	}
	s.deliveries.Add(1)
	switch r.trackers[m.source].observe(m.seq) {
	case seqDup:
		s.dups.Add(1)
		return true
	case seqLate:
		s.reorders.Add(1)
	}
	s.got[m.source].Add(1)
	if hi := &s.hi[m.source]; m.seq+1 > hi.Load() {
		hi.Store(m.seq + 1)
	}
	st := r.x.cur.Load()
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

// other handles a message without a marker. It reports whether the session ended.
func (r *webappReader) other(b []byte) bool {
	m, err := r.x.t.ser.Decode(b)
	if err == nil {
		switch m := m.(type) {
		case *wamp.Goodbye:
			r.s.disconnected.Store(true)
			r.x.recordErr("the router ended subscriber %d's session: GOODBYE %s", r.s.idx, m.Reason)
			return true
		case *wamp.Abort:
			r.s.disconnected.Store(true)
			r.x.recordErr("the router ended subscriber %d's session: ABORT %s", r.s.idx, m.Reason)
			return true
		}
	}
	r.s.unmarked.Add(1)
	return false
}
