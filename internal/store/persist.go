package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// What the router's persistent subscriptions need beyond single appends and acks: appending one
// publication to several logs with one commit, emptying a log without restarting its sequence,
// loading every subscription at start, and acknowledging many positions with one sync.

// LogAppend is one append of an AppendBatch.
type LogAppend struct {
	Topic string
	Event Event
	// Retention, when set, replaces the topic's registered retention for this append.
	Retention *Retention
}

// AppendBatch appends each entry's event to its topic's log, all in one commit: one fsync under
// SyncGroup and SyncAlways, and after a crash either all of them are in the logs or none. It
// returns the sequence number of each entry, in order, once they are durable. A topic may appear
// more than once; its entries get consecutive numbers in order.
func (s *Store) AppendBatch(entries []LogAppend) ([]uint64, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	c := &request{batch: make([]*request, len(entries))}
	for i := range entries {
		e := &entries[i]
		if len(e.Topic) > math.MaxUint16 {
			return nil, fmt.Errorf("store: append: topic is longer than %d bytes", math.MaxUint16)
		}
		ev := e.Event
		if ev.Time.IsZero() {
			ev.Time = time.Now()
		}
		c.batch[i] = &request{topic: e.Topic, val: encodeEvent(nil, &ev), t: ev.Time.UnixNano(), ret: e.Retention}
	}
	if _, err := s.submit(c); err != nil {
		return nil, err
	}
	seqs := make([]uint64, len(entries))
	for i, r := range c.batch {
		seqs[i] = r.seq
	}
	return seqs, nil
}

// Truncate drops every event of topic's log. The sequence goes on where it was: the next append
// gets the number it would have had.
func (s *Store) Truncate(topic string) error {
	_, err := s.submit(&request{topic: topic, trimOnly: true, truncate: true})
	return err
}

// RetentionFor returns the retention that applies to topic's log: the one registered with
// SetRetention, else Options.Retention's answer (the zero Retention when neither applies).
func (s *Store) RetentionFor(topic string) Retention {
	if s == nil {
		return Retention{}
	}
	return s.retentionFor(topic)
}

// EachSubscription calls fn with every persistent subscription of every owner, in key order,
// until fn returns false (to load them all at start).
func (s *Store) EachSubscription(fn func(Subscription) bool) error {
	return s.do("list subscriptions", func(db *pebble.DB) error {
		p := []byte{kindSubscription}
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
		if err != nil {
			return err
		}
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			k, ok := parseSubKey(it.Key())
			if !ok {
				return fmt.Errorf("corrupt subscription key %q", it.Key())
			}
			sub := Subscription{Key: k}
			if err := json.Unmarshal(it.Value(), &sub); err != nil {
				return fmt.Errorf("corrupt subscription record %q: %w", it.Key(), err)
			}
			if !fn(sub) {
				break
			}
		}
		return it.Error()
	})
}

// SubAck is one position of an AckBatch: the events of Topic's log up to Seq were delivered to
// subscription Key.
type SubAck struct {
	Key   SubKey
	Topic string
	Seq   uint64
}

// AckBatch records every position of acks with one durable write (one fsync under the sync
// policy). As with AckTopic, positions never move back; acks of subscriptions that do not exist
// (any more) are skipped, so a late ack cannot bring back a deleted subscription.
func (s *Store) AckBatch(acks []SubAck) error {
	if len(acks) == 0 {
		return nil
	}
	return s.do("ack subscriptions", func(db *pebble.DB) error {
		wrote, err := func() (bool, error) {
			s.wmu.Lock()
			defer s.wmu.Unlock()
			b := db.NewBatch()
			defer b.Close()
			subs := map[SubKey]*Subscription{}
			for _, a := range acks {
				sub := subs[a.Key]
				if sub == nil {
					got, err := getSubscription(db, a.Key)
					if errors.Is(err, ErrNotFound) {
						continue
					}
					if err != nil {
						return false, err
					}
					sub = &got
					subs[a.Key] = sub
				}
				if sub.Delivered[a.Topic] >= a.Seq {
					continue
				}
				if sub.Delivered == nil {
					sub.Delivered = make(map[string]uint64, 1)
				}
				sub.Delivered[a.Topic] = a.Seq
				data, err := json.Marshal(sub)
				if err != nil {
					return false, fmt.Errorf("encode subscription record: %w", err)
				}
				if err := b.Set(subKey(a.Key), data, nil); err != nil {
					return false, err
				}
			}
			if b.Empty() {
				return false, nil
			}
			return true, b.Commit(pebble.NoSync)
		}()
		if err != nil || !wrote {
			return err
		}
		return s.syncWAL(db)
	})
}
