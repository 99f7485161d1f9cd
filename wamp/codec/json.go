package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/gateway-dev/gateway/wamp"
)

// jsonSerializer implements JSONSerializer.
type jsonSerializer struct{}

func (jsonSerializer) ID() ID              { return JSON }
func (jsonSerializer) Name() string        { return "json" }
func (jsonSerializer) Subprotocol() string { return "wamp.2.json" }
func (jsonSerializer) Binary() bool        { return false }

// Encode appends the JSON encoding of m to dst. On error dst is returned unextended.
func (jsonSerializer) Encode(dst []byte, m wamp.Message) ([]byte, error) {
	var b fieldBuilder
	if err := b.fill(m); err != nil {
		return dst, fmt.Errorf("json: encode: %w", err)
	}
	start := len(dst)
	dst = append(dst, '[')
	var err error
	for i := 0; i < b.n; i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		f := &b.f[i]
		switch f.kind {
		case fInt:
			dst = strconv.AppendUint(dst, f.n, 10)
		case fString:
			dst, err = jsonAppendString(dst, f.s)
		case fDict:
			dst, err = jsonAppendDict(dst, f.d, 2)
		case fList:
			dst, err = jsonAppendList(dst, f.l, 2)
		}
		if err != nil {
			return dst[:start], fmt.Errorf("json: encode %s: element %d: %w", m.MessageType(), i, err)
		}
	}
	return append(dst, ']'), nil
}

// Decode parses one JSON WAMP message.
func (jsonSerializer) Decode(b []byte) (wamp.Message, error) {
	m, err := decodeJSON(b)
	if err != nil {
		return nil, invalid("json", err)
	}
	return m, nil
}

func decodeJSON(b []byte) (wamp.Message, error) {
	d := jsonDecoder{data: b}
	d.skipWS()
	if d.pos >= len(b) || b[d.pos] != '[' {
		return nil, errors.New("frame is not a JSON array")
	}
	d.pos++
	d.skipWS()
	if d.pos < len(b) && b[d.pos] == ']' {
		return nil, errEmpty
	}
	var buf [maxElems]any
	elems := buf[:0]
	var s *spec
	for {
		v, err := d.value(2)
		if err != nil {
			if s == nil {
				return nil, fmt.Errorf("element 0 (message type): %w", err)
			}
			return nil, s.elemErr(len(elems), err)
		}
		if s == nil {
			if s, err = specFor(v); err != nil {
				return nil, err
			}
		}
		elems = append(elems, v)
		d.skipWS()
		if d.pos >= len(b) {
			return nil, errTruncated
		}
		c := b[d.pos]
		d.pos++
		if c == ']' {
			break
		}
		if c != ',' {
			return nil, d.syntaxErr(c, d.pos-1, "after array element")
		}
		if len(elems) == s.max {
			return nil, s.tooMany()
		}
		d.skipWS()
	}
	d.skipWS()
	if d.pos != len(b) {
		return nil, fmt.Errorf("%d trailing bytes after the message", len(b)-d.pos)
	}
	return s.build(elems)
}

// jsonDecoder parses JSON values into the normalised value set.
type jsonDecoder struct {
	data []byte
	pos  int
	buf  []byte // scratch for strings with escapes
}

func (d *jsonDecoder) skipWS() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *jsonDecoder) syntaxErr(c byte, at int, context string) error {
	return fmt.Errorf("invalid character %q at offset %d %s", c, at, context)
}

// value parses the value at d.pos; depth is the nesting level a list or dict there would have.
func (d *jsonDecoder) value(depth int) (any, error) {
	if d.pos >= len(d.data) {
		return nil, errTruncated
	}
	switch c := d.data[d.pos]; c {
	case '{':
		return d.object(depth)
	case '[':
		return d.array(depth)
	case '"':
		s, err := d.rawString()
		if err != nil {
			return nil, err
		}
		if len(s) > 0 && s[0] == 0 {
			return decodeBinary(s[1:])
		}
		return string(s), nil
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case 'n':
		return nil, d.literal("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return d.number()
		}
		return nil, d.syntaxErr(c, d.pos, "looking for a value")
	}
}

// decodeBinary decodes the base64 text of a WAMP JSON binary string (padded or not).
func decodeBinary(s []byte) ([]byte, error) {
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	out := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Decode(out, s)
	if err != nil {
		return nil, fmt.Errorf("binary string (leading \\u0000) is not valid base64: %w", err)
	}
	return out[:n], nil
}

func (d *jsonDecoder) literal(lit string) error {
	rest := d.data[d.pos:]
	if len(rest) < len(lit) || string(rest[:len(lit)]) != lit {
		if len(rest) < len(lit) && string(rest) == lit[:len(rest)] {
			return errTruncated
		}
		return fmt.Errorf("invalid literal at offset %d", d.pos)
	}
	d.pos += len(lit)
	return nil
}

func (d *jsonDecoder) array(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, errDepth
	}
	d.pos++ // '['
	d.skipWS()
	l := []any{}
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return l, nil
	}
	for {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if len(l) == MaxContainerLen {
			return nil, errTooLong
		}
		l = append(l, v)
		d.skipWS()
		if d.pos >= len(d.data) {
			return nil, errTruncated
		}
		c := d.data[d.pos]
		d.pos++
		if c == ']' {
			return l, nil
		}
		if c != ',' {
			return nil, d.syntaxErr(c, d.pos-1, "after list element")
		}
		d.skipWS()
	}
}

func (d *jsonDecoder) object(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, errDepth
	}
	d.pos++ // '{'
	d.skipWS()
	m := map[string]any{}
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return m, nil
	}
	for {
		if d.pos >= len(d.data) {
			return nil, errTruncated
		}
		if c := d.data[d.pos]; c != '"' {
			return nil, d.syntaxErr(c, d.pos, "looking for a dict key")
		}
		kb, err := d.rawString()
		if err != nil {
			return nil, err
		}
		if _, dup := m[string(kb)]; dup {
			return nil, fmt.Errorf("duplicate dict key %q", kb)
		}
		key := string(kb)
		d.skipWS()
		if d.pos >= len(d.data) {
			return nil, errTruncated
		}
		if c := d.data[d.pos]; c != ':' {
			return nil, d.syntaxErr(c, d.pos, "after dict key")
		}
		d.pos++
		d.skipWS()
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if len(m) == MaxContainerLen {
			return nil, errTooLong
		}
		m[key] = v
		d.skipWS()
		if d.pos >= len(d.data) {
			return nil, errTruncated
		}
		c := d.data[d.pos]
		d.pos++
		if c == '}' {
			return m, nil
		}
		if c != ',' {
			return nil, d.syntaxErr(c, d.pos-1, "after dict value")
		}
		d.skipWS()
	}
}

// rawString parses the string starting at d.pos (the opening quote) and returns its unescaped
// bytes, which alias d.data or d.buf and are valid only until the next call.
func (d *jsonDecoder) rawString() ([]byte, error) {
	data := d.data
	start := d.pos + 1
	for i := start; i < len(data); {
		c := data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return data[start:i], nil
		case c == '\\':
			return d.escapedString(start, i)
		case c < 0x20:
			return nil, fmt.Errorf("control character %#02x in string at offset %d", c, i)
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, fmt.Errorf("invalid UTF-8 in string at offset %d", i)
			}
			i += size
		}
	}
	return nil, errTruncated
}

// escapedString continues rawString from the first backslash at i.
func (d *jsonDecoder) escapedString(start, i int) ([]byte, error) {
	data := d.data
	buf := append(d.buf[:0], data[start:i]...)
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			d.buf = buf
			return buf, nil
		case c == '\\':
			if i+1 >= len(data) {
				return nil, errTruncated
			}
			e := data[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := hex4(data[i:])
				if !ok {
					return nil, fmt.Errorf("invalid \\u escape at offset %d", i-2)
				}
				i += 4
				if r >= 0xD800 && r < 0xDC00 {
					// High surrogate: combine with a following low surrogate escape.
					if i+6 <= len(data) && data[i] == '\\' && data[i+1] == 'u' {
						if r2, ok := hex4(data[i+2:]); ok && r2 >= 0xDC00 && r2 < 0xE000 {
							r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
							i += 6
						}
					}
				}
				if r >= 0xD800 && r < 0xE000 {
					r = utf8.RuneError // lone surrogate, as encoding/json does
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return nil, fmt.Errorf("invalid escape %q at offset %d", e, i-2)
			}
		case c < 0x20:
			return nil, fmt.Errorf("control character %#02x in string at offset %d", c, i)
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, fmt.Errorf("invalid UTF-8 in string at offset %d", i)
			}
			buf = append(buf, data[i:i+size]...)
			i += size
		}
	}
	d.buf = buf
	return nil, errTruncated
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number parses a JSON number: integer literals become int64 (uint64 above MaxInt64, float64 when
// even that overflows), others float64.
func (d *jsonDecoder) number() (any, error) {
	data := d.data
	start := d.pos
	i := start
	neg := false
	if data[i] == '-' {
		neg = true
		i++
	}
	digits := func() int {
		n := 0
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i >= len(data) {
		return nil, errTruncated
	}
	intStart := i
	switch {
	case data[i] == '0':
		i++
	case data[i] >= '1' && data[i] <= '9':
		digits()
	default:
		return nil, d.syntaxErr(data[i], i, "in number")
	}
	intEnd := i
	isInt := true
	if i < len(data) && data[i] == '.' {
		isInt = false
		i++
		if digits() == 0 {
			return nil, d.numberErr(start, i)
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		isInt = false
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, d.numberErr(start, i)
		}
	}
	d.pos = i
	if isInt {
		var u uint64
		overflow := false
		for _, c := range data[intStart:intEnd] {
			dg := uint64(c - '0')
			if u > (math.MaxUint64-dg)/10 {
				overflow = true
				break
			}
			u = u*10 + dg
		}
		if !overflow {
			if !neg {
				return intValue(u), nil
			}
			if u <= 1<<63 {
				return -int64(u-1) - 1, nil
			}
		}
	}
	f, err := strconv.ParseFloat(string(data[start:i]), 64)
	if err != nil {
		return nil, fmt.Errorf("number %s at offset %d is out of range", data[start:i], start)
	}
	return f, nil
}

func (d *jsonDecoder) numberErr(start, i int) error {
	if i >= len(d.data) {
		return errTruncated
	}
	return fmt.Errorf("invalid number at offset %d", start)
}

// Encoding.

// jsonAppendValue appends the JSON encoding of a payload value; depth is the nesting level a list
// or dict at this position has.
func jsonAppendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return jsonAppendString(dst, x)
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case float64:
		return jsonAppendFloat(dst, x, 64)
	case bool:
		return strconv.AppendBool(dst, x), nil
	case map[string]any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		return jsonAppendDict(dst, x, depth)
	case []any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		return jsonAppendList(dst, x, depth)
	case []byte:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, `"\u0000`...)
		dst = base64.StdEncoding.AppendEncode(dst, x)
		return append(dst, '"'), nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case float32:
		return jsonAppendFloat(dst, float64(x), 32)
	case wamp.ID:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case wamp.URI:
		return jsonAppendString(dst, string(x))
	case json.Number:
		n, err := parseNumber(x)
		if err != nil {
			return dst, err
		}
		return jsonAppendValue(dst, n, depth)
	case []string:
		if x == nil {
			return append(dst, "null"...), nil
		}
		if depth > MaxDepth {
			return dst, errDepth
		}
		dst = append(dst, '[')
		for i, s := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = jsonAppendString(dst, s); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case map[string]string:
		if x == nil {
			return append(dst, "null"...), nil
		}
		if depth > MaxDepth {
			return dst, errDepth
		}
		dst = append(dst, '{')
		first := true
		for k, s := range x {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = jsonAppendKey(dst, k)
			var err error
			if dst, err = jsonAppendString(dst, s); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	default:
		n, err := normalizeSlow(v, depth)
		if err != nil {
			return dst, err
		}
		return jsonAppendValue(dst, n, depth)
	}
}

func jsonAppendList(dst []byte, l []any, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return dst, errDepth
	}
	dst = append(dst, '[')
	for i, v := range l {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = jsonAppendValue(dst, v, depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

func jsonAppendDict(dst []byte, m map[string]any, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return dst, errDepth
	}
	dst = append(dst, '{')
	first := true
	for k, v := range m {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = jsonAppendKey(dst, k)
		var err error
		if dst, err = jsonAppendValue(dst, v, depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

func jsonAppendKey(dst []byte, k string) []byte {
	dst = jsonAppendEscaped(dst, k)
	return append(dst, ':')
}

var errNulString = errors.New("string starting with U+0000 cannot be sent in WAMP JSON (it would read as binary)")

// jsonAppendString appends a string value, refusing one that a peer would read as binary.
func jsonAppendString(dst []byte, s string) ([]byte, error) {
	if len(s) > 0 && s[0] == 0 {
		return dst, errNulString
	}
	return jsonAppendEscaped(dst, s), nil
}

const hexDigits = "0123456789abcdef"

// jsonAppendEscaped appends s as a JSON string, replacing invalid UTF-8 with U+FFFD.
func jsonAppendEscaped(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

var errNonFinite = errors.New("NaN and infinity cannot be sent in JSON")

// jsonAppendFloat appends f like encoding/json does, with ".0" added to integral values so that
// they read back as floats.
func jsonAppendFloat(dst []byte, f float64, bits int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, errNonFinite
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) ||
			bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'f' && bytes.IndexByte(dst[start:], '.') < 0 {
		dst = append(dst, '.', '0')
	}
	return dst, nil
}

// parseNumber converts a json.Number a Go caller handed over into a normalised number.
func parseNumber(n json.Number) (any, error) {
	d := jsonDecoder{data: []byte(n)}
	if len(n) == 0 {
		return nil, errors.New("empty json.Number")
	}
	v, err := d.number()
	if err != nil || d.pos != len(d.data) {
		return nil, fmt.Errorf("invalid json.Number %q", string(n))
	}
	return v, nil
}

// DecodeJSONValue decodes one JSON value (white space around it allowed, nothing else) into the
// values the serializers produce: nil, bool, int64 (uint64 above its range), float64, string,
// []byte (a WAMP JSON binary string, "\u0000" followed by base64), []any and map[string]any. It is
// as strict as the JSON serializer: at most MaxDepth nesting, no duplicate keys, valid UTF-8.
func DecodeJSONValue(b []byte) (any, error) {
	d := jsonDecoder{data: b}
	d.skipWS()
	v, err := d.value(1)
	if err != nil {
		return nil, err
	}
	d.skipWS()
	if d.pos != len(b) {
		return nil, fmt.Errorf("%d trailing bytes after the value", len(b)-d.pos)
	}
	return v, nil
}
