package xmlrpc

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// ErrUnencodable is wrapped by every encoding error: the value has no XML-RPC form (a string with
// characters XML 1.0 cannot carry, a non-finite double, an integer beyond 64 bits, an unsupported Go
// type, a year outside 0–9999, a cycle).
var ErrUnencodable = errors.New("value cannot be carried by XML-RPC")

// maxEncodeDepth bounds the nesting of encoded values (and so the recursion on a cyclic value).
const maxEncodeDepth = 256

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// rawValue is an already encoded <value> element, appended as it is (the results of a multicall).
type rawValue []byte

// AppendCall appends a <methodCall> document calling method with params.
func AppendCall(dst []byte, method string, params []any) ([]byte, error) {
	n := len(dst)
	dst = append(dst, xmlHeader+"<methodCall><methodName>"...)
	dst, err := appendText(dst, method)
	if err != nil {
		return dst[:n], fmt.Errorf("method name: %w", err)
	}
	dst = append(dst, "</methodName><params>"...)
	for i, p := range params {
		dst = append(dst, "<param>"...)
		if dst, err = appendValue(dst, p, 0); err != nil {
			return dst[:n], fmt.Errorf("param %d: %w", i+1, err)
		}
		dst = append(dst, "</param>"...)
	}
	return append(dst, "</params></methodCall>\n"...), nil
}

// AppendResponse appends a <methodResponse> document answering result. On error dst is returned
// unchanged.
func AppendResponse(dst []byte, result any) ([]byte, error) {
	n := len(dst)
	dst = append(dst, xmlHeader+"<methodResponse><params><param>"...)
	dst, err := appendValue(dst, result, 0)
	if err != nil {
		return dst[:n], err
	}
	return append(dst, "</param></params></methodResponse>\n"...), nil
}

// AppendFault appends a <methodResponse> document carrying a fault. Characters of msg that XML
// cannot carry are replaced by U+FFFD, so a fault can always be written.
func AppendFault(dst []byte, code int, msg string) []byte {
	dst = append(dst, xmlHeader+"<methodResponse><fault>"...)
	dst = appendFaultStruct(dst, code, msg)
	return append(dst, "</fault></methodResponse>\n"...)
}

// appendFaultStruct appends the <value><struct> of a fault.
func appendFaultStruct(dst []byte, code int, msg string) []byte {
	dst = append(dst, "<value><struct><member><name>faultCode</name><value><int>"...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, "</int></value></member><member><name>faultString</name><value><string>"...)
	dst, _ = appendText(dst, sanitize(msg))
	return append(dst, "</string></value></member></struct></value>"...)
}

// AppendValue appends v as a <value> element. On error dst is returned unchanged. Go types map as
// follows: nil → nil; bool → boolean; signed and unsigned integers → int within the 32-bit range,
// else i8; float32/64 → double; json.Number → int/i8 when integral, else double; string → string;
// []byte → base64; time.Time → dateTime.iso8601 (UTC); maps with string keys → struct (members in
// key order); slices and arrays → array; pointers → what they point to.
func AppendValue(dst []byte, v any) ([]byte, error) {
	n := len(dst)
	out, err := appendValue(dst, v, 0)
	if err != nil {
		return dst[:n], err
	}
	return out, nil
}

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	if depth > maxEncodeDepth {
		return dst, fmt.Errorf("%w: nested deeper than %d levels", ErrUnencodable, maxEncodeDepth)
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "<value><nil/></value>"...), nil
	case rawValue:
		return append(dst, x...), nil
	case string:
		var err error
		dst = append(dst, "<value><string>"...)
		if dst, err = appendText(dst, x); err != nil {
			return dst, err
		}
		return append(dst, "</string></value>"...), nil
	case bool:
		if x {
			return append(dst, "<value><boolean>1</boolean></value>"...), nil
		}
		return append(dst, "<value><boolean>0</boolean></value>"...), nil
	case int64:
		return appendInt(dst, x), nil
	case int:
		return appendInt(dst, int64(x)), nil
	case int32:
		return appendInt(dst, int64(x)), nil
	case uint64:
		return appendUint(dst, x)
	case float64:
		return appendDouble(dst, x)
	case json.Number:
		return appendNumber(dst, x)
	case []byte:
		dst = append(dst, "<value><base64>"...)
		dst = base64.StdEncoding.AppendEncode(dst, x)
		return append(dst, "</base64></value>"...), nil
	case time.Time:
		if y := x.UTC().Year(); y < 0 || y > 9999 {
			return dst, fmt.Errorf("%w: year %d is outside 0–9999", ErrUnencodable, y)
		}
		dst = append(dst, "<value><dateTime.iso8601>"...)
		dst = appendDateTime(dst, x)
		return append(dst, "</dateTime.iso8601></value>"...), nil
	case map[string]any:
		return appendStruct(dst, x, depth)
	case []any:
		dst = append(dst, "<value><array><data>"...)
		for i, item := range x {
			var err error
			if dst, err = appendValue(dst, item, depth+1); err != nil {
				return dst, fmt.Errorf("item %d: %w", i, err)
			}
		}
		return append(dst, "</data></array></value>"...), nil
	}
	return appendReflect(dst, reflect.ValueOf(v), depth)
}

// appendStruct appends a struct with its members in key order.
func appendStruct(dst []byte, m map[string]any, depth int) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, "<value><struct>"...)
	for _, k := range keys {
		var err error
		dst = append(dst, "<member><name>"...)
		if dst, err = appendText(dst, k); err != nil {
			return dst, fmt.Errorf("member name %q: %w", k, err)
		}
		dst = append(dst, "</name>"...)
		if dst, err = appendValue(dst, m[k], depth+1); err != nil {
			return dst, fmt.Errorf("member %q: %w", k, err)
		}
		dst = append(dst, "</member>"...)
	}
	return append(dst, "</struct></value>"...), nil
}

// appendInt appends an int, or an i8 beyond the 32-bit range.
func appendInt(dst []byte, n int64) []byte {
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		dst = append(dst, "<value><int>"...)
		dst = strconv.AppendInt(dst, n, 10)
		return append(dst, "</int></value>"...)
	}
	dst = append(dst, "<value><i8>"...)
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, "</i8></value>"...)
}

func appendUint(dst []byte, n uint64) ([]byte, error) {
	if n > math.MaxInt64 {
		return dst, fmt.Errorf("%w: integer %d is beyond the 64-bit signed range of i8", ErrUnencodable, n)
	}
	return appendInt(dst, int64(n)), nil
}

// appendDouble appends a double in decimal notation (no exponent, as the specification asks), with a
// fractional part so that every reader sees a double.
func appendDouble(dst []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, fmt.Errorf("%w: double %v is not finite", ErrUnencodable, f)
	}
	dst = append(dst, "<value><double>"...)
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
	if !slices.Contains(dst[start:], '.') {
		dst = append(dst, ".0"...)
	}
	return append(dst, "</double></value>"...), nil
}

// appendNumber appends a JSON number: an int or i8 when it is an integer literal, else a double.
func appendNumber(dst []byte, n json.Number) ([]byte, error) {
	s := string(n)
	if isIntegerLiteral(s) {
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return dst, fmt.Errorf("%w: integer %s is beyond the 64-bit range of i8", ErrUnencodable, s)
		}
		return appendInt(dst, i), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return dst, fmt.Errorf("%w: %q is not a number", ErrUnencodable, s)
	}
	return appendDouble(dst, f)
}

// isIntegerLiteral reports whether s is an optional minus sign followed by decimal digits.
func isIntegerLiteral(s string) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// appendText appends s escaped as XML character data. It fails on invalid UTF-8 and on characters
// XML 1.0 cannot carry; a carriage return is written as a reference so that it survives the XML
// line-end normalisation.
func appendText(dst []byte, s string) ([]byte, error) {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			var esc string
			switch {
			case c == '&':
				esc = "&amp;"
			case c == '<':
				esc = "&lt;"
			case c == '>':
				esc = "&gt;"
			case c == '\r':
				esc = "&#13;"
			case c < 0x20 && c != '\t' && c != '\n':
				return dst, fmt.Errorf("%w: string holds control character U+%04X at byte %d", ErrUnencodable, c, i)
			}
			if esc != "" {
				dst = append(dst, s[last:i]...)
				dst = append(dst, esc...)
				last = i + 1
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return dst, fmt.Errorf("%w: string is not valid UTF-8 at byte %d", ErrUnencodable, i)
		}
		if r == 0xFFFE || r == 0xFFFF {
			return dst, fmt.Errorf("%w: string holds non-character U+%04X at byte %d", ErrUnencodable, r, i)
		}
		i += size
	}
	return append(dst, s[last:]...), nil
}

// sanitize replaces what appendText refuses by U+FFFD.
func sanitize(s string) string {
	if _, err := appendText(nil, s); err == nil {
		return s
	}
	out := make([]rune, 0, len(s))
	for i, r := range s {
		if (r == utf8.RuneError && !validAt(s, i)) || r == 0xFFFE || r == 0xFFFF ||
			(r < 0x20 && r != '\t' && r != '\n' && r != '\r') {
			r = utf8.RuneError
		}
		out = append(out, r)
	}
	return string(out)
}

// validAt reports whether s holds a real U+FFFD (not an invalid byte) at byte i.
func validAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 3
}
