package proxy

import (
	"encoding/json"
	"fmt"
	"slices"
)

// operationParams lists each operation's request fields in the order XML-RPC passes them
// positionally (the gateway's Operation.Params).
var operationParams = map[string][]string{
	"publish":        {"topic", "args", "kwargs", "options"},
	"publish_batch":  {"publications"},
	"issue_ticket":   {"authid", "authrole", "ttl", "authextra"},
	"revoke":         {"authid"},
	"sessions":       {"authid", "authrole"},
	"kill_session":   {"session", "reason", "message"},
	"call":           {"procedure", "args", "kwargs", "options"},
	"event_classes":  nil,
	"describe_class": {"class"},
	"define_class":   {"class"},
	"health":         nil,
	"stats":          nil,
}

// request is one operation with its request fields; absent fields are left out.
type request struct {
	op     string
	fields map[string]any
	// messageID is the AMQP message_id (default: a random one per request).
	messageID string
}

// newRequest returns a request for op.
func newRequest(op string) *request { return &request{op: op, fields: map[string]any{}} }

// set sets field name to v unless v is empty (a zero string, nil, or an empty slice or map).
func (r *request) set(name string, v any) *request {
	switch x := v.(type) {
	case nil:
		return r
	case string:
		if x == "" {
			return r
		}
	case []any:
		if x == nil {
			return r
		}
	case map[string]any:
		if x == nil {
			return r
		}
	}
	r.fields[name] = v
	return r
}

// body returns the JSON request object.
func (r *request) body() ([]byte, error) {
	b, err := json.Marshal(r.fields)
	if err != nil {
		return nil, fmt.Errorf("proxy: encoding the %s request: %w", r.op, err)
	}
	return b, nil
}

// envelope returns the JSON request object with "op" added (AMQP).
func (r *request) envelope() ([]byte, error) {
	if _, ok := r.fields["op"]; ok {
		return nil, fmt.Errorf("proxy: the %s request has a field named \"op\"", r.op)
	}
	m := make(map[string]any, len(r.fields)+1)
	for k, v := range r.fields {
		m[k] = v
	}
	m["op"] = r.op
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("proxy: encoding the %s request: %w", r.op, err)
	}
	return b, nil
}

// positional returns the request fields as XML-RPC params, as generic JSON values in the
// operation's parameter order: absent fields in the middle are nil, trailing ones are left out.
func (r *request) positional() ([]any, error) {
	names, known := operationParams[r.op]
	if !known && len(r.fields) > 0 {
		return nil, fmt.Errorf("proxy: XML-RPC cannot carry the fields of unknown operation %q (their order is unknown)", r.op)
	}
	for k := range r.fields {
		if !slices.Contains(names, k) {
			return nil, fmt.Errorf("proxy: operation %s has no field %q", r.op, k)
		}
	}
	var params []any
	last := -1
	for i, name := range names {
		v, ok := r.fields[name]
		if !ok {
			params = append(params, nil)
			continue
		}
		g, err := generic(v)
		if err != nil {
			return nil, fmt.Errorf("proxy: encoding %s of the %s request: %w", name, r.op, err)
		}
		params = append(params, g)
		last = i
	}
	return params[:last+1], nil
}
