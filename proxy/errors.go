package proxy

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// Error URIs the gateway answers besides the standard WAMP ones (such as wamp.error.invalid_argument
// or wamp.error.no_such_procedure).
const (
	ErrMalformed            = "gateway.error.malformed_request"
	ErrNoSuchOperation      = "gateway.error.no_such_operation"
	ErrUnauthenticated      = "gateway.error.unauthenticated"
	ErrTooLarge             = "gateway.error.request_too_large"
	ErrInternal             = "gateway.error.internal"
	ErrNotAuthorized        = "wamp.error.not_authorized"
	ErrUnavailable          = "wamp.error.unavailable"
	ErrCanceled             = "wamp.error.canceled"
	ErrTimeout              = "wamp.error.timeout"
	ErrMethodNotAllowed     = "gateway.error.method_not_allowed"
	ErrUnsupportedMediaType = "gateway.error.unsupported_media_type"
)

// Error is an operation the gateway refused, on any transport.
type Error struct {
	// URI is the error URI, e.g. "wamp.error.invalid_argument" or ErrUnauthenticated.
	URI string `json:"error"`
	// Message is the gateway's explanation.
	Message string `json:"message"`
	// Details are the error's details (none over XML-RPC, whose faults carry only a code and a
	// string; there it holds "fault_code").
	Details map[string]any `json:"details,omitempty"`
	// Args and Kwargs are a callee's ERROR payload (Call; not carried by XML-RPC).
	Args   []any          `json:"args,omitempty"`
	Kwargs map[string]any `json:"kwargs,omitempty"`
	// Status is the HTTP-equivalent status (400, 401, 403, 404, 413, 422, 500, 503, 504, ...).
	Status int `json:"status,omitempty"`
}

// Error returns "<URI>: <message>".
func (e *Error) Error() string { return e.URI + ": " + e.Message }

// Temporary reports whether retrying the same request later may succeed (status 5xx).
func (e *Error) Temporary() bool { return e.Status >= 500 }

// ErrorURI returns the URI of err when it is (or wraps) an *Error, else "".
func ErrorURI(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.URI
	}
	return ""
}

// statusOf is the HTTP-equivalent status of an error URI, as the gateway assigns it.
func statusOf(uri string) int {
	switch uri {
	case ErrMalformed:
		return http.StatusBadRequest
	case ErrNoSuchOperation:
		return http.StatusNotFound
	case ErrUnauthenticated:
		return http.StatusUnauthorized
	case ErrNotAuthorized:
		return http.StatusForbidden
	case ErrTooLarge:
		return http.StatusRequestEntityTooLarge
	case ErrInternal:
		return http.StatusInternalServerError
	case ErrUnavailable:
		return http.StatusServiceUnavailable
	case ErrCanceled, ErrTimeout:
		return http.StatusGatewayTimeout
	case ErrMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case ErrUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusUnprocessableEntity
}

// decodeError reads a JSON error object {"error", "message", "details", "args", "kwargs",
// "status"?}. ok is false when data is not one (no string "error" member).
func decodeError(data []byte, status int) (*Error, bool) {
	var raw struct {
		URI     *string         `json:"error"`
		Message string          `json:"message"`
		Details json.RawMessage `json:"details"`
		Args    json.RawMessage `json:"args"`
		Kwargs  json.RawMessage `json:"kwargs"`
		Status  int             `json:"status"`
	}
	if err := json.Unmarshal(data, &raw); err != nil || raw.URI == nil || *raw.URI == "" {
		return nil, false
	}
	e := &Error{URI: *raw.URI, Message: raw.Message, Status: status}
	if e.Status == 0 {
		e.Status = raw.Status
	}
	if e.Status == 0 {
		e.Status = statusOf(e.URI)
	}
	// Malformed details, args or kwargs are dropped: the URI and message are what matter.
	if m, ok := decodeGeneric(raw.Details).(map[string]any); ok && len(m) > 0 {
		e.Details = m
	}
	if l, ok := decodeGeneric(raw.Args).([]any); ok && len(l) > 0 {
		e.Args = l
	}
	if m, ok := decodeGeneric(raw.Kwargs).(map[string]any); ok && len(m) > 0 {
		e.Kwargs = m
	}
	return e, true
}

// faultError turns an XML-RPC fault into an *Error: faultString "<URI>: <message>" gives the URI
// and message, faultCode the status (-32700, XML that is not well formed, is a 400 malformed
// request). A fault string without a URI is kept whole as the message of a gateway.error.internal.
func faultError(code int64, msg string) *Error {
	e := &Error{Details: map[string]any{"fault_code": code}}
	uri, text, ok := strings.Cut(msg, ": ")
	if ok && looksLikeURI(uri) {
		e.URI, e.Message = uri, text
	} else {
		e.URI, e.Message = ErrInternal, msg
	}
	switch {
	case code == -32700:
		e.Status = http.StatusBadRequest
	case code >= 100 && code <= 599:
		e.Status = int(code)
	default:
		e.Status = statusOf(e.URI)
	}
	return e
}

// looksLikeURI reports whether s is a dotted URI of at least two non-empty components without
// white space.
func looksLikeURI(s string) bool {
	if !strings.Contains(s, ".") || strings.ContainsAny(s, " \t\r\n#") {
		return false
	}
	for _, c := range strings.Split(s, ".") {
		if c == "" {
			return false
		}
	}
	return true
}
