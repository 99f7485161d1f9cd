// Package auth authenticates WAMP sessions and authorizes what they do.
//
// Authentication: an Authenticator per realm (NewAuthenticator) picks the first method of the
// client's HELLO.Details.authmethods that the realm enables and runs it. A method either
// returns an Identity at once (anonymous, cookie, delegated) or a Challenge to send as CHALLENGE,
// whose Verify checks the client's AUTHENTICATE (ticket, wampcra, cryptosign). Every refusal is
// an *Error carrying the ABORT reason (wamp.error.authentication_failed,
// wamp.error.no_auth_method, wamp.error.not_authorized) and a message for the client.
//
// Client identity: Tokens issues, recognises, refreshes and revokes the opaque client tokens kept
// in a cookie (or HELLO.Details.authextra.client_token) in the durable store.
//
// Authorization: an Authorizer per realm (NewAuthorizer) answers whether a role may publish,
// subscribe, call or register a URI, and whether to disclose the publisher or caller.
//
// Protection: Limiter throttles failed authentications per remote address and OriginChecker
// enforces the WebSocket Origin allow-list.
//
// Secrets from the configuration (config.Secret) never appear in errors or log messages.
package auth

import (
	"context"
	"errors"
	"sync/atomic"
	"unicode/utf8"

	"github.com/gateway-dev/gateway/internal/peer"
	"github.com/gateway-dev/gateway/wamp"
)

// Limits on client-supplied authentication fields (hostile input is refused early).
const (
	maxAuthMethods    = 16
	maxAuthMethodLen  = 64
	maxAuthIDLen      = 1024
	maxSignatureLen   = 16 * 1024
	maxTokenCandidate = 256
)

// Request is what a method needs to authenticate a session: the HELLO's authentication details
// and facts about the connection.
type Request struct {
	// Realm is the realm the client asked to join.
	Realm string
	// AuthMethods is HELLO.Details.authmethods in the client's order of preference.
	AuthMethods []string
	// AuthID is HELLO.Details.authid ("" when absent).
	AuthID string
	// AuthExtra is HELLO.Details.authextra (nil when absent).
	AuthExtra wamp.Dict
	// Peer describes the connection: remote address, TLS, and for WebSocket the upgrade
	// request's header (cookies, Origin, ...). May be nil in tests.
	Peer *peer.Info
	// ClientToken is the client's resolved identity token (Tokens.Resolve), or nil.
	ClientToken *ClientToken
	// Session is the session ID the client will get, when known already; WAMP-CRA puts it into
	// its challenge as the spec asks.
	Session wamp.ID
}

// ParseHello builds a Request from a HELLO's details. It refuses details whose authentication
// fields have the wrong types or absurd sizes with an *Error whose URI is
// wamp.error.protocol_violation. info and the client token are copied into the Request as is.
func ParseHello(realm wamp.URI, details wamp.Dict, info *peer.Info) (*Request, error) {
	req := &Request{Realm: string(realm), Peer: info}
	if v, ok := details["authmethods"]; ok && v != nil {
		l, ok := v.([]any)
		if !ok {
			return nil, protocolError("HELLO.Details.authmethods must be a list of strings")
		}
		if len(l) > maxAuthMethods {
			return nil, protocolError("HELLO.Details.authmethods lists too many methods")
		}
		req.AuthMethods = make([]string, 0, len(l))
		for _, x := range l {
			s, ok := x.(string)
			if !ok {
				return nil, protocolError("HELLO.Details.authmethods must be a list of strings")
			}
			if len(s) > maxAuthMethodLen || !utf8.ValidString(s) {
				return nil, protocolError("HELLO.Details.authmethods has an invalid method name")
			}
			req.AuthMethods = append(req.AuthMethods, s)
		}
	}
	if v, ok := details["authid"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return nil, protocolError("HELLO.Details.authid must be a string")
		}
		if len(s) > maxAuthIDLen || !utf8.ValidString(s) {
			return nil, protocolError("HELLO.Details.authid is too long or not valid UTF-8")
		}
		req.AuthID = s
	}
	if v, ok := details["authextra"]; ok && v != nil {
		d, ok := v.(map[string]any)
		if !ok {
			return nil, protocolError("HELLO.Details.authextra must be a dictionary")
		}
		req.AuthExtra = d
	}
	return req, nil
}

// extraString returns authextra[key] when it is a string; present reports whether the key is
// there with a non-nil value of any type.
func (r *Request) extraString(key string) (s string, present bool) {
	v, ok := r.AuthExtra[key]
	if !ok || v == nil {
		return "", false
	}
	s, _ = v.(string)
	return s, true
}

// Identity is who a session authenticated as (the WELCOME.Details auth fields).
type Identity struct {
	AuthID       string
	AuthRole     string
	AuthMethod   string
	AuthProvider string
	// AuthExtra goes into WELCOME.Details.authextra (nil for none).
	AuthExtra wamp.Dict
}

// Error is a refused authentication: the ABORT reason and a message for the client. Messages
// never contain secrets; the optional cause (Unwrap) is for server logs.
type Error struct {
	URI     wamp.URI
	Message string
	cause   error
}

// Error returns "URI: message".
func (e *Error) Error() string { return string(e.URI) + ": " + e.Message }

// Unwrap returns the server-side cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// Abort returns the ABORT message for the client.
func (e *Error) Abort() *wamp.Abort {
	return &wamp.Abort{Details: wamp.Dict{"message": e.Message}, Reason: e.URI}
}

func failed(msg string) *Error        { return &Error{URI: wamp.ErrAuthenticationFailed, Message: msg} }
func notAuthorized(msg string) *Error { return &Error{URI: wamp.ErrNotAuthorized, Message: msg} }
func protocolError(msg string) *Error { return &Error{URI: wamp.ErrProtocolViolation, Message: msg} }

// withCause attaches a server-side cause to e.
func (e *Error) withCause(err error) *Error { e.cause = err; return e }

// Method is one authentication method of a realm.
type Method interface {
	// Name is the WAMP authmethod ("ticket", "wampcra", ...).
	Name() string
	// Authenticate answers a HELLO: an Identity when the client is authenticated at once, a
	// Challenge when the client must answer a CHALLENGE, or an error (an *Error, or ErrSkip when
	// the method does not apply to this client and the next offered method should be tried).
	Authenticate(ctx context.Context, req *Request) (*Identity, *Challenge, error)
}

// ErrSkip is returned by a Method that does not apply to the client (the cookie method for a
// client without a remembered authentication); the Authenticator then tries the client's next
// method.
var ErrSkip = errors.New("auth: method does not apply to this client")

// VerifyFunc checks the client's AUTHENTICATE.
type VerifyFunc func(ctx context.Context, signature string, extra wamp.Dict) (*Identity, error)

// Challenge is a pending authentication: the CHALLENGE to send and the check of the answer.
type Challenge struct {
	// Method is CHALLENGE.AuthMethod.
	Method string
	// Extra is CHALLENGE.Extra.
	Extra  wamp.Dict
	verify VerifyFunc
	used   atomic.Bool
}

// NewChallenge returns a challenge whose answer is checked by verify.
func NewChallenge(method string, extra wamp.Dict, verify VerifyFunc) *Challenge {
	if extra == nil {
		extra = wamp.Dict{}
	}
	return &Challenge{Method: method, Extra: extra, verify: verify}
}

// Message returns the CHALLENGE message.
func (c *Challenge) Message() *wamp.Challenge {
	return &wamp.Challenge{AuthMethod: c.Method, Extra: c.Extra}
}

// Verify checks the client's AUTHENTICATE (signature and extra). A challenge can be answered
// once; further calls fail.
func (c *Challenge) Verify(ctx context.Context, signature string, extra wamp.Dict) (*Identity, error) {
	if c.used.Swap(true) {
		return nil, failed("the challenge was answered already")
	}
	if len(signature) > maxSignatureLen {
		return nil, failed("the AUTHENTICATE signature is too long")
	}
	return c.verify(ctx, signature, extra)
}
