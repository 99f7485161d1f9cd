package router

import (
	"time"

	"github.com/gateway-dev/gateway/internal/store"
)

// ackDelay is how long a delivered position may wait before it is written to the store: the
// positions of every persistent subscription that moved within it are written with one sync.
const ackDelay = 5 * time.Millisecond

// markDirty queues rec's position to be written to the store within ackDelay.
func (pr *persistence) markDirty(rec *record) {
	if !rec.dirty.CompareAndSwap(false, true) {
		return
	}
	pr.ackMu.Lock()
	pr.dirty = append(pr.dirty, rec)
	switch {
	case pr.ackTimer == nil:
		pr.ackTimer = time.AfterFunc(ackDelay, func() { pr.flushAcks() })
	case len(pr.dirty) == 1:
		pr.ackTimer.Reset(ackDelay)
	}
	pr.ackMu.Unlock()
}

// flushAcks writes the queued positions to the store now (one durable write). A position that
// cannot be written stays in memory and is written with the record's next change.
func (pr *persistence) flushAcks() error {
	pr.ackMu.Lock()
	dirty := pr.dirty
	pr.dirty = nil
	pr.ackMu.Unlock()
	if len(dirty) == 0 {
		return nil
	}
	acks := make([]store.SubAck, 0, len(dirty))
	recs := make([]*record, 0, len(dirty))
	for _, rec := range dirty {
		rec.dirty.Store(false)
		if pos := rec.pos.Load(); pos > rec.acked.Load() {
			acks = append(acks, store.SubAck{Key: rec.key, Topic: rec.log.key, Seq: pos})
			recs = append(recs, rec)
		}
	}
	if err := pr.st.AckBatch(acks); err != nil {
		pr.log.Warn("positions of persistent subscriptions not stored", "count", len(acks), "err", err)
		return err
	}
	for i, rec := range recs {
		for {
			old := rec.acked.Load()
			if acks[i].Seq <= old || rec.acked.CompareAndSwap(old, acks[i].Seq) {
				break
			}
		}
	}
	return nil
}
