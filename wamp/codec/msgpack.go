package codec

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/tinylib/msgp/msgp"

	"github.com/gateway-dev/gateway/wamp"
)

// msgpackSerializer implements MsgPackSerializer.
type msgpackSerializer struct{}

func (msgpackSerializer) ID() ID              { return MsgPack }
func (msgpackSerializer) Name() string        { return "msgpack" }
func (msgpackSerializer) Subprotocol() string { return "wamp.2.msgpack" }
func (msgpackSerializer) Binary() bool        { return true }

// Encode appends the MessagePack encoding of m to dst. On error dst is returned unextended.
func (msgpackSerializer) Encode(dst []byte, m wamp.Message) ([]byte, error) {
	var b fieldBuilder
	if err := b.fill(m); err != nil {
		return dst, fmt.Errorf("msgpack: encode: %w", err)
	}
	start := len(dst)
	dst = msgp.AppendArrayHeader(dst, uint32(b.n))
	var err error
	for i := 0; i < b.n; i++ {
		f := &b.f[i]
		switch f.kind {
		case fInt:
			dst = msgp.AppendUint64(dst, f.n)
		case fString:
			dst = mpAppendString(dst, f.s)
		case fDict:
			dst, err = mpAppendDict(dst, f.d, 2)
		case fList:
			dst, err = mpAppendList(dst, f.l, 2)
		}
		if err != nil {
			return dst[:start], fmt.Errorf("msgpack: encode %s: element %d: %w", m.MessageType(), i, err)
		}
	}
	return dst, nil
}

// Decode parses one MessagePack WAMP message.
func (msgpackSerializer) Decode(b []byte) (wamp.Message, error) {
	m, err := decodeMsgPack(b)
	if err != nil {
		return nil, invalid("msgpack", err)
	}
	return m, nil
}

func decodeMsgPack(b []byte) (wamp.Message, error) {
	if msgp.NextType(b) != msgp.ArrayType {
		return nil, errors.New("frame is not a MessagePack array")
	}
	n, rest, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return nil, mpErr(err)
	}
	if n == 0 {
		return nil, errEmpty
	}
	v, rest, err := mpValue(rest, 2)
	if err != nil {
		return nil, fmt.Errorf("element 0 (message type): %w", err)
	}
	s, err := specFor(v)
	if err != nil {
		return nil, err
	}
	if int(n) < s.min || int(n) > s.max {
		return nil, s.arityErr(int(n))
	}
	var buf [maxElems]any
	elems := append(buf[:0], v)
	for i := 1; i < int(n); i++ {
		if v, rest, err = mpValue(rest, 2); err != nil {
			return nil, s.elemErr(i, err)
		}
		elems = append(elems, v)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d trailing bytes after the message", len(rest))
	}
	return s.build(elems)
}

func mpErr(err error) error {
	if err == msgp.ErrShortBytes {
		return errTruncated
	}
	return err
}

// undefined is the JavaScript value of that name, as msgpackr encodes it.
type undefined struct{}

// mpValue decodes the value at the start of b; depth is the nesting level a list or dict there has.
func mpValue(b []byte, depth int) (v any, rest []byte, err error) {
	switch t := msgp.NextType(b); t {
	case msgp.StrType:
		s, rest, err := msgp.ReadStringZC(b)
		if err != nil {
			return nil, b, mpErr(err)
		}
		if !utf8.Valid(s) {
			return nil, b, errors.New("string is not valid UTF-8")
		}
		return string(s), rest, nil
	case msgp.IntType:
		i, rest, err := msgp.ReadInt64Bytes(b)
		return i, rest, mpErr(err)
	case msgp.UintType:
		u, rest, err := msgp.ReadUint64Bytes(b)
		return intValue(u), rest, mpErr(err)
	case msgp.MapType:
		return mpMap(b, depth)
	case msgp.ArrayType:
		return mpArray(b, depth)
	case msgp.Float64Type:
		f, rest, err := msgp.ReadFloat64Bytes(b)
		return f, rest, mpErr(err)
	case msgp.Float32Type:
		f, rest, err := msgp.ReadFloat32Bytes(b)
		return float64(f), rest, mpErr(err)
	case msgp.BoolType:
		x, rest, err := msgp.ReadBoolBytes(b)
		return x, rest, mpErr(err)
	case msgp.NilType:
		rest, err := msgp.ReadNilBytes(b)
		return nil, rest, mpErr(err)
	case msgp.BinType:
		x, rest, err := msgp.ReadBytesZC(b)
		if err != nil {
			return nil, b, mpErr(err)
		}
		return append([]byte{}, x...), rest, nil
	case msgp.ExtensionType:
		// JavaScript encoders (msgpackr, used by wampy) write `undefined` as fixext 1, type 0, data 0.
		// It reads as an absent dict entry, or nil in a list.
		if len(b) >= 3 && b[0] == 0xd4 && b[1] == 0 && b[2] == 0 {
			return undefined{}, b[3:], nil
		}
		return nil, b, fmt.Errorf("MessagePack %s values are not supported", t)
	case msgp.InvalidType:
		if len(b) == 0 {
			return nil, b, errTruncated
		}
		return nil, b, fmt.Errorf("invalid MessagePack type byte %#02x", b[0])
	default:
		return nil, b, fmt.Errorf("MessagePack %s values are not supported", t)
	}
}

func mpArray(b []byte, depth int) (any, []byte, error) {
	if depth > MaxDepth {
		return nil, b, errDepth
	}
	n, rest, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return nil, b, mpErr(err)
	}
	if n > MaxContainerLen {
		return nil, b, errTooLong
	}
	if int(n) > len(rest) { // every element takes at least one byte
		return nil, b, errTruncated
	}
	l := make([]any, n)
	for i := range l {
		if l[i], rest, err = mpValue(rest, depth+1); err != nil {
			return nil, b, err
		}
		if _, undef := l[i].(undefined); undef {
			l[i] = nil
		}
	}
	return l, rest, nil
}

func mpMap(b []byte, depth int) (any, []byte, error) {
	if depth > MaxDepth {
		return nil, b, errDepth
	}
	n, rest, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return nil, b, mpErr(err)
	}
	if n > MaxContainerLen {
		return nil, b, errTooLong
	}
	if 2*int(n) > len(rest) { // every key and value takes at least one byte
		return nil, b, errTruncated
	}
	m := make(map[string]any, n)
	for range n {
		if t := msgp.NextType(rest); t != msgp.StrType {
			if t == msgp.InvalidType && len(rest) == 0 {
				return nil, b, errTruncated
			}
			return nil, b, fmt.Errorf("dict key must be a string, got MessagePack %s", t)
		}
		k, r, err := msgp.ReadStringZC(rest)
		if err != nil {
			return nil, b, mpErr(err)
		}
		if !utf8.Valid(k) {
			return nil, b, errors.New("dict key is not valid UTF-8")
		}
		if _, dup := m[string(k)]; dup {
			return nil, b, fmt.Errorf("duplicate dict key %q", k)
		}
		var v any
		if v, rest, err = mpValue(r, depth+1); err != nil {
			return nil, b, err
		}
		if _, undef := v.(undefined); undef {
			continue
		}
		m[string(k)] = v
	}
	return m, rest, nil
}

// Encoding.

// mpAppendString appends s as a str, replacing invalid UTF-8 with U+FFFD.
func mpAppendString(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = toValidUTF8(s)
	}
	return msgp.AppendString(dst, s)
}

// toValidUTF8 replaces each invalid byte of s with U+FFFD, as the JSON encoder does.
func toValidUTF8(s string) string {
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b = utf8.AppendRune(b, r)
		i += size
	}
	return string(b)
}

// mpAppendValue appends the MessagePack encoding of a payload value; depth is the nesting level a
// list or dict at this position has.
func mpAppendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return msgp.AppendNil(dst), nil
	case string:
		return mpAppendString(dst, x), nil
	case int64:
		return mpAppendInt(dst, x), nil
	case float64:
		return msgp.AppendFloat64(dst, x), nil
	case bool:
		return msgp.AppendBool(dst, x), nil
	case map[string]any:
		if x == nil {
			return msgp.AppendNil(dst), nil
		}
		return mpAppendDict(dst, x, depth)
	case []any:
		if x == nil {
			return msgp.AppendNil(dst), nil
		}
		return mpAppendList(dst, x, depth)
	case []byte:
		if x == nil {
			return msgp.AppendNil(dst), nil
		}
		return msgp.AppendBytes(dst, x), nil
	case uint64:
		return msgp.AppendUint64(dst, x), nil
	case int:
		return mpAppendInt(dst, int64(x)), nil
	case int32:
		return mpAppendInt(dst, int64(x)), nil
	case int16:
		return mpAppendInt(dst, int64(x)), nil
	case int8:
		return mpAppendInt(dst, int64(x)), nil
	case uint:
		return msgp.AppendUint64(dst, uint64(x)), nil
	case uint32:
		return msgp.AppendUint64(dst, uint64(x)), nil
	case uint16:
		return msgp.AppendUint64(dst, uint64(x)), nil
	case uint8:
		return msgp.AppendUint64(dst, uint64(x)), nil
	case float32:
		return msgp.AppendFloat32(dst, x), nil
	case wamp.ID:
		return msgp.AppendUint64(dst, uint64(x)), nil
	case wamp.URI:
		return mpAppendString(dst, string(x)), nil
	case json.Number:
		n, err := parseNumber(x)
		if err != nil {
			return dst, err
		}
		return mpAppendValue(dst, n, depth)
	case []string:
		if x == nil {
			return msgp.AppendNil(dst), nil
		}
		if depth > MaxDepth {
			return dst, errDepth
		}
		dst = msgp.AppendArrayHeader(dst, uint32(len(x)))
		for _, s := range x {
			dst = mpAppendString(dst, s)
		}
		return dst, nil
	case map[string]string:
		if x == nil {
			return msgp.AppendNil(dst), nil
		}
		if depth > MaxDepth {
			return dst, errDepth
		}
		dst = msgp.AppendMapHeader(dst, uint32(len(x)))
		for k, s := range x {
			dst = mpAppendString(dst, k)
			dst = mpAppendString(dst, s)
		}
		return dst, nil
	default:
		n, err := normalizeSlow(v, depth)
		if err != nil {
			return dst, err
		}
		return mpAppendValue(dst, n, depth)
	}
}

func mpAppendInt(dst []byte, i int64) []byte {
	if i >= 0 {
		return msgp.AppendUint64(dst, uint64(i))
	}
	return msgp.AppendInt64(dst, i)
}

func mpAppendList(dst []byte, l []any, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return dst, errDepth
	}
	dst = msgp.AppendArrayHeader(dst, uint32(len(l)))
	for _, v := range l {
		var err error
		if dst, err = mpAppendValue(dst, v, depth+1); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

func mpAppendDict(dst []byte, m map[string]any, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return dst, errDepth
	}
	dst = msgp.AppendMapHeader(dst, uint32(len(m)))
	for k, v := range m {
		dst = mpAppendString(dst, k)
		var err error
		if dst, err = mpAppendValue(dst, v, depth+1); err != nil {
			return dst, err
		}
	}
	return dst, nil
}
