package auth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/store"
	"github.com/gateway-dev/gateway/wamp"
)

// tokenBytes is the number of random bytes in a client token (192 bits; 32 base64url
// characters).
const tokenBytes = 24

// tokenLen is the length of a client token.
const tokenLen = 32

// ClientToken is a client's identity token as resolved for one connection.
type ClientToken struct {
	// Value is the token itself: the cookie value and WELCOME.Details.authextra.client_token.
	Value string
	// ClientID identifies the client across connections while the token lives.
	ClientID string
	// Expires is when the token stops being recognised unless the client comes back earlier.
	Expires time.Time
	// Fresh is true when the token was issued for this connection (the client presented none,
	// or an unknown, expired, revoked or malformed one).
	Fresh bool
	// identity is the last authentication remembered with the token (for the cookie method).
	identity *store.Identity
}

// Tokens issues and recognises client identity tokens. A token is ≥128 random bits in
// base64url, stored (as SHA-256) with a client ID and an expiry; recognising a token extends its
// expiry to max_age from now (sliding), so an active client keeps its identity. Its methods are
// safe for concurrent use. Without a usable store they fail with an error matching
// store.ErrUnavailable; the gateway then goes on without client tokens.
type Tokens struct {
	st  *store.Store
	cfg config.ClientToken
	now func() time.Time
}

// NewTokens returns the token service over st with the [client_token] settings cfg.
func NewTokens(st *store.Store, cfg config.ClientToken) *Tokens {
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 30 * 24 * time.Hour
	}
	if cfg.Name == "" {
		cfg.Name = "gateway_token"
	}
	if cfg.Path == "" {
		cfg.Path = "/"
	}
	return &Tokens{st: st, cfg: cfg, now: time.Now}
}

// CookieName returns the name of the token cookie.
func (t *Tokens) CookieName() string { return t.cfg.Name }

// FromHeader returns the token cookie's value from an HTTP request header ("" when absent).
// Other cookies, even malformed ones (JSON values and the like), do not disturb it: each pair is
// parsed on its own. When the cookie appears more than once, the first well-formed value wins.
func (t *Tokens) FromHeader(h http.Header) string {
	if len(h["Cookie"]) == 0 {
		return ""
	}
	r := http.Request{Header: http.Header{"Cookie": h["Cookie"]}}
	first := ""
	for _, c := range r.CookiesNamed(t.cfg.Name) {
		if wellFormedToken(c.Value) {
			return c.Value
		}
		if first == "" {
			first = c.Value
		}
	}
	return first
}

// FromHello returns HELLO.Details.authextra.client_token ("" when absent or not a string).
func FromHello(details wamp.Dict) string {
	extra, _ := details["authextra"].(map[string]any)
	s, _ := extra["client_token"].(string)
	if len(s) > maxTokenCandidate {
		return ""
	}
	return s
}

// wellFormedToken reports whether s can be a token the gateway issued (length and alphabet), so
// malformed or tampered values are replaced without a store lookup.
func wellFormedToken(s string) bool {
	if len(s) != tokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Resolve returns the client's token for this connection: the first candidate that is a live
// token (not expired, not revoked), its expiry extended, or else a newly issued one (Fresh).
// Empty candidates are skipped. It fails only when the store is unusable.
func (t *Tokens) Resolve(candidates ...string) (*ClientToken, error) {
	now := t.now()
	for _, c := range candidates {
		if !wellFormedToken(c) {
			continue
		}
		rec, err := t.st.Token(c)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if rec.Revoked || !now.Before(rec.Expires) {
			continue
		}
		exp := now.Add(t.cfg.MaxAge)
		// Refresh only when it moves the expiry noticeably: a write per connection is
		// needless for clients that reconnect often.
		if exp.Sub(rec.Expires) >= refreshStep(t.cfg.MaxAge) {
			if err := t.st.RefreshToken(c, exp); err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			rec.Expires = exp
		}
		return &ClientToken{Value: c, ClientID: rec.ClientID, Expires: rec.Expires, identity: rec.Identity}, nil
	}
	return t.Issue()
}

// refreshStep is how much a recognition must extend a token's expiry before it is written.
func refreshStep(maxAge time.Duration) time.Duration {
	return min(max(maxAge/100, time.Second), time.Hour)
}

// Issue creates a new token with a new client ID.
func (t *Tokens) Issue() (*ClientToken, error) {
	now := t.now()
	var b [tokenBytes]byte
	var id [12]byte
	rand.Read(b[:])
	rand.Read(id[:])
	ct := &ClientToken{
		Value:    base64.RawURLEncoding.EncodeToString(b[:]),
		ClientID: hex.EncodeToString(id[:]),
		Expires:  now.Add(t.cfg.MaxAge),
		Fresh:    true,
	}
	if err := t.st.CreateToken(ct.Value, store.ClientToken{ClientID: ct.ClientID, Created: now, Expires: ct.Expires}); err != nil {
		return nil, fmt.Errorf("auth: issue client token: %w", err)
	}
	return ct, nil
}

// ForUpgrade resolves the client token of a WebSocket upgrade request (from its cookie) and
// returns it with the header to add to the 101 answer (Set-Cookie). Keep the token for the
// connection: at HELLO, Resolve(FromHello(details), ct.Value) prefers a live token the client
// sends in HELLO and otherwise keeps this one.
func (t *Tokens) ForUpgrade(r *http.Request) (*ClientToken, http.Header, error) {
	ct, err := t.Resolve(t.FromHeader(r.Header))
	if err != nil {
		return nil, nil, err
	}
	h := http.Header{}
	h.Add("Set-Cookie", t.SetCookie(ct, r.TLS != nil).String())
	return ct, h, nil
}

// SetCookie returns the cookie that hands ct to the client on the WebSocket upgrade response.
// tls says whether the connection is TLS: with secure unset in the configuration the cookie is
// Secure exactly then.
func (t *Tokens) SetCookie(ct *ClientToken, tls bool) *http.Cookie {
	secure := tls
	if t.cfg.Secure != nil {
		secure = *t.cfg.Secure
	}
	// Rounded: a token issued microseconds ago has exactly max_age left.
	maxAge := int(ct.Expires.Sub(t.now()).Round(time.Second) / time.Second)
	if maxAge < 1 {
		maxAge = 1
	}
	return &http.Cookie{
		Name:     t.cfg.Name,
		Value:    ct.Value,
		Path:     t.cfg.Path,
		Domain:   t.cfg.Domain,
		MaxAge:   maxAge,
		Secure:   secure,
		HttpOnly: t.cfg.HTTPOnly,
		SameSite: sameSite(t.cfg.SameSite),
	}
}

func sameSite(s string) http.SameSite {
	switch s {
	case "lax":
		return http.SameSiteLaxMode
	case "strict":
		return http.SameSiteStrictMode
	case "none":
		return http.SameSiteNoneMode
	}
	return http.SameSiteDefaultMode
}

// Remember records that the client of ct authenticated as id in realm, for the cookie method.
func (t *Tokens) Remember(ct *ClientToken, realm string, id *Identity) error {
	rec := store.Identity{
		Realm: realm, AuthID: id.AuthID, AuthRole: id.AuthRole, AuthMethod: id.AuthMethod,
		AuthProvider: id.AuthProvider, AuthExtra: id.AuthExtra, At: t.now(),
	}
	if err := t.st.SetTokenIdentity(ct.Value, rec); err != nil {
		return fmt.Errorf("auth: remember identity: %w", err)
	}
	ct.identity = &rec
	return nil
}

// Revoke makes token unusable: a client presenting it gets a fresh token and no cookie
// authentication.
func (t *Tokens) Revoke(token string) error { return t.st.RevokeToken(token) }

// RevokeAuthID revokes every token whose client last authenticated as authid (logging a user out
// everywhere) and returns how many.
func (t *Tokens) RevokeAuthID(authid string) (int, error) { return t.st.RevokeAuthID(authid) }
