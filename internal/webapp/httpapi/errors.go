package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/wamp"
)

// Error URIs that only the HTTP representative answers.
const (
	// ErrMethodNotAllowed: the operation exists but not with this HTTP method (status 405, with an
	// Allow header).
	ErrMethodNotAllowed wamp.URI = "gateway.error.method_not_allowed"
	// ErrUnsupportedMediaType: the request's Content-Type is not application/json (status 415).
	ErrUnsupportedMediaType wamp.URI = "gateway.error.unsupported_media_type"
)

// internalBody answers a failure that could not be encoded.
var internalBody = []byte(`{"error":"gateway.error.internal","message":"internal error"}` + "\n")

// internalError is what callers see of a failure inside the gateway; the cause goes to the log.
func internalError() *webapp.Error {
	return &webapp.Error{URI: webapp.ErrInternal, Message: "internal error"}
}

// failure is the reply of err, with the status webapp.HTTPStatus gives.
func (h *handler) failure(err *webapp.Error) reply {
	body, merr := json.Marshal(err)
	if merr != nil {
		h.log.Error("web-app HTTP: encoding an error reply", "error", merr, "uri", err.URI)
		return reply{status: http.StatusInternalServerError, body: internalBody}
	}
	return reply{status: webapp.HTTPStatus(err), body: append(body, '\n')}
}

// operationFailure is the reply of an Invoker's error. An error that is not a *webapp.Error is an
// internal failure: it is logged and answered "internal error", without its text.
func (h *handler) operationFailure(op string, err error) reply {
	var e *webapp.Error
	if !errors.As(err, &e) {
		h.log.Error("web-app operation failed", "operation", op, "error", err)
		return h.failure(internalError())
	}
	if e.URI == webapp.ErrInternal {
		h.log.Error("web-app operation failed", "operation", op, "error", e)
	}
	return h.failure(e)
}
