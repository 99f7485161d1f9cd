package proxy

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/internal/webapp/httpapi"
	"github.com/gateway-dev/gateway/internal/webapp/httpauth"
	"github.com/gateway-dev/gateway/internal/webapp/xmlrpc"
)

// Credentials of the test gateways.
const (
	testAPIKey    = "api-key-0123456789abcdef"
	testKeyID     = "webapp1"
	testKeySecret = "hmac-secret-0123456789abcdef"
)

// startHTTPGateway serves the gateway's real HTTP/JSON and XML-RPC representatives of inv, with
// an API key and an HMAC key, and loopback clients without credentials when loopback is set.
func startHTTPGateway(t *testing.T, inv webapp.Invoker, loopback bool) *httptest.Server {
	t.Helper()
	auth := httpauth.New(httpauth.Config{
		APIKeys:       []string{testAPIKey},
		HMACKeys:      map[string]string{testKeyID: testKeySecret},
		AllowLoopback: loopback,
	})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	mux.Handle(httpapi.Prefix, httpapi.New(inv, httpapi.Config{Auth: auth, Logger: quiet}))
	mux.Handle("/RPC2", xmlrpc.New(inv, xmlrpc.Config{Auth: auth, Logger: quiet}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func newProxy(t *testing.T, cfg Config) *Proxy {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

func TestHTTPConformance(t *testing.T) {
	gw := newGateway()
	srv := startHTTPGateway(t, gw, false)
	for _, tr := range []Transport{TransportHTTP, TransportXMLRPC} {
		t.Run(string(tr), func(t *testing.T) {
			conformance(t, newProxy(t, Config{Transport: tr, URL: srv.URL, KeyID: testKeyID, Secret: testKeySecret}), gw)
		})
	}
}

func TestHTTPCredentials(t *testing.T) {
	gw := newGateway()
	strict := startHTTPGateway(t, gw, false)
	loopback := startHTTPGateway(t, gw, true)
	cases := []struct {
		name string
		url  string
		cfg  Config
		ok   bool
	}{
		{"signed", strict.URL, Config{KeyID: testKeyID, Secret: testKeySecret}, true},
		{"bearer", strict.URL, Config{APIKey: testAPIKey}, true},
		{"signed wins over bearer", strict.URL, Config{KeyID: testKeyID, Secret: testKeySecret, APIKey: "wrong-key-0123456789"}, true},
		{"no credentials from loopback", loopback.URL, Config{}, true},
		{"no credentials", strict.URL, Config{}, false},
		{"wrong API key", strict.URL, Config{APIKey: "wrong-key-0123456789"}, false},
		{"wrong API key from loopback", loopback.URL, Config{APIKey: "wrong-key-0123456789"}, false},
		{"wrong secret", strict.URL, Config{KeyID: testKeyID, Secret: "wrong-secret-0123456789"}, false},
		{"unknown key id", strict.URL, Config{KeyID: "nobody", Secret: testKeySecret}, false},
	}
	for _, tr := range []Transport{TransportHTTP, TransportXMLRPC} {
		for _, c := range cases {
			t.Run(string(tr)+"/"+c.name, func(t *testing.T) {
				cfg := c.cfg
				cfg.Transport, cfg.URL = tr, c.url
				_, err := newProxy(t, cfg).Health(ctx(t))
				if c.ok {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					return
				}
				var e *Error
				if !errors.As(err, &e) || e.URI != ErrUnauthenticated || e.Status != http.StatusUnauthorized {
					t.Fatalf("got %v, want %s with status 401", err, ErrUnauthenticated)
				}
			})
		}
	}
}

// TestHTTPSignedBodyIsTheSentBody checks that each signature covers the exact bytes sent: many
// requests with different bodies all pass (a nonce is never reused).
func TestHTTPSignedBodyIsTheSentBody(t *testing.T) {
	gw := newGateway()
	srv := startHTTPGateway(t, gw, false)
	for _, tr := range []Transport{TransportHTTP, TransportXMLRPC} {
		p := newProxy(t, Config{Transport: tr, URL: srv.URL, KeyID: testKeyID, Secret: testKeySecret})
		for i := range 20 {
			if _, err := p.Publish(ctx(t), "com.example.t", []any{i, strings.Repeat("é<&>", i)}, nil, nil); err != nil {
				t.Fatalf("%s request %d: %v", tr, i, err)
			}
		}
	}
}

// TestHTTPForeignAnswers checks the errors for answers that are not the gateway's.
func TestHTTPForeignAnswers(t *testing.T) {
	cases := []struct {
		name, contentType, body string
		status                  int
		want                    string
	}{
		{"html error page", "text/html", "<html>Bad Gateway</html>", http.StatusBadGateway, "HTTP 502"},
		{"200 not JSON", "text/plain", "hello", http.StatusOK, "HTTP 200"},
		{"404 plain", "text/plain", "404 page not found", http.StatusNotFound, "HTTP 404"},
		{"JSON without error", "application/json", `{"x":1}`, http.StatusBadRequest, "HTTP 400"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", c.contentType)
				w.WriteHeader(c.status)
				_, _ = io.WriteString(w, c.body)
			}))
			defer srv.Close()
			_, err := newProxy(t, Config{URL: srv.URL}).Health(ctx(t))
			var e *Error
			if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a transport error mentioning %q", err, c.want)
			}
		})
	}
}

// TestHTTPGatewayErrorStatus checks that an HTTP-only error keeps its status.
func TestHTTPGatewayErrorStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/prefix/api/v1/health" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s %s (%s)", r.Method, r.URL, r.Header.Get("Content-Type"))
		}
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		_, _ = io.WriteString(w, `{"error":"gateway.error.request_too_large","message":"too big","details":{"limit":1024}}`)
	}))
	defer srv.Close()
	for _, base := range []string{srv.URL + "/prefix", srv.URL + "/prefix/", srv.URL + "/prefix/api/v1", srv.URL + "/prefix/api/v1/"} {
		_, err := newProxy(t, Config{URL: base}).Health(ctx(t))
		var e *Error
		if !errors.As(err, &e) || e.Status != 413 || e.URI != ErrTooLarge || e.Details["limit"] != int64(1024) {
			t.Fatalf("base %s: got %#v", base, err)
		}
	}
}

func TestHTTPUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := newProxy(t, Config{URL: url}).Health(ctx(t))
	var e *Error
	if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), "health over http") {
		t.Fatalf("got %v, want a connection error naming the operation", err)
	}
}

func TestClosedProxy(t *testing.T) {
	srv := startHTTPGateway(t, newGateway(), true)
	p, err := New(Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Health(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := p.Health(ctx(t)); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("a closed proxy answered %v", err)
	}
}
