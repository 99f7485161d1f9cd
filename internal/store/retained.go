package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Retained events (WAMP event_retention): one per topic, the last published with the retain
// option, under 'R' topic → uint64(seq) encoded event.

func encodeRetained(se *StoredEvent) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 64+len(se.Payload)), se.Seq)
	return encodeEvent(b, &se.Event)
}

func decodeRetained(v []byte) (StoredEvent, error) {
	if len(v) < 8 {
		return StoredEvent{}, errBadEvent
	}
	ev, err := decodeEvent(v[8:])
	return StoredEvent{Seq: binary.BigEndian.Uint64(v), Event: ev}, err
}

// Retain makes se the retained event of topic, replacing the previous one. The write is
// durable under the sync policy. se.Seq is kept as given (0 when the topic has no log).
func (s *Store) Retain(topic string, se StoredEvent) error {
	return s.do("retain event", func(db *pebble.DB) error {
		return db.Set(retainedKey(topic), encodeRetained(&se), s.policy.writeOpts())
	})
}

// Retained returns the retained event of topic, or ErrNotFound.
func (s *Store) Retained(topic string) (StoredEvent, error) {
	var se StoredEvent
	err := s.do("read retained event", func(db *pebble.DB) error {
		v, closer, err := db.Get(retainedKey(topic))
		if errors.Is(err, pebble.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		defer closer.Close()
		if se, err = decodeRetained(v); err != nil {
			return fmt.Errorf("topic %q: %w", topic, err)
		}
		return nil
	})
	return se, err
}

// ForgetRetained removes topic's retained event, if any.
func (s *Store) ForgetRetained(topic string) error {
	return s.do("forget retained event", func(db *pebble.DB) error {
		return db.Delete(retainedKey(topic), s.policy.writeOpts())
	})
}

// RetainedPrefix calls fn with the retained event of each topic starting with prefix, in
// byte order of topics, until fn returns false (for get_retained on prefix and wildcard
// subscriptions: pass the literal part before the first wildcard and match the rest).
func (s *Store) RetainedPrefix(prefix string, fn func(topic string, se StoredEvent) bool) error {
	return s.do("read retained events", func(db *pebble.DB) error {
		p := retainedKey(prefix)
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
		if err != nil {
			return err
		}
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			topic := string(it.Key()[1:])
			se, err := decodeRetained(it.Value())
			if err != nil {
				return fmt.Errorf("topic %q: %w", topic, err)
			}
			if !fn(topic, se) {
				break
			}
		}
		return it.Error()
	})
}
