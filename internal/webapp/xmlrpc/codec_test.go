package xmlrpc

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// roundTripValues are values of every type, in the Go form the decoder produces.
var roundTripValues = map[string]any{
	"int":          int64(-7),
	"int32 max":    int64(math.MaxInt32),
	"i8":           int64(1) << 40,
	"i8 min":       int64(math.MinInt64),
	"double":       -0.125,
	"double whole": 3.0,
	"double tiny":  5e-324,
	"double huge":  1.7976931348623157e308,
	"true":         true,
	"false":        false,
	"string":       "a<b>&c\"d'e ]]> é😀 \t\n\r end",
	"empty string": "",
	"base64":       []byte{0, 1, 2, 0xfe, 0xff},
	"empty base64": []byte{},
	"dateTime":     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	"nil":          nil,
	"struct": map[string]any{"a": int64(1), "b <&>": "x", "nested": map[string]any{
		"list": []any{int64(1), 2.5, "three", nil, []any{}, map[string]any{}},
	}},
	"array":        []any{int64(1), "two", []byte("3"), false, nil},
	"empty array":  []any{},
	"empty struct": map[string]any{},
}

// TestRoundTrip encodes every type as a call param and as a response, and decodes it back.
func TestRoundTrip(t *testing.T) {
	for name, v := range roundTripValues {
		t.Run(name, func(t *testing.T) {
			doc, err := AppendCall(nil, "x.y", []any{v, "after"})
			if err != nil {
				t.Fatal(err)
			}
			call, err := DecodeCall(doc, Limits{})
			if err != nil {
				t.Fatalf("%v\n%s", err, doc)
			}
			if want := (&Call{Method: "x.y", Params: []any{v, "after"}}); !reflect.DeepEqual(call, want) {
				t.Errorf("call: got %#v, want %#v\n%s", call, want, doc)
			}
			doc, err = AppendResponse(nil, v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeResponse(doc, Limits{})
			if err != nil {
				t.Fatalf("%v\n%s", err, doc)
			}
			if !reflect.DeepEqual(got, v) {
				t.Errorf("response: got %#v, want %#v\n%s", got, v, doc)
			}
		})
	}
}

// TestEncodeForms checks the XML written for Go types the decoder does not produce.
func TestEncodeForms(t *testing.T) {
	type myID uint64
	type myName string
	cases := []struct {
		v    any
		want string
	}{
		{5, "<int>5</int>"},
		{int32(-5), "<int>-5</int>"},
		{int8(3), "<int>3</int>"},
		{int64(math.MaxInt32) + 1, "<i8>2147483648</i8>"},
		{int64(math.MinInt32) - 1, "<i8>-2147483649</i8>"},
		{uint64(1) << 53, "<i8>9007199254740992</i8>"},
		{myID(7), "<int>7</int>"},
		{myName("n"), "<string>n</string>"},
		{float32(0.5), "<double>0.5</double>"},
		{1.0, "<double>1.0</double>"},
		{1e21, "<double>1000000000000000000000.0</double>"},
		{json.Number("12"), "<int>12</int>"},
		{json.Number("-9007199254740993"), "<i8>-9007199254740993</i8>"},
		{json.Number("1.0"), "<double>1.0</double>"},
		{json.Number("2e3"), "<double>2000.0</double>"},
		{time.Date(2026, 1, 1, 12, 0, 0, 999, time.FixedZone("x", 3600)), "<dateTime.iso8601>20260101T11:00:00</dateTime.iso8601>"},
		{map[string]int{"b": 2, "a": 1}, "<struct><member><name>a</name><value><int>1</int></value></member>" +
			"<member><name>b</name><value><int>2</int></value></member></struct>"},
		{[2]string{"x", "y"}, "<array><data><value><string>x</string></value><value><string>y</string></value></data></array>"},
		{[]string(nil), "<nil/>"},
		{(*int)(nil), "<nil/>"},
		{new(int), "<int>0</int>"},
		{"line\r\nend", "<string>line&#13;\nend</string>"},
	}
	for _, c := range cases {
		got, err := AppendValue(nil, c.v)
		if err != nil {
			t.Errorf("%#v: %v", c.v, err)
			continue
		}
		if want := "<value>" + c.want + "</value>"; string(got) != want {
			t.Errorf("%#v: got %s, want %s", c.v, got, want)
		}
	}
}

// TestEncodeRefuses checks that values without an XML-RPC form are refused, not written as broken XML.
func TestEncodeRefuses(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	cases := map[string]any{
		"NUL":           "a\x00b",
		"control":       map[string]any{"k": "\x1b[0m"},
		"invalid UTF-8": "\xff",
		"surrogate":     "\xed\xa0\x80",
		"non-character": "\uFFFE",
		"key":           map[string]any{"\x01": 1},
		"+Inf":          math.Inf(1),
		"NaN":           []any{math.NaN()},
		"uint64":        uint64(math.MaxUint64),
		"number":        json.Number("18446744073709551616"),
		"year":          time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		"Go struct":     struct{ A int }{1},
		"channel":       make(chan int),
		"cycle":         cyclic,
	}
	for name, v := range cases {
		out, err := AppendValue([]byte("keep"), v)
		if !errors.Is(err, ErrUnencodable) {
			t.Errorf("%s: got %v, want ErrUnencodable", name, err)
		}
		if string(out) != "keep" {
			t.Errorf("%s: dst changed to %q on error", name, out)
		}
	}
	if _, err := AppendResponse(nil, "\x00"); !errors.Is(err, ErrUnencodable) {
		t.Errorf("AppendResponse: got %v, want ErrUnencodable", err)
	}
	if _, err := AppendCall(nil, "m\x00", nil); !errors.Is(err, ErrUnencodable) {
		t.Errorf("AppendCall: got %v, want ErrUnencodable", err)
	}
}

// TestFaultAlwaysEncodes: a fault string with characters XML cannot carry still makes a valid fault.
func TestFaultAlwaysEncodes(t *testing.T) {
	doc := AppendFault(nil, 500, "bad \x00 and \xff & <done> \uFFFD")
	_, err := DecodeResponse(doc, Limits{})
	var f *Fault
	if !errors.As(err, &f) {
		t.Fatalf("got %v; want a *Fault\n%s", err, doc)
	}
	if want := "bad \uFFFD and \uFFFD & <done> \uFFFD"; f.Code != 500 || f.String != want {
		t.Errorf("got %d %q, want 500 %q", f.Code, f.String, want)
	}
}

// call wraps params in a methodCall document.
func call(params string) string {
	return "<?xml version='1.0'?>\n<methodCall><methodName>m</methodName><params>" + params + "</params></methodCall>"
}

// param wraps a value in a methodCall document.
func param(value string) string { return call("<param><value>" + value + "</value></param>") }

// TestDecodeAcceptedForms covers what other clients send besides Python's exact forms.
func TestDecodeAcceptedForms(t *testing.T) {
	ex := `xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions"`
	cases := []struct {
		doc  string
		want any
	}{
		{param(" bare text "), " bare text "},
		{param(""), ""},
		{call("<param><value/></param>"), ""},
		{param("<string/>"), ""},
		{param("<string><![CDATA[<raw> & ]]></string>"), "<raw> & "},
		{param("<i4>-12</i4>"), int64(-12)},
		{param("<i8>9223372036854775807</i8>"), int64(math.MaxInt64)},
		{param("<int> 7 </int>"), int64(7)},
		{param("<int>+7</int>"), int64(7)},
		{param("<ex:i8 " + ex + ">-9223372036854775808</ex:i8>"), int64(math.MinInt64)},
		{param("<ex:nil " + ex + "/>"), nil},
		{param("<nil></nil>"), nil},
		{param("<double>-1.5E+2</double>"), -150.0},
		{param("<double>7</double>"), 7.0},
		{param("<base64>AP8</base64>"), []byte{0, 0xff}},
		{param("<base64>\n AP8=\n</base64>"), []byte{0, 0xff}},
		{param("<base64></base64>"), []byte{}},
		{param("<dateTime.iso8601>2026-01-01T12:00:00</dateTime.iso8601>"), time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)},
		{param("<dateTime.iso8601>2026-01-01T12:00:00.250Z</dateTime.iso8601>"), time.Date(2026, 1, 1, 12, 0, 0, 250e6, time.UTC)},
		{param("<dateTime.iso8601>20260101T120000</dateTime.iso8601>"), time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)},
		{param("<dateTime.iso8601>20260101T12:00:00+0200</dateTime.iso8601>"), time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)},
		{param("<!-- c --><int><!-- c -->1</int><!-- c -->"), int64(1)},
		{param("<struct>\n<member><name>a b</name>\n<value>x</value></member></struct>"), map[string]any{"a b": "x"}},
		{param("<array><data/></array>"), []any{}},
		{"\xef\xbb\xbf" + param("<int>1</int>"), int64(1)},
		{`<?xml version="1.0" encoding="US-ASCII"?>` + param("<int>1</int>")[len("<?xml version='1.0'?>"):], int64(1)},
		{`<?xml version="1.0" encoding="utf-8"?>` + param("<int>1</int>")[len("<?xml version='1.0'?>"):], int64(1)},
	}
	for _, c := range cases {
		call, err := DecodeCall([]byte(c.doc), Limits{})
		if err != nil {
			t.Errorf("%q: %v", c.doc, err)
			continue
		}
		if len(call.Params) != 1 {
			t.Errorf("%q: got %d params, want 1", c.doc, len(call.Params))
			continue
		}
		if want, ok := c.want.(time.Time); ok {
			if got, ok := call.Params[0].(time.Time); !ok || !got.Equal(want) {
				t.Errorf("%q: got %#v, want %v", c.doc, call.Params[0], want)
			}
		} else if !reflect.DeepEqual(call.Params[0], c.want) {
			t.Errorf("%q: got %#v, want %#v", c.doc, call.Params[0], c.want)
		}
	}
	noParams, err := DecodeCall([]byte("<methodCall><methodName>system.listMethods</methodName></methodCall>"), Limits{})
	if err != nil || noParams.Method != "system.listMethods" || len(noParams.Params) != 0 {
		t.Errorf("a call without <params>: got %#v, %v", noParams, err)
	}
}

// TestDecodeErrors checks that every kind of bad input is refused with the right kind of error and
// a message saying what is wrong.
func TestDecodeErrors(t *testing.T) {
	deep := strings.Repeat("<value><array><data>", 65) + strings.Repeat("</data></array></value>", 65)
	cases := []struct {
		name, doc string
		kind      error
		fragment  string
	}{
		{"empty", "", ErrNotWellFormed, "unexpected end"},
		{"not XML", "hello", ErrInvalid, "unexpected text"},
		{"unclosed", "<methodCall><methodName>m</methodName>", ErrNotWellFormed, "unexpected EOF"},
		{"mismatched", "<methodCall><methodName>m</methodCall>", ErrNotWellFormed, "closed by"},
		{"truncated", param("<int>1")[:60], ErrNotWellFormed, ""},
		{"invalid UTF-8", param("<string>\xff</string>"), ErrNotWellFormed, "invalid UTF-8"},
		{"NUL reference", param("<string>&#0;</string>"), ErrNotWellFormed, "illegal character"},
		{"undefined entity", param("<string>&nbsp;</string>"), ErrNotWellFormed, "entity"},
		{"DOCTYPE", "<!DOCTYPE methodCall [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>" + param("&x;")[21:], ErrInvalid, "DOCTYPE"},
		{"charset", `<?xml version="1.0" encoding="ISO-8859-1"?><methodCall/>`, ErrInvalid, `charset "ISO-8859-1"`},
		{"wrong root", "<methodResponse/>", ErrInvalid, "not a <methodCall>"},
		{"no methodName", "<methodCall><params/></methodCall>", ErrInvalid, "want <methodName>"},
		{"element in methodName", "<methodCall><methodName><b/></methodName></methodCall>", ErrInvalid, "inside <methodName>"},
		{"two roots", param("<int>1</int>") + "<methodCall/>", ErrInvalid, "after the root"},
		{"text after root", param("<int>1</int>") + "x", ErrInvalid, "text after"},
		{"text in params", call("x"), ErrInvalid, "unexpected text"},
		{"unknown type", param("<bigdecimal>1</bigdecimal>"), ErrInvalid, "unknown value type <bigdecimal>"},
		{"mixed", param("x<int>1</int>"), ErrInvalid, "mixed"},
		{"two types", param("<int>1</int><int>2</int>"), ErrInvalid, "before </value>"},
		{"int", param("<int>1.5</int>"), ErrInvalid, "not a 64-bit integer"},
		{"int overflow", param("<i8>9223372036854775808</i8>"), ErrInvalid, "not a 64-bit integer"},
		{"boolean 2", param("<boolean>2</boolean>"), ErrInvalid, "not 0 or 1"},
		{"boolean true", param("<boolean>true</boolean>"), ErrInvalid, "not 0 or 1"},
		{"double", param("<double>1,5</double>"), ErrInvalid, "not a number"},
		{"base64", param("<base64>!!</base64>"), ErrInvalid, "invalid base64"},
		{"dateTime", param("<dateTime.iso8601>yesterday</dateTime.iso8601>"), ErrInvalid, "not an ISO 8601"},
		{"nil content", param("<nil>x</nil>"), ErrInvalid, "<nil> has content"},
		{"element in string", param("<string><b/></string>"), ErrInvalid, "inside <string>"},
		{"member without name", param("<struct><member><value>1</value></member></struct>"), ErrInvalid, "want <name>"},
		{"member without value", param("<struct><member><name>a</name></member></struct>"), ErrInvalid, "where <value> was expected"},
		{"duplicate member", param("<struct><member><name>a</name><value>1</value></member><member><name>a</name><value>2</value></member></struct>"), ErrInvalid, "twice"},
		{"array without data", param("<array><value>1</value></array>"), ErrInvalid, "want <data>"},
		{"param without value", call("<param></param>"), ErrInvalid, "where <value> was expected"},
		{"too deep", param(deep[len("<value>") : len(deep)-len("</value>")]), ErrLimit, "nested deeper than 64"},
	}
	for _, c := range cases {
		_, err := DecodeCall([]byte(c.doc), Limits{})
		if !errors.Is(err, c.kind) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.kind)
			continue
		}
		if !strings.Contains(err.Error(), c.fragment) {
			t.Errorf("%s: %q does not say %q", c.name, err, c.fragment)
		}
	}
}

func TestDecodeLimits(t *testing.T) {
	nested := param("<array><data><value><array><data></data></array></value></data></array>")
	if _, err := DecodeCall([]byte(nested), Limits{MaxDepth: 2}); err != nil {
		t.Errorf("depth 2 within MaxDepth 2: %v", err)
	}
	if _, err := DecodeCall([]byte(nested), Limits{MaxDepth: 1}); !errors.Is(err, ErrLimit) {
		t.Errorf("depth 2 beyond MaxDepth 1: got %v, want ErrLimit", err)
	}
	three := call("<param><value><array><data><value/><value/></data></array></value></param>")
	if _, err := DecodeCall([]byte(three), Limits{MaxValues: 3}); err != nil {
		t.Errorf("3 values within MaxValues 3: %v", err)
	}
	if _, err := DecodeCall([]byte(three), Limits{MaxValues: 2}); !errors.Is(err, ErrLimit) {
		t.Errorf("3 values beyond MaxValues 2: got %v, want ErrLimit", err)
	}
}

func TestDecodeResponseErrors(t *testing.T) {
	cases := map[string]string{
		"two params":   "<methodResponse><params><param><value/></param><param><value/></param></params></methodResponse>",
		"no params":    "<methodResponse><params/></methodResponse>",
		"empty":        "<methodResponse></methodResponse>",
		"bad fault":    "<methodResponse><fault><value><struct/></value></fault></methodResponse>",
		"string code":  "<methodResponse><fault><value><struct><member><name>faultCode</name><value>1</value></member><member><name>faultString</name><value>x</value></member></struct></value></fault></methodResponse>",
		"other child":  "<methodResponse><result/></methodResponse>",
		"call as resp": "<methodCall><methodName>m</methodName></methodCall>",
	}
	for name, doc := range cases {
		_, err := DecodeResponse([]byte(doc), Limits{})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}
