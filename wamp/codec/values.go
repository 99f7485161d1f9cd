package codec

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
)

// MaxDepth is the deepest nesting of lists and dicts a frame may have, counting the message array
// itself as level 1. Decoders refuse deeper input and encoders refuse deeper (or cyclic) values, so
// hostile input cannot exhaust the stack.
const MaxDepth = 64

// MaxContainerLen is the largest number of elements of one list, or entries of one dict, that a
// decoder accepts (the CBOR library's default, applied to all three serializers).
const MaxContainerLen = 128 * 1024

var (
	errDepth     = fmt.Errorf("nesting deeper than %d levels", MaxDepth)
	errTooLong   = fmt.Errorf("list or dict with more than %d entries", MaxContainerLen)
	errTruncated = errors.New("unexpected end of data")
)

// intValue returns u as the normalised integer value: int64 when it fits, else uint64.
func intValue(u uint64) any {
	if u <= math.MaxInt64 {
		return int64(u)
	}
	return u
}

// describe names the kind of a decoded value for error messages, showing numbers themselves.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case []byte:
		return "binary"
	case []any:
		return "a list"
	case map[string]any:
		return "a dict"
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	default:
		return fmt.Sprintf("%T", v)
	}
}

// normalizeSlow converts a payload value of a type the encoders have no fast path for into the
// normalised value set (nil, bool, int64, uint64, float64, string, []byte, []any, map[string]any).
// Named basic types, slices, arrays, pointers and maps with string keys are converted directly;
// everything else (structs, maps with other keys, types with their own JSON or text encoding) goes
// through encoding/json, so all three serializers send the same data a JSON peer would see.
// depth is the nesting level of v's position in the frame.
func normalizeSlow(v any, depth int) (any, error) {
	return normalizeReflect(reflect.ValueOf(v), depth, 0)
}

// normalizeReflect converts rv; derefs counts the pointers followed to reach it, bounded so that a
// self-referencing pointer type cannot recurse forever.
func normalizeReflect(rv reflect.Value, depth, derefs int) (any, error) {
	if !rv.IsValid() {
		return nil, nil
	}
	if rv.CanInterface() {
		switch rv.Interface().(type) {
		case json.Marshaler, encoding.TextMarshaler:
			if (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) && rv.IsNil() {
				return nil, nil
			}
			return viaJSON(rv.Interface(), depth)
		}
	}
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return intValue(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		if derefs >= MaxDepth {
			return nil, errDepth
		}
		return normalizeReflect(rv.Elem(), depth, derefs+1)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil, nil
		}
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			return b, nil
		}
		if depth > MaxDepth {
			return nil, errDepth
		}
		l := make([]any, rv.Len())
		for i := range l {
			x, err := normalizeReflect(rv.Index(i), depth+1, 0)
			if err != nil {
				return nil, err
			}
			l[i] = x
		}
		return l, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		if rv.IsNil() {
			return nil, nil
		}
		if depth > MaxDepth {
			return nil, errDepth
		}
		m := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			x, err := normalizeReflect(it.Value(), depth+1, 0)
			if err != nil {
				return nil, err
			}
			m[it.Key().String()] = x
		}
		return m, nil
	}
	if !rv.CanInterface() {
		return nil, fmt.Errorf("cannot encode value of type %s", rv.Type())
	}
	return viaJSON(rv.Interface(), depth)
}

// viaJSON marshals v with encoding/json and parses the result into the normalised value set.
func viaJSON(v any, depth int) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cannot encode value of type %T: %w", v, err)
	}
	d := jsonDecoder{data: b}
	x, err := d.value(depth)
	if err != nil {
		return nil, fmt.Errorf("cannot encode value of type %T: %w", v, err)
	}
	return x, nil
}
