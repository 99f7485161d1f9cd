package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gateway-dev/gateway/internal/webapp/httpauth"
)

// objectCheckingInvoker fails the fuzz target if the handler ever invokes an operation with a body
// that is neither empty nor a JSON object.
type objectCheckingInvoker struct{ bad atomic.Value }

func (o *objectCheckingInvoker) Invoke(_ context.Context, op string, body []byte) (any, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(body) > 0 && (!json.Valid(body) || trimmed[0] != '{') {
		o.bad.Store(op + ": " + string(body))
	}
	return map[string]any{"ok": true}, nil
}

// FuzzHandler sends arbitrary methods, paths, Content-Types and bodies: the handler must never
// panic, always answer a JSON object with Content-Type application/json, give every error an
// "error" URI and a "message", and only hand JSON objects to the Invoker.
func FuzzHandler(f *testing.F) {
	f.Add("POST", "/api/v1/publish", "application/json", "127.0.0.1:1", []byte(`{"topic":"a.b","args":[1]}`))
	f.Add("GET", "/api/v1/health", "", "127.0.0.1:1", []byte(nil))
	f.Add("POST", "/api/v1/publsh", "text/plain", "127.0.0.1:1", []byte(`[1,2`))
	f.Add("PUT", "/api/v1/../v1/stats", "application/json; charset=latin1", "[::1]:2", []byte(`null`))
	f.Add("POST", "/", "application/json;;", "203.0.113.1:1", []byte("\xff\xfe{"))
	f.Add("\x00", "/api/v1/\x00%zz", "a/b; c=\"", "", []byte(strings.Repeat("{", 200)))
	var logs syncBuffer
	inv := &objectCheckingInvoker{}
	h := New(inv, Config{
		Auth:    httpauth.New(httpauth.Config{AllowLoopback: true}),
		MaxBody: 4096,
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
	})
	f.Fuzz(func(t *testing.T, method, path, contentType, remoteAddr string, body []byte) {
		r := &http.Request{
			Method:     method,
			URL:        &url.URL{Path: path},
			Header:     http.Header{},
			Body:       io.NopCloser(bytes.NewReader(body)),
			RemoteAddr: remoteAddr,
		}
		r = r.WithContext(context.Background())
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type %q", ct)
		}
		var answer map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil {
			t.Fatalf("answer %d %q is not a JSON object: %v", w.Code, w.Body, err)
		}
		if w.Code != http.StatusOK {
			if uri, _ := answer["error"].(string); uri == "" {
				t.Fatalf("error answer %d without an error URI: %s", w.Code, w.Body)
			}
			if _, ok := answer["message"].(string); !ok {
				t.Fatalf("error answer %d without a message: %s", w.Code, w.Body)
			}
		}
		if strings.Contains(logs.String(), "panicked") {
			t.Fatalf("handler panicked: %s", logs.String())
		}
		if bad := inv.bad.Load(); bad != nil {
			t.Fatalf("Invoker got a body that is not a JSON object: %q", bad)
		}
	})
}
