package webapp

import (
	"encoding/json"

	"github.com/gateway-dev/gateway/wamp"
)

// The reply envelope of the message-queue representatives (AMQP, NATS), whose replies carry no
// status line of their own: {"result": <response>} on success, and on failure
// {"error": URI, "message", "details": {...}, "args"?, "kwargs"?, "status": <HTTP-equivalent>}.

type errorEnvelope struct {
	Error   wamp.URI       `json:"error"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
	Args    wamp.List      `json:"args,omitempty"`
	Kwargs  wamp.Dict      `json:"kwargs,omitempty"`
	Status  int            `json:"status"`
}

type resultEnvelope struct {
	Result any `json:"result"`
}

// EncodeResult returns the success envelope of result, or the error envelope of an internal error
// when result cannot be marshaled (the operation ran; only its answer failed).
func EncodeResult(result any) []byte {
	b, err := json.Marshal(resultEnvelope{Result: result})
	if err != nil {
		return EncodeError(Errorf(ErrInternal, "encoding the result: %v", err))
	}
	return b
}

// EncodeError returns the failure envelope of err.
func EncodeError(err error) []byte {
	e := AsError(err)
	details := e.Details
	if details == nil {
		details = map[string]any{}
	}
	r := errorEnvelope{Error: e.URI, Message: e.Message, Details: details, Args: e.Args, Kwargs: e.Kwargs, Status: HTTPStatus(err)}
	b, mErr := json.Marshal(r)
	if mErr != nil {
		// Details, args or kwargs hold something JSON cannot carry: answer without them.
		r.Details, r.Args, r.Kwargs = map[string]any{}, nil, nil
		b, _ = json.Marshal(r)
	}
	return b
}
