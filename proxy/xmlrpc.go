package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gateway-dev/gateway/internal/webapp/xmlrpc"
)

// xmlrpcTransport is the XML-RPC transport: POST <URL>/RPC2, method gateway.<operation> with the
// request fields as positional params.
type xmlrpcTransport struct {
	cfg      *Config
	client   *http.Client
	endpoint string
	owned    bool
}

func newXMLRPCTransport(cfg *Config) *xmlrpcTransport {
	client, owned := httpClient(cfg)
	return &xmlrpcTransport{cfg: cfg, client: client, endpoint: httpEndpoint(cfg.URL, "/RPC2"), owned: owned}
}

func (t *xmlrpcTransport) invoke(ctx context.Context, r *request) (json.RawMessage, error) {
	params, err := r.positional()
	if err != nil {
		return nil, err
	}
	body, err := appendCall(make([]byte, 0, 512), "gateway."+r.op, params)
	if err != nil {
		return nil, fmt.Errorf("proxy: encoding the %s request as XML-RPC: %w", r.op, err)
	}
	status, answer, err := post(ctx, t.client, t.cfg, t.endpoint, "text/xml", body)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, unexpectedAnswer(status, answer)
	}
	result, fault, err := decodeResponse(answer)
	if err != nil {
		if errors.Is(err, errNotXMLRPC) {
			return nil, fmt.Errorf("%w (answer %s)", err, excerpt(answer))
		}
		return nil, err
	}
	if fault != nil {
		return nil, fault
	}
	if r.op == "publish" {
		// gateway.publish answers the bare publication id.
		result = map[string]any{"publication": result}
	}
	out, err := json.Marshal(result)
	if err != nil {
		return nil, fmt.Errorf("re-encoding the XML-RPC result: %w", err)
	}
	return out, nil
}

func (t *xmlrpcTransport) close() error {
	if t.owned {
		t.client.CloseIdleConnections()
	}
	return nil
}

// errNotXMLRPC wraps every decoding error: the answer is not a well-formed XML-RPC response.
var errNotXMLRPC = errors.New("not an XML-RPC response")

// appendCall encodes a <methodCall> with the gateway's own XML-RPC codec, so that the proxy and the
// representative agree on every type.
func appendCall(dst []byte, method string, params []any) ([]byte, error) {
	return xmlrpc.AppendCall(dst, method, params)
}

// decodeResponse decodes a <methodResponse>: its result as a generic value (int64, float64,
// string, bool, []byte, time.Time, []any, map[string]any, nil), or its fault as an *Error.
func decodeResponse(data []byte) (result any, fault *Error, err error) {
	v, err := xmlrpc.DecodeResponse(data, xmlrpc.Limits{})
	var f *xmlrpc.Fault
	switch {
	case errors.As(err, &f):
		return nil, faultError(int64(f.Code), f.String), nil
	case err != nil:
		return nil, nil, fmt.Errorf("%w: %w", errNotXMLRPC, err)
	}
	return v, nil, nil
}
