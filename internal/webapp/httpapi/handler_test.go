package httpapi

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/internal/webapp/httpauth"
	"github.com/gateway-dev/gateway/wamp"
)

func TestPublishPassesBodyUnchanged(t *testing.T) {
	f := newFixture(t, httpauth.Config{}, 0)
	body := " {\"topic\" : \"com.example.t\",\n \"args\":[1, 2.50, \"é\"], \"kwargs\":{\"z\":1,\"a\":null}} \n"
	res := f.do(t, http.MethodPost, "/api/v1/publish", strings.NewReader(body), map[string]string{"Content-Type": "application/json"})
	if res.status != http.StatusOK || res.body["publication"] != float64(42) {
		t.Fatalf("answer %d %s, want 200 {\"publication\":42}", res.status, res.raw)
	}
	calls := f.inv.called()
	if len(calls) != 1 || calls[0].op != "publish" || string(calls[0].body) != body {
		t.Fatalf("Invoke calls %+v, want one publish with the body unchanged", calls)
	}
	for name, want := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
		if got := res.header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestEveryOperationIsRouted(t *testing.T) {
	f := newFixture(t, httpauth.Config{}, 0)
	for _, op := range webapp.Operations {
		res := f.do(t, http.MethodPost, "/api/v1/"+op.Name, strings.NewReader("{}"), nil)
		if res.status != http.StatusOK {
			t.Errorf("POST %s: %d %s", op.Name, res.status, res.raw)
		}
	}
	calls := f.inv.called()
	if len(calls) != len(webapp.Operations) {
		t.Fatalf("%d Invoke calls, want %d", len(calls), len(webapp.Operations))
	}
	for i, op := range webapp.Operations {
		if calls[i].op != op.Name {
			t.Errorf("call %d ran %q, want %q", i, calls[i].op, op.Name)
		}
	}
}

func TestEmptyBodyMeansEmptyObject(t *testing.T) {
	f := newFixture(t, httpauth.Config{}, 0)
	for _, body := range []string{"", " \r\n\t"} {
		res := f.do(t, http.MethodPost, "/api/v1/sessions", strings.NewReader(body), nil)
		if res.status != http.StatusOK {
			t.Fatalf("body %q: %d %s", body, res.status, res.raw)
		}
	}
	for _, c := range f.inv.called() {
		if len(c.body) != 0 {
			t.Fatalf("Invoke got body %q, want empty", c.body)
		}
	}
}

func TestNilResultIsEmptyObject(t *testing.T) {
	f := newFixture(t, httpauth.Config{}, 0)
	f.inv.result = nil
	res := f.do(t, http.MethodPost, "/api/v1/revoke", strings.NewReader(`{"authid":"x"}`), nil)
	if res.status != http.StatusOK || len(res.body) != 0 {
		t.Fatalf("answer %d %s, want 200 {}", res.status, res.raw)
	}
}

func TestGetHealthAndStats(t *testing.T) {
	f := newFixture(t, httpauth.Config{}, 0)
	for _, op := range []string{"health", "stats"} {
		res := f.do(t, http.MethodGet, "/api/v1/"+op, nil, nil)
		if res.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", op, res.status, res.raw)
		}
	}
	if calls := f.inv.called(); len(calls) != 2 || calls[0].op != "health" || calls[1].op != "stats" {
		t.Fatalf("Invoke calls %+v, want health then stats", calls)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t, httpauth.Config{}, 0)
	for _, tc := range []struct{ method, op, allow string }{
		{http.MethodGet, "publish", "POST"},
		{http.MethodPut, "publish", "POST"},
		{http.MethodDelete, "health", "GET, POST"},
		{http.MethodHead, "stats", "GET, POST"},
	} {
		res := f.do(t, tc.method, "/api/v1/"+tc.op, nil, nil)
		wantError(t, res, http.StatusMethodNotAllowed, string(ErrMethodNotAllowed), "method not allowed")
		if got := res.header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.op, got, tc.allow)
		}
	}
	if calls := f.inv.called(); len(calls) != 0 {
		t.Fatalf("Invoke called %d times for refused methods", len(calls))
	}
}

func TestMalformedBody(t *testing.T) {
	f := newFixture(t, httpauth.Config{}, 0)
	for _, tc := range []struct{ body, fragment string }{
		{`{"topic":`, "malformed JSON"},
		{`{"topic": "a"}}`, "malformed JSON at byte"},
		{`{'topic': 1}`, "malformed JSON at byte 2"},
		{`[1, 2]`, "must be a JSON object, not an array"},
		{`null`, "not null"},
		{`"text"`, "not a string"},
		{`12`, "not a number"},
		{`true`, "not a boolean"},
	} {
		res := f.do(t, http.MethodPost, "/api/v1/publish", strings.NewReader(tc.body), nil)
		wantError(t, res, http.StatusBadRequest, string(webapp.ErrMalformed), tc.fragment)
	}
	if calls := f.inv.called(); len(calls) != 0 {
		t.Fatalf("Invoke called with malformed bodies: %+v", calls)
	}
}

func TestBodyReadErrorIsMalformed(t *testing.T) {
	f := newFixture(t, httpauth.Config{}, 0)
	res := f.do(t, http.MethodPost, "/api/v1/publish", iotest.ErrReader(errors.New("connection reset")), nil)
	wantError(t, res, http.StatusBadRequest, string(webapp.ErrMalformed), "connection reset")
}

func TestUnknownOperation(t *testing.T) {
	f := newFixture(t, httpauth.Config{}, 0)
	res := f.do(t, http.MethodPost, "/api/v1/publsh", strings.NewReader("{}"), nil)
	wantError(t, res, http.StatusNotFound, string(webapp.ErrNoSuchOperation), `no such operation "publsh"; did you mean "publish"?`)
	res = f.do(t, http.MethodPost, "/api/v1/"+strings.Repeat("x", 5000), nil, nil)
	wantError(t, res, http.StatusNotFound, string(webapp.ErrNoSuchOperation), "no such operation")
	if len(res.raw) > 1000 {
		t.Errorf("answer to a 5000-byte operation name is %d bytes: the name should be truncated", len(res.raw))
	}
}

func TestOutsideAPIIsNotFound(t *testing.T) {
	f := newFixture(t, httpauth.Config{}, 0)
	for _, target := range []string{"/", "/api/v1", "/api/v2/publish", "/favicon.ico", "/API/V1/publish"} {
		res := f.do(t, http.MethodGet, target, nil, map[string]string{"Authorization": ""})
		wantError(t, res, http.StatusNotFound, string(webapp.ErrNoSuchOperation), "no such resource")
	}
}

func TestCredentialsBeforeRouting(t *testing.T) {
	f := newFixture(t, httpauth.Config{}, 0)
	for _, tc := range []struct{ method, target string }{
		{http.MethodPost, "/api/v1/publish"},
		{http.MethodPost, "/api/v1/no_such_thing"},
		{http.MethodGet, "/api/v1/publish"},
	} {
		res := f.do(t, tc.method, tc.target, strings.NewReader("{}"), map[string]string{"Authorization": ""})
		wantError(t, res, http.StatusUnauthorized, string(webapp.ErrUnauthenticated), "credentials required")
		if got := res.header.Get("WWW-Authenticate"); got != "Bearer" {
			t.Errorf("%s %s: WWW-Authenticate %q, want Bearer", tc.method, tc.target, got)
		}
		if strings.Contains(res.raw, "publish") || res.header.Get("Allow") != "" {
			t.Errorf("%s %s: unauthenticated answer leaks the operations: %s", tc.method, tc.target, res.raw)
		}
	}
	if calls := f.inv.called(); len(calls) != 0 {
		t.Fatalf("Invoke called without credentials: %+v", calls)
	}
}

func TestBodyLimit(t *testing.T) {
	const limit = 64
	f := newFixture(t, httpauth.Config{}, limit)
	fits := `{"topic":"` + strings.Repeat("a", limit-12) + `"}`
	if len(fits) != limit {
		t.Fatalf("test body is %d bytes", len(fits))
	}
	if res := f.do(t, http.MethodPost, "/api/v1/publish", strings.NewReader(fits), nil); res.status != http.StatusOK {
		t.Fatalf("body of exactly MaxBody: %d %s", res.status, res.raw)
	}
	over := fits + " "
	res := f.do(t, http.MethodPost, "/api/v1/publish", strings.NewReader(over), nil)
	wantError(t, res, http.StatusRequestEntityTooLarge, string(webapp.ErrTooLarge), "exceeds 64 bytes")
	// Without Content-Length (chunked), the limit holds while reading.
	res = f.do(t, http.MethodPost, "/api/v1/publish", &unsized{strings.NewReader(over + strings.Repeat(" ", 1<<20))}, nil)
	wantError(t, res, http.StatusRequestEntityTooLarge, string(webapp.ErrTooLarge), "exceeds 64 bytes")
	if calls := f.inv.called(); len(calls) != 1 {
		t.Fatalf("%d Invoke calls, want only the one that fits", len(calls))
	}
}

// unsized hides a reader's length from httptest.NewRequest, like a chunked body.
type unsized struct{ r *strings.Reader }

func (u *unsized) Read(p []byte) (int, error) { return u.r.Read(p) }

func TestContentType(t *testing.T) {
	f := newFixture(t, httpauth.Config{}, 0)
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8", "application/json; charset=utf8"} {
		res := f.do(t, http.MethodPost, "/api/v1/publish", strings.NewReader("{}"), map[string]string{"Content-Type": ct})
		if res.status != http.StatusOK {
			t.Errorf("Content-Type %q: %d %s", ct, res.status, res.raw)
		}
	}
	for _, tc := range []struct{ ct, fragment string }{
		{"text/plain", `"text/plain" is not supported`},
		{"application/x-www-form-urlencoded", "not supported"},
		{"application/json; charset=latin1", `charset "latin1"`},
		{"application/json; charset", "unparsable"},
	} {
		res := f.do(t, http.MethodPost, "/api/v1/publish", strings.NewReader("{}"), map[string]string{"Content-Type": tc.ct})
		wantError(t, res, http.StatusUnsupportedMediaType, string(ErrUnsupportedMediaType), tc.fragment)
	}
}

func TestOperationErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		uri    string
		msg    string
	}{
		{"wrong field type", webapp.Errorf(webapp.ErrMalformed, "topic must be a string"), 400, string(webapp.ErrMalformed), "topic must be a string"},
		{"refusal", &webapp.Error{URI: wamp.ErrInvalidURI, Message: "bad topic", Details: map[string]any{"topic": "a..b"}}, 422, string(wamp.ErrInvalidURI), "bad topic"},
		{"not authorized", webapp.Errorf(wamp.ErrNotAuthorized, "role web may not publish"), 403, string(wamp.ErrNotAuthorized), "may not publish"},
		{"unavailable", webapp.Errorf(wamp.ErrUnavailable, "store down"), 503, string(wamp.ErrUnavailable), "store down"},
		{"timeout", webapp.Errorf(wamp.ErrTimeout, "callee too slow"), 504, string(wamp.ErrTimeout), "callee too slow"},
		{"plain error", errors.New("disk /var/secret failed"), 500, string(webapp.ErrInternal), "internal error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, httpauth.Config{}, 0)
			f.inv.err = tc.err
			res := f.do(t, http.MethodPost, "/api/v1/publish", strings.NewReader(`{"topic":"a..b"}`), nil)
			wantError(t, res, tc.status, tc.uri, tc.msg)
			if tc.status == 422 {
				if d, _ := res.body["details"].(map[string]any); d["topic"] != "a..b" {
					t.Errorf("details %v, want the error's details", res.body["details"])
				}
			}
			if tc.status == 500 {
				if strings.Contains(res.raw, "/var/secret") {
					t.Errorf("internal error text leaked to the caller: %s", res.raw)
				}
				if !strings.Contains(f.log.String(), "/var/secret") {
					t.Errorf("internal error not logged; log: %s", f.log)
				}
			}
		})
	}
}

func TestInvokerPanicIsInternalError(t *testing.T) {
	f := newFixture(t, httpauth.Config{}, 0)
	f.inv.panicWith = "boom in the service"
	res := f.do(t, http.MethodPost, "/api/v1/publish", strings.NewReader("{}"), nil)
	wantError(t, res, http.StatusInternalServerError, string(webapp.ErrInternal), "internal error")
	if log := f.log.String(); !strings.Contains(log, "panicked") || !strings.Contains(log, "boom in the service") {
		t.Fatalf("panic not logged; log: %s", log)
	}
}

func TestUnencodableResultIsInternalError(t *testing.T) {
	f := newFixture(t, httpauth.Config{}, 0)
	f.inv.result = map[string]any{"ch": make(chan int)}
	res := f.do(t, http.MethodPost, "/api/v1/stats", nil, nil)
	wantError(t, res, http.StatusInternalServerError, string(webapp.ErrInternal), "internal error")
	if !strings.Contains(f.log.String(), "encoding the result of stats") {
		t.Fatalf("encoding failure not logged; log: %s", f.log)
	}
}

func TestUnencodableErrorDetails(t *testing.T) {
	f := newFixture(t, httpauth.Config{}, 0)
	f.inv.err = &webapp.Error{URI: "app.error.x", Message: "m", Details: map[string]any{"f": func() {}}}
	res := f.do(t, http.MethodPost, "/api/v1/publish", bytes.NewReader(nil), nil)
	wantError(t, res, http.StatusInternalServerError, string(webapp.ErrInternal), "internal error")
}
