package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"
)

func openOpts(t *testing.T, dir string, o Options) *Store {
	t.Helper()
	s, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

func ev(i int) Event {
	return Event{
		PublicationID: uint64(1000 + i), Publisher: 77, PublisherAuthID: "alice", PublisherAuthRole: "user",
		Codec: "json", Payload: []byte(`[` + strconv.Itoa(i) + `]`), Time: t0.Add(time.Duration(i) * time.Second),
	}
}

func mustAppend(t *testing.T, s *Store, topic string, e Event) uint64 {
	t.Helper()
	seq, err := s.Append(topic, e)
	if err != nil {
		t.Fatalf("Append(%s): %v", topic, err)
	}
	return seq
}

func seqs(evs []StoredEvent) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

func TestAppendSequencesPersistAcrossReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := open(t, dir)
	for i := 1; i <= 3; i++ {
		if got := mustAppend(t, s, "com.a", ev(i)); got != uint64(i) {
			t.Fatalf("append %d to com.a: seq %d", i, got)
		}
	}
	if got := mustAppend(t, s, "com.b", ev(9)); got != 1 {
		t.Fatalf("first append to com.b: seq %d, want 1 (sequences are per topic)", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	defer s.Close()
	if got := mustAppend(t, s, "com.a", ev(4)); got != 4 {
		t.Fatalf("append after reopen: seq %d, want 4", got)
	}
	all, err := s.Range("com.a", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(seqs(all), []uint64{1, 2, 3, 4}) {
		t.Fatalf("Range: seqs %v", seqs(all))
	}
	want := StoredEvent{Seq: 2, Event: ev(2)}
	want.Time = want.Time.UTC()
	if !reflect.DeepEqual(all[1], want) {
		t.Errorf("Range[1] = %+v, want %+v", all[1], want)
	}
	if got, _ := s.Range("com.a", 2, 2); !reflect.DeepEqual(seqs(got), []uint64{2, 3}) {
		t.Errorf("Range(from 2, limit 2): %v", seqs(got))
	}
	if got, _ := s.Range("com.a", 5, 0); len(got) != 0 {
		t.Errorf("Range past the end: %v", seqs(got))
	}
	if got, _ := s.Last("com.a", 2); !reflect.DeepEqual(seqs(got), []uint64{3, 4}) {
		t.Errorf("Last(2): %v", seqs(got))
	}
	if got, _ := s.Last("com.a", 10); !reflect.DeepEqual(seqs(got), []uint64{1, 2, 3, 4}) {
		t.Errorf("Last(10): %v", seqs(got))
	}
	// A topic whose name is a prefix of another shares no entries with it.
	if got, _ := s.Range("com", 1, 0); len(got) != 0 {
		t.Errorf("Range(com): %v", seqs(got))
	}
	if o, n, err := s.Bounds("com.a"); o != 1 || n != 4 || err != nil {
		t.Errorf("Bounds(com.a) = %d, %d, %v", o, n, err)
	}
	if o, n, err := s.Bounds("never"); o != 1 || n != 0 || err != nil {
		t.Errorf("Bounds(never) = %d, %d, %v; want an empty log 1, 0", o, n, err)
	}
	var topics []string
	s.Topics("com.", func(tp string) bool { topics = append(topics, tp); return true })
	if !reflect.DeepEqual(topics, []string{"com.a", "com.b"}) {
		t.Errorf("Topics(com.) = %v", topics)
	}
}

func TestConcurrentAppendsGetDistinctOrderedSeqs(t *testing.T) {
	for _, mode := range []SyncMode{SyncGroup, SyncAlways, SyncNone} {
		t.Run(mode.String(), func(t *testing.T) {
			s := openOpts(t, t.TempDir(), Options{Sync: SyncPolicy{Mode: mode}})
			defer s.Close()
			const writers, each = 32, 20
			topics := []string{"t.0", "t.1", "t.2"}
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for w := range writers {
				wg.Go(func() {
					topic := topics[w%len(topics)]
					var last uint64
					for i := range each {
						e := ev(i)
						e.Payload = fmt.Appendf(nil, "%d/%d", w, i)
						seq, err := s.Append(topic, e)
						if err != nil {
							errs <- err
							return
						}
						if seq <= last {
							errs <- fmt.Errorf("writer %d: seq %d after %d", w, seq, last)
							return
						}
						last = seq
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			for i, topic := range topics {
				n := 0
				for w := i; w < writers; w += len(topics) {
					n += each
				}
				got, err := s.Range(topic, 0, 0)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != n {
					t.Fatalf("%s: %d events, want %d", topic, len(got), n)
				}
				next := map[string]int{}
				for j, e := range got {
					if e.Seq != uint64(j+1) {
						t.Fatalf("%s: event %d has seq %d", topic, j, e.Seq)
					}
					var w, k int
					fmt.Sscanf(string(e.Payload), "%d/%d", &w, &k)
					if next[strconv.Itoa(w)] != k {
						t.Fatalf("%s: writer %d's event %d stored out of order", topic, w, k)
					}
					next[strconv.Itoa(w)]++
				}
			}
			commits := s.com.commits.Load()
			switch mode {
			case SyncAlways:
				if commits != writers*each {
					t.Errorf("always: %d commits for %d appends", commits, writers*each)
				}
			case SyncGroup:
				if commits >= writers*each {
					t.Errorf("group: %d commits for %d concurrent appends; none were grouped", commits, writers*each)
				}
				t.Logf("group: %d appends in %d commits", writers*each, commits)
			}
		})
	}
}

func TestGroupWindowGathersAppends(t *testing.T) {
	s := openOpts(t, t.TempDir(), Options{Sync: SyncPolicy{Mode: SyncGroup, Window: 50 * time.Millisecond, MaxBatch: 8}})
	defer s.Close()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { mustAppend(t, s, "w", ev(i)) })
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	if c := s.com.commits.Load(); c > 2 {
		t.Errorf("8 appends 1ms apart within a 50ms window took %d commits", c)
	}
}

func TestRetentionByCount(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	s.SetRetention("c", Retention{MaxCount: 10})
	for i := 1; i <= 25; i++ {
		mustAppend(t, s, "c", ev(i))
	}
	if o, n, _ := s.Bounds("c"); o != 16 || n != 25 {
		t.Fatalf("Bounds after 25 appends keeping 10: %d..%d, want 16..25", o, n)
	}
	got, _ := s.Range("c", 1, 0)
	if len(got) != 10 || got[0].Seq != 16 {
		t.Fatalf("Range from 1 after trim: %v", seqs(got))
	}
	s.Close()
	s = open(t, dir) // retention registration is not persisted; the trim is
	defer s.Close()
	if got, _ := s.Range("c", 1, 0); len(got) != 10 || got[0].Seq != 16 {
		t.Fatalf("after reopen: %v", seqs(got))
	}
	if seq := mustAppend(t, s, "c", ev(26)); seq != 26 {
		t.Fatalf("seq after trim and reopen: %d", seq)
	}
	// Per-call retention overrides.
	if _, err := s.AppendWithRetention("c", ev(27), Retention{MaxCount: 2}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Range("c", 1, 0); !reflect.DeepEqual(seqs(got), []uint64{26, 27}) {
		t.Fatalf("after AppendWithRetention(MaxCount 2): %v", seqs(got))
	}
}

func TestRetentionByBytes(t *testing.T) {
	s := openOpts(t, t.TempDir(), Options{Retention: func(topic string) Retention {
		if topic == "big" {
			return Retention{MaxBytes: 1000}
		}
		return Retention{}
	}})
	defer s.Close()
	e := ev(1)
	e.Payload = make([]byte, 100)
	size := uint64(len(encodeEvent(nil, &e)))
	for range 30 {
		mustAppend(t, s, "big", e)
		mustAppend(t, s, "other", e)
	}
	got, _ := s.Range("big", 0, 0)
	if uint64(len(got))*size > 1000 || uint64(len(got)+1)*size <= 1000 {
		t.Fatalf("kept %d events of %d bytes under MaxBytes 1000", len(got), size)
	}
	if got[len(got)-1].Seq != 30 {
		t.Fatalf("the newest event was dropped: %v", seqs(got))
	}
	if other, _ := s.Range("other", 0, 0); len(other) != 30 {
		t.Fatalf("topic without retention lost events: %d", len(other))
	}
}

func TestRetentionByAgeAndTrim(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	now := time.Now()
	for i := range 10 {
		e := ev(i)
		e.Time = now.Add(-time.Duration(10-i) * time.Hour) // 10h ago ... 1h ago
		mustAppend(t, s, "age", e)
	}
	if o, _, _ := s.Bounds("age"); o != 1 {
		t.Fatalf("trimmed without retention: oldest %d", o)
	}
	if err := s.Trim("age", &Retention{MaxAge: 150 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Range("age", 0, 0)
	if !reflect.DeepEqual(seqs(got), []uint64{9, 10}) {
		t.Fatalf("after trimming to 2.5h: %v", seqs(got))
	}
	// Everything aged out: the log is empty but keeps its sequence.
	if err := s.Trim("age", &Retention{MaxAge: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if o, n, _ := s.Bounds("age"); o != 11 || n != 10 {
		t.Fatalf("Bounds of an aged-out log: %d, %d; want 11, 10", o, n)
	}
	if seq := mustAppend(t, s, "age", ev(0)); seq != 11 {
		t.Fatalf("append to an aged-out log: seq %d", seq)
	}
	if got, _ := s.Range("age", 0, 0); !reflect.DeepEqual(seqs(got), []uint64{11}) {
		t.Fatalf("%v", seqs(got))
	}
}

func TestDecodeEventRejectsTruncated(t *testing.T) {
	e := ev(3)
	v := encodeEvent(nil, &e)
	for i := range len(v) - len(e.Payload) {
		if _, err := decodeEvent(v[:i]); !errors.Is(err, errBadEvent) {
			t.Errorf("decode of %d/%d bytes: %v", i, len(v), err)
		}
	}
	bad := append([]byte{}, v...)
	bad[0] = 99
	if _, err := decodeEvent(bad); !errors.Is(err, errBadEvent) {
		t.Errorf("unknown version: %v", err)
	}
}

func TestRetained(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if _, err := s.Retained("r.a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Retained of a new topic: %v", err)
	}
	for i := 1; i <= 3; i++ {
		if err := s.Retain("r.a", StoredEvent{Seq: uint64(i), Event: ev(i)}); err != nil {
			t.Fatal(err)
		}
	}
	s.Retain("r.b", StoredEvent{Event: ev(7)})
	s.Retain("rx", StoredEvent{Event: ev(8)})
	s.Close()
	s = open(t, dir)
	defer s.Close()
	got, err := s.Retained("r.a")
	if err != nil || got.Seq != 3 || string(got.Payload) != "[3]" {
		t.Fatalf("Retained(r.a) = %+v, %v; want the last one", got, err)
	}
	var topics []string
	s.RetainedPrefix("r.", func(tp string, _ StoredEvent) bool { topics = append(topics, tp); return true })
	if !reflect.DeepEqual(topics, []string{"r.a", "r.b"}) {
		t.Fatalf("RetainedPrefix(r.) = %v", topics)
	}
	if err := s.ForgetRetained("r.a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Retained("r.a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after ForgetRetained: %v", err)
	}
}

func TestEventOpsUnavailable(t *testing.T) {
	s := open(t, t.TempDir())
	s.Close()
	var nilStore *Store
	for _, st := range []*Store{s, nilStore} {
		checks := map[string]error{}
		_, checks["Append"] = st.Append("x", ev(1))
		checks["Trim"] = st.Trim("x", nil)
		_, checks["Range"] = st.Range("x", 0, 0)
		_, checks["Last"] = st.Last("x", 1)
		_, _, checks["Bounds"] = st.Bounds("x")
		checks["Topics"] = st.Topics("", func(string) bool { return true })
		checks["Retain"] = st.Retain("x", StoredEvent{})
		_, checks["Retained"] = st.Retained("x")
		checks["RetainedPrefix"] = st.RetainedPrefix("", func(string, StoredEvent) bool { return true })
		checks["PutSubscription"] = st.PutSubscription(Subscription{})
		_, checks["Subscription"] = st.Subscription(SubKey{})
		checks["DeleteSubscription"] = st.DeleteSubscription(SubKey{})
		_, checks["ListSubscriptions"] = st.ListSubscriptions("")
		checks["Ack"] = st.Ack(SubKey{}, 1)
		for op, err := range checks {
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("%s on %v store: %v, want ErrUnavailable", op, st, err)
			}
		}
	}
	nilStore.SetRetention("x", Retention{MaxCount: 1}) // no panic
}

func TestAppendsRacingClose(t *testing.T) {
	s := open(t, t.TempDir())
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				if _, err := s.Append("race", ev(w*1000+i)); err != nil {
					if !errors.Is(err, ErrUnavailable) {
						t.Errorf("append during Close: %v", err)
					}
					return
				}
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait() // every Append returned
}
