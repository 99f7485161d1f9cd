// Package webapp is the contract of the gateway's web-app interface: the operations a web
// application uses (publish, tickets, revocation, sessions, calls, event classes, health), their
// request and response bodies, their errors and the reply envelope of the message-queue transports.
// Package service implements the operations (Invoker) on the router; the representatives httpapi,
// xmlrpc, amqprep and natsrep carry them over HTTP/JSON, XML-RPC, AMQP and NATS, each decoding its
// transport's request into the same JSON request body and calling Invoker.Invoke, so an operation
// behaves the same whatever carries it. This package depends on nothing of the gateway but wamp.
package webapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gateway-dev/gateway/wamp"
)

// Invoker runs web-app operations. *Service implements it; representatives depend only on this.
type Invoker interface {
	// Invoke runs operation op with its JSON request body (an object; empty or "null" means {}) and
	// returns the result, a value that encoding/json marshals into the response object. Errors are
	// *Error; any other error is an internal failure.
	Invoke(ctx context.Context, op string, body []byte) (any, error)
}

// Operation describes one operation: its name and, for transports with positional parameters
// (XML-RPC), the order of its request fields.
type Operation struct {
	Name   string
	Params []string
	// Summary is a one-line description (shown by documentation and the XML-RPC introspection).
	Summary string
}

// Operations lists every operation, in documentation order.
var Operations = []Operation{
	{"publish", []string{"topic", "args", "kwargs", "options"}, "publish an event (topic, or event class in options.class); answers the publication id"},
	{"publish_batch", []string{"publications"}, "publish several events in order; answers one result per event"},
	{"issue_ticket", []string{"authid", "authrole", "ttl", "authextra"}, "issue a one-time ticket for a WAMP client to authenticate with"},
	{"revoke", []string{"authid"}, "close an authid's sessions and invalidate its tickets and client tokens"},
	{"sessions", []string{"authid", "authrole"}, "list the sessions of the realm, optionally filtered"},
	{"kill_session", []string{"session", "reason", "message"}, "close one session"},
	{"call", []string{"procedure", "args", "kwargs", "options"}, "call a procedure registered by a client (options.timeout in ms)"},
	{"event_classes", nil, "list the event classes"},
	{"describe_class", []string{"class"}, "describe one event class"},
	{"define_class", []string{"class"}, "define or replace an event class (the keys of [[realms.event_classes]]); lasts until the gateway restarts"},
	{"health", nil, "liveness and the state of the store"},
	{"stats", nil, "sessions, subscriptions, registrations and counters"},
}

// LookupOperation returns the operation named name.
func LookupOperation(name string) (Operation, bool) {
	for _, op := range Operations {
		if op.Name == name {
			return op, true
		}
	}
	return Operation{}, false
}

// Error is an operation's failure: a WAMP-style error URI, a human-readable message and optional
// details. Every representative turns it into its own error form (HTTP status + JSON body, XML-RPC
// fault, AMQP reply/dead-letter, NATS reply).
type Error struct {
	URI     wamp.URI       `json:"error"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
	// Args and Kwargs carry a callee's ERROR payload (operation call).
	Args   wamp.List `json:"args,omitempty"`
	Kwargs wamp.Dict `json:"kwargs,omitempty"`
}

func (e *Error) Error() string { return string(e.URI) + ": " + e.Message }

// Errorf returns an *Error with the given URI and formatted message.
func Errorf(uri wamp.URI, format string, a ...any) *Error {
	return &Error{URI: uri, Message: fmt.Sprintf(format, a...)}
}

// Error URIs of the web-app interface besides the standard WAMP ones.
const (
	// ErrMalformed: the request body is not valid JSON/XML, or a field has the wrong type.
	ErrMalformed wamp.URI = "gateway.error.malformed_request"
	// ErrNoSuchOperation: the operation does not exist.
	ErrNoSuchOperation wamp.URI = "gateway.error.no_such_operation"
	// ErrUnauthenticated: credentials are missing or wrong (bad API key, bad signature, replayed nonce).
	ErrUnauthenticated wamp.URI = "gateway.error.unauthenticated"
	// ErrTooLarge: the request body exceeds the configured limit.
	ErrTooLarge wamp.URI = "gateway.error.request_too_large"
	// ErrInternal: the gateway failed; the request may be retried.
	ErrInternal wamp.URI = "gateway.error.internal"
)

// HTTPStatus is the HTTP status for an operation error (used by the HTTP representative and reported
// in the other transports' replies for uniformity).
func HTTPStatus(err error) int {
	var e *Error
	if !errors.As(err, &e) {
		return http.StatusInternalServerError
	}
	switch e.URI {
	case ErrMalformed:
		return http.StatusBadRequest
	case ErrNoSuchOperation:
		return http.StatusNotFound
	case ErrUnauthenticated:
		return http.StatusUnauthorized
	case wamp.ErrNotAuthorized:
		return http.StatusForbidden
	case ErrTooLarge:
		return http.StatusRequestEntityTooLarge
	case ErrInternal:
		return http.StatusInternalServerError
	case wamp.ErrUnavailable:
		return http.StatusServiceUnavailable
	case wamp.ErrCanceled, wamp.ErrTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusUnprocessableEntity
}

// AsError returns err as an *Error; other errors become ErrInternal (their text is kept in the
// message, as it names what failed inside the gateway).
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{URI: ErrInternal, Message: err.Error()}
}
