package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"

	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/wamp/codec"

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

// decodePublish decodes a publish request (the body of publish, or one element of publish_batch)
// with the serializers' JSON decoder, which yields WAMP's value set directly: this is the hot path
// of every representative. The rules are decodeRequest's: one object, known fields of the right
// types.
func decodePublish(body []byte) (*webapp.PublishRequest, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || string(body) == "null" {
		return &webapp.PublishRequest{}, nil
	}
	if body[0] != '{' {
		return nil, webapp.Errorf(webapp.ErrMalformed, "the request body must be a JSON object")
	}
	v, err := codec.DecodeJSONValue(body)
	if err != nil {
		return nil, webapp.Errorf(webapp.ErrMalformed, "invalid JSON: %v", err)
	}
	return publishFields(v.(map[string]any), "")
}

// publishFields reads a decoded publish request object; at names its place in a batch ("" alone).
func publishFields(m map[string]any, at string) (*webapp.PublishRequest, error) {
	var req webapp.PublishRequest
	for k, v := range m {
		var ok bool
		switch k {
		case "topic":
			req.Topic, ok = v.(string)
		case "args":
			req.Args, ok = v.([]any)
		case "kwargs":
			req.Kwargs, ok = v.(map[string]any)
		case "options":
			req.Options, ok = v.(map[string]any)
		default:
			return nil, webapp.Errorf(webapp.ErrMalformed, "invalid request: json: unknown field %q%s", k, at)
		}
		if !ok && v != nil {
			want := map[string]string{"topic": "a string", "args": "an array", "kwargs": "an object", "options": "an object"}[k]
			return nil, &webapp.Error{URI: webapp.ErrMalformed, Message: "field " + strconv.Quote(k) + at + ": expected " + want + ", got " + jsonType(v),
				Details: map[string]any{"field": k}}
		}
	}
	return &req, nil
}

// decodePublishBatch decodes a publish_batch request.
func decodePublishBatch(body []byte) ([]*webapp.PublishRequest, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, webapp.Errorf(webapp.ErrMalformed, "the request body must be a JSON object with \"publications\"")
	}
	v, err := codec.DecodeJSONValue(body)
	if err != nil {
		return nil, webapp.Errorf(webapp.ErrMalformed, "invalid JSON: %v", err)
	}
	var list []any
	for k, x := range v.(map[string]any) {
		if k != "publications" {
			return nil, webapp.Errorf(webapp.ErrMalformed, "invalid request: json: unknown field %q", k)
		}
		var ok bool
		if list, ok = x.([]any); !ok && x != nil {
			return nil, webapp.Errorf(webapp.ErrMalformed, "field \"publications\": expected an array, got %s", jsonType(x))
		}
	}
	out := make([]*webapp.PublishRequest, len(list))
	for i, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, webapp.Errorf(webapp.ErrMalformed, "publications[%d]: expected an object, got %s", i, jsonType(x))
		}
		if out[i], err = publishFields(m, " of publications["+strconv.Itoa(i)+"]"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// jsonType names the JSON type of a decoded value, for messages.
func jsonType(v any) string {
	switch v.(type) {
	case string, []byte:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	case nil:
		return "null"
	}
	return "a number"
}
