package proxy

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	gwxmlrpc "github.com/gateway-dev/gateway/internal/webapp/xmlrpc"
)

// response wraps one encoded <value> into a <methodResponse>.
func response(value string) string {
	return `<?xml version="1.0"?><methodResponse><params><param>` + value + `</param></params></methodResponse>`
}

// asJSON returns the JSON of a decoded value, for comparisons.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("decoded value does not marshal: %v", err)
	}
	return string(b)
}

func TestDecodeResponseValues(t *testing.T) {
	cases := []struct{ name, value, want string }{
		{"int", `<value><int>42</int></value>`, `42`},
		{"i4 with plus", `<value><i4>+7</i4></value>`, `7`},
		{"i8", `<value><i8>9007199254740993</i8></value>`, `9007199254740993`},
		{"namespaced i8", `<value><ex:i8 xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions">-5</ex:i8></value>`, `-5`},
		{"double keeps fraction", `<value><double>2.5</double></value>`, `2.5`},
		{"double", `<value><double> -0.125 </double></value>`, `-0.125`},
		{"boolean", `<value><boolean>1</boolean></value>`, `true`},
		{"untyped string keeps space", "<value>  a b </value>", `"  a b "`},
		{"string with entities", `<value><string>&lt;&amp;&gt;&#xD;é</string></value>`, `"\u003c\u0026\u003e\ré"`},
		{"empty string", `<value><string/></value>`, `""`},
		{"nil", `<value><nil/></value>`, `null`},
		{"ex:nil", `<value><ex:nil xmlns:ex="x"/></value>`, `null`},
		{"base64", "<value><base64>aGVs\n bG8=</base64></value>", `"aGVsbG8="`},
		{"dateTime", `<value><dateTime.iso8601>20260102T03:04:05</dateTime.iso8601></value>`, `"2026-01-02T03:04:05Z"`},
		{"struct and array", `<value><struct><member><name>a</name><value><array><data><value><int>1</int></value><value>x</value></data></array></value></member>
			<!-- comment --><member><name>b</name><value><struct></struct></value></member></struct></value>`, `{"a":[1,"x"],"b":{}}`},
		{"empty array", `<value><array><data/></array></value>`, `[]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, fault, err := decodeResponse([]byte(response(c.value)))
			if err != nil || fault != nil {
				t.Fatalf("decode: %v %v", err, fault)
			}
			if got := asJSON(t, v); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

func TestDecodeFault(t *testing.T) {
	doc := `<?xml version="1.0"?><methodResponse><fault><value><struct>
		<member><name>faultCode</name><value><int>401</int></value></member>
		<member><name>faultString</name><value><string>gateway.error.unauthenticated: bad signature: see docs</string></value></member>
		</struct></value></fault></methodResponse>`
	_, e, err := decodeResponse([]byte(doc))
	if err != nil || e == nil {
		t.Fatalf("decode: %v %v", e, err)
	}
	if e.URI != ErrUnauthenticated || e.Message != "bad signature: see docs" || e.Status != 401 {
		t.Errorf("fault %+v", e)
	}
	for _, c := range []struct {
		code       int64
		msg        string
		uri, text  string
		wantStatus int
	}{
		{-32700, "gateway.error.malformed_request: not XML", ErrMalformed, "not XML", 400},
		{1, "something broke", ErrInternal, "something broke", 500},
		{-1, "wamp.error.unavailable: later", ErrUnavailable, "later", 503},
		{7, "not a uri: x", ErrInternal, "not a uri: x", 500},
	} {
		e := faultError(c.code, c.msg)
		if e.URI != c.uri || e.Message != c.text || e.Status != c.wantStatus {
			t.Errorf("faultError(%d, %q) = %+v", c.code, c.msg, e)
		}
	}
}

func TestDecodeResponseRefusesMalformed(t *testing.T) {
	deep := strings.Repeat("<value><array><data>", gwxmlrpc.DefaultMaxDepth+2) + "<value>x</value>" + strings.Repeat("</data></array></value>", gwxmlrpc.DefaultMaxDepth+2)
	for name, doc := range map[string]string{
		"empty":            "",
		"not XML":          "hello",
		"HTML":             "<html><body>502</body></html>",
		"unclosed":         `<methodResponse><params><param><value><int>1</int></value>`,
		"mismatched":       `<methodResponse><params><param><value><int>1</i4></value></param></params></methodResponse>`,
		"no params":        `<methodResponse></methodResponse>`,
		"two values":       response(`<value>a</value><value>b</value>`),
		"bad int":          response(`<value><int>1.5</int></value>`),
		"int overflow":     response(`<value><i8>9223372036854775808</i8></value>`),
		"bad double":       response(`<value><double>two</double></value>`),
		"bad boolean":      response(`<value><boolean>yes</boolean></value>`),
		"bad base64":       response(`<value><base64>!!</base64></value>`),
		"bad date":         response(`<value><dateTime.iso8601>yesterday</dateTime.iso8601></value>`),
		"unknown type":     response(`<value><float16>1</float16></value>`),
		"mixed content":    response(`<value>a<int>1</int></value>`),
		"member sans name": response(`<value><struct><member><value>1</value></member></struct></value>`),
		"trailing element": response(`<value>1</value>`) + "<x/>",
		"trailing text":    response(`<value>1</value>`) + "junk",
		"fault not struct": `<methodResponse><fault><value>oops</value></fault></methodResponse>`,
		"fault sans code":  `<methodResponse><fault><value><struct><member><name>faultString</name><value>x</value></member></struct></value></fault></methodResponse>`,
		"too deep":         response(deep),
		"unknown entity":   response(`<value>&nbsp;</value>`),
	} {
		t.Run(name, func(t *testing.T) {
			v, fault, err := decodeResponse([]byte(doc))
			if !errors.Is(err, errNotXMLRPC) {
				t.Fatalf("got %v %v %v, want an errNotXMLRPC error", v, fault, err)
			}
		})
	}
}

// TestCodecAgreesWithTheGateway encodes with each side and decodes with the other.
func TestCodecAgreesWithTheGateway(t *testing.T) {
	values := []string{
		`null`, `true`, `0`, `-2147483648`, `2147483648`, `-9223372036854775808`, `1.5`, `2.0`, `1e-7`,
		`"plain"`, `"<tag> & \"quotes\" \r\n\t é 𝄞 \u2028"`, `[]`, `{}`,
		`{"args":[1,"x",{"k":[true,false,null]}],"big":9007199254740993,"nested":{"deeper":{"d":-0.5}}}`,
	}
	for _, text := range values {
		v, err := parseJSON([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		// proxy → gateway
		call, err := appendCall(nil, "gateway.test", []any{v})
		if err != nil {
			t.Fatalf("appendCall(%s): %v", text, err)
		}
		got, err := gwxmlrpc.DecodeCall(call, gwxmlrpc.Limits{})
		if err != nil || got.Method != "gateway.test" || len(got.Params) != 1 {
			t.Fatalf("the gateway cannot decode %s: %v", call, err)
		}
		if a, b := normalize(t, got.Params[0]), normalize(t, v); a != b {
			t.Errorf("proxy → gateway: %s became %s", b, a)
		}
		// gateway → proxy
		resp, err := gwxmlrpc.AppendResponse(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		back, fault, err := decodeResponse(resp)
		if err != nil || fault != nil {
			t.Fatalf("decoding the gateway's %s: %v %v", resp, err, fault)
		}
		if a, b := normalize(t, back), normalize(t, v); a != b {
			t.Errorf("gateway → proxy: %s became %s", b, a)
		}
	}
}

// normalize returns the JSON of v with numbers compared by value.
func normalize(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var g any
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(g)
	return string(b)
}

func TestEncodeRefusesWhatXMLCannotCarry(t *testing.T) {
	for name, v := range map[string]any{
		"NUL":            "a\x00b",
		"control":        "\x1b[0m",
		"U+FFFE":         "\uFFFE",
		"beyond i8":      json.Number("9223372036854775808"),
		"infinite":       json.Number("1e400"),
		"unsupported":    struct{}{},
		"nested control": map[string]any{"k": []any{"\x01"}},
	} {
		if _, err := appendCall(nil, "m", []any{v}); err == nil {
			t.Errorf("%s: encoded without error", name)
		}
	}
	if _, err := appendCall(nil, "bad\xffname", nil); err == nil {
		t.Error("invalid UTF-8 method name encoded")
	}
}

func TestPositionalParams(t *testing.T) {
	r := newRequest("sessions").set("authrole", "user")
	got, err := r.positional()
	if err != nil || !reflect.DeepEqual(got, []any{nil, "user"}) {
		t.Errorf("sessions(authrole) = %#v, %v; want [nil user]", got, err)
	}
	r = newRequest("publish").set("topic", "a.b")
	if got, err := r.positional(); err != nil || !reflect.DeepEqual(got, []any{"a.b"}) {
		t.Errorf("publish(topic) = %#v, %v; trailing params must be left out", got, err)
	}
	if got, err := newRequest("health").positional(); err != nil || len(got) != 0 {
		t.Errorf("health() = %#v, %v", got, err)
	}
	if _, err := newRequest("revoke").set("bogus", 1).positional(); err == nil {
		t.Error("an unknown field was given a position")
	}
	if _, err := newRequest("future_op").set("x", 1).positional(); err == nil {
		t.Error("fields of an unknown operation were given positions")
	}
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add([]byte(response(`<value><struct><member><name>a</name><value><array><data><value><i8>1</i8></value></data></array></value></member></struct></value>`)))
	f.Add([]byte(`<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>4</int></value></member><member><name>faultString</name><value>x: y</value></member></struct></value></fault></methodResponse>`))
	f.Add([]byte(response(`<value><double>1.5</double></value>`)))
	f.Add([]byte(response(`<value><base64>aGk=</base64></value>`)))
	f.Add([]byte(response(`<value><dateTime.iso8601>2026-01-02T03:04:05+01:00</dateTime.iso8601></value>`)))
	f.Add([]byte("<?xml version='1.0'?><!DOCTYPE x><methodResponse><params><param><value>a</value></param></params></methodResponse>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, fault, err := decodeResponse(data)
		if err != nil {
			if !errors.Is(err, errNotXMLRPC) {
				t.Fatalf("error %v does not wrap errNotXMLRPC", err)
			}
			return
		}
		if fault != nil {
			if fault.URI == "" || fault.Status == 0 {
				t.Fatalf("incomplete fault %+v", fault)
			}
			return
		}
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("decoded value %#v does not marshal: %v", v, err)
		}
	})
}
