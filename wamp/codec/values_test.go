package codec

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/wamp"
)

// decodeArgs encodes an EVENT carrying args with s and returns the decoded Args.
func decodeArgs(t *testing.T, s Serializer, args []any) []any {
	t.Helper()
	m, err := s.Decode(mustEncode(t, s, &wamp.Event{Subscription: 1, Publication: 2, Args: args}))
	if err != nil {
		t.Fatalf("%s: %v", s.Name(), err)
	}
	return m.(*wamp.Event).Args
}

type namedString string

type point struct {
	X, Y int
	Tag  string `json:"tag,omitempty"`
}

// Values a Go caller hands over decode to the same normalised values whatever the serializer.
func TestEncodeGoTypesNormalisesAcrossSerializers(t *testing.T) {
	seven := 7
	var nilPtr *int
	when := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name string
		in   any
		want any
	}{
		{"int", 42, int64(42)},
		{"int8", int8(-8), int64(-8)},
		{"int16", int16(-300), int64(-300)},
		{"int32", int32(-70000), int64(-70000)},
		{"int64 min", int64(math.MinInt64), int64(math.MinInt64)},
		{"uint", uint(42), int64(42)},
		{"uint8", uint8(255), int64(255)},
		{"uint16", uint16(65535), int64(65535)},
		{"uint32", uint32(4000000000), int64(4000000000)},
		{"uint64 small", uint64(5), int64(5)},
		{"uint64 max", uint64(math.MaxUint64), uint64(math.MaxUint64)},
		{"float32", float32(0.5), 0.5},
		{"float64 integral", 2.0, 2.0},
		{"float64 negative zero", math.Copysign(0, -1), math.Copysign(0, -1)},
		{"float64 tiny", 5e-324, 5e-324},
		{"float64 huge", 1.7976931348623157e308, 1.7976931348623157e308},
		{"bool", true, true},
		{"nil", nil, nil},
		{"string", "héllo \u2028 \x01", "héllo \u2028 \x01"},
		{"invalid UTF-8 string", "a\xffb", "a\uFFFDb"},
		{"bytes", []byte{0, 1, 2, 0xfe, 0xff}, []byte{0, 1, 2, 0xfe, 0xff}},
		{"empty bytes", []byte{}, []byte{}},
		{"wamp.ID", wamp.ID(9007199254740992), int64(9007199254740992)},
		{"wamp.URI", wamp.URI("com.example"), "com.example"},
		{"[]string", []string{"a", "b"}, []any{"a", "b"}},
		{"map[string]string", map[string]string{"k": "v"}, map[string]any{"k": "v"}},
		{"[]map[string]any", []map[string]any{{"a": 1}}, []any{map[string]any{"a": int64(1)}}},
		{"[]int", []int{1, -2}, []any{int64(1), int64(-2)}},
		{"[]float64", []float64{1.5}, []any{1.5}},
		{"[3]int", [3]int{1, 2, 3}, []any{int64(1), int64(2), int64(3)}},
		{"[2]byte", [2]byte{1, 2}, []byte{1, 2}},
		{"named string", namedString("n"), "n"},
		{"pointer", &seven, int64(7)},
		{"nil pointer", nilPtr, nil},
		{"nil slice", []any(nil), nil},
		{"nil map", map[string]any(nil), nil},
		{"map[string]int", map[string]int{"a": 1}, map[string]any{"a": int64(1)}},
		{"json.Number int", json.Number("12"), int64(12)},
		{"json.Number float", json.Number("1.25"), 1.25},
		{"struct via encoding/json", point{X: 1, Y: 2}, map[string]any{"X": int64(1), "Y": int64(2)}},
		{"map[int]string via encoding/json", map[int]string{3: "c"}, map[string]any{"3": "c"}},
		{"time.Time via encoding/json", when, "2025-01-02T03:04:05Z"},
		{"nested", map[string]any{"l": []any{map[string]any{"x": []int{1}}}},
			map[string]any{"l": []any{map[string]any{"x": []any{int64(1)}}}}},
	}
	for _, c := range cases {
		for _, s := range All() {
			got := decodeArgs(t, s, []any{c.in})
			if len(got) != 1 || !equalValues(got[0], c.want) {
				t.Errorf("%s: %s: %#v decoded as %#v, want %#v", c.name, s.Name(), c.in, got, c.want)
			}
		}
	}
}

type selfPointer *selfPointer

func TestEncodeRefusesUnencodableValues(t *testing.T) {
	loop := new(selfPointer)
	*loop = loop
	type node struct{ Next *node }
	cycle := &node{}
	cycle.Next = cycle
	for _, s := range All() {
		for _, v := range []any{make(chan int), func() {}, complex(1, 2), json.Number("abc"), loop, cycle} {
			if _, err := s.Encode(nil, &wamp.Event{Subscription: 1, Publication: 2, Args: []any{v}}); err == nil {
				t.Errorf("%s: encoding %T succeeded", s.Name(), v)
			}
		}
	}
}

// NaN and infinities exist in MessagePack and CBOR but cannot be written as JSON.
func TestNonFiniteFloats(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		_, err := JSONSerializer.Encode(nil, &wamp.Event{Subscription: 1, Publication: 2, Args: []any{f}})
		if !errors.Is(err, errNonFinite) {
			t.Errorf("json: encoding %v: err %v, want errNonFinite", f, err)
		}
		for _, s := range []Serializer{MsgPackSerializer, CBORSerializer} {
			got := decodeArgs(t, s, []any{f})
			if !equalValues(got[0], f) {
				t.Errorf("%s: %v decoded as %v", s.Name(), f, got[0])
			}
		}
	}
}

// JSON numbers: integer literals become int64 (uint64 above MaxInt64, float64 beyond that);
// literals with a fraction or exponent stay float64 even when integral.
func TestJSONNumberNormalisation(t *testing.T) {
	cases := []struct {
		lit  string
		want any
	}{
		{"0", int64(0)},
		{"-0", int64(0)},
		{"42", int64(42)},
		{"-42", int64(-42)},
		{"9223372036854775807", int64(math.MaxInt64)},
		{"9223372036854775808", uint64(1 << 63)},
		{"18446744073709551615", uint64(math.MaxUint64)},
		{"18446744073709551616", 18446744073709551616.0},
		{"-9223372036854775808", int64(math.MinInt64)},
		{"-9223372036854775809", -9223372036854775809.0},
		{"1.0", 1.0},
		{"1e3", 1000.0},
		{"1E-2", 0.01},
		{"-1.5e+2", -150.0},
		{"0.1", 0.1},
		{"123456789012345678901234567890", 123456789012345678901234567890.0},
		{"1e-400", 0.0},
		{"5e-324", 5e-324},
	}
	for _, c := range cases {
		m, err := JSONSerializer.Decode([]byte(`[36, 1, 2, {}, [` + c.lit + `]]`))
		if err != nil {
			t.Errorf("%s: %v", c.lit, err)
			continue
		}
		got := m.(*wamp.Event).Args[0]
		if !equalValues(got, c.want) {
			t.Errorf("%s decoded as %#v, want %#v", c.lit, got, c.want)
		}
		// And the value survives a JSON round trip with its type.
		again := decodeArgs(t, JSONSerializer, []any{got})
		if !equalValues(again[0], c.want) {
			t.Errorf("%s: re-encoded value decoded as %#v, want %#v", c.lit, again[0], c.want)
		}
	}
}

func TestJSONStrings(t *testing.T) {
	cases := []struct {
		lit  string
		want string
	}{
		{`"plain"`, "plain"},
		{`"esc \" \\ \/ \b \f \n \r \t"`, "esc \" \\ / \b \f \n \r \t"},
		{`"\u00e9\u4e2d"`, "é中"},
		{`"\ud83d\ude00"`, "😀"},
		{`"\ud83d"`, "\uFFFD"},        // lone high surrogate
		{`"\ude00x"`, "\uFFFDx"},      // lone low surrogate
		{`"\ud83d\u0041"`, "\uFFFDA"}, // high surrogate followed by a non-surrogate
		{`"ünï\u0001"`, "ünï\x01"},    // raw UTF-8 and an escaped control character
		{`"a\u0000b"`, "a\x00b"},      // NUL inside a string is only binary at the start
		{`"\u0000"`, "binary:"},       // empty binary
		{`"\u0000AAH/"`, "binary:\x00\x01\xff"},
		{`"\u0000AAH_"`, "error"},          // base64url is not the WAMP convention
		{`"\u0000AAE"`, "binary:\x00\x01"}, // unpadded base64 is accepted
	}
	for _, c := range cases {
		m, err := JSONSerializer.Decode([]byte(`[36, 1, 2, {}, [` + c.lit + `]]`))
		if c.want == "error" {
			if err == nil {
				t.Errorf("%s: decoded, want error", c.lit)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.lit, err)
			continue
		}
		got := m.(*wamp.Event).Args[0]
		if b, ok := strings.CutPrefix(c.want, "binary:"); ok {
			if g, isBytes := got.([]byte); !isBytes || string(g) != b {
				t.Errorf("%s decoded as %#v, want bytes %q", c.lit, got, b)
			}
			continue
		}
		if got != c.want {
			t.Errorf("%s decoded as %q, want %q", c.lit, got, c.want)
		}
	}
}

func TestJSONEncodeStrings(t *testing.T) {
	cases := []struct {
		in   any
		want string
	}{
		{"a\"b\\c\n\r\t\x01\x1f", `"a\"b\\c\n\r\t\u0001\u001f"`},
		{"<&> \u2028 é", `"<&> ` + "\u2028" + ` é"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
		{[]byte{0, 1, 0xff}, `"\u0000AAH/"`},
		{[]byte{}, `"\u0000"`},
		{1.0, `1.0`},
		{math.Copysign(0, -1), `-0.0`},
		{1e21, `1e+21`},
		{1e20, `100000000000000000000.0`},
		{1e-7, `1e-07`},
		{0.1, `0.1`},
		{float32(0.1), `0.1`},
		{uint64(math.MaxUint64), `18446744073709551615`},
	}
	for _, c := range cases {
		b, err := JSONSerializer.Encode(nil, &wamp.Event{Subscription: 1, Publication: 2, Args: []any{c.in}})
		if err != nil {
			t.Errorf("encode %#v: %v", c.in, err)
			continue
		}
		want := `[36,1,2,{},[` + c.want + `]]`
		if string(b) != want {
			t.Errorf("encode %#v = %s, want %s", c.in, b, want)
		}
	}
	// A plain string starting with U+0000 would read back as binary: refused.
	_, err := JSONSerializer.Encode(nil, &wamp.Event{Subscription: 1, Publication: 2, Args: []any{"\x00abc"}})
	if !errors.Is(err, errNulString) {
		t.Errorf("string with leading NUL: err %v, want errNulString", err)
	}
	_, err = JSONSerializer.Encode(nil, &wamp.Publish{Request: 1, Topic: "\x00t"})
	if !errors.Is(err, errNulString) {
		t.Errorf("topic with leading NUL: err %v, want errNulString", err)
	}
}

// IDs: 1 and 2^53 are accepted, 0 and 2^53+1 refused, in every serializer and position.
func TestIDRange(t *testing.T) {
	for _, s := range All() {
		for _, frame := range []string{
			`[17, 1, 9007199254740992]`,
			`[17, 9007199254740992, 1]`,
			`[36, 9007199254740992, 1, {}]`,
		} {
			if _, err := s.Decode(frameFromJSON(t, s, frame)); err != nil {
				t.Errorf("%s: %s refused: %v", s.Name(), frame, err)
			}
		}
		for _, frame := range []string{
			`[17, 1, 9007199254740993]`,
			`[17, 9007199254740993, 1]`,
			`[17, 0, 1]`,
			`[36, 9007199254740993, 1, {}]`,
			`[36, 1, 9007199254740993, {}]`,
			`[2, 9007199254740993, {}]`,
			`[35, 9007199254740993, {}]`,
		} {
			refuse(t, s, frameFromJSON(t, s, frame), "must be an ID")
		}
	}
}

// Binary payloads survive every serializer, including inside dicts and nested lists.
func TestBinaryPayloads(t *testing.T) {
	blob := make([]byte, 70000)
	for i := range blob {
		blob[i] = byte(i * 7)
	}
	kwargs := wamp.Dict{"blob": blob, "small": []byte{0}, "nested": wamp.List{[]byte("x")}}
	for _, s := range All() {
		m := &wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: "t", Args: wamp.List{[]byte{}}, Kwargs: kwargs}
		got, err := s.Decode(mustEncode(t, s, m))
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		if !msgEqual(got, m) {
			t.Errorf("%s: binary payload changed", s.Name())
		}
	}
}

// Decoded values never alias the input buffer, which the transport reuses.
func TestDecodeDoesNotAliasInput(t *testing.T) {
	m := &wamp.Publish{Request: 1, Options: wamp.Dict{"key": "value"}, Topic: "topic",
		Args: wamp.List{"string", []byte("binary")}}
	for _, s := range All() {
		b := mustEncode(t, s, m)
		got, err := s.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		for i := range b {
			b[i] = 'X'
		}
		if !msgEqual(got, m) {
			t.Errorf("%s: decoded message changed when the input was overwritten: %#v", s.Name(), got)
		}
	}
}

// The same frame content decodes to identical Go values whatever the serializer.
func TestSameValuesAcrossSerializers(t *testing.T) {
	frame := `[16, 5, {"acknowledge": true, "exclude": [1, 2]}, "com.t", [1, -1, 2.5, "s", null, false, [], {}],
		{"big": 18446744073709551615, "neg": -9223372036854775808, "f": 1.0e-3, "d": {"x": [{"y": "z"}]}}]`
	var first wamp.Message
	for _, s := range All() {
		m, err := s.Decode(frameFromJSON(t, s, frame))
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		if first == nil {
			first = m
		} else if !msgEqual(first, m) {
			t.Errorf("%s decoded %#v, json decoded %#v", s.Name(), m, first)
		}
	}
}

func TestDecodeJSONValue(t *testing.T) {
	v, err := DecodeJSONValue([]byte(` {"a": [1, -2, 2.5, 18446744073709551615, "x", true, null, {"b": {}}]} `))
	if err != nil {
		t.Fatal(err)
	}
	l := v.(map[string]any)["a"].([]any)
	if l[0] != int64(1) || l[1] != int64(-2) || l[2] != 2.5 || l[3] != uint64(18446744073709551615) || l[4] != "x" || l[5] != true || l[6] != nil {
		t.Errorf("decoded %#v", l)
	}
	for _, bad := range []string{``, `{"a": 1} {}`, `{"a": 1, "a": 2}`, `[1,`, "\"\xff\"", `{"a": 01}`} {
		if _, err := DecodeJSONValue([]byte(bad)); err == nil {
			t.Errorf("DecodeJSONValue(%q) accepted", bad)
		}
	}
}
