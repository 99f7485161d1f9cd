package service

import (
	"testing"
	"time"
)

func TestPublishDedupWindowAndBound(t *testing.T) {
	d := newPublishDedup(time.Minute, 3)
	t0 := time.Unix(1000, 0)
	if d.begin("a", t0) != nil {
		t.Fatal("a new id was reported as seen")
	}
	d.finish("a", 7)
	if e := d.begin("a", t0.Add(30*time.Second)); e == nil || e.publication != 7 {
		t.Fatalf("within the window: %+v", e)
	}
	if d.begin("a", t0.Add(61*time.Second)) != nil {
		t.Fatal("an id older than the window is still remembered")
	}
	d.finish("a", 8)
	// A failed first publish is forgotten, so that a retry publishes.
	d.begin("b", t0.Add(62*time.Second))
	d.finish("b", 0)
	if d.begin("b", t0.Add(62*time.Second)) != nil {
		t.Fatal("a failed publish's id is still remembered")
	}
	d.finish("b", 9)
	// Beyond max, the oldest finished ids go first.
	for _, id := range []string{"c", "d", "e"} {
		d.begin(id, t0.Add(63*time.Second))
		d.finish(id, 1)
	}
	if len(d.seen) > 3+1 {
		t.Errorf("%d ids remembered, bound is 3 (+ the one being added)", len(d.seen))
	}
	if d.begin("e", t0.Add(63*time.Second)) == nil {
		t.Error("the newest id was forgotten")
	}
}
