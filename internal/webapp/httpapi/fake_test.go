package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gateway-dev/gateway/internal/webapp/httpauth"
)

// invocation is one recorded Invoke call.
type invocation struct {
	op   string
	body []byte
}

// fakeInvoker records its calls and answers with result and err, or panics with panicWith.
type fakeInvoker struct {
	mu        sync.Mutex
	calls     []invocation
	result    any
	err       error
	panicWith any
}

func (f *fakeInvoker) Invoke(_ context.Context, op string, body []byte) (any, error) {
	f.mu.Lock()
	f.calls = append(f.calls, invocation{op: op, body: bytes.Clone(body)})
	f.mu.Unlock()
	if f.panicWith != nil {
		panic(f.panicWith)
	}
	return f.result, f.err
}

// called returns the recorded calls.
func (f *fakeInvoker) called() []invocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]invocation(nil), f.calls...)
}

const testKey = "test-api-key"

// fixture is a handler over a fake invoker, with its log captured.
type fixture struct {
	inv     *fakeInvoker
	handler http.Handler
	log     *syncBuffer
}

// newFixture returns a handler accepting testKey, with the given changes to its Config.
func newFixture(t *testing.T, auth httpauth.Config, maxBody int64) *fixture {
	t.Helper()
	if auth.APIKeys == nil && auth.HMACKeys == nil && !auth.AllowLoopback {
		auth.APIKeys = []string{testKey}
	}
	checker := httpauth.New(auth)
	t.Cleanup(checker.Close)
	f := &fixture{inv: &fakeInvoker{result: map[string]any{"publication": 42}}, log: &syncBuffer{}}
	f.handler = New(f.inv, Config{Auth: checker, MaxBody: maxBody, Logger: slog.New(slog.NewTextHandler(f.log, nil))})
	return f
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// do sends a request with the API key (unless headers set Authorization to "") and decodes the
// answer, failing the test unless it is a JSON object with Content-Type application/json.
func (f *fixture) do(t *testing.T, method, target string, body io.Reader, headers map[string]string) response {
	t.Helper()
	r := httptest.NewRequest(method, target, body)
	r.RemoteAddr = "203.0.113.9:40000"
	r.Header.Set("Authorization", "Bearer "+testKey)
	for k, v := range headers {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	return f.serve(t, r)
}

// serve runs r through the handler and decodes the answer.
func (f *fixture) serve(t *testing.T, r *http.Request) response {
	t.Helper()
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	res := response{status: w.Code, header: w.Header(), raw: w.Body.String()}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q, want application/json", r.Method, r.URL, ct)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &res.body); err != nil {
		t.Fatalf("%s %s: answer %q is not a JSON object: %v", r.Method, r.URL, res.raw, err)
	}
	return res
}

// wantError fails unless res is an error answer with status and URI whose message contains
// fragment.
func wantError(t *testing.T, res response, status int, uri, fragment string) {
	t.Helper()
	if res.status != status || res.body["error"] != uri {
		t.Fatalf("answer %d %s, want %d with error %s", res.status, res.raw, status, uri)
	}
	if msg, _ := res.body["message"].(string); !strings.Contains(msg, fragment) {
		t.Fatalf("message %q does not contain %q", msg, fragment)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use, to capture logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
