package amqprep

import (
	"bytes"
	"encoding/json"

	"github.com/gateway-dev/gateway/internal/webapp"
)

// splitOp decodes a message body {"op": "<operation>", ...fields...} into the operation name and the
// operation's request body (the same object without "op"). Errors are *webapp.Error: ErrMalformed
// for a body that is not a JSON object with a string "op", ErrNoSuchOperation for an unknown one.
func splitOp(body []byte) (string, []byte, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return "", nil, webapp.Errorf(webapp.ErrMalformed, "the message body must be a JSON object with an \"op\" field")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &fields); err != nil {
		return "", nil, webapp.Errorf(webapp.ErrMalformed, "the message body is not valid JSON: %v", err)
	}
	rawOp, ok := fields["op"]
	if !ok {
		return "", nil, webapp.Errorf(webapp.ErrMalformed, "the message body has no \"op\" field")
	}
	var op string
	if err := json.Unmarshal(rawOp, &op); err != nil || op == "" {
		return "", nil, webapp.Errorf(webapp.ErrMalformed, "\"op\" must be a non-empty string")
	}
	if _, ok := webapp.LookupOperation(op); !ok {
		return op, nil, webapp.Errorf(webapp.ErrNoSuchOperation, "no operation %q", op)
	}
	delete(fields, "op")
	req, err := json.Marshal(fields)
	if err != nil {
		return op, nil, webapp.Errorf(webapp.ErrMalformed, "re-encoding the request: %v", err)
	}
	return op, req, nil
}
