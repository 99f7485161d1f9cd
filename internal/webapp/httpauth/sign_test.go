package httpauth

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/wamp"
)

// TestSignVector pins the string to sign with a signature computed independently (Python's hmac):
// the Go and Python proxies must produce the same.
func TestSignVector(t *testing.T) {
	got := Sign("shh-secret", "POST", "/api/v1/publish?trace=1", 1700000000, "nonce-1", []byte(`{"topic":"com.example.t"}`))
	const want = "00a91bdf2310c8a31350627433e6e376da2efb85a434ea7b5ae8bcddc32d3674"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

var hmacCfg = Config{HMACKeys: map[string]string{"app1": "secret-one", "app2": "secret-two"}}

func TestSignedAccepted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New(hmacCfg)
		body := []byte(`{"topic":"a.b"}`)
		r := newRequest("/api/v1/publish?x=1&y=%20", body)
		signRequest(r, "app1", "secret-one", time.Now().Unix(), "n-1", body)
		if err := c.Check(r, body); err != nil {
			t.Fatalf("Check = %v, want accepted", err)
		}
	})
}

func TestSignedRefused(t *testing.T) {
	c := New(hmacCfg)
	now := time.Now().Unix()
	body := []byte(`{"topic":"a.b"}`)
	for _, tc := range []struct {
		name     string
		tamper   func(r *signedReq)
		fragment string
	}{
		{"bad signature", func(s *signedReq) { s.sig = Sign("not-the-secret", "POST", "/api/v1/publish", now, "n", body) }, "bad signature"},
		{"signature not hex", func(s *signedReq) { s.sig = "zz" + s.sig[2:] }, "bad signature"},
		{"signature truncated", func(s *signedReq) { s.sig = s.sig[:10] }, "bad signature"},
		{"body changed", func(s *signedReq) { s.body = []byte(`{"topic":"a.c"}`) }, "bad signature"},
		{"query changed", func(s *signedReq) { s.target = "/api/v1/publish?x=2" }, "bad signature"},
		{"method changed", func(s *signedReq) { s.method = "PUT" }, "bad signature"},
		{"wrong key id", func(s *signedReq) { s.keyID = "app3" }, "unknown key id"},
		{"other key's secret", func(s *signedReq) { s.keyID = "app2" }, "bad signature"},
		{"timestamp too old", func(s *signedReq) { s.setTS(now - 301) }, "outside ±5m0s"},
		{"timestamp in the future", func(s *signedReq) { s.setTS(now + 301) }, "outside ±5m0s"},
		{"timestamp not an integer", func(s *signedReq) { s.ts = "1.5" }, "integer number of unix seconds"},
		{"timestamp with plus sign", func(s *signedReq) { s.ts = "+" + s.ts }, "integer number of unix seconds"},
		{"timestamp overflow", func(s *signedReq) { s.ts = "99999999999999999999" }, "integer number of unix seconds"},
		{"nonce too long", func(s *signedReq) { s.nonce = strings.Repeat("a", 129) }, "1 to 128 printable"},
		{"nonce with control char", func(s *signedReq) { s.nonce = "a\x01b" }, "1 to 128 printable"},
		{"nonce not ASCII", func(s *signedReq) { s.nonce = "é" }, "1 to 128 printable"},
		{"missing nonce", func(s *signedReq) { s.nonce = "" }, "lacks X-Gateway-Nonce"},
		{"missing signature", func(s *signedReq) { s.sig = "" }, "lacks X-Gateway-Signature"},
		{"missing key id", func(s *signedReq) { s.keyID = "" }, "lacks X-Gateway-Key-Id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &signedReq{method: "POST", target: "/api/v1/publish", keyID: "app1", nonce: "n-" + tc.name, body: body}
			s.ts = strconv.FormatInt(now, 10)
			s.sig = Sign("secret-one", s.method, s.target, now, s.nonce, body)
			tc.tamper(s)
			wantRefused(t, c.Check(s.request(), s.body), webapp.ErrUnauthenticated, tc.fragment)
		})
	}
}

// signedReq is a signed request's parts, to tamper with before building it.
type signedReq struct {
	method, target, keyID, ts, nonce, sig string
	body                                  []byte
}

func (s *signedReq) setTS(ts int64) {
	s.ts = strconv.FormatInt(ts, 10)
	s.sig = Sign("secret-one", s.method, s.target, ts, s.nonce, s.body)
}

func (s *signedReq) request() *http.Request {
	r := newRequest(s.target, s.body)
	r.Method = s.method
	for name, v := range map[string]string{HeaderKeyID: s.keyID, HeaderTimestamp: s.ts, HeaderNonce: s.nonce, HeaderSignature: s.sig} {
		if v != "" {
			r.Header.Set(name, v)
		}
	}
	return r
}

func TestSignedWindowEdges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New(Config{HMACKeys: hmacCfg.HMACKeys, Window: 30 * time.Second})
		now := time.Now().Unix()
		for i, ts := range []int64{now - 30, now + 30} {
			r := newRequest("/api/v1/health", nil)
			signRequest(r, "app1", "secret-one", ts, "edge-"+strconv.Itoa(i), nil)
			if err := c.Check(r, nil); err != nil {
				t.Errorf("timestamp %+ds: Check = %v, want accepted", ts-now, err)
			}
		}
		r := newRequest("/api/v1/health", nil)
		signRequest(r, "app1", "secret-one", now-31, "edge-late", nil)
		wantRefused(t, c.Check(r, nil), webapp.ErrUnauthenticated, "outside ±30s")
	})
}

func TestReplayedNonceRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New(hmacCfg)
		body := []byte(`{}`)
		ts := time.Now().Unix()
		first := newRequest("/api/v1/publish", body)
		signRequest(first, "app1", "secret-one", ts, "once", body)
		if err := c.Check(first, body); err != nil {
			t.Fatalf("first: Check = %v", err)
		}
		time.Sleep(4 * time.Minute) // still inside the window
		again := newRequest("/api/v1/publish", body)
		signRequest(again, "app1", "secret-one", ts, "once", body)
		wantRefused(t, c.Check(again, body), webapp.ErrUnauthenticated, "replayed request refused")

		// A fresh timestamp does not make an already-used nonce acceptable within the window.
		fresh := newRequest("/api/v1/publish", body)
		signRequest(fresh, "app1", "secret-one", time.Now().Unix(), "once", body)
		wantRefused(t, c.Check(fresh, body), webapp.ErrUnauthenticated, "replayed request refused")

		// The same nonce under another key id is another nonce.
		other := newRequest("/api/v1/publish", body)
		signRequest(other, "app2", "secret-two", ts, "once", body)
		if err := c.Check(other, body); err != nil {
			t.Fatalf("same nonce, other key id: Check = %v, want accepted", err)
		}

		// Once the window has passed, the original request is refused by its timestamp.
		time.Sleep(2 * time.Minute)
		late := newRequest("/api/v1/publish", body)
		signRequest(late, "app1", "secret-one", ts, "once", body)
		wantRefused(t, c.Check(late, body), webapp.ErrUnauthenticated, "outside ±5m0s")
	})
}

func TestReplayCacheExpiresAndIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New(Config{HMACKeys: hmacCfg.HMACKeys, Window: time.Minute, MaxNonces: 3})
		check := func(nonce string) error {
			r := newRequest("/api/v1/health", nil)
			signRequest(r, "app1", "secret-one", time.Now().Unix(), nonce, nil)
			return c.Check(r, nil)
		}
		for _, n := range []string{"a", "b", "c"} {
			if err := check(n); err != nil {
				t.Fatalf("nonce %s: Check = %v", n, err)
			}
		}
		wantRefused(t, check("d"), wamp.ErrUnavailable, "replay cache full")
		if got := c.replay.len(); got != 3 {
			t.Fatalf("replay cache holds %d nonces, want 3", got)
		}

		time.Sleep(time.Minute + time.Second) // a, b and c expire
		if err := check("d"); err != nil {
			t.Fatalf("after expiry: Check = %v, want accepted", err)
		}
		if got := c.replay.len(); got != 1 {
			t.Fatalf("replay cache holds %d nonces after expiry, want 1", got)
		}
		if err := check("a"); err != nil {
			t.Fatalf("expired nonce reused with a fresh timestamp: Check = %v, want accepted", err)
		}
	})
}

func TestReplayRaceAcceptsOnce(t *testing.T) {
	c := New(hmacCfg)
	body := []byte(`{"topic":"x"}`)
	ts := time.Now().Unix()
	var accepted atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			r := newRequest("/api/v1/publish", body)
			signRequest(r, "app1", "secret-one", ts, "raced", body)
			if c.Check(r, body) == nil {
				accepted.Add(1)
			}
		})
	}
	wg.Wait()
	if n := accepted.Load(); n != 1 {
		t.Fatalf("%d of 16 identical signed requests accepted, want 1", n)
	}
}

func TestSignedTakesPrecedenceOverBearer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New(Config{APIKeys: []string{"k"}, HMACKeys: hmacCfg.HMACKeys})
		r := newRequest("/api/v1/health", nil)
		r.Header.Set("Authorization", "Bearer k")
		r.Header.Set(HeaderNonce, "half-signed")
		wantRefused(t, c.Check(r, nil), webapp.ErrUnauthenticated, "lacks X-Gateway-Key-Id")
	})
}

func TestDuplicateSignedHeaderRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New(hmacCfg)
		r := newRequest("/api/v1/health", nil)
		signRequest(r, "app1", "secret-one", time.Now().Unix(), "dup", nil)
		r.Header.Add(HeaderNonce, "other")
		wantRefused(t, c.Check(r, nil), webapp.ErrUnauthenticated, "more than one X-Gateway-Nonce")
	})
}

func TestLongestNonceAccepted(t *testing.T) {
	c := New(hmacCfg)
	r := newRequest("/api/v1/health", nil)
	signRequest(r, "app1", "secret-one", time.Now().Unix(), strings.Repeat("~", MaxNonceLen), nil)
	if err := c.Check(r, nil); err != nil {
		t.Fatalf("Check = %v, want accepted", err)
	}
}

// A request with a bad signature must not use up its nonce, or anyone could block a client's
// future nonces.
func TestBadSignatureDoesNotConsumeNonce(t *testing.T) {
	c := New(hmacCfg)
	ts := time.Now().Unix()
	forged := newRequest("/api/v1/health", nil)
	signRequest(forged, "app1", "guessed-secret", ts, "precious", nil)
	wantRefused(t, c.Check(forged, nil), webapp.ErrUnauthenticated, "bad signature")
	genuine := newRequest("/api/v1/health", nil)
	signRequest(genuine, "app1", "secret-one", ts, "precious", nil)
	if err := c.Check(genuine, nil); err != nil {
		t.Fatalf("genuine request after a forged one with its nonce: Check = %v, want accepted", err)
	}
}
