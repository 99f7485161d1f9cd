package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram layout: values (nanoseconds) below 2^(subBits+1) have a bucket each; above, every
// power-of-two range is split into 2^subBits linear buckets, so a bucket's width is at most 1/128
// of its values (0.8% relative error). Values at or above 2^maxBits ns (about 18 minutes) are
// clamped into the last bucket.
const (
	subBits  = 7
	maxBits  = 40
	nBuckets = (maxBits-subBits)<<subBits + 1<<(subBits+1)
)

// hist is a concurrent latency histogram. Record is lock-free and allocation-free, so every
// delivery can be recorded from many goroutines at once.
type hist struct {
	counts [nBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64 // nanoseconds
	max    atomic.Int64
}

// bucketOf returns the bucket index of v (v >= 0).
func bucketOf(v uint64) int {
	if v >= 1<<maxBits {
		return nBuckets - 1
	}
	e := bits.Len64(v) - (subBits + 1)
	if e <= 0 {
		return int(v)
	}
	return e<<subBits + int(v>>uint(e))
}

// bucketRange returns the smallest and largest value that fall into bucket i.
func bucketRange(i int) (lo, hi uint64) {
	if i < 1<<(subBits+1) {
		return uint64(i), uint64(i)
	}
	e := i>>subBits - 1
	m := uint64(i - e<<subBits)
	return m << uint(e), (m+1)<<uint(e) - 1
}

// Record adds one sample; negative durations (clock steps) count as zero.
func (h *hist) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(uint64(v))].Add(1)
	h.n.Add(1)
	h.sum.Add(uint64(v))
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count returns the number of samples recorded.
func (h *hist) Count() uint64 { return h.n.Load() }

// Quantile returns the value below or at which a fraction q (0..1] of the samples lie, as the
// upper bound of the bucket holding that rank (never above the largest sample). It returns 0 for
// an empty histogram.
func (h *hist) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen uint64
	maxV := uint64(h.max.Load())
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			_, hi := bucketRange(i)
			return time.Duration(min(hi, maxV))
		}
	}
	return time.Duration(maxV)
}

// Latency summarises a latency distribution. Durations are in milliseconds.
type Latency struct {
	Count  uint64  `json:"count"`
	MeanMS float64 `json:"mean_ms"`
	P50MS  float64 `json:"p50_ms"`
	P90MS  float64 `json:"p90_ms"`
	P99MS  float64 `json:"p99_ms"`
	P999MS float64 `json:"p99_9_ms"`
	MaxMS  float64 `json:"max_ms"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// Summary returns the histogram's percentiles; nil when it is empty.
func (h *hist) Summary() *Latency {
	n := h.n.Load()
	if n == 0 {
		return nil
	}
	return &Latency{
		Count:  n,
		MeanMS: ms(time.Duration(h.sum.Load() / n)),
		P50MS:  ms(h.Quantile(0.50)),
		P90MS:  ms(h.Quantile(0.90)),
		P99MS:  ms(h.Quantile(0.99)),
		P999MS: ms(h.Quantile(0.999)),
		MaxMS:  ms(time.Duration(h.max.Load())),
	}
}
