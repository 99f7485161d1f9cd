package xmlrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/internal/webapp/httpauth"
)

// DefaultMaxBody is the request size limit when Config.MaxBody is not set (1 MiB).
const DefaultMaxBody = 1 << 20

// Config configures the XML-RPC representative.
type Config struct {
	// Auth verifies each request's credentials (with the raw body, for signed requests); nil accepts
	// every request.
	Auth *httpauth.Checker
	// MaxBody is the largest request body accepted, in bytes (default DefaultMaxBody). It also sets
	// the number of values a request may hold: MaxBody/10, and at least DefaultMaxValues.
	MaxBody int64
	// Logger receives a record per fault (debug; warning for internal failures); nil means
	// slog.Default().
	Logger *slog.Logger
}

// handler is the XML-RPC representative.
type handler struct {
	inv     webapp.Invoker
	auth    *httpauth.Checker
	maxBody int64
	limits  Limits
	log     *slog.Logger
}

// New returns the XML-RPC representative of inv, an http.Handler for POST requests (the server mounts
// it at /RPC2). Every answer is HTTP 200 with a text/xml <methodResponse>: the result, or a fault
// (credential failures included); only a method other than POST gets an HTTP error (405).
func New(inv webapp.Invoker, cfg Config) http.Handler {
	h := &handler{inv: inv, auth: cfg.Auth, maxBody: cfg.MaxBody, log: cfg.Logger}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBody
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.limits = Limits{MaxDepth: DefaultMaxDepth, MaxValues: int(max(h.maxBody/10, DefaultMaxValues))}
	return h
}

// ServeHTTP answers one XML-RPC request.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "XML-RPC: POST a <methodCall>", http.StatusMethodNotAllowed)
		return
	}
	body, err := h.readBody(w, r)
	if err != nil {
		h.writeFault(w, "", faultOf(err))
		return
	}
	if h.auth != nil {
		if err := h.auth.Check(r, body); err != nil {
			h.writeFault(w, "", faultOf(err))
			return
		}
	}
	if err := checkCharset(r.Header.Get("Content-Type")); err != nil {
		h.writeFault(w, "", faultOf(err))
		return
	}
	call, err := DecodeCall(body, h.limits)
	if err != nil {
		h.writeFault(w, "", decodeFault(err))
		return
	}
	result, err := h.call(r.Context(), call.Method, call.Params, true)
	if err != nil {
		h.writeFault(w, call.Method, faultOf(err))
		return
	}
	out, err := AppendResponse(make([]byte, 0, 512), result)
	if err != nil {
		h.writeFault(w, call.Method, faultOf(unencodable(err)))
		return
	}
	h.write(w, out)
}

// readBody reads the request body up to the size limit.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > h.maxBody {
		return nil, tooLarge(h.maxBody)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(h.maxBody)
		}
		return nil, webapp.Errorf(webapp.ErrMalformed, "reading the request body: %v", err)
	}
	return body, nil
}

func tooLarge(limit int64) error {
	return webapp.Errorf(webapp.ErrTooLarge, "the request body exceeds the limit of %d bytes", limit)
}

// checkCharset refuses a Content-Type whose charset is neither UTF-8 nor US-ASCII.
func checkCharset(contentType string) error {
	if contentType == "" {
		return nil
	}
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil // the XML declaration and the decoder decide
	}
	switch cs := strings.ToLower(params["charset"]); cs {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return nil
	default:
		return webapp.Errorf(webapp.ErrMalformed, "charset %q is not supported (send UTF-8)", cs)
	}
}

// writeFault writes a fault answer and logs it.
func (h *handler) writeFault(w http.ResponseWriter, method string, f fault) {
	level := slog.LevelDebug
	if f.code == http.StatusInternalServerError {
		level = slog.LevelWarn
	}
	h.log.Log(context.Background(), level, "xml-rpc fault", "method", truncateName(method), "code", f.code, "fault", f.msg)
	h.write(w, AppendFault(make([]byte, 0, 512), f.code, f.msg))
}

// write writes an XML-RPC answer (always HTTP 200).
func (h *handler) write(w http.ResponseWriter, out []byte) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(out); err != nil {
		h.log.Debug("xml-rpc: writing the answer", "err", err)
	}
}

// unencodable is the error for a result that has no XML-RPC form.
func unencodable(err error) error {
	return webapp.Errorf(webapp.ErrInternal, "the result cannot be carried by XML-RPC: %s",
		strings.Replace(err.Error(), ErrUnencodable.Error()+": ", "", 1))
}

// truncateName bounds a method name quoted in logs and messages.
func truncateName(name string) string {
	if len(name) > 80 {
		return fmt.Sprintf("%.80s…", name)
	}
	return name
}
