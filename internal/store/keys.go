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
	kindMeta        byte = 0x00
	kindToken       byte = 'T'
	kindTokenAuthID byte = 'A'
	kindTokenExpiry byte = 'X'
	kindTicket      byte = 'O'
	kindTicketExp   byte = 'Y'
	// Reserved for later issues.
	kindSubscription byte = 'S'
	kindEvent        byte = 'E'
	kindEventHead    byte = 'H'
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
