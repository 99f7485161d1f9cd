package amqprep

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/gateway-dev/gateway/internal/webapp"
)

func FuzzSplitOp(f *testing.F) {
	for _, seed := range []string{
		`{"op":"publish","topic":"a.b","args":[1]}`, `{"op":"health"}`, `{"op":1}`, `{"op":null}`,
		`{}`, `[]`, `null`, ``, `{"op":"publish"`, ` {"op":"stats"} `, `{"op":"x","op":"health"}`,
		"{\"op\":\"publish\",\"kwargs\":{\"\xff\":1}}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		op, req, err := splitOp(body)
		if err != nil {
			var e *webapp.Error
			if !errors.As(err, &e) || (e.URI != webapp.ErrMalformed && e.URI != webapp.ErrNoSuchOperation) {
				t.Fatalf("error %v is not malformed or no-such-operation", err)
			}
			return
		}
		if _, ok := webapp.LookupOperation(op); !ok {
			t.Fatalf("accepted unknown operation %q", op)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(req, &fields); err != nil {
			t.Fatalf("request %q is not a JSON object: %v", req, err)
		}
		if _, ok := fields["op"]; ok {
			t.Fatalf("request %q still has op", req)
		}
	})
}
