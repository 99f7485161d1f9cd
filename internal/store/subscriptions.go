package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// DefaultMaxSubscriptionsPerClient is the default of Options.MaxSubscriptionsPerClient.
const DefaultMaxSubscriptionsPerClient = 100

// ErrLimit: a per-client limit was reached. The error that wraps it says which.
var ErrLimit = errors.New("limit reached")

// Subscription is a persistent subscription.
type Subscription struct {
	Key SubKey `json:"-"`
	// AuthID is the authid of the client when it made the subscription ("" if anonymous).
	AuthID  string    `json:"a,omitempty"`
	Created time.Time `json:"c"`
	// Delivered holds, per topic log, the last sequence number delivered (acknowledged with
	// Ack); an exact subscription has at most its own topic, a prefix or wildcard one has
	// each matching topic it received from.
	Delivered map[string]uint64 `json:"d,omitempty"`
}

// syncWAL makes the writes committed so far durable under the sync policy. Writes that must
// be serialised commit without sync while holding wmu and call syncWAL after releasing it,
// so concurrent writers share fsyncs instead of queueing behind one another's.
func (s *Store) syncWAL(db *pebble.DB) error {
	if s.policy.Mode == SyncNone {
		return nil
	}
	return db.LogData(nil, pebble.Sync)
}

func getSubscription(db pebble.Reader, k SubKey) (Subscription, error) {
	sub := Subscription{Key: k}
	v, closer, err := db.Get(subKey(k))
	if errors.Is(err, pebble.ErrNotFound) {
		return sub, ErrNotFound
	}
	if err != nil {
		return sub, err
	}
	defer closer.Close()
	if err := json.Unmarshal(v, &sub); err != nil {
		return sub, fmt.Errorf("corrupt subscription record: %w", err)
	}
	return sub, nil
}

// PutSubscription creates the persistent subscription sub.Key or updates its AuthID. The
// delivered positions only move forward: those in sub are merged with the stored ones, keeping
// the higher. Creating one more subscription than the owner's limit fails with ErrLimit.
func (s *Store) PutSubscription(sub Subscription) error {
	return s.do("put subscription", func(db *pebble.DB) error {
		if err := s.putSubscription(db, sub); err != nil {
			return err
		}
		return s.syncWAL(db)
	})
}

func (s *Store) putSubscription(db *pebble.DB, sub Subscription) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	old, err := getSubscription(db, sub.Key)
	switch {
	case errors.Is(err, ErrNotFound):
		if s.maxSubs > 0 {
			n, err := countPrefix(db, subOwnerPrefix(sub.Key.Owner), s.maxSubs)
			if err != nil {
				return err
			}
			if n >= s.maxSubs {
				return fmt.Errorf("store: put subscription: client %q has %d persistent subscriptions, the most allowed: %w",
					sub.Key.Owner, n, ErrLimit)
			}
		}
		if sub.Created.IsZero() {
			sub.Created = time.Now().UTC()
		}
	case err != nil:
		return err
	default:
		sub.Created = old.Created
		for topic, seq := range old.Delivered {
			if sub.Delivered[topic] < seq {
				if sub.Delivered == nil {
					sub.Delivered = make(map[string]uint64, len(old.Delivered))
				}
				sub.Delivered[topic] = seq
			}
		}
	}
	data, err := json.Marshal(&sub)
	if err != nil {
		return fmt.Errorf("encode subscription record: %w", err)
	}
	return db.Set(subKey(sub.Key), data, pebble.NoSync)
}

// countPrefix counts keys starting with p, stopping at max.
func countPrefix(db pebble.Reader, p []byte, max int) (int, error) {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok && n < max; ok = it.Next() {
		n++
	}
	return n, it.Error()
}

// Subscription returns the persistent subscription k, or ErrNotFound.
func (s *Store) Subscription(k SubKey) (Subscription, error) {
	var sub Subscription
	err := s.do("read subscription", func(db *pebble.DB) error {
		var err error
		sub, err = getSubscription(db, k)
		return err
	})
	return sub, err
}

// DeleteSubscription removes the persistent subscription k; ErrNotFound if there is none.
func (s *Store) DeleteSubscription(k SubKey) error {
	return s.do("delete subscription", func(db *pebble.DB) error {
		err := func() error {
			s.wmu.Lock()
			defer s.wmu.Unlock()
			if _, err := getSubscription(db, k); err != nil {
				return err
			}
			return db.Delete(subKey(k), pebble.NoSync)
		}()
		if err != nil {
			return err
		}
		return s.syncWAL(db)
	})
}

// ListSubscriptions returns the persistent subscriptions of owner, ordered by topic, match
// and filter.
func (s *Store) ListSubscriptions(owner string) ([]Subscription, error) {
	var out []Subscription
	err := s.do("list subscriptions", func(db *pebble.DB) error {
		p := subOwnerPrefix(owner)
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
		if err != nil {
			return err
		}
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			k, ok := parseSubKey(it.Key())
			if !ok || k.Owner != owner {
				return fmt.Errorf("corrupt subscription key %q", it.Key())
			}
			sub := Subscription{Key: k}
			if err := json.Unmarshal(it.Value(), &sub); err != nil {
				return fmt.Errorf("corrupt subscription record: %w", err)
			}
			out = append(out, sub)
		}
		return it.Error()
	})
	return out, err
}

// Ack records seq as delivered on k's own topic (k.Topic); see AckTopic.
func (s *Store) Ack(k SubKey, seq uint64) error { return s.AckTopic(k, k.Topic, seq) }

// AckTopic records that the events of topic's log up to seq were delivered to subscription k.
// The position never moves back: an older seq is ignored. ErrNotFound if k does not exist.
// Each call is a durable write under the sync policy: acknowledge the last of a run of
// delivered events rather than each one.
func (s *Store) AckTopic(k SubKey, topic string, seq uint64) error {
	return s.do("ack subscription", func(db *pebble.DB) error {
		wrote, err := func() (bool, error) {
			s.wmu.Lock()
			defer s.wmu.Unlock()
			sub, err := getSubscription(db, k)
			if err != nil {
				return false, err
			}
			if sub.Delivered[topic] >= seq {
				return false, nil
			}
			if sub.Delivered == nil {
				sub.Delivered = make(map[string]uint64, 1)
			}
			sub.Delivered[topic] = seq
			data, err := json.Marshal(&sub)
			if err != nil {
				return false, fmt.Errorf("encode subscription record: %w", err)
			}
			return true, db.Set(subKey(k), data, pebble.NoSync)
		}()
		if err != nil || !wrote {
			return err
		}
		return s.syncWAL(db)
	})
}
