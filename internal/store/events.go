package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Event is what a later EVENT message needs from a publication. The store does not interpret
// Payload: the caller encodes the arguments and keyword arguments with one of the gateway's
// codecs and names that codec in Codec.
type Event struct {
	PublicationID uint64
	// Publisher is the publisher's session id when it was disclosed, else 0.
	Publisher uint64
	// PublisherAuthID and PublisherAuthRole are disclosed publisher details ("" if not).
	PublisherAuthID   string
	PublisherAuthRole string
	// Codec names the serializer that encoded Payload (for example "json" or "cbor").
	Codec string
	// Payload holds the encoded args and kwargs; the store keeps it as given.
	Payload []byte
	// Time is when the event was published; Append uses the current time when it is zero.
	Time time.Time
}

// StoredEvent is an event with its sequence number in its topic's log.
type StoredEvent struct {
	Seq uint64
	Event
}

// eventVersion is the first byte of an encoded event value.
const eventVersion = 1

// encodeEvent appends the value encoding of ev to b: version, time (8 bytes, unix ns),
// uvarint publication id, uvarint publisher, uvarint-length strings authid, authrole and
// codec, then the payload to the end.
func encodeEvent(b []byte, ev *Event) []byte {
	b = append(b, eventVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(ev.Time.UnixNano()))
	b = binary.AppendUvarint(b, ev.PublicationID)
	b = binary.AppendUvarint(b, ev.Publisher)
	for _, s := range [...]string{ev.PublisherAuthID, ev.PublisherAuthRole, ev.Codec} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return append(b, ev.Payload...)
}

var errBadEvent = errors.New("corrupt event record")

// eventTime reads only the time of an encoded event.
func eventTime(v []byte) (int64, error) {
	if len(v) < 9 || v[0] != eventVersion {
		return 0, errBadEvent
	}
	return int64(binary.BigEndian.Uint64(v[1:9])), nil
}

// decodeEvent decodes an encoded event; the result does not alias v.
func decodeEvent(v []byte) (Event, error) {
	var ev Event
	t, err := eventTime(v)
	if err != nil {
		return ev, err
	}
	ev.Time = time.Unix(0, t).UTC()
	p := v[9:]
	uv := func() (uint64, bool) {
		x, n := binary.Uvarint(p)
		if n <= 0 {
			return 0, false
		}
		p = p[n:]
		return x, true
	}
	var ok bool
	if ev.PublicationID, ok = uv(); !ok {
		return ev, errBadEvent
	}
	if ev.Publisher, ok = uv(); !ok {
		return ev, errBadEvent
	}
	for _, dst := range [...]*string{&ev.PublisherAuthID, &ev.PublisherAuthRole, &ev.Codec} {
		n, ok := uv()
		if !ok || n > uint64(len(p)) {
			return ev, errBadEvent
		}
		*dst = string(p[:n])
		p = p[n:]
	}
	ev.Payload = append([]byte(nil), p...)
	return ev, nil
}

// Retention bounds one topic's log. A zero field is no bound; the zero Retention keeps
// everything. Trimming always drops the oldest events, so with MaxAge an event stays as long as
// an older one is still young enough (events are appended in time order in practice).
type Retention struct {
	MaxCount uint64        // keep at most this many events
	MaxAge   time.Duration // drop events older than this
	MaxBytes uint64        // keep at most this many bytes of encoded events
}

// IsZero reports whether r keeps everything.
func (r Retention) IsZero() bool { return r == Retention{} }

// head is a topic log's state, kept in its 'H' record: events [oldest, next) exist.
type head struct {
	next       uint64 // sequence number of the next append (first is 1)
	oldest     uint64 // first retained sequence number; == next when the log is empty
	bytes      uint64 // total size of the retained encoded events
	oldestTime int64  // unix ns of the oldest retained event; 0 when empty
}

const headLen = 32

func (h *head) encode() []byte {
	b := make([]byte, 0, headLen)
	b = binary.BigEndian.AppendUint64(b, h.next)
	b = binary.BigEndian.AppendUint64(b, h.oldest)
	b = binary.BigEndian.AppendUint64(b, h.bytes)
	return binary.BigEndian.AppendUint64(b, uint64(h.oldestTime))
}

func decodeHead(v []byte) (head, error) {
	if len(v) != headLen {
		return head{}, fmt.Errorf("corrupt event log head (%d bytes)", len(v))
	}
	h := head{
		next:       binary.BigEndian.Uint64(v),
		oldest:     binary.BigEndian.Uint64(v[8:]),
		bytes:      binary.BigEndian.Uint64(v[16:]),
		oldestTime: int64(binary.BigEndian.Uint64(v[24:])),
	}
	if h.next == 0 || h.oldest == 0 || h.oldest > h.next {
		return head{}, fmt.Errorf("corrupt event log head (next %d, oldest %d)", h.next, h.oldest)
	}
	return h, nil
}

// readHead reads topic's head from db; a topic never written has head{1, 1, 0, 0}.
func readHead(db pebble.Reader, topic string) (head, error) {
	v, closer, err := db.Get(headKey(topic))
	if errors.Is(err, pebble.ErrNotFound) {
		return head{next: 1, oldest: 1}, nil
	}
	if err != nil {
		return head{}, err
	}
	defer closer.Close()
	return decodeHead(v)
}

// Append adds ev to topic's log and returns its sequence number: 1 for a topic's first event,
// then strictly increasing, also across restarts. It returns once the event is durable under
// the store's sync policy (see SyncPolicy). The topic's retention (SetRetention, else
// Options.Retention) is applied after the append.
func (s *Store) Append(topic string, ev Event) (uint64, error) {
	return s.append(topic, ev, nil)
}

// AppendWithRetention is Append with the retention r for this topic instead of the registered
// one.
func (s *Store) AppendWithRetention(topic string, ev Event, r Retention) (uint64, error) {
	return s.append(topic, ev, &r)
}

// Bounds returns the first and last retained sequence numbers of topic's log. The log holds
// [oldest, newest]; it is empty when oldest > newest (then oldest is the number the next
// append gets). newest is the last sequence number ever assigned, even if it was trimmed.
func (s *Store) Bounds(topic string) (oldest, newest uint64, err error) {
	err = s.do("read event log bounds", func(db *pebble.DB) error {
		h, err := readHead(db, topic)
		oldest, newest = h.oldest, h.next-1
		return err
	})
	return oldest, newest, err
}

// Oldest returns the first retained sequence number of topic's log (see Bounds).
func (s *Store) Oldest(topic string) (uint64, error) {
	o, _, err := s.Bounds(topic)
	return o, err
}

// Newest returns the last sequence number assigned in topic's log, 0 if none (see Bounds).
func (s *Store) Newest(topic string) (uint64, error) {
	_, n, err := s.Bounds(topic)
	return n, err
}

// Range returns up to limit retained events of topic with sequence numbers from fromSeq on,
// in order; limit <= 0 means no limit. The first event's Seq is above fromSeq when events
// were trimmed (compare with fromSeq to detect a gap).
func (s *Store) Range(topic string, fromSeq uint64, limit int) ([]StoredEvent, error) {
	var out []StoredEvent
	err := s.do("read event log", func(db *pebble.DB) error {
		it, err := db.NewIter(&pebble.IterOptions{
			LowerBound: eventKey(topic, fromSeq),
			UpperBound: prefixEnd(eventPrefix(topic)),
		})
		if err != nil {
			return err
		}
		defer it.Close()
		for ok := it.First(); ok && (limit <= 0 || len(out) < limit); ok = it.Next() {
			se, err := storedEvent(topic, it)
			if err != nil {
				return err
			}
			out = append(out, se)
		}
		return it.Error()
	})
	return out, err
}

// Last returns the last n retained events of topic (fewer if the log holds fewer), oldest
// first.
func (s *Store) Last(topic string, n int) ([]StoredEvent, error) {
	if n <= 0 {
		return nil, nil
	}
	var out []StoredEvent
	err := s.do("read event log", func(db *pebble.DB) error {
		p := eventPrefix(topic)
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
		if err != nil {
			return err
		}
		defer it.Close()
		for ok := it.Last(); ok && len(out) < n; ok = it.Prev() {
			se, err := storedEvent(topic, it)
			if err != nil {
				return err
			}
			out = append(out, se)
		}
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return it.Error()
	})
	return out, err
}

// storedEvent decodes the event at it's position.
func storedEvent(topic string, it *pebble.Iterator) (StoredEvent, error) {
	seq, ok := eventSeq(topic, it.Key())
	if !ok {
		return StoredEvent{}, fmt.Errorf("%w: bad key %q", errBadEvent, it.Key())
	}
	ev, err := decodeEvent(it.Value())
	if err != nil {
		return StoredEvent{}, fmt.Errorf("topic %q seq %d: %w", topic, seq, err)
	}
	return StoredEvent{Seq: seq, Event: ev}, nil
}

// SetRetention registers r for topic (overriding Options.Retention); the zero Retention
// removes the registration. It applies from the next append or Trim.
func (s *Store) SetRetention(topic string, r Retention) {
	if s == nil {
		return
	}
	s.retMu.Lock()
	defer s.retMu.Unlock()
	if r.IsZero() {
		delete(s.retention, topic)
		return
	}
	if s.retention == nil {
		s.retention = make(map[string]Retention)
	}
	s.retention[topic] = r
}

// retentionFor returns the retention of topic: registered, else Options.Retention.
func (s *Store) retentionFor(topic string) Retention {
	s.retMu.RLock()
	r, ok := s.retention[topic]
	s.retMu.RUnlock()
	if ok || s.retFunc == nil {
		return r
	}
	return s.retFunc(topic)
}

// Trim applies r (or, when r is nil, the topic's retention) to topic's log now, without
// appending; use it to age out logs of topics that are no longer published to.
func (s *Store) Trim(topic string, r *Retention) error {
	_, err := s.submit(&request{topic: topic, trimOnly: true, ret: r})
	return err
}

// Topics calls fn with each topic that has an event log (possibly empty after trimming) and
// whose URI starts with prefix, in byte order, until fn returns false.
func (s *Store) Topics(prefix string, fn func(topic string) bool) error {
	return s.do("list event logs", func(db *pebble.DB) error {
		p := append([]byte{kindEventHead}, prefix...)
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
		if err != nil {
			return err
		}
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			if !fn(string(it.Key()[1:])) {
				break
			}
		}
		return it.Error()
	})
}
