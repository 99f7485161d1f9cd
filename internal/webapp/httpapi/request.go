package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gateway-dev/gateway/internal/webapp"
)

// readBody reads r's body, at most max bytes: a longer body is ErrTooLarge (read no further than
// max+1 bytes).
func readBody(r *http.Request, max int64) ([]byte, *webapp.Error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > max {
		return nil, tooLarge(max)
	}
	size := int64(512)
	if r.ContentLength >= 0 {
		size = r.ContentLength + 1 // room to see EOF without growing
	}
	buf := make([]byte, 0, min(size, max+1))
	lr := io.LimitReader(r.Body, max+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, tooLarge(max)
			}
			return nil, webapp.Errorf(webapp.ErrMalformed, "reading the request body: %v", err)
		}
	}
	if int64(len(buf)) > max {
		return nil, tooLarge(max)
	}
	return buf, nil
}

// tooLarge is the error of a body over max bytes.
func tooLarge(max int64) *webapp.Error {
	e := webapp.Errorf(webapp.ErrTooLarge, "request body exceeds %d bytes", max)
	e.Details = map[string]any{"max_bytes": max}
	return e
}

// checkContentType accepts an absent Content-Type or application/json, whose charset, if given,
// must be UTF-8 (RFC 8259).
func checkContentType(ct string) *webapp.Error {
	if ct == "" || ct == "application/json" || ct == "application/json; charset=utf-8" {
		return nil
	}
	media, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return webapp.Errorf(ErrUnsupportedMediaType, "unparsable Content-Type %q: use application/json", truncate(ct))
	}
	if media != "application/json" {
		return webapp.Errorf(ErrUnsupportedMediaType, "Content-Type %q is not supported: use application/json (with curl: -H 'Content-Type: application/json')", truncate(media))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return webapp.Errorf(ErrUnsupportedMediaType, "charset %q is not supported: JSON must be UTF-8", truncate(cs))
	}
	return nil
}

// checkObject checks that body is one JSON object, and returns it unchanged; an empty or all-blank
// body stands for {} and is returned as nil.
func checkObject(body []byte) ([]byte, *webapp.Error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, nil
	}
	if !json.Valid(body) {
		return nil, syntaxError(body)
	}
	if trimmed[0] != '{' {
		return nil, webapp.Errorf(webapp.ErrMalformed, "request body must be a JSON object, not %s", jsonKind(trimmed[0]))
	}
	return body, nil
}

// syntaxError describes why body is not valid JSON.
func syntaxError(body []byte) *webapp.Error {
	var raw json.RawMessage
	err := json.Unmarshal(body, &raw)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return webapp.Errorf(webapp.ErrMalformed, "malformed JSON at byte %d: %v", se.Offset, se)
	}
	if err == nil {
		err = errors.New("invalid JSON")
	}
	return webapp.Errorf(webapp.ErrMalformed, "malformed JSON: %v", err)
}

// jsonKind names the kind of JSON value that starts with c.
func jsonKind(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
