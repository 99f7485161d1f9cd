package proxy

import (
	"slices"
	"testing"

	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/internal/webapp/httpauth"
	"github.com/gateway-dev/gateway/wamp"
)

// signVectors are shared with clients/python/test_gateway_proxy.py (the same inputs must give the
// same hex); the expected values were computed independently with Python's hmac module.
var signVectors = []struct {
	secret, method, uri string
	ts                  int64
	nonce               string
	body                string
	want                string
}{
	{"0123456789abcdef0123456789abcdef", "POST", "/api/v1/publish", 1700000000, "nonce-1",
		`{"topic":"com.example.news","args":[1,"two"]}`,
		"9ee9e6424a2edbf4e9cb4821d892c937a1d6e739134334087c94ec4151105b5a"},
	{"s3cr3t-key-with-16+chars", "POST", "/RPC2", 1767225600, "abc",
		`<?xml version="1.0"?><methodCall><methodName>gateway.health</methodName><params></params></methodCall>`,
		"0ca0c6840e0996053b0941f74ec93e414234f7ff9da38bf1e3989b28ff0b3b6b"},
	{"ünïcödé-secret-0123", "GET", "/gw/api/v1/stats?x=1&y=%20", 0, "~!@#$%^&*()_+ 0", "",
		"9b2e8eec5d75036daed86fbba839db2eecf342f7e8a0ac5fbf32ac8d113d8e8c"},
}

func TestSignVectors(t *testing.T) {
	for _, v := range signVectors {
		got := Sign(v.secret, v.method, v.uri, v.ts, v.nonce, []byte(v.body))
		if got != v.want {
			t.Errorf("Sign(%q, %s %s) = %s, want %s", v.secret, v.method, v.uri, got, v.want)
		}
		// The gateway's own signer agrees.
		if gw := httpauth.Sign(v.secret, v.method, v.uri, v.ts, v.nonce, []byte(v.body)); gw != got {
			t.Errorf("httpauth.Sign = %s, proxy.Sign = %s", gw, got)
		}
	}
}

func TestSignCoversEveryPart(t *testing.T) {
	base := Sign("secret-0123456789", "POST", "/api/v1/publish", 1, "n", []byte("{}"))
	for name, other := range map[string]string{
		"secret": Sign("secret-0123456789x", "POST", "/api/v1/publish", 1, "n", []byte("{}")),
		"method": Sign("secret-0123456789", "PUT", "/api/v1/publish", 1, "n", []byte("{}")),
		"uri":    Sign("secret-0123456789", "POST", "/api/v1/publish?", 1, "n", []byte("{}")),
		"ts":     Sign("secret-0123456789", "POST", "/api/v1/publish", 2, "n", []byte("{}")),
		"nonce":  Sign("secret-0123456789", "POST", "/api/v1/publish", 1, "m", []byte("{}")),
		"body":   Sign("secret-0123456789", "POST", "/api/v1/publish", 1, "n", []byte("{} ")),
	} {
		if other == base {
			t.Errorf("changing the %s does not change the signature", name)
		}
	}
}

func TestNoncesAreFreshAndValid(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		n := newNonce()
		if len(n) < 1 || len(n) > 128 || seen[n] {
			t.Fatalf("nonce %q is invalid or repeated", n)
		}
		seen[n] = true
	}
}

// TestOperationsMatchTheGateway keeps the proxy's parameter orders (used by XML-RPC) and error
// statuses in step with the gateway's contract.
func TestOperationsMatchTheGateway(t *testing.T) {
	if len(operationParams) != len(webapp.Operations) {
		t.Errorf("the proxy knows %d operations, the gateway %d", len(operationParams), len(webapp.Operations))
	}
	for _, op := range webapp.Operations {
		params, ok := operationParams[op.Name]
		if !ok || !slices.Equal(params, op.Params) {
			t.Errorf("operation %s: proxy params %v, gateway params %v", op.Name, params, op.Params)
		}
	}
	for _, uri := range []string{ErrMalformed, ErrNoSuchOperation, ErrUnauthenticated, ErrTooLarge, ErrInternal,
		ErrNotAuthorized, ErrUnavailable, ErrCanceled, ErrTimeout, "wamp.error.invalid_argument", "com.example.oops"} {
		if got, want := statusOf(uri), webapp.HTTPStatus(&webapp.Error{URI: wamp.URI(uri)}); got != want {
			t.Errorf("status of %s: proxy %d, gateway %d", uri, got, want)
		}
	}
}
