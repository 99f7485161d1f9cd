package bench

import "bytes"

// The marker is the string a publisher (or caller) sends as Arguments[0]:
//
//	"gwb:" 16 hex digits sequence ":" 16 hex digits intended unix nanos ":" 8 hex digits source id ":" padding
//
// Lower-case hex, fixed width, padded with 'x' to the payload size. It contains no character that
// JSON escapes, so it appears verbatim in JSON, MessagePack and CBOR frames.
const (
	markerPrefix = "gwb:"
	// MarkerLen is the length of a marker without padding, the smallest payload size.
	MarkerLen = len(markerPrefix) + 16 + 1 + 16 + 1 + 8 + 1
)

var markerPrefixBytes = []byte(markerPrefix)

// marker is the information carried by a marker string.
type marker struct {
	seq      uint64 // per (source, topic) sequence number, from 0
	intended int64  // unix nanoseconds at which the message was due
	source   uint32 // publisher or caller id
}

const hexDigits = "0123456789abcdef"

func appendHex(dst []byte, v uint64, width int) []byte {
	for i := width - 1; i >= 0; i-- {
		dst = append(dst, hexDigits[(v>>(uint(i)*4))&0xf])
	}
	return dst
}

// appendMarker appends the marker string for m, padded with 'x' to size bytes (at least MarkerLen).
func appendMarker(dst []byte, m marker, size int) []byte {
	start := len(dst)
	dst = append(dst, markerPrefix...)
	dst = appendHex(dst, m.seq, 16)
	dst = append(dst, ':')
	dst = appendHex(dst, uint64(m.intended), 16)
	dst = append(dst, ':')
	dst = appendHex(dst, uint64(m.source), 8)
	dst = append(dst, ':')
	for len(dst)-start < size {
		dst = append(dst, 'x')
	}
	return dst
}

// parseHex parses exactly len(b) lower-case hex digits.
func parseHex(b []byte) (uint64, bool) {
	var v uint64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// parseMarker parses a marker at the start of b.
func parseMarker(b []byte) (marker, bool) {
	if len(b) < MarkerLen || string(b[:4]) != markerPrefix || b[20] != ':' || b[37] != ':' || b[46] != ':' {
		return marker{}, false
	}
	seq, ok1 := parseHex(b[4:20])
	at, ok2 := parseHex(b[21:37])
	src, ok3 := parseHex(b[38:46])
	if !ok1 || !ok2 || !ok3 || at > 1<<63-1 {
		return marker{}, false
	}
	return marker{seq: seq, intended: int64(at), source: uint32(src)}, true
}

// findMarker finds the first well-formed marker in a raw frame and returns it with its offset.
func findMarker(frame []byte) (marker, int, bool) {
	off := 0
	for {
		i := bytes.Index(frame[off:], markerPrefixBytes)
		if i < 0 {
			return marker{}, -1, false
		}
		if m, ok := parseMarker(frame[off+i:]); ok {
			return m, off + i, true
		}
		off += i + 1
	}
}
