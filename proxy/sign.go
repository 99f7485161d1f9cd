package proxy

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/gateway-dev/gateway/internal/webapp/httpauth"
)

// The headers of a signed request.
const (
	HeaderKeyID     = "X-Gateway-Key-Id"
	HeaderTimestamp = "X-Gateway-Timestamp"
	HeaderNonce     = "X-Gateway-Nonce"
	HeaderSignature = "X-Gateway-Signature"
)

// Sign returns the X-Gateway-Signature of a request: the lowercase hex HMAC-SHA256, keyed with
// secret, of
//
//	method + "\n" + requestURI + "\n" + ts (decimal unix seconds) + "\n" + nonce + "\n" + body
//
// where requestURI is the path plus "?query" exactly as sent. The gateway accepts a timestamp within
// its signature window (default ±5 minutes) and each nonce (1 to 128 printable ASCII characters)
// once.
func Sign(secret, method, requestURI string, ts int64, nonce string, body []byte) string {
	return httpauth.Sign(secret, method, requestURI, ts, nonce, body) // the gateway's own, so they agree
}

// newNonce returns 128 random bits in hex.
func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// authorize sets the credentials of an HTTP request whose body is body: the signature headers when
// the config has a signing key, else the Bearer token, else nothing.
func (cfg *Config) authorize(r *http.Request, body []byte) {
	switch {
	case cfg.KeyID != "":
		ts := time.Now().Unix()
		nonce := newNonce()
		r.Header.Set(HeaderKeyID, cfg.KeyID)
		r.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		r.Header.Set(HeaderNonce, nonce)
		r.Header.Set(HeaderSignature, Sign(cfg.Secret, r.Method, r.URL.RequestURI(), ts, nonce, body))
	case cfg.APIKey != "":
		r.Header.Set("Authorization", "Bearer "+cfg.APIKey)
	}
}
