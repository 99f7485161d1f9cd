package config

import (
	"crypto"
	"time"
)

// Store configures the embedded durable store ([store]).
type Store struct {
	// DataDir is the directory of the store (made absolute against the configuration file's
	// directory; "data" in the working directory without a file). One process at a time.
	DataDir string `toml:"data_dir"`
	// Sync is the durability policy of durable writes: "group" (default) or "always" (see
	// persist.go and SyncMode).
	Sync string `toml:"sync"`
	// MaxPersistentSubscriptions bounds the persistent subscriptions of one client; 0 means
	// DefaultMaxPersistentSubscriptions.
	MaxPersistentSubscriptions int `toml:"max_persistent_subscriptions"`
	// MaxBacklog bounds the events kept for a persistent subscription whose client is away; 0
	// means DefaultMaxBacklog.
	MaxBacklog int `toml:"max_backlog"`
	// Retention bounds event logs per topic pattern ([[store.retention]]), first match wins.
	Retention []RetentionRule `toml:"retention"`
}

// DefaultDataDir is the store's directory without configuration.
const DefaultDataDir = "data"

// ClientToken configures client identity tokens and their cookie ([client_token]).
type ClientToken struct {
	// Enabled issues a token on every WebSocket connection and recognises returning clients.
	Enabled bool `toml:"enabled"`
	// Name is the cookie's name.
	Name string `toml:"name"`
	// MaxAge is the token's lifetime and the cookie's Max-Age; each recognition extends it.
	MaxAge time.Duration `toml:"max_age"`
	// Domain is the cookie's Domain attribute; "" means the host the client connected to.
	Domain string `toml:"domain"`
	// Path is the cookie's Path attribute.
	Path string `toml:"path"`
	// Secure sets the cookie's Secure attribute; nil means "on for TLS listeners".
	Secure *bool `toml:"secure"`
	// HTTPOnly sets the cookie's HttpOnly attribute (scripts cannot read the cookie).
	HTTPOnly bool `toml:"http_only"`
	// SameSite is "lax", "strict", "none" or "" (attribute not sent).
	SameSite string `toml:"same_site"`
}

// Auth holds process-wide authentication settings ([auth]).
type Auth struct {
	// AllowedOrigins lists the browser origins allowed to open WebSocket connections, exactly
	// ("https://app.example.com") or with a leading wildcard label
	// ("https://*.example.com"). Empty allows every origin.
	AllowedOrigins []string `toml:"allowed_origins"`
	// MaxFailures is how many failed authentications a remote address may have within
	// FailureWindow before further attempts are refused; 0 disables the limit.
	MaxFailures int `toml:"max_failures"`
	// FailureWindow is the period over which MaxFailures applies (the refill time of the
	// address's whole budget).
	FailureWindow time.Duration `toml:"failure_window"`
}

// Authentication method names (WAMP authmethods) a realm can enable.
const (
	MethodAnonymous  = "anonymous"
	MethodTicket     = "ticket"
	MethodWAMPCRA    = "wampcra"
	MethodCryptosign = "cryptosign"
	MethodCookie     = "cookie"
	MethodDelegated  = "delegated"
)

// Methods lists every authentication method, in the order the documentation presents them.
var Methods = []string{MethodAnonymous, MethodTicket, MethodWAMPCRA, MethodCryptosign, MethodCookie, MethodDelegated}

// Ticket kinds accepted by the "ticket" method (realms.auth.ticket.accept).
const (
	TicketStatic  = "static"
	TicketOneTime = "one_time"
	TicketJWT     = "jwt"
)

// JWT signature algorithms.
const (
	JWTHS256 = "HS256"
	JWTRS256 = "RS256"
	JWTEdDSA = "EdDSA"
)

// RealmAuth configures how clients authenticate to a realm ([realms.auth]).
type RealmAuth struct {
	// Methods are the enabled authentication methods. Empty means anonymous only (and the
	// realm then authorizes everything, as without any auth configuration).
	Methods []string `toml:"methods"`

	Anonymous  AnonymousAuth  `toml:"anonymous"`
	Ticket     TicketAuth     `toml:"ticket"`
	WAMPCRA    CRAAuth        `toml:"wampcra"`
	Cryptosign CryptosignAuth `toml:"cryptosign"`
	Cookie     CookieAuth     `toml:"cookie"`
	Delegated  DelegatedAuth  `toml:"delegated"`
}

// Enabled reports whether method is in Methods (or is anonymous while Methods is empty).
func (a *RealmAuth) Enabled(method string) bool {
	if len(a.Methods) == 0 {
		return method == MethodAnonymous
	}
	for _, m := range a.Methods {
		if m == method {
			return true
		}
	}
	return false
}

// AnonymousAuth configures the anonymous method ([realms.auth.anonymous]).
type AnonymousAuth struct {
	// Role is the authrole given to anonymous sessions; "" means DefaultAnonymousRole.
	Role string `toml:"role"`
}

// RoleName returns Role, or DefaultAnonymousRole when it is empty.
func (a *AnonymousAuth) RoleName() string {
	if a.Role == "" {
		return DefaultAnonymousRole
	}
	return a.Role
}

// TicketAuth configures the ticket method ([realms.auth.ticket]).
type TicketAuth struct {
	// Accept lists the kinds of tickets accepted: "static", "one_time", "jwt".
	Accept []string `toml:"accept"`
	// Principals are the static tickets.
	Principals []TicketPrincipal `toml:"principals"`
	// JWT configures JWT tickets.
	JWT JWTAuth `toml:"jwt"`
}

// Accepts reports whether kind is in Accept.
func (t *TicketAuth) Accepts(kind string) bool {
	for _, k := range t.Accept {
		if k == kind {
			return true
		}
	}
	return false
}

// TicketPrincipal is a static ticket ([[realms.auth.ticket.principals]]).
type TicketPrincipal struct {
	AuthID string `toml:"authid"`
	Role   string `toml:"role"`
	Secret Secret `toml:"secret"`
}

// JWTAuth configures JWT tickets ([realms.auth.ticket.jwt]).
type JWTAuth struct {
	// Algorithm is HS256 (Secret), RS256 or EdDSA (PublicKey).
	Algorithm string `toml:"algorithm"`
	// Secret is the HS256 shared secret (at least 32 bytes).
	Secret Secret `toml:"secret"`
	// PublicKey is a PEM file with the RS256 or EdDSA public key (absolute after loading).
	PublicKey string `toml:"public_key"`
	// Key is the parsed PublicKey (*rsa.PublicKey or ed25519.PublicKey), set by Load.
	Key crypto.PublicKey `toml:"-"`
	// RoleClaim names the claim that holds the authrole.
	RoleClaim string `toml:"role_claim"`
	// DefaultRole is the authrole of tokens without RoleClaim; "" refuses such tokens.
	DefaultRole string `toml:"default_role"`
	// Issuer, when set, must equal the token's "iss" claim.
	Issuer string `toml:"issuer"`
	// Leeway tolerates clock differences when checking exp, nbf and iat.
	Leeway time.Duration `toml:"leeway"`
}

// CRAAuth configures WAMP-CRA ([realms.auth.wampcra]).
type CRAAuth struct {
	Principals []CRAPrincipal `toml:"principals"`
}

// CRAPrincipal is a WAMP-CRA user ([[realms.auth.wampcra.principals]]).
type CRAPrincipal struct {
	AuthID string `toml:"authid"`
	Role   string `toml:"role"`
	// Secret is the shared secret; with Salt, the key derived from the password exactly as
	// AutobahnPython's auth.derive_key(password, salt, iterations, keylen) returns it.
	Secret Secret `toml:"secret"`
	// Salt, Iterations and KeyLen are the PBKDF2 parameters sent to the client (Salt "" means
	// an unsalted secret).
	Salt       string `toml:"salt"`
	Iterations int    `toml:"iterations"`
	KeyLen     int    `toml:"keylen"`
}

func (p *CRAPrincipal) setDefaults() { p.Iterations, p.KeyLen = 1000, 32 }

// CryptosignAuth configures WAMP-cryptosign ([realms.auth.cryptosign]).
type CryptosignAuth struct {
	Principals []CryptosignPrincipal `toml:"principals"`
}

// CryptosignPrincipal is a cryptosign user ([[realms.auth.cryptosign.principals]]).
type CryptosignPrincipal struct {
	AuthID string `toml:"authid"`
	Role   string `toml:"role"`
	// AuthorizedKeys are Ed25519 public keys, 64 hex characters each.
	AuthorizedKeys []string `toml:"authorized_keys"`
}

// CookieAuth configures the cookie method ([realms.auth.cookie]).
type CookieAuth struct {
	// Duration is how long after an authentication with another method the client token alone
	// re-authenticates the client.
	Duration time.Duration `toml:"duration"`
}

// DelegatedAuth configures delegated authentication ([realms.auth.delegated]).
type DelegatedAuth struct {
	// URL is the web-app endpoint the gateway POSTs to.
	URL string `toml:"url"`
	// Headers names the upgrade request's headers forwarded besides Cookie.
	Headers []string `toml:"headers"`
	// Timeout bounds the whole request.
	Timeout time.Duration `toml:"timeout"`
	// Secret, when set, is sent as the X-Gateway-Secret header so the web-app can tell the
	// gateway's requests from others.
	Secret Secret `toml:"secret"`
}

// Role is a set of permissions in a realm ([[realms.roles]]).
type Role struct {
	Name        string       `toml:"name"`
	Permissions []Permission `toml:"permissions"`
}

// Permission grants actions on URIs matching a pattern ([[realms.roles.permissions]]).
type Permission struct {
	// URI is the pattern; with Match "prefix" the empty URI matches everything.
	URI string `toml:"uri"`
	// Match is "exact", "prefix" or "wildcard".
	Match string `toml:"match"`
	// Allow lists the allowed actions: "publish", "subscribe", "call", "register".
	Allow []string `toml:"allow"`
	// DiscloseCaller discloses the caller to callees for calls matched by this permission.
	DiscloseCaller bool `toml:"disclose_caller"`
	// DisclosePublisher discloses the publisher to subscribers for events matched by it.
	DisclosePublisher bool `toml:"disclose_publisher"`
}

func (p *Permission) setDefaults() { p.Match = "exact" }

// Actions a permission can allow.
var Actions = []string{"publish", "subscribe", "call", "register"}

// Defaults of the realm-level auth settings.
const (
	DefaultAnonymousRole = "anonymous"
	DefaultRoleClaim     = "role"
	DefaultJWTLeeway     = 10 * time.Second
	DefaultCookieAuth    = 24 * time.Hour
	DefaultDelegateWait  = 5 * time.Second
)

func (a *RealmAuth) setDefaults() {
	a.Anonymous.Role = DefaultAnonymousRole
	a.Ticket.JWT.RoleClaim = DefaultRoleClaim
	a.Ticket.JWT.Leeway = DefaultJWTLeeway
	a.Cookie.Duration = DefaultCookieAuth
	a.Delegated.Timeout = DefaultDelegateWait
}

func defaultClientToken() ClientToken {
	return ClientToken{
		Enabled:  true,
		Name:     "gateway_token",
		MaxAge:   30 * 24 * time.Hour,
		Path:     "/",
		HTTPOnly: true,
		SameSite: "lax",
	}
}

func defaultAuth() Auth {
	return Auth{MaxFailures: 10, FailureWindow: time.Minute}
}
