package service

import (
	"sync"
	"time"

	"github.com/gateway-dev/gateway/wamp"
)

// publishDedup remembers the publications made with options.message_id for a window, so that a
// retried publish (an HTTP client that lost the answer, a redelivered queue message) is answered
// with the first publication instead of publishing again. Memory is bounded: the oldest ids are
// forgotten first.
type publishDedup struct {
	window time.Duration
	max    int

	mu    sync.Mutex
	seen  map[string]*dedupEntry
	order []string // ids in insertion order, for expiry
	head  int      // first live index of order
}

type dedupEntry struct {
	done        chan struct{} // closed when the first publish finished
	publication wamp.ID       // valid after done; 0 when the first publish failed
	at          time.Time
}

func newPublishDedup(window time.Duration, max int) *publishDedup {
	return &publishDedup{window: window, max: max, seen: map[string]*dedupEntry{}}
}

// begin returns the entry of an id already seen (wait on done, then read publication), or
// registers id and returns nil: the caller publishes and calls finish.
func (d *publishDedup) begin(id string, now time.Time) *dedupEntry {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expire(now)
	if e := d.seen[id]; e != nil {
		return e
	}
	d.seen[id] = &dedupEntry{done: make(chan struct{}), at: now}
	d.order = append(d.order, id)
	return nil
}

// finish records the outcome of id's first publish; a failed one is forgotten so a retry runs.
func (d *publishDedup) finish(id string, publication wamp.ID) {
	d.mu.Lock()
	e := d.seen[id]
	if publication == 0 {
		delete(d.seen, id)
	} else {
		e.publication = publication
	}
	d.mu.Unlock()
	close(e.done)
}

// expire forgets ids older than the window, and the oldest beyond max; an id whose first publish
// is still running is kept (with everything after it). Callers hold d.mu.
func (d *publishDedup) expire(now time.Time) {
	for d.head < len(d.order) {
		id := d.order[d.head]
		if e := d.seen[id]; e != nil {
			if now.Sub(e.at) < d.window && len(d.seen) <= d.max {
				break
			}
			select {
			case <-e.done:
			default:
				return
			}
			delete(d.seen, id)
		}
		d.head++
	}
	if d.head > 1024 && d.head > len(d.order)/2 {
		d.order = append(d.order[:0], d.order[d.head:]...)
		d.head = 0
	}
}
