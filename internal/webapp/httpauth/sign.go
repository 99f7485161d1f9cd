package httpauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/wamp"
)

// The headers of a signed request.
const (
	HeaderKeyID     = "X-Gateway-Key-Id"
	HeaderTimestamp = "X-Gateway-Timestamp"
	HeaderNonce     = "X-Gateway-Nonce"
	HeaderSignature = "X-Gateway-Signature"
)

// MaxNonceLen is the longest accepted X-Gateway-Nonce.
const MaxNonceLen = 128

// Sign returns the X-Gateway-Signature of a request: the lowercase hex HMAC-SHA256, keyed with
// secret, of
//
//	method + "\n" + requestURI + "\n" + ts (decimal) + "\n" + nonce + "\n" + body
//
// where requestURI is the path plus "?query" exactly as sent (http.Request.URL.RequestURI()).
func Sign(secret, method, requestURI string, ts int64, nonce string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(appendPrefix(nil, method, requestURI, strconv.FormatInt(ts, 10), nonce))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// appendPrefix appends the part of the string to sign that precedes the body.
func appendPrefix(dst []byte, method, requestURI, ts, nonce string) []byte {
	dst = append(dst, method...)
	dst = append(dst, '\n')
	dst = append(dst, requestURI...)
	dst = append(dst, '\n')
	dst = append(dst, ts...)
	dst = append(dst, '\n')
	dst = append(dst, nonce...)
	return append(dst, '\n')
}

// signer computes one key's signatures, reusing keyed HMAC states.
type signer struct {
	pool sync.Pool // of *macState
}

// macState is a keyed HMAC and scratch space for the string to sign.
type macState struct {
	mac hash.Hash
	buf []byte
	sum []byte
}

func newSigner(secret string) *signer {
	key := []byte(secret)
	s := &signer{}
	s.pool.New = func() any {
		return &macState{mac: hmac.New(sha256.New, key), buf: make([]byte, 0, 256), sum: make([]byte, 0, sha256.Size)}
	}
	return s
}

// verify reports whether sig (hex, either case) is the signature of the request.
func (s *signer) verify(sig, method, requestURI, ts, nonce string, body []byte) bool {
	if len(sig) != 2*sha256.Size {
		return false
	}
	var want [sha256.Size]byte
	if !decodeHex(want[:], sig) {
		return false
	}
	st := s.pool.Get().(*macState)
	defer s.pool.Put(st)
	st.mac.Reset()
	st.buf = appendPrefix(st.buf[:0], method, requestURI, ts, nonce)
	st.mac.Write(st.buf)
	st.mac.Write(body)
	st.sum = st.mac.Sum(st.sum[:0])
	return hmac.Equal(st.sum, want[:])
}

// isSigned reports whether h carries any of the signed-request headers.
func isSigned(h http.Header) bool {
	return len(h[HeaderKeyID]) > 0 || len(h[HeaderTimestamp]) > 0 || len(h[HeaderNonce]) > 0 || len(h[HeaderSignature]) > 0
}

// signedHeader returns the single value of header name, or an error naming what is wrong.
func signedHeader(h http.Header, name string) (string, *webapp.Error) {
	values := h[name]
	switch {
	case len(values) == 0 || values[0] == "":
		return "", unauthenticated("signed request lacks " + name)
	case len(values) > 1:
		return "", unauthenticated("signed request has more than one " + name)
	}
	return values[0], nil
}

// checkSigned verifies a signed request at time now. The nonce is recorded only once the signature
// is valid, so unsigned traffic cannot fill the replay cache.
func (c *Checker) checkSigned(r *http.Request, body []byte, now time.Time) error {
	var hv [4]string
	for i, name := range [4]string{HeaderKeyID, HeaderTimestamp, HeaderNonce, HeaderSignature} {
		v, err := signedHeader(r.Header, name)
		if err != nil {
			return err
		}
		hv[i] = v
	}
	keyID, tsText, nonce, sig := hv[0], hv[1], hv[2], hv[3]
	s, ok := c.hmacKeys[keyID]
	if !ok {
		return unauthenticated("unknown key id in " + HeaderKeyID)
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil || strconv.FormatInt(ts, 10) != tsText {
		return unauthenticated(HeaderTimestamp + " must be an integer number of unix seconds")
	}
	stamp := time.Unix(ts, 0)
	if now.Sub(stamp) > c.window || stamp.Sub(now) > c.window {
		e := unauthenticated("request expired: " + HeaderTimestamp + " is outside ±" + c.window.String() + " of the gateway's clock (check the clocks, or the request was replayed late)")
		e.Details = map[string]any{"server_time": now.Unix()}
		return e
	}
	if !validNonce(nonce) {
		return unauthenticated(HeaderNonce + " must be 1 to 128 printable ASCII characters")
	}
	if !s.verify(sig, r.Method, r.URL.RequestURI(), tsText, nonce, body) {
		return unauthenticated("bad signature in " + HeaderSignature + " (expected lowercase hex HMAC-SHA256 of METHOD\\nREQUEST_URI\\nTIMESTAMP\\nNONCE\\nBODY)")
	}
	switch c.replay.add(keyID, nonce, stamp.Add(c.window), now) {
	case errReplayed:
		return unauthenticated("nonce already used: replayed request refused")
	case errCacheFull:
		return &webapp.Error{URI: wamp.ErrUnavailable, Message: "replay cache full: too many signed requests within the window; retry later"}
	}
	return nil
}

// validNonce reports whether nonce is 1 to MaxNonceLen printable ASCII characters.
func validNonce(nonce string) bool {
	if len(nonce) == 0 || len(nonce) > MaxNonceLen {
		return false
	}
	for i := 0; i < len(nonce); i++ {
		if nonce[i] < 0x20 || nonce[i] > 0x7e {
			return false
		}
	}
	return true
}

// decodeHex decodes the hex string src (either case) into dst, which is len(src)/2 bytes long,
// without allocating.
func decodeHex(dst []byte, src string) bool {
	for i := range dst {
		hi, ok1 := hexValue(src[2*i])
		lo, ok2 := hexValue(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

// hexValue is the value of the hex digit c.
func hexValue(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
