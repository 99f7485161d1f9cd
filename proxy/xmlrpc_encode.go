package proxy

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds the nesting of XML-RPC values, encoded and decoded.
const maxDepth = 100

// appendCall appends a <methodCall> of method with params, generic JSON values (nil, bool,
// string, json.Number, []any, map[string]any; see generic).
func appendCall(dst []byte, method string, params []any) ([]byte, error) {
	dst = append(dst, `<?xml version="1.0" encoding="UTF-8"?>`+"\n<methodCall><methodName>"...)
	dst, err := appendText(dst, method)
	if err != nil {
		return nil, fmt.Errorf("method name: %w", err)
	}
	dst = append(dst, "</methodName><params>"...)
	for i, p := range params {
		dst = append(dst, "<param>"...)
		if dst, err = appendValue(dst, p, 0); err != nil {
			return nil, fmt.Errorf("param %d: %w", i+1, err)
		}
		dst = append(dst, "</param>"...)
	}
	return append(dst, "</params></methodCall>\n"...), nil
}

// appendValue appends v as a <value>: nil → <nil/>, bool → boolean, a json.Number → int (32-bit
// range), i8 (64-bit) or double, string → string, []any → array, map → struct (members sorted).
func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("values nested deeper than %d levels", maxDepth)
	}
	var err error
	switch x := v.(type) {
	case nil:
		return append(dst, "<value><nil/></value>"...), nil
	case bool:
		if x {
			return append(dst, "<value><boolean>1</boolean></value>"...), nil
		}
		return append(dst, "<value><boolean>0</boolean></value>"...), nil
	case string:
		dst = append(dst, "<value><string>"...)
		if dst, err = appendText(dst, x); err != nil {
			return nil, err
		}
		return append(dst, "</string></value>"...), nil
	case json.Number:
		return appendNumber(dst, x)
	case []any:
		dst = append(dst, "<value><array><data>"...)
		for i, item := range x {
			if dst, err = appendValue(dst, item, depth+1); err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
		}
		return append(dst, "</data></array></value>"...), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, "<value><struct>"...)
		for _, k := range keys {
			dst = append(dst, "<member><name>"...)
			if dst, err = appendText(dst, k); err != nil {
				return nil, fmt.Errorf("member name: %w", err)
			}
			dst = append(dst, "</name>"...)
			if dst, err = appendValue(dst, x[k], depth+1); err != nil {
				return nil, fmt.Errorf("member %q: %w", k, err)
			}
			dst = append(dst, "</member>"...)
		}
		return append(dst, "</struct></value>"...), nil
	}
	return nil, fmt.Errorf("XML-RPC cannot carry a %T", v)
}

// appendNumber appends an integer literal as int or i8, any other number as a double.
func appendNumber(dst []byte, n json.Number) ([]byte, error) {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("integer %s is beyond the 64-bit range of XML-RPC's i8", s)
		}
		if i >= math.MinInt32 && i <= math.MaxInt32 {
			dst = append(dst, "<value><int>"...)
			dst = strconv.AppendInt(dst, i, 10)
			return append(dst, "</int></value>"...), nil
		}
		dst = append(dst, "<value><i8>"...)
		dst = strconv.AppendInt(dst, i, 10)
		return append(dst, "</i8></value>"...), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, fmt.Errorf("number %s is beyond the range of a double", s)
	}
	dst = append(dst, "<value><double>"...)
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
	if !slices.Contains(dst[start:], '.') {
		dst = append(dst, ".0"...)
	}
	return append(dst, "</double></value>"...), nil
}

// appendText appends s escaped as XML character data. XML 1.0 cannot carry invalid UTF-8 nor most
// control characters: they are an error rather than silently replaced.
func appendText(dst []byte, s string) ([]byte, error) {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			return nil, fmt.Errorf("invalid UTF-8 at byte %d", i)
		case r == '&':
			dst = append(dst, "&amp;"...)
		case r == '<':
			dst = append(dst, "&lt;"...)
		case r == '>':
			dst = append(dst, "&gt;"...)
		case r == '\r':
			dst = append(dst, "&#xD;"...) // a literal CR would be read back as LF
		case r == '\t' || r == '\n' || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || r >= 0x10000:
			dst = utf8.AppendRune(dst, r)
		default:
			return nil, fmt.Errorf("character %U at byte %d cannot be carried by XML 1.0", r, i)
		}
	}
	return dst, nil
}
