package xmlrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/wamp"
)

// testPublication is the publication id the fake invoker answers (beyond 32 bits, so it is an i8).
const testPublication = wamp.ID(1<<40 + 7)

// fakeInvoker records the operations it runs and answers like a small gateway: publish answers
// testPublication, call echoes its args and kwargs (or fails for the procedures app.denied and
// app.crash), health and issue_ticket answer fixed responses, anything else echoes its request.
type fakeInvoker struct {
	mu     sync.Mutex
	ops    []string
	bodies []string
	// result, when set, replaces the answer of every operation.
	result func(op string) (any, error)
}

func (f *fakeInvoker) Invoke(_ context.Context, op string, body []byte) (any, error) {
	f.mu.Lock()
	f.ops = append(f.ops, op)
	f.bodies = append(f.bodies, string(body))
	f.mu.Unlock()
	if f.result != nil {
		return f.result(op)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var req map[string]any
	if err := dec.Decode(&req); err != nil {
		return nil, webapp.Errorf(webapp.ErrMalformed, "fake: %v", err)
	}
	switch op {
	case "publish":
		return webapp.PublishResponse{Publication: testPublication}, nil
	case "health":
		return &webapp.HealthResponse{Status: "ok", Store: "none", Realm: "realm1"}, nil
	case "issue_ticket":
		return webapp.IssueTicketResponse{Ticket: "t1", Expires: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC),
			AuthID: "alice", AuthRole: "user", Realm: "realm1"}, nil
	case "call":
		switch req["procedure"] {
		case "app.denied":
			return nil, webapp.Errorf(wamp.ErrNotAuthorized, "alice may not call app.denied")
		case "app.crash":
			return nil, errors.New("store: disk full")
		}
		return map[string]any{"args": req["args"], "kwargs": req["kwargs"]}, nil
	}
	return req, nil
}

// last returns the last operation run and its JSON body.
func (f *fakeInvoker) last() (string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.ops) == 0 {
		return "", ""
	}
	return f.ops[len(f.ops)-1], f.bodies[len(f.bodies)-1]
}

// count returns how many operations ran.
func (f *fakeInvoker) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ops)
}

// newTestHandler returns the handler over a fresh fake invoker, logging to the test.
func newTestHandler(t testing.TB, cfg Config) (http.Handler, *fakeInvoker) {
	inv := &fakeInvoker{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return New(inv, cfg), inv
}

// post sends body to h and returns the HTTP response, checking the XML-RPC transport rules: HTTP 200
// and text/xml.
func post(t testing.TB, h http.Handler, body string, header ...string) []byte {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/RPC2", strings.NewReader(body))
	req.Header.Set("Content-Type", "text/xml")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("HTTP status %d, want 200: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
		t.Fatalf("Content-Type %q, want text/xml", ct)
	}
	return rec.Body.Bytes()
}

// rpc calls method with params on h and returns the result, or fails the test on a fault.
func rpc(t testing.TB, h http.Handler, method string, params ...any) any {
	t.Helper()
	doc, err := AppendCall(nil, method, params)
	if err != nil {
		t.Fatal(err)
	}
	v, err := DecodeResponse(post(t, h, string(doc)), Limits{})
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return v
}

// wantFault checks that the answer to body is a fault with code and a string starting with prefix
// and containing fragment.
func wantFault(t testing.TB, h http.Handler, body string, code int, prefix, fragment string, header ...string) {
	t.Helper()
	out := post(t, h, body, header...)
	v, err := DecodeResponse(out, Limits{})
	var f *Fault
	if !errors.As(err, &f) {
		t.Fatalf("got %#v, %v; want fault %d\n%s", v, err, code, out)
	}
	if f.Code != code || !strings.HasPrefix(f.String, prefix) || !strings.Contains(f.String, fragment) {
		t.Errorf("got fault %d %q; want %d %q…%q", f.Code, f.String, code, prefix, fragment)
	}
}

// callDoc returns a methodCall document.
func callDoc(t testing.TB, method string, params ...any) string {
	t.Helper()
	doc, err := AppendCall(nil, method, params)
	if err != nil {
		t.Fatal(err)
	}
	return string(doc)
}
