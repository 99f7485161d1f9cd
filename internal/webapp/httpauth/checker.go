// Package httpauth authenticates requests to the web-app HTTP listener (the HTTP/JSON and XML-RPC
// representatives). A request proves itself in one of three ways, tried in this order:
//
//  1. a signed request: headers X-Gateway-Key-Id, X-Gateway-Timestamp, X-Gateway-Nonce and
//     X-Gateway-Signature (see Sign for the string to sign). Present any of them and the request is
//     treated as signed: all four must be present and valid.
//  2. an API key: "Authorization: Bearer <key>".
//  3. no credentials at all, from a loopback address (127.0.0.0/8, ::1), when Config.AllowLoopback.
//
// Credentials that are presented are always verified, even from a loopback address: a wrong key is
// refused rather than ignored. A Checker whose Config has no keys and AllowLoopback false refuses
// every request.
package httpauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gateway-dev/gateway/internal/webapp"
)

// DefaultWindow is the accepted clock skew of signed requests when Config.Window is not set.
const DefaultWindow = 5 * time.Minute

// DefaultMaxNonces bounds the replay cache when Config.MaxNonces is not set.
const DefaultMaxNonces = 1_000_000

// Config configures a Checker.
type Config struct {
	// APIKeys are accepted as "Authorization: Bearer <key>" (compared in constant time). Empty
	// strings are ignored.
	APIKeys []string
	// HMACKeys maps a key id (X-Gateway-Key-Id) to its shared secret. Entries with an empty id or
	// secret are ignored.
	HMACKeys map[string]string
	// Window is the accepted clock skew of signed requests: X-Gateway-Timestamp must be within
	// ±Window of the gateway's clock, and a nonce is remembered for that long. Default 5m.
	Window time.Duration
	// AllowLoopback lets requests that carry no credentials through when they come from a loopback
	// address (r.RemoteAddr only; X-Forwarded-For is never consulted). Behind a reverse proxy on
	// the same host every request comes from loopback: leave this off in that setup.
	AllowLoopback bool
	// MaxNonces bounds the replay cache (default 1e6 nonces across all key ids). When it is full of
	// unexpired nonces, signed requests are refused (wamp.error.unavailable) until some expire.
	MaxNonces int
}

// Checker verifies the credentials of web-app HTTP requests. It is safe for concurrent use and
// starts no goroutines: expired nonces are dropped as signed requests arrive.
type Checker struct {
	apiKeys       [][sha256.Size]byte
	hmacKeys      map[string]*signer
	window        time.Duration
	allowLoopback bool
	replay        *replayCache
}

// New returns a Checker for cfg.
func New(cfg Config) *Checker {
	c := &Checker{
		hmacKeys:      make(map[string]*signer, len(cfg.HMACKeys)),
		window:        cfg.Window,
		allowLoopback: cfg.AllowLoopback,
	}
	if c.window <= 0 {
		c.window = DefaultWindow
	}
	for _, k := range cfg.APIKeys {
		if k != "" {
			c.apiKeys = append(c.apiKeys, sha256.Sum256([]byte(k)))
		}
	}
	for id, secret := range cfg.HMACKeys {
		if id != "" && secret != "" {
			c.hmacKeys[id] = newSigner(secret)
		}
	}
	maxNonces := cfg.MaxNonces
	if maxNonces <= 0 {
		maxNonces = DefaultMaxNonces
	}
	c.replay = newReplayCache(maxNonces)
	return c
}

// Close releases nothing in particular: the Checker runs no background goroutine. It exists so
// owners can treat the Checker like their other resources; Check keeps working after Close.
func (c *Checker) Close() {}

// Check verifies the credentials of r, whose body (already read by the caller) is body. It returns
// nil, or a *webapp.Error: webapp.ErrUnauthenticated with a message saying what is wrong, or
// wamp.ErrUnavailable when the replay cache is full.
func (c *Checker) Check(r *http.Request, body []byte) error {
	if isSigned(r.Header) {
		return c.checkSigned(r, body, time.Now())
	}
	if values := r.Header.Values("Authorization"); len(values) > 0 {
		return c.checkBearer(values)
	}
	if c.allowLoopback && IsLoopback(r.RemoteAddr) {
		return nil
	}
	if len(c.apiKeys) == 0 && len(c.hmacKeys) == 0 {
		return unauthenticated("no API keys or HMAC keys are configured for the web-app interface: every request is refused")
	}
	return unauthenticated("credentials required: send \"Authorization: Bearer <api key>\" or a signed request (X-Gateway-Key-Id, X-Gateway-Timestamp, X-Gateway-Nonce, X-Gateway-Signature)")
}

// checkBearer verifies an "Authorization: Bearer <key>" header.
func (c *Checker) checkBearer(values []string) error {
	if len(values) > 1 {
		return unauthenticated("more than one Authorization header")
	}
	scheme, key, _ := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return unauthenticated("unsupported Authorization scheme: use \"Bearer <api key>\"")
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return unauthenticated("empty API key in Authorization header")
	}
	if len(c.apiKeys) == 0 {
		return unauthenticated("invalid API key (no API keys are configured)")
	}
	sum := sha256.Sum256([]byte(key))
	match := 0
	for i := range c.apiKeys {
		match |= subtle.ConstantTimeCompare(sum[:], c.apiKeys[i][:])
	}
	if match != 1 {
		return unauthenticated("invalid API key")
	}
	return nil
}

// IsLoopback reports whether remoteAddr (an http.Request.RemoteAddr, "host:port" or a bare host)
// is a loopback address: 127.0.0.0/8, ::1 or an IPv4-mapped form of them.
func IsLoopback(remoteAddr string) bool {
	host := remoteAddr
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		host = h
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return addr.Unmap().IsLoopback()
}

// unauthenticated returns an ErrUnauthenticated error with message msg.
func unauthenticated(msg string) *webapp.Error {
	return &webapp.Error{URI: webapp.ErrUnauthenticated, Message: msg}
}
