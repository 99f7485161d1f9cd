package proxy

import (
	"encoding/json"
	"fmt"
)

// decodeEnvelope reads the reply envelope of the AMQP and NATS representatives: {"result": ...},
// or {"error", "message", "details", "status", "args"?, "kwargs"?}.
func decodeEnvelope(data []byte) (json.RawMessage, error) {
	var env struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("the reply is not a JSON object (%v): %s", err, excerpt(data))
	}
	if env.Error != nil {
		if e, ok := decodeError(data, 0); ok {
			return nil, e
		}
		return nil, fmt.Errorf("the reply's error is not an error URI: %s", excerpt(data))
	}
	if env.Result == nil {
		return nil, fmt.Errorf("the reply has neither result nor error: %s", excerpt(data))
	}
	return env.Result, nil
}
