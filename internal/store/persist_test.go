package store

import (
	"errors"
	"reflect"
	"sync"
	"testing"
)

func TestAppendBatchCommitsAllTogether(t *testing.T) {
	for _, mode := range []SyncMode{SyncGroup, SyncAlways} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			s := openOpts(t, dir, Options{Sync: SyncPolicy{Mode: mode}})
			mustAppend(t, s, "b", ev(1))
			before := s.com.commits.Load()
			got, err := s.AppendBatch([]LogAppend{
				{Topic: "a", Event: ev(2)}, {Topic: "b", Event: ev(3)}, {Topic: "a", Event: ev(4)},
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, []uint64{1, 2, 2}) {
				t.Fatalf("AppendBatch seqs = %v, want [1 2 2]", got)
			}
			if n := s.com.commits.Load() - before; n != 1 {
				t.Errorf("AppendBatch took %d commits, want 1", n)
			}
			s.Close()
			s = open(t, dir)
			defer s.Close()
			if got, _ := s.Range("a", 1, 0); !reflect.DeepEqual(seqs(got), []uint64{1, 2}) || got[1].PublicationID != ev(4).PublicationID {
				t.Errorf("after reopen, log a = %+v", got)
			}
			if n, _ := s.Newest("b"); n != 2 {
				t.Errorf("after reopen, log b ends at %d, want 2", n)
			}
		})
	}
}

func TestAppendBatchOfOne(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	for want := uint64(1); want <= 3; want++ {
		got, err := s.AppendBatch([]LogAppend{{Topic: "one", Event: ev(int(want))}})
		if err != nil || len(got) != 1 || got[0] != want {
			t.Fatalf("AppendBatch of one event = %v, %v; want [%d]", got, err, want)
		}
	}
	if got, _ := s.Range("", 0, 0); len(got) != 0 {
		t.Errorf("events appended to the empty topic: %v", seqs(got))
	}
}

func TestAppendBatchConcurrentWithAppendsKeepsSequencesDense(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[uint64]bool{}
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				var seq uint64
				if w%2 == 0 {
					seqs, err := s.AppendBatch([]LogAppend{{Topic: "t", Event: ev(i)}, {Topic: "other", Event: ev(i)}})
					if err != nil {
						t.Error(err)
						return
					}
					seq = seqs[0]
				} else {
					var err error
					if seq, err = s.Append("t", ev(i)); err != nil {
						t.Error(err)
						return
					}
				}
				mu.Lock()
				if got[seq] {
					t.Errorf("sequence %d handed out twice", seq)
				}
				got[seq] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for seq := uint64(1); seq <= 400; seq++ {
		if !got[seq] {
			t.Fatalf("sequence %d never handed out (gap)", seq)
		}
	}
}

func TestTruncateKeepsTheSequence(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	for i := 1; i <= 5; i++ {
		mustAppend(t, s, "t", ev(i))
	}
	if err := s.Truncate("t"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Range("t", 0, 0); len(got) != 0 {
		t.Fatalf("after Truncate the log still holds %v", seqs(got))
	}
	if o, n, _ := s.Bounds("t"); o != 6 || n != 5 {
		t.Errorf("Bounds after Truncate = %d, %d; want an empty log 6, 5", o, n)
	}
	s.Close()
	s = open(t, dir)
	defer s.Close()
	if seq := mustAppend(t, s, "t", ev(6)); seq != 6 {
		t.Errorf("append after Truncate and reopen got seq %d, want 6", seq)
	}
}

func TestEachSubscriptionAndAckBatch(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	k1 := SubKey{Owner: "c1", Topic: "r t", Match: "exact"}
	k2 := SubKey{Owner: "c2", Topic: "r u", Match: "prefix", Filter: "a == 1"}
	gone := SubKey{Owner: "c3", Topic: "r v", Match: "exact"}
	for _, k := range []SubKey{k1, k2} {
		if err := s.PutSubscription(Subscription{Key: k}); err != nil {
			t.Fatal(err)
		}
	}
	err := s.AckBatch([]SubAck{
		{Key: k1, Topic: "log1", Seq: 7}, {Key: k2, Topic: "log2", Seq: 3}, {Key: gone, Topic: "log3", Seq: 9},
		{Key: k1, Topic: "log1", Seq: 5}, // older: ignored
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Subscription(gone); !errors.Is(err, ErrNotFound) {
		t.Errorf("an ack created the missing subscription %v: %v", gone, err)
	}
	s.Close()
	s = open(t, dir)
	defer s.Close()
	var all []Subscription
	if err := s.EachSubscription(func(sub Subscription) bool { all = append(all, sub); return true }); err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Key != k1 || all[1].Key != k2 {
		t.Fatalf("EachSubscription = %+v", all)
	}
	if all[0].Delivered["log1"] != 7 || all[1].Delivered["log2"] != 3 {
		t.Errorf("positions after AckBatch and reopen: %v, %v", all[0].Delivered, all[1].Delivered)
	}
	n := 0
	s.EachSubscription(func(Subscription) bool { n++; return false })
	if n != 1 {
		t.Errorf("EachSubscription went on after fn returned false (%d calls)", n)
	}
}

func TestPersistOperationsOnAClosedStore(t *testing.T) {
	s := open(t, t.TempDir())
	s.Close()
	if _, err := s.AppendBatch([]LogAppend{{Topic: "t", Event: ev(1)}}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("AppendBatch after Close: %v", err)
	}
	if err := s.Truncate("t"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Truncate after Close: %v", err)
	}
	if err := s.AckBatch([]SubAck{{Key: SubKey{Owner: "c"}, Topic: "t", Seq: 1}}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("AckBatch after Close: %v", err)
	}
	if err := s.EachSubscription(func(Subscription) bool { return true }); !errors.Is(err, ErrUnavailable) {
		t.Errorf("EachSubscription after Close: %v", err)
	}
	var nilStore *Store
	if r := nilStore.RetentionFor("t"); !r.IsZero() {
		t.Errorf("RetentionFor on a nil store = %+v", r)
	}
}
