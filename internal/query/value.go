package query

import (
	"encoding/json"
	"math"
	"strconv"
)

// kind is the type of a value.
type kind uint8

const (
	kMissing kind = iota // the field is absent
	kOther               // present but not comparable: null, list, map, bytes
	kBool
	kInt    // n holds an int64
	kFloat  // n holds float64 bits
	kString // s holds the string
)

// value is one scalar: a literal of a filter or an attribute of an event.
type value struct {
	k kind
	n uint64
	s string
}

func boolValue(b bool) value {
	if b {
		return value{k: kBool, n: 1}
	}
	return value{k: kBool}
}

func intValue(i int64) value     { return value{k: kInt, n: uint64(i)} }
func floatValue(f float64) value { return value{k: kFloat, n: math.Float64bits(f)} }
func stringValue(s string) value { return value{k: kString, s: s} }

func (v value) isNum() bool      { return v.k == kInt || v.k == kFloat }
func (v value) int() int64       { return int64(v.n) }
func (v value) float() float64   { return math.Float64frombits(v.n) }
func (v value) present() bool    { return v.k != kMissing }
func (v value) comparable() bool { return v.k >= kBool }

// asFloat returns the number as a float64 (possibly rounded for large ints).
func (v value) asFloat() float64 {
	if v.k == kInt {
		return float64(int64(v.n))
	}
	return v.float()
}

// fromAny converts a decoded payload value to a value. Values that are not scalars become kOther
// (present, but every comparison on them is false).
func fromAny(x any) value {
	switch t := x.(type) {
	case string:
		return stringValue(t)
	case int64:
		return intValue(t)
	case float64:
		return floatValue(t)
	case bool:
		return boolValue(t)
	case int:
		return intValue(int64(t))
	case uint64:
		if t > math.MaxInt64 {
			return floatValue(float64(t))
		}
		return intValue(int64(t))
	case int32:
		return intValue(int64(t))
	case int16:
		return intValue(int64(t))
	case int8:
		return intValue(int64(t))
	case uint32:
		return intValue(int64(t))
	case uint16:
		return intValue(int64(t))
	case uint8:
		return intValue(int64(t))
	case uint:
		if uint64(t) > math.MaxInt64 {
			return floatValue(float64(t))
		}
		return intValue(int64(t))
	case float32:
		return floatValue(float64(t))
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return intValue(i)
		}
		if f, err := strconv.ParseFloat(string(t), 64); err == nil {
			return floatValue(f)
		}
		return value{k: kOther}
	default:
		return value{k: kOther}
	}
}

// cmpNum compares two numbers exactly (ints and floats mixed). ok is false when either is NaN.
func cmpNum(a, b value) (c int, ok bool) {
	if a.k == kInt && b.k == kInt {
		return cmp3(a.int(), b.int()), true
	}
	if a.k == kInt {
		c, ok = cmpIntFloat(a.int(), b.float())
		return c, ok
	}
	if b.k == kInt {
		c, ok = cmpIntFloat(b.int(), a.float())
		return -c, ok
	}
	x, y := a.float(), b.float()
	if x != x || y != y {
		return 0, false
	}
	switch {
	case x < y:
		return -1, true
	case x > y:
		return 1, true
	}
	return 0, true
}

// cmpIntFloat compares an int64 with a float64 without rounding errors.
func cmpIntFloat(i int64, f float64) (int, bool) {
	if f != f {
		return 0, false
	}
	// Every float64 with |f| >= 2^53 is integral; below that float64(i) is exact when |i| <= 2^53,
	// and when |i| > 2^53 the rounding cannot cross a non-integral f.
	if f >= -9223372036854775808.0 && f < 9223372036854775808.0 && f == math.Trunc(f) {
		return cmp3(i, int64(f)), true
	}
	fi := float64(i)
	switch {
	case fi < f:
		return -1, true
	case fi > f:
		return 1, true
	}
	// Equal after rounding but f is not integral: impossible, yet keep a total answer.
	return 0, true
}

func cmp3[T int64 | string](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compare orders a against b when both are of comparable kinds: numbers with numbers, strings with
// strings, bools with bools (equality only is meaningful but order false<true is total). ok is false
// for mismatched kinds, missing or non-scalar values, and NaN.
func compare(a, b value) (int, bool) {
	switch {
	case a.isNum() && b.isNum():
		return cmpNum(a, b)
	case a.k != b.k || a.k < kBool:
		return 0, false
	case a.k == kString:
		return cmp3(a.s, b.s), true
	default: // bool
		return cmp3(int64(a.n), int64(b.n)), true
	}
}

// hashKey returns the canonical (kind, bits) used to hash v for equality lookups. ok is false when v
// cannot be looked up by hash: non-scalars, NaN, and ints that a float64 does not represent exactly
// (such equalities are evaluated as residual predicates instead).
func (v value) hashKey() (k kind, n uint64, ok bool) {
	switch v.k {
	case kString:
		return kString, 0, true
	case kBool:
		return kBool, v.n, true
	case kInt:
		i := v.int()
		f := float64(i)
		if f >= 9223372036854775808.0 || int64(f) != i {
			return 0, 0, false
		}
		if f == 0 {
			f = 0
		}
		return kFloat, math.Float64bits(f), true
	case kFloat:
		f := v.float()
		if f != f {
			return 0, 0, false
		}
		if f == 0 {
			f = 0 // -0 and +0 are equal
		}
		return kFloat, math.Float64bits(f), true
	}
	return 0, 0, false
}

// order is a total order on values used for canonical forms (kind first, then value).
func order(a, b value) int {
	ak, bk := a.k, b.k
	if a.isNum() && b.isNum() {
		if c, ok := cmpNum(a, b); ok && c != 0 {
			return c
		}
		ak, bk = a.k, b.k // equal numbers: int before float
	}
	if ak != bk {
		return cmp3(int64(ak), int64(bk))
	}
	if a.k == kString {
		return cmp3(a.s, b.s)
	}
	return cmp3(int64(a.n), int64(b.n))
}

// literal renders v as a CEL literal.
func (v value) literal() string {
	switch v.k {
	case kString:
		return strconv.Quote(v.s)
	case kBool:
		if v.n != 0 {
			return "true"
		}
		return "false"
	case kInt:
		return strconv.FormatInt(v.int(), 10)
	case kFloat:
		f := v.float()
		switch {
		case math.IsInf(f, 1):
			return "1e999"
		case math.IsInf(f, -1):
			return "-1e999"
		}
		s := strconv.FormatFloat(f, 'g', -1, 64)
		for _, c := range s {
			if c == '.' || c == 'e' || c == 'n' || c == 'I' {
				return s
			}
		}
		return s + ".0"
	}
	return "null"
}

// goValue converts v back to a plain Go value (for JSON output and the cel-go reference).
func (v value) goValue() any {
	switch v.k {
	case kString:
		return v.s
	case kBool:
		return v.n != 0
	case kInt:
		return v.int()
	case kFloat:
		return v.float()
	}
	return nil
}
