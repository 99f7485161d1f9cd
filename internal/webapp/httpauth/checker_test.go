package httpauth

import (
	"testing"

	"github.com/gateway-dev/gateway/internal/webapp"
)

func TestAPIKey(t *testing.T) {
	c := New(Config{APIKeys: []string{"", "first-key", "second-key"}})
	defer c.Close()
	for _, tc := range []struct {
		name, header string
		fragment     string // "" = accepted
	}{
		{"first key", "Bearer first-key", ""},
		{"second key", "Bearer second-key", ""},
		{"scheme case-insensitive", "bearer first-key", ""},
		{"wrong key", "Bearer third-key", "invalid API key"},
		{"prefix of a key", "Bearer first", "invalid API key"},
		{"empty key", "Bearer ", "empty API key"},
		{"basic scheme", "Basic Zmlyc3Qta2V5", "unsupported Authorization scheme"},
		{"no scheme", "first-key", "unsupported Authorization scheme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRequest("/api/v1/publish", nil)
			r.Header.Set("Authorization", tc.header)
			err := c.Check(r, nil)
			if tc.fragment == "" {
				if err != nil {
					t.Fatalf("Check = %v, want accepted", err)
				}
				return
			}
			wantRefused(t, err, webapp.ErrUnauthenticated, tc.fragment)
		})
	}
}

func TestAPIKeyTwoAuthorizationHeaders(t *testing.T) {
	c := New(Config{APIKeys: []string{"k"}})
	r := newRequest("/api/v1/publish", nil)
	r.Header.Add("Authorization", "Bearer k")
	r.Header.Add("Authorization", "Bearer other")
	wantRefused(t, c.Check(r, nil), webapp.ErrUnauthenticated, "more than one Authorization")
}

func TestEmptyAPIKeyNeverAccepted(t *testing.T) {
	c := New(Config{APIKeys: []string{""}, AllowLoopback: false})
	r := newRequest("/api/v1/publish", nil)
	r.Header.Set("Authorization", "Bearer x")
	wantRefused(t, c.Check(r, nil), webapp.ErrUnauthenticated, "no API keys are configured")
}

func TestNoCredentials(t *testing.T) {
	c := New(Config{APIKeys: []string{"k"}})
	wantRefused(t, c.Check(newRequest("/api/v1/health", nil), nil), webapp.ErrUnauthenticated, "credentials required")
}

func TestNoKeysConfiguredRefusesEverything(t *testing.T) {
	c := New(Config{})
	wantRefused(t, c.Check(newRequest("/api/v1/health", nil), nil), webapp.ErrUnauthenticated, "every request is refused")
	r := newRequest("/api/v1/health", nil)
	r.RemoteAddr = "127.0.0.1:5000"
	wantRefused(t, c.Check(r, nil), webapp.ErrUnauthenticated, "every request is refused")
}

func TestLoopback(t *testing.T) {
	allow := New(Config{APIKeys: []string{"k"}, AllowLoopback: true})
	deny := New(Config{APIKeys: []string{"k"}})
	for _, tc := range []struct {
		addr     string
		loopback bool
	}{
		{"127.0.0.1:5000", true},
		{"127.8.9.10:5000", true},
		{"[::1]:5000", true},
		{"[::ffff:127.0.0.1]:5000", true},
		{"::1", true},
		{"128.0.0.1:5000", false},
		{"[::2]:5000", false},
		{"10.0.0.1:5000", false},
		{"@", false},
		{"", false},
		{"localhost:5000", false},
	} {
		r := newRequest("/api/v1/health", nil)
		r.RemoteAddr = tc.addr
		err := allow.Check(r, nil)
		if tc.loopback && err != nil {
			t.Errorf("%q with AllowLoopback: Check = %v, want accepted", tc.addr, err)
		}
		if !tc.loopback {
			wantRefused(t, err, webapp.ErrUnauthenticated, "credentials required")
		}
		wantRefused(t, deny.Check(r, nil), webapp.ErrUnauthenticated, "credentials required")
	}
}

func TestLoopbackIgnoresForwardedFor(t *testing.T) {
	c := New(Config{APIKeys: []string{"k"}, AllowLoopback: true})
	r := newRequest("/api/v1/health", nil)
	r.Header.Set("X-Forwarded-For", "127.0.0.1")
	r.Header.Set("X-Real-Ip", "127.0.0.1")
	wantRefused(t, c.Check(r, nil), webapp.ErrUnauthenticated, "credentials required")
}

func TestLoopbackWithWrongCredentialsRefused(t *testing.T) {
	c := New(Config{APIKeys: []string{"k"}, AllowLoopback: true})
	r := newRequest("/api/v1/health", nil)
	r.RemoteAddr = "127.0.0.1:5000"
	r.Header.Set("Authorization", "Bearer wrong")
	wantRefused(t, c.Check(r, nil), webapp.ErrUnauthenticated, "invalid API key")
}
