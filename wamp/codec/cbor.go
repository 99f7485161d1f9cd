package codec

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"

	"github.com/gateway-dev/gateway/wamp"
)

// cborSerializer implements CBORSerializer.
type cborSerializer struct{}

func (cborSerializer) ID() ID              { return CBOR }
func (cborSerializer) Name() string        { return "cbor" }
func (cborSerializer) Subprotocol() string { return "wamp.2.cbor" }
func (cborSerializer) Binary() bool        { return true }

var cborDecMode = func() cbor.DecMode {
	var reject []func(*cbor.SimpleValueRegistry) error
	for sv := 0; sv < 256; sv++ {
		if sv >= 20 && sv <= 31 { // false, true, null, undefined; 24..31 are reserved
			continue
		}
		reject = append(reject, cbor.WithRejectedSimpleValue(cbor.SimpleValue(sv)))
	}
	simple, err := cbor.NewSimpleValueRegistryFromDefaults(reject...)
	if err != nil {
		panic(err)
	}
	dm, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  MaxDepth,
		MaxArrayElements: MaxContainerLen,
		MaxMapPairs:      MaxContainerLen,
		IndefLength:      cbor.IndefLengthAllowed,
		TagsMd:           cbor.TagsForbidden,
		IntDec:           cbor.IntDecConvertSignedOrBigInt,
		BigIntDec:        cbor.BigIntDecodePointer,
		DefaultMapType:   reflect.TypeFor[map[string]any](),
		UTF8:             cbor.UTF8RejectInvalid,
		SimpleValues:     simple,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// Encode appends the CBOR encoding of m to dst. On error dst is returned unextended.
func (cborSerializer) Encode(dst []byte, m wamp.Message) ([]byte, error) {
	var b fieldBuilder
	if err := b.fill(m); err != nil {
		return dst, fmt.Errorf("cbor: encode: %w", err)
	}
	start := len(dst)
	dst = cborHead(dst, cborArray, uint64(b.n))
	var err error
	for i := 0; i < b.n; i++ {
		f := &b.f[i]
		switch f.kind {
		case fInt:
			dst = cborHead(dst, cborUint, f.n)
		case fString:
			dst = cborAppendString(dst, f.s)
		case fDict:
			dst, err = cborAppendDict(dst, f.d, 2)
		case fList:
			dst, err = cborAppendList(dst, f.l, 2)
		}
		if err != nil {
			return dst[:start], fmt.Errorf("cbor: encode %s: element %d: %w", m.MessageType(), i, err)
		}
	}
	return dst, nil
}

// Decode parses one CBOR WAMP message.
func (cborSerializer) Decode(b []byte) (wamp.Message, error) {
	m, err := decodeCBOR(b)
	if err != nil {
		return nil, invalid("cbor", err)
	}
	return m, nil
}

func decodeCBOR(b []byte) (wamp.Message, error) {
	if len(b) == 0 {
		return nil, errTruncated
	}
	if major := b[0] >> 5; major != cborArray>>5 {
		return nil, errors.New("frame is not a CBOR array")
	}
	var v any
	if err := cborDecMode.Unmarshal(b, &v); err != nil {
		var te *cbor.UnmarshalTypeError
		if errors.As(err, &te) && te.GoType == "string" {
			// Decoding into any, only a map key has a Go string target.
			return nil, fmt.Errorf("dict key must be a string, got CBOR %s", te.CBORType)
		}
		return nil, errors.New(strings.TrimPrefix(err.Error(), "cbor: "))
	}
	e, ok := v.([]any)
	if !ok {
		return nil, errors.New("frame is not a CBOR array")
	}
	if len(e) == 0 {
		return nil, errEmpty
	}
	s, err := specFor(cborNormalize(e[0]))
	if err != nil {
		return nil, err
	}
	for i := range e {
		if e[i], err = cborFix(e[i]); err != nil {
			return nil, s.elemErr(i, err)
		}
	}
	return s.build(e)
}

// cborNormalize is cborFix for element 0, where a bad value just means "not a message type".
func cborNormalize(v any) any {
	if x, err := cborFix(v); err == nil {
		return x
	}
	return v
}

// cborFix replaces the *big.Int values the decoder produces for integers outside int64 with
// uint64 (when it fits) and refuses the others.
func cborFix(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		for i, y := range x {
			z, err := cborFix(y)
			if err != nil {
				return nil, err
			}
			x[i] = z
		}
	case map[string]any:
		for k, y := range x {
			switch y.(type) {
			case []any, map[string]any, *big.Int:
				z, err := cborFix(y)
				if err != nil {
					return nil, err
				}
				x[k] = z
			}
		}
	case *big.Int:
		if x.Sign() >= 0 && x.IsUint64() {
			return x.Uint64(), nil
		}
		return nil, fmt.Errorf("integer %s is out of range", x)
	}
	return v, nil
}

// Encoding.

// CBOR major types, shifted into the high bits of the initial byte.
const (
	cborUint   = 0 << 5
	cborNeg    = 1 << 5
	cborBytes  = 2 << 5
	cborText   = 3 << 5
	cborArray  = 4 << 5
	cborMap    = 5 << 5
	cborSimple = 7 << 5
)

// cborHead appends an initial byte of the given major type with argument n in its shortest form.
func cborHead(dst []byte, major byte, n uint64) []byte {
	switch {
	case n < 24:
		return append(dst, major|byte(n))
	case n <= math.MaxUint8:
		return append(dst, major|24, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, major|25), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, major|26), uint32(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, major|27), n)
	}
}

func cborAppendInt(dst []byte, i int64) []byte {
	if i >= 0 {
		return cborHead(dst, cborUint, uint64(i))
	}
	return cborHead(dst, cborNeg, uint64(-(i + 1)))
}

// cborAppendString appends s as a text string, replacing invalid UTF-8 with U+FFFD.
func cborAppendString(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = toValidUTF8(s)
	}
	dst = cborHead(dst, cborText, uint64(len(s)))
	return append(dst, s...)
}

const (
	cborFalse   = cborSimple | 20
	cborTrue    = cborSimple | 21
	cborNull    = cborSimple | 22
	cborFloat32 = cborSimple | 26
	cborFloat64 = cborSimple | 27
)

// cborAppendValue appends the CBOR encoding of a payload value; depth is the nesting level a list
// or dict at this position has.
func cborAppendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, cborNull), nil
	case string:
		return cborAppendString(dst, x), nil
	case int64:
		return cborAppendInt(dst, x), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(dst, cborFloat64), math.Float64bits(x)), nil
	case bool:
		if x {
			return append(dst, cborTrue), nil
		}
		return append(dst, cborFalse), nil
	case map[string]any:
		if x == nil {
			return append(dst, cborNull), nil
		}
		return cborAppendDict(dst, x, depth)
	case []any:
		if x == nil {
			return append(dst, cborNull), nil
		}
		return cborAppendList(dst, x, depth)
	case []byte:
		if x == nil {
			return append(dst, cborNull), nil
		}
		return append(cborHead(dst, cborBytes, uint64(len(x))), x...), nil
	case uint64:
		return cborHead(dst, cborUint, x), nil
	case int:
		return cborAppendInt(dst, int64(x)), nil
	case int32:
		return cborAppendInt(dst, int64(x)), nil
	case int16:
		return cborAppendInt(dst, int64(x)), nil
	case int8:
		return cborAppendInt(dst, int64(x)), nil
	case uint:
		return cborHead(dst, cborUint, uint64(x)), nil
	case uint32:
		return cborHead(dst, cborUint, uint64(x)), nil
	case uint16:
		return cborHead(dst, cborUint, uint64(x)), nil
	case uint8:
		return cborHead(dst, cborUint, uint64(x)), nil
	case float32:
		return binary.BigEndian.AppendUint32(append(dst, cborFloat32), math.Float32bits(x)), nil
	case wamp.ID:
		return cborHead(dst, cborUint, uint64(x)), nil
	case wamp.URI:
		return cborAppendString(dst, string(x)), nil
	case json.Number:
		n, err := parseNumber(x)
		if err != nil {
			return dst, err
		}
		return cborAppendValue(dst, n, depth)
	case []string:
		if x == nil {
			return append(dst, cborNull), nil
		}
		if depth > MaxDepth {
			return dst, errDepth
		}
		dst = cborHead(dst, cborArray, uint64(len(x)))
		for _, s := range x {
			dst = cborAppendString(dst, s)
		}
		return dst, nil
	case map[string]string:
		if x == nil {
			return append(dst, cborNull), nil
		}
		if depth > MaxDepth {
			return dst, errDepth
		}
		dst = cborHead(dst, cborMap, uint64(len(x)))
		for k, s := range x {
			dst = cborAppendString(dst, k)
			dst = cborAppendString(dst, s)
		}
		return dst, nil
	default:
		n, err := normalizeSlow(v, depth)
		if err != nil {
			return dst, err
		}
		return cborAppendValue(dst, n, depth)
	}
}

func cborAppendList(dst []byte, l []any, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return dst, errDepth
	}
	dst = cborHead(dst, cborArray, uint64(len(l)))
	for _, v := range l {
		var err error
		if dst, err = cborAppendValue(dst, v, depth+1); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

func cborAppendDict(dst []byte, m map[string]any, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return dst, errDepth
	}
	dst = cborHead(dst, cborMap, uint64(len(m)))
	for k, v := range m {
		dst = cborAppendString(dst, k)
		var err error
		if dst, err = cborAppendValue(dst, v, depth+1); err != nil {
			return dst, err
		}
	}
	return dst, nil
}
