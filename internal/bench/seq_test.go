package bench

import "testing"

func TestSeqTracker(t *testing.T) {
	tests := []struct {
		name           string
		resync         bool
		seqs           []uint64
		dups, reorders int
		lost, wantNext uint64
	}{
		{name: "in order", seqs: []uint64{0, 1, 2, 3}, wantNext: 4},
		{name: "first missing", seqs: []uint64{1, 2}, lost: 1, wantNext: 3},
		{name: "gap", seqs: []uint64{0, 1, 4, 5}, lost: 2, wantNext: 6},
		{name: "reorder fills a gap", seqs: []uint64{0, 2, 1, 3}, reorders: 1, wantNext: 4},
		{name: "late after several", seqs: []uint64{0, 3, 4, 2, 1}, reorders: 2, wantNext: 5},
		{name: "duplicate", seqs: []uint64{0, 1, 1, 2}, dups: 1, wantNext: 3},
		{name: "duplicate of a late one", seqs: []uint64{0, 2, 1, 1}, reorders: 1, dups: 1, wantNext: 3},
		{name: "old duplicate", seqs: []uint64{0, 1, 2, 0}, dups: 1, wantNext: 3},
		{name: "resync starts anywhere", resync: true, seqs: []uint64{500, 501, 502}, wantNext: 503},
		{name: "resync then gap", resync: true, seqs: []uint64{500, 502}, lost: 1, wantNext: 503},
		{name: "huge gap is counted, not remembered", seqs: []uint64{0, maxTrackedGap + 10, 5},
			lost: maxTrackedGap + 9, dups: 1, wantNext: maxTrackedGap + 11},
	}
	for _, tt := range tests {
		tr := newSeqTracker(tt.resync)
		var dups, reorders int
		for _, s := range tt.seqs {
			switch tr.observe(s) {
			case seqDup:
				dups++
			case seqLate:
				reorders++
			}
		}
		if dups != tt.dups || reorders != tt.reorders || tr.lost() != tt.lost || tr.next != tt.wantNext {
			t.Errorf("%s: dups %d reorders %d lost %d next %d; want %d %d %d %d", tt.name,
				dups, reorders, tr.lost(), tr.next, tt.dups, tt.reorders, tt.lost, tt.wantNext)
		}
	}
}

func TestSeqTrackerResults(t *testing.T) {
	tr := newSeqTracker(false)
	want := []struct {
		seq uint64
		res seqResult
	}{{0, seqNext}, {2, seqGap}, {1, seqLate}, {1, seqDup}, {3, seqNext}}
	for _, w := range want {
		if got := tr.observe(w.seq); got != w.res {
			t.Errorf("observe(%d) = %d, want %d", w.seq, got, w.res)
		}
	}
}
