package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/gateway-dev/gateway/wamp"
)

// The answers of the representatives to a publish request, decoded into a publication id or an
// error that says what the representative answered.

// errorAnswer is the error body of HTTP/JSON and the error envelope of AMQP and NATS.
type errorAnswer struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Status  int    `json:"status"`
}

// snippet returns the start of an answer for an error message.
func snippet(b []byte) string {
	const n = 200
	if len(b) > n {
		b = b[:n]
	}
	for len(b) > 0 && !utf8.Valid(b) {
		b = b[:len(b)-1]
	}
	return strconv.Quote(string(b))
}

// parseHTTPAnswer decodes the answer of POST /api/v1/publish: 200 {"publication": id}, or an error
// status with {"error": URI, "message": ...}.
func parseHTTPAnswer(status int, body []byte) (wamp.ID, error) {
	if status != 200 {
		var e errorAnswer
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return 0, fmt.Errorf("HTTP %d: %s: %s", status, e.Error, e.Message)
		}
		return 0, fmt.Errorf("HTTP %d: %s", status, snippet(body))
	}
	var ok struct {
		Publication wamp.ID `json:"publication"`
	}
	if err := json.Unmarshal(body, &ok); err != nil || ok.Publication == 0 {
		return 0, fmt.Errorf("HTTP 200 without a publication id: %s", snippet(body))
	}
	return ok.Publication, nil
}

// parseEnvelope decodes the reply envelope of AMQP and NATS: {"result": {"publication": id}} or
// {"error": URI, "message": ..., "status": ...}.
func parseEnvelope(body []byte) (wamp.ID, error) {
	var env struct {
		Result *struct {
			Publication wamp.ID `json:"publication"`
		} `json:"result"`
		errorAnswer
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return 0, fmt.Errorf("reply is not a JSON envelope (%v): %s", err, snippet(body))
	}
	switch {
	case env.Error != "":
		return 0, fmt.Errorf("%s: %s (status %d)", env.Error, env.Message, env.Status)
	case env.Result == nil || env.Result.Publication == 0:
		return 0, fmt.Errorf("reply without a publication id: %s", snippet(body))
	}
	return env.Result.Publication, nil
}

// errNoXMLRPCValue reports an XML-RPC answer without a recognisable integer result.
var errNoXMLRPCValue = errors.New("XML-RPC answer without an integer result")

// parseXMLRPCAnswer decodes the answer of gateway.publish: a methodResponse whose single param is
// the publication id (<int>, <i4> or <i8>), or a fault. It looks for the few elements it needs
// instead of decoding the XML: the gateway's answers are small and regular.
func parseXMLRPCAnswer(status int, body []byte) (wamp.ID, error) {
	if status != 200 {
		return 0, fmt.Errorf("HTTP %d: %s", status, snippet(body))
	}
	if bytes.Contains(body, []byte("<fault>")) {
		msg := "(no faultString)"
		if _, rest, ok := bytes.Cut(body, []byte("<name>faultString</name>")); ok {
			if _, v, ok := bytes.Cut(rest, []byte("<string>")); ok {
				if s, _, ok := bytes.Cut(v, []byte("</string>")); ok {
					msg = string(s)
				}
			}
		}
		return 0, fmt.Errorf("XML-RPC fault: %s", msg)
	}
	if !bytes.Contains(body, []byte("<methodResponse>")) {
		return 0, fmt.Errorf("%w: %s", errNoXMLRPCValue, snippet(body))
	}
	for _, tag := range []string{"i8", "int", "i4"} {
		_, rest, ok := bytes.Cut(body, []byte("<"+tag+">"))
		if !ok {
			continue
		}
		digits, _, ok := bytes.Cut(rest, []byte("</"+tag+">"))
		if !ok {
			break
		}
		id, err := strconv.ParseUint(string(bytes.TrimSpace(digits)), 10, 64)
		if err != nil || id == 0 {
			return 0, fmt.Errorf("%w: bad publication id %s", errNoXMLRPCValue, snippet(digits))
		}
		return wamp.ID(id), nil
	}
	return 0, fmt.Errorf("%w: %s", errNoXMLRPCValue, snippet(body))
}
