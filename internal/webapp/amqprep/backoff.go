package amqprep

import (
	"math/rand/v2"
	"sync"
	"time"
)

// backoff is an exponential delay between MinBackoff and MaxBackoff, with up to 20% jitter so that
// several gateways do not retry in step. It is safe for concurrent use.
type backoff struct {
	min, max time.Duration
	mu       sync.Mutex
	cur      time.Duration
}

func newBackoff(min, max time.Duration) *backoff { return &backoff{min: min, max: max} }

// next returns the delay to wait now and doubles the following one.
func (b *backoff) next() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur < b.min {
		b.cur = b.min
	}
	d := b.cur
	b.cur = min(b.cur*2, b.max)
	if jitter := int64(d) / 5; jitter > 0 {
		d = d - time.Duration(jitter) + time.Duration(rand.Int64N(jitter+1))
	}
	return d
}

// reset makes the next delay MinBackoff again.
func (b *backoff) reset() {
	b.mu.Lock()
	b.cur = 0
	b.mu.Unlock()
}
