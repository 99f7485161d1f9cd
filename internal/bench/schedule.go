package bench

import (
	"math"
	"time"
)

// schedule is an open-loop send schedule: message i (counted from 0 over all senders) is due at
// t0 + i/rate, whatever happened to the messages before it. A sender that is late sends at once
// but keeps the schedule, so it catches up instead of shifting every later message.
type schedule struct {
	t0   time.Time
	rate float64 // messages per second, > 0
}

// due returns when message i is due.
func (s schedule) due(i uint64) time.Time {
	return s.t0.Add(time.Duration(math.Round(float64(i) * 1e9 / s.rate)))
}

// count returns how many messages are due in [t0, t0+d).
func (s schedule) count(d time.Duration) uint64 {
	x := d.Seconds() * s.rate
	n := uint64(math.Ceil(x - 1e-9))
	// Rounding in due may move the last one to t0+d exactly; it is outside the span.
	for n > 0 && !s.due(n-1).Before(s.t0.Add(d)) {
		n--
	}
	return n
}
