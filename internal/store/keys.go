package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// Key kinds (the first byte of every key); see the package documentation.
const (
	kindMeta         byte = 0x00
	kindToken        byte = 'T'
	kindTokenAuthID  byte = 'A'
	kindTokenExpiry  byte = 'X'
	kindTicket       byte = 'O'
	kindTicketExp    byte = 'Y'
	kindSubscription byte = 'S'
	kindEvent        byte = 'E'
	kindEventHead    byte = 'H'
	kindRetained     byte = 'R'
)

// hashLen is the length of the SHA-256 digests that stand for tokens and tickets at rest.
const hashLen = sha256.Size

// digest returns SHA-256 of a secret value.
func digest(secret string) [hashLen]byte { return sha256.Sum256([]byte(secret)) }

// appendStr appends a length-prefixed string part; parts longer than 65535 bytes are cut (no
// name in a key is that long: URIs and authids are bounded far below by the message size).
func appendStr(b []byte, s string) []byte {
	if len(s) > math.MaxUint16 {
		s = s[:math.MaxUint16]
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// appendTime appends t as big-endian unix nanoseconds (times before 1970 count as 0).
func appendTime(b []byte, t time.Time) []byte {
	n := t.UnixNano()
	if n < 0 || t.IsZero() {
		n = 0
	}
	return binary.BigEndian.AppendUint64(b, uint64(n))
}

func tokenKey(h [hashLen]byte) []byte { return append([]byte{kindToken}, h[:]...) }

func tokenAuthIDKey(authid string, h [hashLen]byte) []byte {
	return append(appendStr([]byte{kindTokenAuthID}, authid), h[:]...)
}

func tokenAuthIDPrefix(authid string) []byte { return appendStr([]byte{kindTokenAuthID}, authid) }

func tokenExpiryKey(exp time.Time, h [hashLen]byte) []byte {
	return append(appendTime([]byte{kindTokenExpiry}, exp), h[:]...)
}

func ticketKey(h [hashLen]byte) []byte { return append([]byte{kindTicket}, h[:]...) }

func ticketExpiryKey(exp time.Time, h [hashLen]byte) []byte {
	return append(appendTime([]byte{kindTicketExp}, exp), h[:]...)
}

// eventPrefix is the prefix of topic's event log entries: 'E' str(topic).
func eventPrefix(topic string) []byte {
	return appendStr(append(make([]byte, 0, 3+len(topic)+8), kindEvent), topic)
}

// eventKey is 'E' str(topic) uint64(seq).
func eventKey(topic string, seq uint64) []byte {
	b := make([]byte, 0, 1+2+len(topic)+8)
	b = appendStr(append(b, kindEvent), topic)
	return binary.BigEndian.AppendUint64(b, seq)
}

// eventSeq returns the sequence number of an event key of topic.
func eventSeq(topic string, key []byte) (uint64, bool) {
	n := len(key) - 8
	if n < 3 || key[0] != kindEvent || int(binary.BigEndian.Uint16(key[1:])) != n-3 || string(key[3:n]) != topic {
		return 0, false
	}
	return binary.BigEndian.Uint64(key[n:]), true
}

// headKey is 'H' topic: the topic is the rest of the key, so topics can be listed by prefix.
func headKey(topic string) []byte { return append([]byte{kindEventHead}, topic...) }

// retainedKey is 'R' topic, like headKey.
func retainedKey(topic string) []byte { return append([]byte{kindRetained}, topic...) }

// SubKey identifies a persistent subscription.
type SubKey struct {
	// Owner is the client id (or token hash) the subscription belongs to.
	Owner string
	// Topic, Match and Filter are the subscription's topic URI, match policy ("exact",
	// "prefix" or "wildcard") and the canonical string of its filter ("" for none).
	Topic, Match, Filter string
}

// subOwnerPrefix is 'S' str(owner).
func subOwnerPrefix(owner string) []byte { return appendStr([]byte{kindSubscription}, owner) }

// subKey is 'S' str(owner) str(topic) str(match) str(filter).
func subKey(k SubKey) []byte {
	b := make([]byte, 0, 9+len(k.Owner)+len(k.Topic)+len(k.Match)+len(k.Filter))
	b = appendStr(append(b, kindSubscription), k.Owner)
	b = appendStr(b, k.Topic)
	b = appendStr(b, k.Match)
	return appendStr(b, k.Filter)
}

// parseSubKey is the inverse of subKey.
func parseSubKey(key []byte) (SubKey, bool) {
	if len(key) == 0 || key[0] != kindSubscription {
		return SubKey{}, false
	}
	p := key[1:]
	var parts [4]string
	for i := range parts {
		if len(p) < 2 {
			return SubKey{}, false
		}
		n := int(binary.BigEndian.Uint16(p))
		if len(p) < 2+n {
			return SubKey{}, false
		}
		parts[i] = string(p[2 : 2+n])
		p = p[2+n:]
	}
	if len(p) != 0 {
		return SubKey{}, false
	}
	return SubKey{Owner: parts[0], Topic: parts[1], Match: parts[2], Filter: parts[3]}, true
}

// prefixEnd returns the smallest key greater than every key starting with p (the exclusive
// upper bound of p's range), or nil when there is none.
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// decodeJSON decodes a record, turning JSON numbers inside maps into int64 (integers) or
// float64, the types the WAMP codecs produce.
func decodeJSON(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	return d.Decode(v)
}

// normalize converts json.Number values (from decodeJSON into any) recursively.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return u
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	}
	return v
}
