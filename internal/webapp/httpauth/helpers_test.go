package httpauth

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/wamp"
)

const remote = "203.0.113.7:41000" // not loopback

// newRequest returns a POST to target with body from remote.
func newRequest(target string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	r.RemoteAddr = remote
	return r
}

// signRequest sets the signed-request headers on r.
func signRequest(r *http.Request, keyID, secret string, ts int64, nonce string, body []byte) {
	r.Header.Set(HeaderKeyID, keyID)
	r.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	r.Header.Set(HeaderNonce, nonce)
	r.Header.Set(HeaderSignature, Sign(secret, r.Method, r.URL.RequestURI(), ts, nonce, body))
}

// wantRefused fails unless err is a *webapp.Error with uri whose message contains fragment.
func wantRefused(t *testing.T, err error, uri wamp.URI, fragment string) {
	t.Helper()
	var e *webapp.Error
	if !errors.As(err, &e) {
		t.Fatalf("Check = %v, want *webapp.Error %s", err, uri)
	}
	if e.URI != uri || !strings.Contains(e.Message, fragment) {
		t.Fatalf("Check = %s %q, want %s containing %q", e.URI, e.Message, uri, fragment)
	}
}
