package natsrep

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/gateway-dev/gateway/internal/webapp"
)

// operation returns the operation named by subject: its last token after prefix+".".
func operation(prefix, subject string) (string, error) {
	rest, ok := strings.CutPrefix(subject, prefix+".")
	if !ok || rest == "" {
		return "", webapp.Errorf(webapp.ErrNoSuchOperation, "subject %q is not under %s.", subject, prefix)
	}
	op := rest[strings.LastIndexByte(rest, '.')+1:]
	if _, ok := webapp.LookupOperation(op); !ok {
		return op, webapp.Errorf(webapp.ErrNoSuchOperation, "no operation %q", op)
	}
	return op, nil
}

// requestBody checks that data is an operation request: empty, null or a JSON object.
func requestBody(data []byte) ([]byte, error) {
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return nil, nil
	}
	if (t[0] != '{' && !bytes.Equal(t, []byte("null"))) || !json.Valid(t) {
		return nil, webapp.Errorf(webapp.ErrMalformed, "the request body must be a JSON object")
	}
	return t, nil
}
