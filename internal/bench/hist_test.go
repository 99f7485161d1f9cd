package bench

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestBucketsCoverValues(t *testing.T) {
	prevHi := uint64(0)
	for i := range nBuckets - 1 {
		lo, hi := bucketRange(i)
		if i > 0 && lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ended at %d", i, lo, prevHi)
		}
		if hi < lo {
			t.Fatalf("bucket %d: [%d, %d]", i, lo, hi)
		}
		if lo >= 1<<(subBits+1) && float64(hi-lo+1)/float64(lo) > 1.0/(1<<subBits)+1e-12 {
			t.Fatalf("bucket %d: [%d, %d] is wider than 1/%d of its values", i, lo, hi, 1<<subBits)
		}
		prevHi = hi
		if hi >= 1<<maxBits {
			break
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		v := r.Uint64N(1 << maxBits)
		lo, hi := bucketRange(bucketOf(v))
		if v < lo || v > hi {
			t.Fatalf("value %d in bucket %d = [%d, %d]", v, bucketOf(v), lo, hi)
		}
	}
	if bucketOf(1<<62) != nBuckets-1 {
		t.Errorf("huge values are not clamped into the last bucket")
	}
}

func TestQuantiles(t *testing.T) {
	var h hist
	if h.Summary() != nil || h.Quantile(0.5) != 0 {
		t.Fatal("an empty histogram has a summary")
	}
	// 1..100000 µs, shuffled.
	vals := rand.New(rand.NewPCG(3, 4)).Perm(100000)
	for _, v := range vals {
		h.Record(time.Duration(v+1) * time.Microsecond)
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := q * 100000 * 1000 // ns
		got := float64(h.Quantile(q))
		if got < want || got > want*1.01 {
			t.Errorf("q%.3f = %v, want within 1%% above %v", q, time.Duration(got), time.Duration(want))
		}
	}
	s := h.Summary()
	if s.Count != 100000 || s.MaxMS != 100 || s.MeanMS < 49.9 || s.MeanMS > 50.1 {
		t.Errorf("summary = %+v", s)
	}
	if h.Quantile(1) != 100*time.Millisecond {
		t.Errorf("q1 = %v, want the maximum", h.Quantile(1))
	}
}

func TestHistExactSmallValuesAndClamp(t *testing.T) {
	var h hist
	h.Record(-5) // a clock step
	h.Record(3)
	h.Record(200)
	if got := h.Quantile(1.0 / 3); got != 0 {
		t.Errorf("negative sample recorded as %v, want 0", got)
	}
	if got := h.Quantile(0.5); got != 3 {
		t.Errorf("median = %v, want 3ns", got)
	}
	if got := h.Quantile(1); got != 200 {
		t.Errorf("max = %v, want 200ns", got)
	}
}

func TestHistConcurrent(t *testing.T) {
	var h hist
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				h.Record(time.Duration(g*1000 + i))
			}
		}()
	}
	wg.Wait()
	if h.Count() != 8000 || h.Quantile(1) != 7999 {
		t.Errorf("count %d, max %v; want 8000, 7999ns", h.Count(), h.Quantile(1))
	}
}
