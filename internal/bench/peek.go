package bench

import (
	"encoding/binary"

	"github.com/gateway-dev/gateway/wamp/codec"
)

// peekHead reads the first two elements of a WAMP message, the message type and the first integer
// (the request or session id for every message type the load client reads on its hot paths:
// PUBLISHED, RESULT, INVOCATION, ERROR's request type), without decoding the rest. ok is false when
// the frame does not start with two unsigned integers; the caller then decodes it fully.
func peekHead(ser codec.ID, b []byte) (typ, first uint64, ok bool) {
	switch ser {
	case codec.JSON:
		return peekJSON(b)
	case codec.MsgPack:
		return peekMsgPack(b)
	case codec.CBOR:
		return peekCBOR(b)
	}
	return 0, 0, false
}

func peekJSON(b []byte) (typ, first uint64, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return 0, 0, false
	}
	typ, i, ok = jsonUint(b, skipSpace(b, i+1))
	if !ok {
		return 0, 0, false
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ',' {
		return 0, 0, false
	}
	first, i, ok = jsonUint(b, skipSpace(b, i+1))
	if !ok {
		return 0, 0, false
	}
	if i = skipSpace(b, i); i >= len(b) || (b[i] != ',' && b[i] != ']') {
		return 0, 0, false
	}
	return typ, first, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// jsonUint parses a plain unsigned decimal integer (at most 16 digits, enough for WAMP ids).
func jsonUint(b []byte, i int) (v uint64, next int, ok bool) {
	start := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' && i-start < 17 {
		v = v*10 + uint64(b[i]-'0')
		i++
	}
	if i == start || i-start > 16 || (i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E')) {
		return 0, 0, false
	}
	return v, i, true
}

func peekMsgPack(b []byte) (typ, first uint64, ok bool) {
	if len(b) < 1 {
		return 0, 0, false
	}
	i := 0
	switch c := b[0]; {
	case c&0xf0 == 0x90 && c&0x0f >= 2:
		i = 1
	case c == 0xdc && len(b) >= 3:
		i = 3
	case c == 0xdd && len(b) >= 5:
		i = 5
	default:
		return 0, 0, false
	}
	typ, i, ok = msgpackUint(b, i)
	if !ok {
		return 0, 0, false
	}
	first, _, ok = msgpackUint(b, i)
	return typ, first, ok
}

func msgpackUint(b []byte, i int) (uint64, int, bool) {
	if i >= len(b) {
		return 0, 0, false
	}
	c := b[i]
	size := 0
	switch {
	case c <= 0x7f:
		return uint64(c), i + 1, true
	case c == 0xcc || c == 0xd0:
		size = 1
	case c == 0xcd || c == 0xd1:
		size = 2
	case c == 0xce || c == 0xd2:
		size = 4
	case c == 0xcf || c == 0xd3:
		size = 8
	default:
		return 0, 0, false
	}
	if i+1+size > len(b) {
		return 0, 0, false
	}
	p := b[i+1 : i+1+size]
	var v uint64
	switch size {
	case 1:
		v = uint64(p[0])
	case 2:
		v = uint64(binary.BigEndian.Uint16(p))
	case 4:
		v = uint64(binary.BigEndian.Uint32(p))
	case 8:
		v = binary.BigEndian.Uint64(p)
	}
	if c >= 0xd0 && v>>(uint(size)*8-1)&1 == 1 { // a negative signed integer
		return 0, 0, false
	}
	return v, i + 1 + size, true
}

func peekCBOR(b []byte) (typ, first uint64, ok bool) {
	if len(b) < 1 || b[0]>>5 != 4 { // major type 4: array
		return 0, 0, false
	}
	i := 1
	switch ai := b[0] & 0x1f; {
	case ai < 24, ai == 31: // short length, or indefinite length
	case ai == 24:
		i = 2
	case ai == 25:
		i = 3
	case ai == 26:
		i = 5
	default:
		return 0, 0, false
	}
	typ, i, ok = cborUint(b, i)
	if !ok {
		return 0, 0, false
	}
	first, _, ok = cborUint(b, i)
	return typ, first, ok
}

func cborUint(b []byte, i int) (uint64, int, bool) {
	if i >= len(b) || b[i]>>5 != 0 { // major type 0: unsigned integer
		return 0, 0, false
	}
	ai := b[i] & 0x1f
	var size int
	switch {
	case ai < 24:
		return uint64(ai), i + 1, true
	case ai == 24:
		size = 1
	case ai == 25:
		size = 2
	case ai == 26:
		size = 4
	case ai == 27:
		size = 8
	default:
		return 0, 0, false
	}
	if i+1+size > len(b) {
		return 0, 0, false
	}
	p := b[i+1 : i+1+size]
	switch size {
	case 1:
		return uint64(p[0]), i + 2, true
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), i + 3, true
	case 4:
		return uint64(binary.BigEndian.Uint32(p)), i + 5, true
	}
	return binary.BigEndian.Uint64(p), i + 9, true
}
