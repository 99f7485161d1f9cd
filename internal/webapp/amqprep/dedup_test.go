package amqprep

import (
	"fmt"
	"testing"
	"time"
)

func TestDedupForgetsAfterWindow(t *testing.T) {
	now := time.Unix(1000, 0)
	d := newDedup(time.Minute, 100, 1<<20)
	d.now = func() time.Time { return now }
	c := d.claim("a")
	d.finish(c.entry, true, []byte("reply"))
	if c := d.claim("a"); !c.duplicate || string(c.reply) != "reply" {
		t.Fatalf("claim within the window = %+v, want the duplicate with its reply", c)
	}
	now = now.Add(time.Minute + time.Second)
	if c := d.claim("a"); c.entry == nil {
		t.Fatalf("claim after the window = %+v, want a new claim", c)
	}
}

func TestDedupTransientOutcomeIsForgotten(t *testing.T) {
	d := newDedup(time.Minute, 100, 1<<20)
	c := d.claim("a")
	if other := d.claim("a"); other.wait == nil {
		t.Fatal("a claimed id must make others wait")
	}
	d.finish(c.entry, false, nil)
	if c := d.claim("a"); c.entry == nil {
		t.Fatal("an id whose processing failed transiently must run again")
	}
}

func TestDedupMemoryIsBounded(t *testing.T) {
	d := newDedup(time.Hour, 50, 1<<20)
	for i := range 1000 {
		c := d.claim(fmt.Sprint(i))
		d.finish(c.entry, true, []byte("r"))
	}
	if n := d.len(); n != 50 {
		t.Errorf("%d ids remembered, want the newest 50", n)
	}
	if c := d.claim("999"); !c.duplicate {
		t.Error("the newest id was forgotten")
	}
	if c := d.claim("0"); c.entry == nil {
		t.Error("the oldest id is still remembered")
	}

	big := newDedup(time.Hour, 1000, 3*(128+2+1024))
	for i := range 20 {
		c := big.claim(fmt.Sprint(10 + i))
		big.finish(c.entry, true, make([]byte, 1024))
	}
	if n := big.len(); n != 3 {
		t.Errorf("%d ids remembered within a 3-reply byte budget, want 3", n)
	}
}
