package bench

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

// A subscriber counts what arrives from the raw frames alone: deliveries, duplicates, reorders,
// latency samples inside the window, and what is still missing.
func TestSubscriberAccounting(t *testing.T) {
	ser, _ := codec.ByID(codec.MsgPack)
	f := &fanoutRun{runner: &runner{o: Options{Publishers: 2, SampleEvery: 1}, t: &target{ser: ser}, report: &Report{}, progress: io.Discard}}
	now := time.Now().UnixNano()
	st := &stepState{winStart: now - int64(time.Second), winEnd: now + int64(time.Second)}
	f.cur.Store(st)
	s := &subscriber{}
	f.subs = []*subscriber{s}
	r := f.newSubReader(s, false)
	event := func(seq uint64, src uint32, intended int64) []byte {
		m := string(appendMarker(nil, marker{seq: seq, intended: intended, source: src}, 100))
		b, err := ser.Encode(nil, &wamp.Event{Subscription: 1, Publication: 2, Details: wamp.Dict{}, Args: wamp.List{m}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	inWindow, before := now-int64(5*time.Millisecond), now-int64(2*time.Second)
	frames := [][]byte{
		event(0, 0, inWindow), event(1, 0, inWindow), event(3, 0, inWindow), // seq 2 late
		event(3, 0, inWindow), // duplicate
		event(2, 0, inWindow), // reorder
		event(0, 1, before),   // another publisher, due before the window: no latency sample
		event(0, 7, inWindow), // an unknown publisher id: not ours
	}
	for _, b := range frames {
		if !r.message(b, now) {
			t.Fatal("message ended the session")
		}
	}
	if s.deliveries.Load() != 6 || s.distinct.Load() != 5 || s.dups.Load() != 1 || s.reorders.Load() != 1 || s.unmarked.Load() != 1 {
		t.Errorf("deliveries %d distinct %d dups %d reorders %d unmarked %d; want 6 5 1 1 1",
			s.deliveries.Load(), s.distinct.Load(), s.dups.Load(), s.reorders.Load(), s.unmarked.Load())
	}
	if st.lat.Count() != 4 || st.delivered.Load() != 5 {
		t.Errorf("%d latency samples, %d delivered in window; want 4, 5", st.lat.Count(), st.delivered.Load())
	}
	if q := st.lat.Quantile(1); q < 4900*time.Microsecond || q > 5100*time.Microsecond {
		t.Errorf("latency %v, want 5ms from the due time", q)
	}
	// Publisher 0 sent 5 (seq 4 never came), publisher 1 sent 1: 6 due, 5 distinct arrived.
	if m := f.missing([]uint64{6}, true); m != 1 {
		t.Errorf("missing = %d, want 1", m)
	}
	goodbye, _ := ser.Encode(nil, &wamp.Goodbye{Details: wamp.Dict{}, Reason: "wamp.close.system_shutdown"})
	if r.message(goodbye, now) || !s.disconnected.Load() {
		t.Error("GOODBYE did not end the subscriber's session")
	}
	if m := f.missing([]uint64{6}, true); m != 0 {
		t.Errorf("missing = %d for a disconnected subscriber while draining, want 0 (it will not catch up)", m)
	}
}

func TestJudge(t *testing.T) {
	o, _ := Options{Scenario: Fanout, URL: "ws://x:1/ws"}.withDefaults()
	good := Step{Latency: &Latency{P99MS: 20}, SendLag: &Latency{P99MS: 1}, Client: ClientCPU{Available: 1}}
	if ok, why := judge(good, o); !ok {
		t.Errorf("a clean step failed: %s", why)
	}
	bad := []struct {
		edit func(*Step)
		want string
	}{
		{func(s *Step) { s.Lost = 3 }, "gaps 3"},
		{func(s *Step) { s.Duplicates = 1 }, "duplicates 1"},
		{func(s *Step) { s.Disconnected = 2 }, "2 subscribers disconnected"},
		{func(s *Step) { s.Latency = &Latency{P99MS: 1500} }, "latency p99 1.50s above 1s"},
		{func(s *Step) { s.Latency = nil }, "no deliveries"},
		{func(s *Step) { s.SendLag = &Latency{P99MS: 250} }, "publishers fell behind"},
		{func(s *Step) { s.ClientLimited, s.Client.Fraction = true, 0.97 }, "the client is the limit"},
		{func(s *Step) { s.PublishErrors = 4 }, "4 publications refused"},
	}
	for _, tt := range bad {
		st := good
		tt.edit(&st)
		ok, why := judge(st, o)
		if ok || !contains(why, tt.want) {
			t.Errorf("judge = %v, %q; want a failure naming %q", ok, why, tt.want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
