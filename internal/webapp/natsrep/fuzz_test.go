package natsrep

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/wamp"
)

func FuzzDecode(f *testing.F) {
	for _, seed := range []struct{ subject, body string }{
		{"gateway.api.publish", `{"topic":"a.b"}`}, {"gateway.api.health", ``}, {"gateway.api.x.stats", `null`},
		{"gateway.api.", `{}`}, {"gateway.apix.publish", `{}`}, {"gateway.api.publish", `[1]`},
		{"gateway.api.publish", `{"a":1}{"b":2}`}, {"gateway.api.publish", "\xff"}, {"other", " {} "},
	} {
		f.Add(seed.subject, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, subject string, data []byte) {
		op, err := operation(DefaultSubjectPrefix, subject)
		if err != nil {
			assertURI(t, err, webapp.ErrNoSuchOperation)
		} else if _, ok := webapp.LookupOperation(op); !ok {
			t.Fatalf("subject %q accepted as unknown operation %q", subject, op)
		}
		body, err := requestBody(data)
		if err != nil {
			assertURI(t, err, webapp.ErrMalformed)
			return
		}
		if len(body) == 0 {
			return
		}
		var obj map[string]any
		if err := json.Unmarshal(body, &obj); err != nil {
			t.Fatalf("accepted body %q is not a JSON object or null: %v", body, err)
		}
		// Whatever the outcome, the envelopes are JSON.
		if !json.Valid(webapp.EncodeError(webapp.Errorf(webapp.ErrMalformed, "%s", data))) {
			t.Fatal("error envelope is not JSON")
		}
	})
}

func assertURI(t *testing.T, err error, want wamp.URI) {
	t.Helper()
	var e *webapp.Error
	if !errors.As(err, &e) || e.URI != want {
		t.Fatalf("error %v, want %v", err, want)
	}
}
