package httpapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/internal/webapp/httpauth"
)

// constInvoker answers every operation with the same result, like a publish that succeeds.
type constInvoker struct{ result any }

func (c constInvoker) Invoke(context.Context, string, []byte) (any, error) { return c.result, nil }

// discardWriter is a ResponseWriter that keeps only the status, reused across iterations.
type discardWriter struct {
	header http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(status int)      { d.status = status }

// rewindBody is a request body that can be replayed without allocating.
type rewindBody struct{ bytes.Reader }

func (*rewindBody) Close() error { return nil }

// BenchmarkPublishHandler measures one publish through the handler (body read, authentication, JSON
// check, Invoke, response encoding) with a fake invoker. "signed" includes the client's signing
// (a reused HMAC, two string allocations); "sign-only" is that client share alone.
func BenchmarkPublishHandler(b *testing.B) {
	body := []byte(`{"topic":"com.example.orders.created","args":[{"id":12345,"total":99.5}],"options":{"retain":true}}`)
	const secret = "bench-secret"
	checker := httpauth.New(httpauth.Config{
		APIKeys:   []string{"bench-key"},
		HMACKeys:  map[string]string{"bench": secret},
		MaxNonces: 1 << 30,
	})
	h := New(constInvoker{webapp.PublishResponse{Publication: 7283612}}, Config{Auth: checker})
	newRequest := func() (*http.Request, *rewindBody, *discardWriter) {
		rb := &rewindBody{}
		r := &http.Request{
			Method: http.MethodPost, URL: &url.URL{Path: "/api/v1/publish"}, Body: rb,
			Header:        http.Header{"Content-Type": {"application/json"}},
			ContentLength: int64(len(body)), RemoteAddr: "203.0.113.5:50000",
		}
		return r.WithContext(context.Background()), rb, &discardWriter{}
	}
	run := func(b *testing.B, r *http.Request, rb *rewindBody, w *discardWriter) {
		rb.Reset(body)
		w.header = http.Header{}
		h.ServeHTTP(w, r)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}

	b.Run("apikey", func(b *testing.B) {
		r, rb, w := newRequest()
		r.Header.Set("Authorization", "Bearer bench-key")
		b.ReportAllocs()
		for b.Loop() {
			run(b, r, rb, w)
		}
	})
	b.Run("signed", func(b *testing.B) {
		r, rb, w := newRequest()
		s := newBenchSigner(secret, r)
		b.ReportAllocs()
		for b.Loop() {
			s.sign(r, body)
			run(b, r, rb, w)
		}
	})
	b.Run("sign-only", func(b *testing.B) {
		r, _, _ := newRequest()
		s := newBenchSigner(secret, r)
		b.ReportAllocs()
		for b.Loop() {
			s.sign(r, body)
		}
	})
}

// benchSigner signs successive requests with fresh nonces, as a client would, reusing its HMAC.
type benchSigner struct {
	mac   hashWriter
	n     int
	ts    string
	buf   []byte
	hexed [2 * sha256.Size]byte
}

// hashWriter is the part of hash.Hash the signer uses.
type hashWriter interface {
	Write(p []byte) (int, error)
	Sum(b []byte) []byte
	Reset()
}

func newBenchSigner(secret string, r *http.Request) *benchSigner {
	s := &benchSigner{mac: hmac.New(sha256.New, []byte(secret)), ts: strconv.FormatInt(time.Now().Unix(), 10)}
	r.Header[httpauth.HeaderKeyID] = []string{"bench"}
	r.Header[httpauth.HeaderTimestamp] = []string{s.ts}
	r.Header[httpauth.HeaderNonce] = []string{""}
	r.Header[httpauth.HeaderSignature] = []string{""}
	return s
}

// sign sets a fresh nonce and its signature on r (the string to sign as httpauth.Sign builds it).
func (s *benchSigner) sign(r *http.Request, body []byte) {
	s.n++
	nonce := strconv.Itoa(s.n)
	s.buf = append(s.buf[:0], r.Method...)
	s.buf = append(s.buf, '\n')
	s.buf = append(s.buf, r.URL.RequestURI()...)
	s.buf = append(s.buf, '\n')
	s.buf = append(s.buf, s.ts...)
	s.buf = append(s.buf, '\n')
	s.buf = append(s.buf, nonce...)
	s.buf = append(s.buf, '\n')
	s.mac.Reset()
	s.mac.Write(s.buf)
	s.mac.Write(body)
	var sum [sha256.Size]byte
	hex.Encode(s.hexed[:], s.mac.Sum(sum[:0]))
	r.Header[httpauth.HeaderNonce][0] = nonce
	r.Header[httpauth.HeaderSignature][0] = string(s.hexed[:])
}
