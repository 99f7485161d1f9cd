package bench

// maxTrackedGap bounds the set of missing sequence numbers a tracker remembers. A jump larger than
// this is counted as lost at once; should those messages still arrive, they count as duplicates.
const maxTrackedGap = 1 << 16

// seqResult is what a tracker concluded from one sequence number.
type seqResult uint8

const (
	seqNext seqResult = iota // the expected next number (or the first one of a resynchronised stream)
	seqGap                   // a number beyond the next expected one: those in between are missing for now
	seqLate                  // a number that was missing: it arrived out of order (a reorder)
	seqDup                   // a number already received
)

// seqTracker follows one stream of sequence numbers (one publisher on one topic as seen by one
// subscriber), which should arrive as 0, 1, 2, ... exactly once each and in order.
type seqTracker struct {
	next     uint64 // the number expected next
	started  bool   // false: the first number seen sets the start (a stream joined late)
	missing  map[uint64]struct{}
	untraced uint64 // missing numbers beyond maxTrackedGap, not remembered individually
}

// newSeqTracker returns a tracker expecting 0 first, or, with resync, whatever number comes first.
func newSeqTracker(resync bool) seqTracker { return seqTracker{started: !resync} }

// observe accounts for one received sequence number.
func (t *seqTracker) observe(seq uint64) seqResult {
	if !t.started {
		t.started, t.next = true, seq+1
		return seqNext
	}
	switch {
	case seq == t.next:
		t.next++
		return seqNext
	case seq > t.next:
		if gap := seq - t.next; gap > maxTrackedGap || len(t.missing)+int(gap) > maxTrackedGap {
			t.untraced += gap
		} else {
			if t.missing == nil {
				t.missing = make(map[uint64]struct{}, gap)
			}
			for s := t.next; s < seq; s++ {
				t.missing[s] = struct{}{}
			}
		}
		t.next = seq + 1
		return seqGap
	default:
		if _, ok := t.missing[seq]; ok {
			delete(t.missing, seq)
			return seqLate
		}
		return seqDup
	}
}

// lost returns how many numbers below the next expected one never arrived.
func (t *seqTracker) lost() uint64 { return uint64(len(t.missing)) + t.untraced }
