package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/internal/webapp/httpauth"
	"github.com/gateway-dev/gateway/wamp"
)

// signedRequest returns a POST to target carrying body, signed with keyID/secret.
func signedRequest(target, keyID, secret, nonce string, ts int64, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	r.RemoteAddr = "203.0.113.9:40000"
	r.Header.Set(httpauth.HeaderKeyID, keyID)
	r.Header.Set(httpauth.HeaderTimestamp, strconv.FormatInt(ts, 10))
	r.Header.Set(httpauth.HeaderNonce, nonce)
	r.Header.Set(httpauth.HeaderSignature, httpauth.Sign(secret, http.MethodPost, r.URL.RequestURI(), ts, nonce, []byte(body)))
	return r
}

func TestAPIKeyThroughHandler(t *testing.T) {
	f := newFixture(t, httpauth.Config{}, 0)
	if res := f.do(t, http.MethodPost, "/api/v1/publish", strings.NewReader("{}"), nil); res.status != http.StatusOK {
		t.Fatalf("good key: %d %s", res.status, res.raw)
	}
	res := f.do(t, http.MethodPost, "/api/v1/publish", strings.NewReader("{}"), map[string]string{"Authorization": "Bearer wrong"})
	wantError(t, res, http.StatusUnauthorized, string(webapp.ErrUnauthenticated), "invalid API key")
	if res.header.Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("401 without WWW-Authenticate: Bearer")
	}
	if n := len(f.inv.called()); n != 1 {
		t.Fatalf("%d Invoke calls, want 1", n)
	}
}

func TestSignedThroughHandler(t *testing.T) {
	keys := map[string]string{"app1": "s1", "app2": "s2"}
	f := newFixture(t, httpauth.Config{HMACKeys: keys, Window: time.Minute}, 0)
	now := time.Now().Unix()
	body := `{"topic":"com.example.t"}`
	const target = "/api/v1/publish?trace=abc%20d"

	if res := f.serve(t, signedRequest(target, "app1", "s1", "n1", now, body)); res.status != http.StatusOK {
		t.Fatalf("good signature: %d %s", res.status, res.raw)
	}
	for _, tc := range []struct {
		name     string
		r        *http.Request
		fragment string
	}{
		{"replayed nonce", signedRequest(target, "app1", "s1", "n1", now, body), "replayed"},
		{"bad signature", signedRequest(target, "app1", "s2", "n2", now, body), "bad signature"},
		{"wrong key id", signedRequest(target, "app9", "s1", "n3", now, body), "unknown key id"},
		{"too old", signedRequest(target, "app1", "s1", "n4", now-120, body), "outside ±1m0s"},
	} {
		res := f.serve(t, tc.r)
		wantError(t, res, http.StatusUnauthorized, string(webapp.ErrUnauthenticated), tc.fragment)
	}
	// The signature covers the body as read by the handler.
	tampered := signedRequest(target, "app1", "s1", "n5", now, body)
	tampered.Body = http.NoBody
	tampered.ContentLength = 0
	wantError(t, f.serve(t, tampered), http.StatusUnauthorized, string(webapp.ErrUnauthenticated), "bad signature")

	if res := f.serve(t, signedRequest(target, "app2", "s2", "n1", now, body)); res.status != http.StatusOK {
		t.Fatalf("same nonce under another key id: %d %s", res.status, res.raw)
	}
	calls := f.inv.called()
	if len(calls) != 2 || string(calls[0].body) != body || string(calls[1].body) != body {
		t.Fatalf("Invoke calls %+v, want the two accepted requests with their bodies", calls)
	}
}

func TestReplayCacheFullIsUnavailable(t *testing.T) {
	f := newFixture(t, httpauth.Config{HMACKeys: map[string]string{"k": "s"}, MaxNonces: 1}, 0)
	now := time.Now().Unix()
	if res := f.serve(t, signedRequest("/api/v1/publish", "k", "s", "a", now, "{}")); res.status != http.StatusOK {
		t.Fatalf("first: %d %s", res.status, res.raw)
	}
	res := f.serve(t, signedRequest("/api/v1/publish", "k", "s", "b", now, "{}"))
	wantError(t, res, http.StatusServiceUnavailable, string(wamp.ErrUnavailable), "replay cache full")
}

func TestLoopbackThroughHandler(t *testing.T) {
	for _, allow := range []bool{true, false} {
		f := newFixture(t, httpauth.Config{APIKeys: []string{testKey}, AllowLoopback: allow}, 0)
		for _, addr := range []string{"127.0.0.1:3000", "[::1]:3000"} {
			r := httptest.NewRequest(http.MethodGet, "/api/v1/health", nil)
			r.RemoteAddr = addr
			res := f.serve(t, r)
			if allow && res.status != http.StatusOK {
				t.Errorf("loopback %s allowed: %d %s", addr, res.status, res.raw)
			}
			if !allow {
				wantError(t, res, http.StatusUnauthorized, string(webapp.ErrUnauthenticated), "credentials required")
			}
		}
		r := httptest.NewRequest(http.MethodGet, "/api/v1/health", nil)
		r.RemoteAddr = "198.51.100.3:3000"
		r.Header.Set("X-Forwarded-For", "127.0.0.1")
		wantError(t, f.serve(t, r), http.StatusUnauthorized, string(webapp.ErrUnauthenticated), "credentials required")
	}
}

func TestNilAuthRefusesEverything(t *testing.T) {
	inv := &fakeInvoker{}
	h := New(inv, Config{})
	f := &fixture{inv: inv, handler: h}
	r := httptest.NewRequest(http.MethodGet, "/api/v1/health", nil)
	r.RemoteAddr = "127.0.0.1:1"
	wantError(t, f.serve(t, r), http.StatusUnauthorized, string(webapp.ErrUnauthenticated), "every request is refused")
	if len(inv.called()) != 0 {
		t.Fatal("Invoke called without authentication")
	}
}
