package store

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

func TestSubscriptionsPersistAndAckIsMonotonic(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	k := SubKey{Owner: "client-1", Topic: "com.x", Match: "exact", Filter: `a == 1`}
	if _, err := s.Subscription(k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Subscription before Put: %v", err)
	}
	if err := s.Ack(k, 3); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Ack of an unknown subscription: %v", err)
	}
	if err := s.PutSubscription(Subscription{Key: k, AuthID: "alice"}); err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{5, 9, 7} {
		if err := s.Ack(k, seq); err != nil {
			t.Fatal(err)
		}
	}
	// Same owner and topic, other match policy: a different subscription.
	k2 := k
	k2.Match = "prefix"
	if err := s.PutSubscription(Subscription{Key: k2}); err != nil {
		t.Fatal(err)
	}
	if err := s.AckTopic(k2, "com.x.y", 4); err != nil {
		t.Fatal(err)
	}
	// Re-putting with an older position keeps the newer one.
	if err := s.PutSubscription(Subscription{Key: k, AuthID: "alice2", Delivered: map[string]uint64{"com.x": 2}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir)
	defer s.Close()
	got, err := s.Subscription(k)
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != k || got.AuthID != "alice2" || got.Delivered["com.x"] != 9 || got.Created.IsZero() {
		t.Fatalf("after reopen: %+v; want authid alice2, delivered 9", got)
	}
	list, err := s.ListSubscriptions("client-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Key != k || list[1].Key != k2 || !reflect.DeepEqual(list[1].Delivered, map[string]uint64{"com.x.y": 4}) {
		t.Fatalf("ListSubscriptions = %+v", list)
	}
	if other, _ := s.ListSubscriptions("client-"); len(other) != 0 {
		t.Fatalf("an owner whose id is a prefix sees others' subscriptions: %+v", other)
	}
	if err := s.DeleteSubscription(k); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSubscription(k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if list, _ := s.ListSubscriptions("client-1"); len(list) != 1 {
		t.Fatalf("after delete: %+v", list)
	}
}

func TestSubscriptionLimit(t *testing.T) {
	s := openOpts(t, t.TempDir(), Options{MaxSubscriptionsPerClient: 3})
	defer s.Close()
	for i := range 3 {
		if err := s.PutSubscription(Subscription{Key: SubKey{Owner: "c", Topic: fmt.Sprint("t", i), Match: "exact"}}); err != nil {
			t.Fatal(err)
		}
	}
	err := s.PutSubscription(Subscription{Key: SubKey{Owner: "c", Topic: "t9", Match: "exact"}})
	if !errors.Is(err, ErrLimit) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("fourth subscription: %v, want ErrLimit", err)
	}
	t.Log(err)
	// Updating an existing one and other owners are not limited.
	if err := s.PutSubscription(Subscription{Key: SubKey{Owner: "c", Topic: "t0", Match: "exact"}, AuthID: "x"}); err != nil {
		t.Fatalf("update at the limit: %v", err)
	}
	if err := s.PutSubscription(Subscription{Key: SubKey{Owner: "d", Topic: "t9", Match: "exact"}}); err != nil {
		t.Fatalf("another owner: %v", err)
	}
}

func TestConcurrentAcksKeepTheHighest(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	k := SubKey{Owner: "c", Topic: "t", Match: "exact"}
	if err := s.PutSubscription(Subscription{Key: k}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 1; i <= 200; i++ {
		wg.Go(func() {
			if err := s.Ack(k, uint64(i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, _ := s.Subscription(k); got.Delivered["t"] != 200 {
		t.Fatalf("after concurrent acks up to 200: %d", got.Delivered["t"])
	}
}
