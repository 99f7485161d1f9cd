package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gateway-dev/gateway/wamp"
)

// ErrClosed is returned by every operation on a session that has ended, and by operations that were
// pending when it ended (those errors also wrap the reason the session ended, see Client.Err).
var ErrClosed = errors.New("wamp client: session closed")

// ErrMessageTooBig is returned when an outgoing message is larger than the router accepts (the
// limit a RawSocket router announces in its handshake). The session stays open.
var ErrMessageTooBig = errors.New("wamp client: message exceeds the router's maximum message length")

// ErrFeatureNotSupported is returned when an operation needs a feature the router did not announce
// in WELCOME (for example progressive call invocations).
var ErrFeatureNotSupported = errors.New("wamp client: feature not supported by the router")

// ErrProgressNotRequested is returned by Invocation.SendProgress when the caller did not ask for
// progressive call results.
var ErrProgressNotRequested = errors.New("wamp client: caller did not request progressive results")

// ErrRuntime is the error URI sent to the caller when a Handler returns an error that is not an
// *RPCError (or panics). The error's text is sent as the first argument.
const ErrRuntime wamp.URI = "wamp.error.runtime_error"

// RPCError is a WAMP ERROR: the router's or a callee's answer to a request (CALL, SUBSCRIBE,
// REGISTER, ...). A Handler returns an *RPCError to answer an invocation with that error.
type RPCError struct {
	URI     wamp.URI
	Args    wamp.List
	Kwargs  wamp.Dict
	Details wamp.Dict
}

// Error returns the error URI, followed by the first argument when that is a string.
func (e *RPCError) Error() string {
	if len(e.Args) > 0 {
		if s, ok := e.Args[0].(string); ok {
			return string(e.URI) + ": " + s
		}
	}
	return string(e.URI)
}

// Is reports whether target is an *RPCError with the same URI, so that
// errors.Is(err, &RPCError{URI: wamp.ErrNoSuchProcedure}) works.
func (e *RPCError) Is(target error) bool {
	t, ok := target.(*RPCError)
	return ok && t.URI == e.URI
}

// CloseError says why the router ended (GOODBYE) or refused (ABORT) the session.
type CloseError struct {
	Abort   bool // the router sent ABORT rather than GOODBYE
	Reason  wamp.URI
	Details wamp.Dict
}

// Error describes the reason and, when present, the router's details.message.
func (e *CloseError) Error() string {
	verb := "closed"
	if e.Abort {
		verb = "aborted"
	}
	if msg, ok := e.Details["message"].(string); ok && msg != "" {
		return fmt.Sprintf("wamp client: router %s the session: %s: %s", verb, e.Reason, msg)
	}
	return fmt.Sprintf("wamp client: router %s the session: %s", verb, e.Reason)
}

// IsError reports whether err (or an error it wraps) is an *RPCError or a *CloseError with the
// given URI, e.g. IsError(err, wamp.ErrNoSuchProcedure).
func IsError(err error, uri wamp.URI) bool {
	var re *RPCError
	if errors.As(err, &re) && re.URI == uri {
		return true
	}
	var ce *CloseError
	return errors.As(err, &ce) && ce.Reason == uri
}

// sessionEndedError fails requests that were pending when the session ended: it matches ErrClosed
// and unwraps to the reason the session ended.
type sessionEndedError struct{ cause error }

func (e *sessionEndedError) Error() string {
	return "wamp client: session closed: " + strings.TrimPrefix(e.cause.Error(), errPrefix)
}
func (e *sessionEndedError) Is(target error) bool { return target == ErrClosed }
func (e *sessionEndedError) Unwrap() error        { return e.cause }

// endedError returns the error for an operation refused or interrupted because the session ended
// with cause.
func endedError(cause error) error {
	if cause == nil || cause == ErrClosed {
		return ErrClosed
	}
	return &sessionEndedError{cause: cause}
}

// errPrefix starts the text of the package's errors.
const errPrefix = "wamp client: "

// opError adds the operation and URI to an error.
type opError struct {
	op, uri string
	err     error
}

func (e *opError) Error() string {
	return fmt.Sprintf("%s%s %q: %s", errPrefix, e.op, e.uri, strings.TrimPrefix(e.err.Error(), errPrefix))
}

func (e *opError) Unwrap() error { return e.err }

// wrapRequestError adds context to err, except for *RPCError which is returned as is.
func wrapRequestError(op, uri string, err error) error {
	var re *RPCError
	if errors.As(err, &re) {
		return err
	}
	return &opError{op: op, uri: uri, err: err}
}

// errorFromMessage converts a received ERROR into an *RPCError.
func errorFromMessage(m *wamp.Error) *RPCError {
	return &RPCError{URI: m.Error, Args: m.Args, Kwargs: m.Kwargs, Details: m.Details}
}
