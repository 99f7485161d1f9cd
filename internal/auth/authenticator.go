package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/store"
	"github.com/gateway-dev/gateway/wamp"
)

// Deps are the shared services an Authenticator uses. Every field may be nil.
type Deps struct {
	// Store holds one-time tickets (IssueTicket, the ticket method's one_time kind).
	Store *store.Store
	// Tokens remembers authentications with client tokens (for the cookie method).
	Tokens *Tokens
	// Limiter throttles failed authentications per remote address.
	Limiter *Limiter
	// HTTPClient is used by the delegated method (nil: a default client that does not follow
	// redirects).
	HTTPClient *http.Client
	// Logger receives failures of the store and the delegated method (never secrets).
	Logger *slog.Logger
}

// Authenticator authenticates the sessions of one realm: it runs the first method of the
// client's HELLO.Details.authmethods (in the client's order) that the realm enables; a client
// that offers no methods is treated as offering "anonymous". A method that does not apply
// (cookie without a remembered login) passes on to the client's next method. It is safe for
// concurrent use.
type Authenticator struct {
	realm   string
	methods map[string]Method
	enabled []string // in configuration order, for messages
	authz   *Authorizer
	oneTime bool
	deps    Deps
	log     *slog.Logger
}

// NewAuthenticator builds the authenticator of realm r from its configuration; authz (from
// NewAuthorizer for the same realm; may be nil) is used to refuse identities whose role the
// realm does not define.
func NewAuthenticator(r *config.Realm, authz *Authorizer, deps Deps) (*Authenticator, error) {
	a := &Authenticator{realm: r.Name, methods: map[string]Method{}, authz: authz, deps: deps, log: deps.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	methods := r.Auth.Methods
	if len(methods) == 0 {
		methods = []string{config.MethodAnonymous}
	}
	for _, name := range methods {
		var m Method
		switch name {
		case config.MethodAnonymous:
			m = NewAnonymous(r.Auth.Anonymous.RoleName())
		case config.MethodTicket:
			t, err := NewTicket(r.Name, &r.Auth.Ticket, deps.Store)
			if err != nil {
				return nil, err
			}
			a.oneTime = t.oneTime
			m = t
		case config.MethodWAMPCRA:
			c, err := NewWAMPCRA(&r.Auth.WAMPCRA)
			if err != nil {
				return nil, err
			}
			m = c
		case config.MethodCryptosign:
			c, err := NewCryptosign(&r.Auth.Cryptosign)
			if err != nil {
				return nil, err
			}
			m = c
		case config.MethodCookie:
			m = NewCookie(r.Name, r.Auth.Cookie.Duration)
		case config.MethodDelegated:
			m = NewDelegated(r.Name, &r.Auth.Delegated, deps.HTTPClient)
		default:
			return nil, fmt.Errorf("auth: realm %s: unknown authentication method %q", r.Name, name)
		}
		a.Add(m)
	}
	return a, nil
}

// Add enables method m (replacing one of the same name). Call it before the authenticator is
// used.
func (a *Authenticator) Add(m Method) {
	if _, dup := a.methods[m.Name()]; !dup {
		a.enabled = append(a.enabled, m.Name())
	}
	a.methods[m.Name()] = m
}

// Methods returns the enabled methods' names.
func (a *Authenticator) Methods() []string { return append([]string(nil), a.enabled...) }

// Authenticate answers a HELLO: an Identity for WELCOME, a Challenge to send (then call its
// Verify with the AUTHENTICATE), or an *Error for ABORT. ctx bounds network calls (delegated).
func (a *Authenticator) Authenticate(ctx context.Context, req *Request) (*Identity, *Challenge, error) {
	offered := req.AuthMethods
	if len(offered) == 0 {
		offered = []string{config.MethodAnonymous}
	}
	var addr net.Addr
	if req.Peer != nil {
		addr = req.Peer.RemoteAddr
	}
	tried := false
	var throttled, skipped *Error
	for _, name := range offered {
		m := a.methods[name]
		if m == nil {
			continue
		}
		if name != config.MethodAnonymous {
			// A throttled address may still join anonymously, if it offers that too.
			if ok, wait := a.deps.Limiter.Allow(addr); !ok {
				throttled = notAuthorized(fmt.Sprintf(
					"too many failed authentication attempts from your address: try again in %s", wait))
				continue
			}
		}
		tried = true
		id, ch, err := m.Authenticate(ctx, req)
		if errors.Is(err, ErrSkip) {
			// The method does not apply; a refusal that says why (delegated: "not logged
			// in") is the answer if no later method admits the client.
			var e *Error
			if errors.As(err, &e) {
				skipped = e
			}
			continue
		}
		if err != nil {
			return nil, nil, a.failure(addr, name, err)
		}
		if ch != nil {
			return nil, a.wrap(ch, req, addr), nil
		}
		if id, err = a.success(req, id); err != nil {
			return nil, nil, err
		}
		return id, nil, nil
	}
	if throttled != nil {
		return nil, nil, throttled
	}
	if skipped != nil {
		return nil, nil, skipped
	}
	if tried {
		return nil, nil, &Error{URI: wamp.ErrNoAuthMethod, Message: fmt.Sprintf(
			"none of the offered authmethods [%s] can authenticate this client on realm %q", strings.Join(offered, ", "), a.realm)}
	}
	return nil, nil, &Error{URI: wamp.ErrNoAuthMethod, Message: fmt.Sprintf(
		"none of the offered authmethods [%s] is enabled on realm %q (enabled: %s)", strings.Join(offered, ", "), a.realm, strings.Join(a.enabled, ", "))}
}

// wrap returns a challenge whose Verify also counts failures and completes a success.
func (a *Authenticator) wrap(ch *Challenge, req *Request, addr net.Addr) *Challenge {
	return NewChallenge(ch.Method, ch.Extra, func(ctx context.Context, signature string, extra wamp.Dict) (*Identity, error) {
		id, err := ch.Verify(ctx, signature, extra)
		if err != nil {
			return nil, a.failure(addr, ch.Method, err)
		}
		return a.success(req, id)
	})
}

// failure counts a refused authentication and makes err an *Error.
func (a *Authenticator) failure(addr net.Addr, method string, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		e = failed("authentication failed").withCause(err)
	}
	a.deps.Limiter.Failure(addr)
	if e.cause != nil {
		a.log.Warn("authentication failed", "realm", a.realm, "method", method, "peer", addrString(addr), "reason", e.Message, "err", e.cause)
	} else {
		a.log.Debug("authentication failed", "realm", a.realm, "method", method, "peer", addrString(addr), "reason", e.Message)
	}
	return e
}

func addrString(addr net.Addr) string {
	if addr == nil {
		return ""
	}
	return addr.String()
}

// success checks the identity's role and remembers the authentication with the client token.
func (a *Authenticator) success(req *Request, id *Identity) (*Identity, error) {
	if a.authz != nil && !a.authz.HasRole(id.AuthRole) {
		a.log.Warn("authenticated identity has a role the realm does not define", "realm", a.realm, "authid", id.AuthID, "authrole", id.AuthRole)
		return nil, notAuthorized(fmt.Sprintf("role %q is not defined on realm %q", id.AuthRole, a.realm))
	}
	if ct := req.ClientToken; ct != nil && a.deps.Tokens != nil &&
		id.AuthMethod != config.MethodAnonymous && id.AuthMethod != config.MethodCookie {
		if err := a.deps.Tokens.Remember(ct, a.realm, id); err != nil {
			a.log.Warn("cannot remember the authentication with the client token", "realm", a.realm, "err", err)
		}
	}
	return id, nil
}

// IssueTicket issues a one-time ticket for authid with authrole in this realm, valid for ttl;
// authextra (may be nil) becomes the session's authextra. The realm must accept one-time tickets
// and define authrole (when it has roles).
func (a *Authenticator) IssueTicket(authid, authrole string, ttl time.Duration, authextra wamp.Dict) (string, time.Time, error) {
	if !a.oneTime {
		return "", time.Time{}, fmt.Errorf(`auth: realm %s does not accept one-time tickets (enable "ticket" with accept = ["one_time", ...])`, a.realm)
	}
	if a.authz != nil && !a.authz.HasRole(authrole) {
		return "", time.Time{}, fmt.Errorf("auth: role %q is not defined on realm %s", authrole, a.realm)
	}
	return IssueTicket(a.deps.Store, a.realm, authid, authrole, ttl, authextra)
}
