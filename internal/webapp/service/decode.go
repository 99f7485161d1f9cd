package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"github.com/gateway-dev/gateway/internal/webapp"
	"io"
	"math"
	"strconv"

	"github.com/gateway-dev/gateway/wamp"
)

// decodeRequest decodes an operation's JSON request body into dst strictly: the body must be one
// JSON object (empty or null means {}), with no unknown fields and no trailing data. Numbers in
// free-form values (args, kwargs, options) become int64 when integral and float64 otherwise, as a
// WAMP serializer would decode them.
func decodeRequest(body []byte, dst any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || string(body) == "null" {
		return nil
	}
	if body[0] != '{' {
		return webapp.Errorf(webapp.ErrMalformed, "the request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return webapp.Errorf(webapp.ErrMalformed, "unexpected data after the JSON object")
	}
	return nil
}

// malformed describes a JSON decoding error for the web-app developer.
func malformed(err error) *webapp.Error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "the body"
		}
		return &webapp.Error{URI: webapp.ErrMalformed, Message: "field " + strconv.Quote(field) + ": expected " + jsonKind(te.Type.Kind().String()) + ", got JSON " + te.Value,
			Details: map[string]any{"field": te.Field, "offset": te.Offset}}
	case errors.As(err, &se):
		return &webapp.Error{URI: webapp.ErrMalformed, Message: "invalid JSON: " + se.Error(), Details: map[string]any{"offset": se.Offset}}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return webapp.Errorf(webapp.ErrMalformed, "invalid JSON: the body ends too early")
	}
	return webapp.Errorf(webapp.ErrMalformed, "invalid request: %v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "bool":
		return "true or false"
	case "float64", "float32":
		return "a number"
	}
	return "an integer"
}

// normalize replaces the json.Numbers of a decoded value with int64 (integral and in range),
// uint64 (larger integral) or float64, in place, and returns the result.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return u
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) {
			return string(x) // unreachable for numbers encoding/json accepted, but never lose data
		}
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	}
	return v
}

func normalizeList(l wamp.List) wamp.List {
	for i, e := range l {
		l[i] = normalize(e)
	}
	return l
}

func normalizeDict(d wamp.Dict) wamp.Dict {
	for k, e := range d {
		d[k] = normalize(e)
	}
	return d
}
