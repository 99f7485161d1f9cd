// Package httpapi is the HTTP/JSON representative of the web-app interface: POST /api/v1/<operation>
// with the operation's JSON request object as body answers 200 with its JSON response object (GET is
// also accepted for health and stats). Errors answer a JSON object {"error": <URI>, "message": ...,
// "details": ...} with the status webapp.HTTPStatus gives, plus 405 (wrong method) and 415 (wrong
// Content-Type), which only HTTP has.
//
// Checks run in this order, so that a caller without credentials learns nothing about which
// operations exist: the path is under /api/v1/ (else 404), the body fits MaxBody (else 413), the
// credentials (else 401), the operation exists (else 404), the method (else 405), the Content-Type
// (else 415), the body is a JSON object (else 400); then the operation runs.
package httpapi

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/gateway-dev/gateway/internal/typo"
	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/internal/webapp/httpauth"
)

// Prefix is the path under which the operations are served.
const Prefix = "/api/v1/"

// DefaultMaxBody is the request body limit when Config.MaxBody is not set.
const DefaultMaxBody = 1 << 20

// Config configures the handler.
type Config struct {
	// Auth verifies each request's credentials. Nil refuses every request, like a Checker with no
	// keys and no loopback exemption.
	Auth *httpauth.Checker
	// MaxBody is the largest accepted request body in bytes (default 1 MiB); larger ones get 413.
	MaxBody int64
	// Logger receives internal errors and recovered panics (default: discarded).
	Logger *slog.Logger
}

// handler serves the web-app operations over HTTP/JSON.
type handler struct {
	inv     webapp.Invoker
	auth    *httpauth.Checker
	maxBody int64
	log     *slog.Logger
	names   []string // operation names, for "did you mean" hints
}

// New returns the HTTP handler of the web-app operations, which it runs with inv. Mount it at the
// root of the web-app listener (or anywhere that keeps the /api/v1/ path intact).
func New(inv webapp.Invoker, cfg Config) http.Handler {
	h := &handler{inv: inv, auth: cfg.Auth, maxBody: cfg.MaxBody, log: cfg.Logger}
	if h.auth == nil {
		h.auth = httpauth.New(httpauth.Config{})
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBody
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	for _, op := range webapp.Operations {
		h.names = append(h.names, op.Name)
	}
	return h
}

// reply is a response not yet written: status, JSON body and extra headers.
type reply struct {
	status int
	body   []byte
	allow  string // Allow header of a 405
	bearer bool   // WWW-Authenticate: Bearer on a 401
}

// ServeHTTP answers one request. It never panics: a panic while serving (an Invoker's included) is
// logged and answered 500.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var rep reply
	func() {
		defer func() {
			if p := recover(); p != nil {
				h.log.Error("web-app HTTP request panicked", "panic", p, "method", r.Method, "stack", string(debug.Stack()))
				rep = h.failure(internalError())
			}
		}()
		rep = h.serve(r)
	}()
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "no-store")
	if rep.allow != "" {
		hdr.Set("Allow", rep.allow)
	}
	if rep.bearer {
		hdr.Set("WWW-Authenticate", "Bearer")
	}
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body) // a failed write means the client went away; nothing to tell it
}

// serve runs the checks and the operation of r.
func (h *handler) serve(r *http.Request) reply {
	if r.URL == nil || !strings.HasPrefix(r.URL.Path, Prefix) {
		return h.failure(webapp.Errorf(webapp.ErrNoSuchOperation, "no such resource: the web-app API is POST %s<operation>", Prefix))
	}
	body, err := readBody(r, h.maxBody)
	if err != nil {
		return h.failure(err)
	}
	if err := h.auth.Check(r, body); err != nil {
		rep := h.failure(webapp.AsError(err))
		rep.bearer = rep.status == http.StatusUnauthorized
		return rep
	}
	name := r.URL.Path[len(Prefix):]
	op, ok := webapp.LookupOperation(name)
	if !ok {
		return h.failure(h.noSuchOperation(name))
	}
	if allow := allowedMethods(op.Name); !methodAllowed(r.Method, op.Name) {
		rep := h.failure(webapp.Errorf(ErrMethodNotAllowed, "%s %s: method not allowed (use %s)", truncate(r.Method), Prefix+op.Name, allow))
		rep.status, rep.allow = http.StatusMethodNotAllowed, allow
		return rep
	}
	if r.Method == http.MethodGet {
		body = nil
	} else {
		if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
			rep := h.failure(err)
			rep.status = http.StatusUnsupportedMediaType
			return rep
		}
		if body, err = checkObject(body); err != nil {
			return h.failure(err)
		}
	}
	return h.invoke(r, op.Name, body)
}

// invoke runs operation op and encodes its result.
func (h *handler) invoke(r *http.Request, op string, body []byte) reply {
	result, err := h.inv.Invoke(r.Context(), op, body)
	if err != nil {
		return h.operationFailure(op, err)
	}
	if result == nil {
		return reply{status: http.StatusOK, body: []byte("{}\n")}
	}
	out, err := json.Marshal(result)
	if err != nil {
		return h.operationFailure(op, fmt.Errorf("encoding the result of %s: %w", op, err))
	}
	return reply{status: http.StatusOK, body: append(out, '\n')}
}

// noSuchOperation is the 404 of an unknown operation name, with a "did you mean" hint.
func (h *handler) noSuchOperation(name string) *webapp.Error {
	msg := fmt.Sprintf("no such operation %q", truncate(name))
	if guess := typo.Closest(name, h.names); guess != "" {
		msg += fmt.Sprintf("; did you mean %q?", guess)
	}
	e := webapp.Errorf(webapp.ErrNoSuchOperation, "%s", msg)
	e.Details = map[string]any{"operations": h.names}
	return e
}

// methodAllowed reports whether method may carry operation op.
func methodAllowed(method, op string) bool {
	return method == http.MethodPost || (method == http.MethodGet && takesNoBody(op))
}

// allowedMethods is the Allow header of operation op.
func allowedMethods(op string) string {
	if takesNoBody(op) {
		return "GET, POST"
	}
	return "POST"
}

// takesNoBody reports whether op may also be called with GET.
func takesNoBody(op string) bool { return op == "health" || op == "stats" }

// truncate shortens s for quoting in an error message.
func truncate(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
