package xmlrpc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/internal/webapp/httpauth"
	"github.com/gateway-dev/gateway/wamp"
)

// TestPublishFromPython posts the exact document Python's xmlrpc.client sends for gateway.publish.
func TestPublishFromPython(t *testing.T) {
	h, inv := newTestHandler(t, Config{})
	v, err := DecodeResponse(post(t, h, string(readSample(t, "publish"))), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if v != int64(testPublication) {
		t.Errorf("got %#v, want the bare publication id %d", v, testPublication)
	}
	op, body := inv.last()
	want := `{"args":[1,"a"],"kwargs":{"k":"v"},"options":{"retain":true},"topic":"com.example.topic"}`
	if op != "publish" || body != want {
		t.Errorf("invoked %s %s, want publish %s", op, body, want)
	}
}

// TestPublicationIDForms: a small id is an <int>, a large one an <i8>, and a generic result is read
// for its publication field.
func TestPublicationIDForms(t *testing.T) {
	h, inv := newTestHandler(t, Config{})
	inv.result = func(string) (any, error) { return &webapp.PublishResponse{Publication: 5}, nil }
	if out := post(t, h, callDoc(t, "gateway.publish", "t")); !strings.Contains(string(out), "<int>5</int>") {
		t.Errorf("publication 5 not an <int>: %s", out)
	}
	inv.result = func(string) (any, error) { return map[string]any{"publication": wamp.ID(1 << 53)}, nil }
	if out := post(t, h, callDoc(t, "gateway.publish", "t")); !strings.Contains(string(out), "<i8>9007199254740992</i8>") {
		t.Errorf("publication 2^53 not an <i8>: %s", out)
	}
}

// TestPositionalParams: params map onto the operation's fields in order; trailing and nil params are
// left out of the request.
func TestPositionalParams(t *testing.T) {
	h, inv := newTestHandler(t, Config{})
	cases := []struct {
		op     string
		params []any
		want   string
	}{
		{"publish", []any{"t"}, `{"topic":"t"}`},
		{"publish", []any{nil, nil, nil, map[string]any{"class": "c"}}, `{"options":{"class":"c"}}`},
		{"publish", []any{"t", []any{}, map[string]any{}}, `{"args":[],"kwargs":{},"topic":"t"}`},
		{"issue_ticket", []any{"alice", "user", 30.0}, `{"authid":"alice","authrole":"user","ttl":30}`},
		{"kill_session", []any{int64(1) << 40, "wamp.close.killed"}, `{"reason":"wamp.close.killed","session":1099511627776}`},
		{"kill_session", []any{float64(1 << 53)}, `{"session":9007199254740992}`},
		{"kill_session", []any{float64(1<<53) * 2}, `{"session":1.8014398509481984e+16}`},
		{"health", nil, `{}`},
		{"call", []any{"app.echo", []any{[]byte("hi"), time.Date(2026, 1, 1, 12, 0, 0, 0, time.FixedZone("", 3600)), 1.0, -0.5, 2.5e-7, int64(3), true, nil}},
			`{"args":["aGk=","2026-01-01T11:00:00Z",1,-0.5,2.5e-07,3,true,null],"procedure":"app.echo"}`},
	}
	for _, c := range cases {
		rpc(t, h, "gateway."+c.op, c.params...)
		if op, body := inv.last(); op != c.op || body != c.want {
			t.Errorf("gateway.%s%v: invoked %s %s, want %s", c.op, c.params, op, body, c.want)
		}
	}
	// A zone and fractional seconds sent by the client are kept.
	doc := strings.Replace(param("<dateTime.iso8601>2026-01-01T12:00:00.5+02:00</dateTime.iso8601>"), "<methodName>m<", "<methodName>gateway.revoke<", 1)
	post(t, h, doc)
	if _, body := inv.last(); body != `{"authid":"2026-01-01T12:00:00.5+02:00"}` {
		t.Errorf("dateTime with zone: invoked with %s", body)
	}
}

// TestResultsAreJSONShaped: results come back as their JSON form (times as RFC 3339 strings, field
// names as in JSON).
func TestResultsAreJSONShaped(t *testing.T) {
	h, _ := newTestHandler(t, Config{})
	got := rpc(t, h, "gateway.issue_ticket", "alice", "user")
	want := map[string]any{"ticket": "t1", "expires": "2026-01-01T12:00:00Z", "authid": "alice",
		"authrole": "user", "realm": "realm1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("issue_ticket: got %#v, want %#v", got, want)
	}
	got = rpc(t, h, "gateway.call", "app.echo", []any{int64(1), 1.5, 2.0, "s"}, map[string]any{"k": []any{}})
	want = map[string]any{"args": []any{int64(1), 1.5, int64(2), "s"}, "kwargs": map[string]any{"k": []any{}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("call: got %#v, want %#v", got, want)
	}
}

func TestParamFaults(t *testing.T) {
	h, inv := newTestHandler(t, Config{})
	wantFault(t, h, callDoc(t, "gateway.publish", "t", nil, nil, nil, "extra"), 400,
		"gateway.error.malformed_request: ", "gateway.publish takes at most 4 params (topic, args, kwargs, options); got 5")
	wantFault(t, h, callDoc(t, "gateway.health", "x"), 400,
		"gateway.error.malformed_request: ", "gateway.health takes no params; got 1")
	wantFault(t, h, strings.Replace(string(readSample(t, "double_inf")), "<methodName>m<", "<methodName>gateway.publish<", 1),
		400, "gateway.error.malformed_request: ", "param 1 (topic): double +Inf has no JSON form")
	if n := inv.count(); n != 0 {
		t.Errorf("%d operations ran for refused calls", n)
	}
}

func TestOperationErrors(t *testing.T) {
	h, inv := newTestHandler(t, Config{})
	wantFault(t, h, callDoc(t, "gateway.call", "app.denied"), 403,
		"wamp.error.not_authorized: alice may not call app.denied", "")
	wantFault(t, h, callDoc(t, "gateway.call", "app.crash"), 500, "gateway.error.internal: store: disk full", "")
	cases := map[wamp.URI]int{
		webapp.ErrMalformed:       400,
		webapp.ErrUnauthenticated: 401,
		webapp.ErrTooLarge:        413,
		wamp.ErrInvalidArgument:   422,
		wamp.ErrNoSuchProcedure:   422,
		wamp.ErrUnavailable:       503,
		wamp.ErrTimeout:           504,
		wamp.ErrCanceled:          504,
	}
	for uri, code := range cases {
		inv.result = func(string) (any, error) { return nil, webapp.Errorf(uri, "because") }
		wantFault(t, h, callDoc(t, "gateway.stats"), code, string(uri)+": because", "")
	}
}

// TestUnencodableResult: a result XML cannot carry is a fault, not broken XML.
func TestUnencodableResult(t *testing.T) {
	h, inv := newTestHandler(t, Config{})
	inv.result = func(string) (any, error) { return map[string]any{"bad": "nul\x00"}, nil }
	wantFault(t, h, callDoc(t, "gateway.stats"), 500, "gateway.error.internal: ",
		`the result cannot be carried by XML-RPC: member "bad": string holds control character U+0000`)
}

func TestNoSuchMethod(t *testing.T) {
	h, _ := newTestHandler(t, Config{})
	cases := map[string]string{
		"gateway.publsh":     `no method "gateway.publsh": did you mean "gateway.publish"?`,
		"publish":            `no method "publish": did you mean "gateway.publish"?`,
		"system.listMethod":  `did you mean "system.listMethods"?`,
		"gateway.frobnicate": `no method "gateway.frobnicate" (system.listMethods lists them)`,
		"":                   `no method ""`,
	}
	for method, fragment := range cases {
		wantFault(t, h, callDoc(t, method), 404, "gateway.error.no_such_operation: ", fragment)
	}
}

// TestBadRequests: every malformed request is a fault saying what is wrong, with HTTP 200.
func TestBadRequests(t *testing.T) {
	h, inv := newTestHandler(t, Config{MaxBody: 4096})
	malformed := "gateway.error.malformed_request: "
	wantFault(t, h, "<methodCall><methodName>m</methodName>", FaultNotWellFormed, malformed, "XML not well formed")
	wantFault(t, h, "", FaultNotWellFormed, malformed, "unexpected end of document")
	wantFault(t, h, param("<string>caf\xe9</string>"), FaultNotWellFormed, malformed, "invalid UTF-8")
	wantFault(t, h, param("<decimal>1</decimal>"), 400, malformed, "unknown value type <decimal>")
	wantFault(t, h, `<!DOCTYPE methodCall [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><methodCall/>`, 400, malformed, "DOCTYPE")
	wantFault(t, h, `<?xml version="1.0" encoding="windows-1252"?><methodCall/>`, 400, malformed, `charset "windows-1252" is not supported`)
	wantFault(t, h, param("<int>1</int>"), 400, malformed, `charset "latin1" is not supported`, "Content-Type", "text/xml; charset=latin1")
	wantFault(t, h, param(strings.Repeat("x", 4096)), 413, "gateway.error.request_too_large: ", "exceeds the limit of 4096 bytes")
	deep := strings.Repeat("<array><data><value>", 65) + strings.Repeat("</value></data></array>", 65)
	wantFault(t, h, param(deep), 413, "gateway.error.request_too_large: ", "nested deeper than 64 levels")
	if n := inv.count(); n != 0 {
		t.Errorf("%d operations ran for refused requests", n)
	}
}

// TestTooManyValues: the default limits refuse a 1 MiB body of empty values.
func TestTooManyValues(t *testing.T) {
	h, _ := newTestHandler(t, Config{})
	doc := param("<array><data>" + strings.Repeat("<value/>", 110_000) + "</data></array>")
	if len(doc) > DefaultMaxBody {
		t.Fatalf("test document of %d bytes exceeds the body limit", len(doc))
	}
	wantFault(t, h, doc, 413, "gateway.error.request_too_large: ", "more than 104857 values")
}

// TestOversizeChunkedBody: a body without Content-Length is cut at the limit too.
func TestOversizeChunkedBody(t *testing.T) {
	h, _ := newTestHandler(t, Config{MaxBody: 100})
	req := httptest.NewRequest(http.MethodPost, "/RPC2", strings.NewReader(param(strings.Repeat("x", 200))))
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	_, err := DecodeResponse(rec.Body.Bytes(), Limits{})
	var f *Fault
	if rec.Code != 200 || !errors.As(err, &f) || f.Code != 413 {
		t.Errorf("got HTTP %d, %v; want 200 with fault 413", rec.Code, err)
	}
}

func TestOnlyPost(t *testing.T) {
	h, _ := newTestHandler(t, Config{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/RPC2", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "POST" {
		t.Errorf("GET: got %d, Allow %q; want 405, POST", rec.Code, rec.Header().Get("Allow"))
	}
}

// TestAuthentication: missing or wrong credentials are a 401 fault (not an HTTP error), and no
// operation runs.
func TestAuthentication(t *testing.T) {
	h, inv := newTestHandler(t, Config{Auth: httpauth.New(httpauth.Config{APIKeys: []string{"secret-key"}})})
	doc := callDoc(t, "gateway.publish", "t")
	wantFault(t, h, doc, 401, "gateway.error.unauthenticated: ", "credentials required")
	wantFault(t, h, doc, 401, "gateway.error.unauthenticated: ", "", "Authorization", "Bearer wrong")
	if n := inv.count(); n != 0 {
		t.Errorf("%d operations ran without credentials", n)
	}
	v, err := DecodeResponse(post(t, h, doc, "Authorization", "Bearer secret-key"), Limits{})
	if err != nil || v != int64(testPublication) {
		t.Errorf("with the API key: got %#v, %v", v, err)
	}
}

func TestIntrospection(t *testing.T) {
	h, _ := newTestHandler(t, Config{})
	list, _ := rpc(t, h, "system.listMethods").([]any)
	if len(list) != len(webapp.Operations)+4 || list[0] != "gateway.publish" || list[len(list)-1] != "system.multicall" {
		t.Errorf("system.listMethods: got %v", list)
	}
	for _, op := range webapp.Operations {
		want := "gateway." + op.Name + "(" + strings.Join(op.Params, ", ") + "): " + op.Summary
		if got := rpc(t, h, "system.methodHelp", "gateway."+op.Name); got != want {
			t.Errorf("methodHelp: got %q, want %q", got, want)
		}
	}
	if got := rpc(t, h, "system.methodHelp", "system.multicall"); !strings.HasPrefix(got.(string), "system.multicall(calls): ") {
		t.Errorf("methodHelp system.multicall: got %q", got)
	}
	if got := rpc(t, h, "system.methodSignature", "gateway.publish"); got != "undef" {
		t.Errorf("methodSignature: got %#v, want undef", got)
	}
	wantFault(t, h, callDoc(t, "system.methodHelp", "gateway.publsh"), 404, "gateway.error.no_such_operation: ", `did you mean "gateway.publish"?`)
	wantFault(t, h, callDoc(t, "system.methodHelp", int64(1)), 400, "gateway.error.malformed_request: ", "takes a method name")
	wantFault(t, h, callDoc(t, "system.listMethods", "x"), 400, "gateway.error.malformed_request: ", "takes 0 params; got 1")
}

func TestMulticall(t *testing.T) {
	h, inv := newTestHandler(t, Config{})
	calls := []any{
		map[string]any{"methodName": "gateway.publish", "params": []any{"a.b", []any{int64(1)}}},
		map[string]any{"methodName": "gateway.nope", "params": []any{}},
		map[string]any{"methodName": "system.multicall", "params": []any{[]any{}}},
		"not a struct",
		map[string]any{"methodName": "gateway.health"},
		map[string]any{"methodName": "gateway.call", "params": []any{"app.denied"}},
	}
	got, _ := rpc(t, h, "system.multicall", calls).([]any)
	fault := func(code int64, s string) map[string]any {
		return map[string]any{"faultCode": code, "faultString": s}
	}
	want := []any{
		[]any{int64(testPublication)},
		fault(404, `gateway.error.no_such_operation: no method "gateway.nope" (system.listMethods lists them)`),
		fault(400, "gateway.error.malformed_request: system.multicall cannot be called inside system.multicall"),
		fault(400, "gateway.error.malformed_request: a multicall element is a struct with a string methodName and an array params"),
		[]any{map[string]any{"status": "ok", "store": "none", "realm": "realm1"}},
		fault(403, "wamp.error.not_authorized: alice may not call app.denied"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
	if n := inv.count(); n != 3 {
		t.Errorf("%d operations ran, want 3", n)
	}
	wantFault(t, h, callDoc(t, "system.multicall", "x"), 400, "gateway.error.malformed_request: ", "takes one array")
}

// TestCanceledMulticall: once the request is canceled, the remaining calls are not run.
func TestCanceledMulticall(t *testing.T) {
	h, inv := newTestHandler(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	inv.result = func(string) (any, error) { cancel(); return json.Number("1"), nil }
	doc := callDoc(t, "system.multicall", []any{
		map[string]any{"methodName": "gateway.stats", "params": []any{}},
		map[string]any{"methodName": "gateway.stats", "params": []any{}},
	})
	req := httptest.NewRequest(http.MethodPost, "/RPC2", strings.NewReader(doc)).WithContext(ctx)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	v, err := DecodeResponse(rec.Body.Bytes(), Limits{})
	results, _ := v.([]any)
	if err != nil || len(results) != 2 || !reflect.DeepEqual(results[0], []any{int64(1)}) {
		t.Fatalf("got %#v, %v", v, err)
	}
	if f, _ := results[1].(map[string]any); f["faultCode"] != int64(504) {
		t.Errorf("second call: got %#v, want a 504 fault", results[1])
	}
	if n := inv.count(); n != 1 {
		t.Errorf("%d operations ran, want 1", n)
	}
}
