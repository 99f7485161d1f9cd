package xmlrpc

import (
	"fmt"
	"reflect"
	"slices"
)

// appendReflect appends the values the fast path of appendValue does not know: named basic types
// (wamp.ID, wamp.URI, …), other integer and float sizes, typed maps, slices and arrays, pointers.
func appendReflect(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return appendValue(dst, nil, depth)
		}
		return appendValue(dst, v.Elem().Interface(), depth+1)
	case reflect.Bool:
		return appendValue(dst, v.Bool(), depth)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return appendInt(dst, v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return appendUint(dst, v.Uint())
	case reflect.Float32, reflect.Float64:
		return appendDouble(dst, v.Float())
	case reflect.String:
		return appendValue(dst, v.String(), depth)
	case reflect.Slice:
		if v.IsNil() {
			return appendValue(dst, nil, depth)
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return appendValue(dst, v.Bytes(), depth)
		}
		return appendItems(dst, v, depth)
	case reflect.Array:
		return appendItems(dst, v, depth)
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			break
		}
		if v.IsNil() {
			return appendValue(dst, nil, depth)
		}
		return appendMap(dst, v, depth)
	}
	return dst, fmt.Errorf("%w: unsupported Go type %s", ErrUnencodable, v.Type())
}

// appendItems appends a slice or array as an array.
func appendItems(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	dst = append(dst, "<value><array><data>"...)
	for i := range v.Len() {
		var err error
		if dst, err = appendValue(dst, v.Index(i).Interface(), depth+1); err != nil {
			return dst, fmt.Errorf("item %d: %w", i, err)
		}
	}
	return append(dst, "</data></array></value>"...), nil
}

// appendMap appends a map with string keys as a struct, members in key order.
func appendMap(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	keys := v.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int {
		switch {
		case a.String() < b.String():
			return -1
		case a.String() > b.String():
			return 1
		}
		return 0
	})
	dst = append(dst, "<value><struct>"...)
	for _, k := range keys {
		var err error
		dst = append(dst, "<member><name>"...)
		if dst, err = appendText(dst, k.String()); err != nil {
			return dst, fmt.Errorf("member name %q: %w", k.String(), err)
		}
		dst = append(dst, "</name>"...)
		if dst, err = appendValue(dst, v.MapIndex(k).Interface(), depth+1); err != nil {
			return dst, fmt.Errorf("member %q: %w", k.String(), err)
		}
		dst = append(dst, "</member>"...)
	}
	return append(dst, "</struct></value>"...), nil
}
