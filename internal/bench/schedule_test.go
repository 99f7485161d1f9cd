package bench

import (
	"testing"
	"time"
)

func TestScheduleDue(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := schedule{t0: t0, rate: 12}
	if !s.due(0).Equal(t0) {
		t.Errorf("due(0) = %v, want t0", s.due(0))
	}
	if got := s.due(12).Sub(t0); got != time.Second {
		t.Errorf("due(12) = t0+%v, want t0+1s", got)
	}
	if got := s.due(1).Sub(t0); got != 83333333*time.Nanosecond {
		t.Errorf("due(1) = t0+%v, want t0+83.333333ms", got)
	}
	// Open loop: the schedule does not depend on when earlier messages went out.
	if got := s.due(240).Sub(t0); got != 20*time.Second {
		t.Errorf("due(240) = t0+%v, want 20s", got)
	}
}

func TestScheduleCount(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		rate float64
		d    time.Duration
		want uint64
	}{
		{12, 20 * time.Second, 240},
		{12, 23 * time.Second, 276},
		{3, time.Second, 3},
		{2.5, time.Second, 3}, // due at 0, 0.4s, 0.8s
		{2.5, 1200 * time.Millisecond, 3},
		{2.5, 1201 * time.Millisecond, 4},
		{1e6, time.Millisecond, 1000},
		{10, 0, 0},
	}
	for _, tt := range tests {
		s := schedule{t0: t0, rate: tt.rate}
		if got := s.count(tt.d); got != tt.want {
			t.Errorf("rate %v over %v: count = %d, want %d", tt.rate, tt.d, got, tt.want)
		}
		// Every counted message is due inside the span, the next one is not.
		if n := s.count(tt.d); n > 0 && !s.due(n-1).Before(t0.Add(tt.d)) || s.due(n).Before(t0.Add(tt.d)) {
			t.Errorf("rate %v over %v: count %d disagrees with due", tt.rate, tt.d, n)
		}
	}
}

func TestStepShare(t *testing.T) {
	total := uint64(0)
	for k := range 4 {
		total += stepShare(10, 4, k)
	}
	if total != 10 || stepShare(10, 4, 0) != 3 || stepShare(10, 4, 1) != 3 || stepShare(10, 4, 3) != 2 {
		t.Errorf("topic shares of 10 over 4 topics: %d %d %d %d",
			stepShare(10, 4, 0), stepShare(10, 4, 1), stepShare(10, 4, 2), stepShare(10, 4, 3))
	}
}
