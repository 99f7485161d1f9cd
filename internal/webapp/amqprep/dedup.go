package amqprep

import (
	"container/list"
	"sync"
	"time"
)

// dedup remembers the message ids processed within a window, with each one's reply. Memory is bounded
// by an entry count and a byte total; the oldest ids are forgotten first. An id being processed is
// claimed so that a concurrent redelivery waits for the first outcome instead of running again.
type dedup struct {
	window     time.Duration
	maxEntries int
	maxBytes   int
	now        func() time.Time

	mu      sync.Mutex
	entries map[string]*dedupEntry
	done    *list.List // final entries, oldest first
	bytes   int
}

// dedupEntry is one message id: in progress until finished, then final (processed) or removed.
type dedupEntry struct {
	id    string
	wait  chan struct{} // closed when the claimant finishes
	final bool
	reply []byte
	at    time.Time
	elem  *list.Element
}

// claim is the outcome of dedup.claim.
type claim struct {
	// entry is set when the caller owns the id and must call finish.
	entry *dedupEntry
	// duplicate is true when the id was processed within the window; reply is the first reply.
	duplicate bool
	reply     []byte
	// wait is set when another delivery of the id is being processed: wait, then claim again.
	wait <-chan struct{}
}

func newDedup(window time.Duration, maxEntries, maxBytes int) *dedup {
	return &dedup{window: window, maxEntries: maxEntries, maxBytes: maxBytes, now: time.Now,
		entries: make(map[string]*dedupEntry), done: list.New()}
}

// claim looks id up: a duplicate, an id in progress elsewhere, or a new claim for the caller.
func (d *dedup) claim(id string) claim {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.evict()
	if e, ok := d.entries[id]; ok {
		if e.final {
			return claim{duplicate: true, reply: e.reply}
		}
		return claim{wait: e.wait}
	}
	e := &dedupEntry{id: id, wait: make(chan struct{})}
	d.entries[id] = e
	return claim{entry: e}
}

// finish ends a claim. A final outcome (processed or dead-lettered) is remembered with its reply;
// otherwise the id is forgotten so that a redelivery runs again.
func (d *dedup) finish(e *dedupEntry, final bool, reply []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if final {
		e.final, e.reply, e.at = true, reply, d.now()
		e.elem = d.done.PushBack(e)
		d.bytes += entrySize(e)
		d.evict()
	} else {
		delete(d.entries, e.id)
	}
	close(e.wait)
}

// len returns the number of remembered ids (final and in progress).
func (d *dedup) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.entries)
}

// evict forgets the final entries that expired or exceed the bounds. d.mu must be held.
func (d *dedup) evict() {
	cutoff := d.now().Add(-d.window)
	for front := d.done.Front(); front != nil; front = d.done.Front() {
		e := front.Value.(*dedupEntry)
		if !e.at.Before(cutoff) && d.done.Len() <= d.maxEntries && d.bytes <= d.maxBytes {
			return
		}
		d.done.Remove(front)
		d.bytes -= entrySize(e)
		delete(d.entries, e.id)
	}
}

// entrySize approximates an entry's memory: its id, its reply and the bookkeeping.
func entrySize(e *dedupEntry) int { return len(e.id) + len(e.reply) + 128 }
