package codec

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/tinylib/msgp/msgp"

	"github.com/gateway-dev/gateway/wamp"
)

// equalValues compares normalised values like reflect.DeepEqual, except that NaN equals NaN.
func equalValues(x, y any) bool {
	switch a := x.(type) {
	case float64:
		b, ok := y.(float64)
		return ok && (a == b || math.IsNaN(a) && math.IsNaN(b))
	case []any:
		b, ok := y.([]any)
		if !ok || len(a) != len(b) || (a == nil) != (b == nil) {
			return false
		}
		for i := range a {
			if !equalValues(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := y.(map[string]any)
		if !ok || len(a) != len(b) || (a == nil) != (b == nil) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !equalValues(v, w) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(x, y)
	}
}

// msgEqual compares two messages field by field with equalValues for payload fields.
func msgEqual(a, b wamp.Message) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if va.Type() != vb.Type() {
		return false
	}
	va, vb = va.Elem(), vb.Elem()
	for i := 0; i < va.NumField(); i++ {
		fa, fb := va.Field(i), vb.Field(i)
		switch fa.Kind() {
		case reflect.Map, reflect.Slice:
			if !equalValues(fa.Interface(), fb.Interface()) {
				return false
			}
		default:
			if fa.Interface() != fb.Interface() {
				return false
			}
		}
	}
	return true
}

// frameFromJSON turns a JSON text into a frame of serializer s, so that one table of test cases
// serves all three serializers. The conversion uses encoding/json, msgp.AppendIntf and
// cbor.Marshal, independent of the code under test. Integer literals become int64, others float64.
func frameFromJSON(t testing.TB, s Serializer, text string) []byte {
	t.Helper()
	if s.ID() == JSON {
		return []byte(text)
	}
	d := json.NewDecoder(strings.NewReader(text))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("bad test JSON %s: %v", text, err)
	}
	v = numbersOf(t, v)
	switch s.ID() {
	case MsgPack:
		b, err := msgp.AppendIntf(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	case CBOR:
		b, err := cbor.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Fatalf("unknown serializer %v", s.Name())
	return nil
}

func numbersOf(t testing.TB, v any) any {
	switch x := v.(type) {
	case json.Number:
		if !strings.ContainsAny(string(x), ".eE") {
			if i, err := x.Int64(); err == nil {
				return i
			}
			if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
				return u
			}
		}
		f, err := x.Float64()
		if err != nil {
			t.Fatal(err)
		}
		return f
	case []any:
		for i := range x {
			x[i] = numbersOf(t, x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = numbersOf(t, x[k])
		}
	}
	return v
}

// mustEncode encodes m with s, failing the test on error.
func mustEncode(t testing.TB, s Serializer, m wamp.Message) []byte {
	t.Helper()
	b, err := s.Encode(nil, m)
	if err != nil {
		t.Fatalf("%s: encode %#v: %v", s.Name(), m, err)
	}
	return b
}

// show renders a frame for failure messages.
func show(s Serializer, b []byte) string {
	if s.Binary() {
		return hex.EncodeToString(b)
	}
	return string(b)
}
