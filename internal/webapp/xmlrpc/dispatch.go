package xmlrpc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gateway-dev/gateway/internal/webapp"
)

// methodPrefix prefixes the name of every web-app operation.
const methodPrefix = "gateway."

// call runs one method with its decoded params and returns its result, ready for AppendValue. top is
// false inside system.multicall, which does not nest.
func (h *handler) call(ctx context.Context, method string, params []any, top bool) (any, error) {
	if sys, ok := systemMethods[method]; ok {
		if method == "system.multicall" && !top {
			return nil, webapp.Errorf(webapp.ErrMalformed, "system.multicall cannot be called inside system.multicall")
		}
		return sys.run(h, ctx, params)
	}
	if name, ok := strings.CutPrefix(method, methodPrefix); ok {
		if op, ok := webapp.LookupOperation(name); ok {
			return h.invoke(ctx, op, params)
		}
	}
	return nil, noSuchMethod(method)
}

// invoke runs a web-app operation: its positional params become the fields of the JSON request (a
// nil param is left out), and its result comes back as generic values (publish: the bare
// publication id).
func (h *handler) invoke(ctx context.Context, op webapp.Operation, params []any) (any, error) {
	if len(params) > len(op.Params) {
		return nil, webapp.Errorf(webapp.ErrMalformed, "%s takes %s; got %d params",
			methodPrefix+op.Name, describeParams(op), len(params))
	}
	req := make(map[string]any, len(params))
	for i, p := range params {
		if p == nil {
			continue
		}
		v, err := toJSON(p)
		if err != nil {
			return nil, webapp.Errorf(webapp.ErrMalformed, "param %d (%s): %v", i+1, op.Params[i], err)
		}
		req[op.Params[i]] = v
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encoding the %s request as JSON: %w", op.Name, err)
	}
	res, err := h.inv.Invoke(ctx, op.Name, body)
	if err != nil {
		return nil, err
	}
	if op.Name == "publish" {
		return publicationID(res)
	}
	return toGeneric(res)
}

// publicationID returns the publication id of a publish result (any other result as it is).
func publicationID(res any) (any, error) {
	switch r := res.(type) {
	case webapp.PublishResponse:
		return uint64(r.Publication), nil
	case *webapp.PublishResponse:
		if r != nil {
			return uint64(r.Publication), nil
		}
	}
	v, err := toGeneric(res)
	if m, ok := v.(map[string]any); ok {
		if id, ok := m["publication"]; ok {
			return id, nil
		}
	}
	return v, err
}

// describeParams says which params op takes, for error messages and system.methodHelp.
func describeParams(op webapp.Operation) string {
	switch len(op.Params) {
	case 0:
		return "no params"
	case 1:
		return "at most 1 param (" + op.Params[0] + ")"
	}
	return fmt.Sprintf("at most %d params (%s)", len(op.Params), strings.Join(op.Params, ", "))
}

// maxExactInt is 2^53: every integer up to it in magnitude is exact as a double (and WAMP ids fit).
const maxExactInt = 1 << 53

// toJSON converts a decoded XML-RPC value, in place, into what encoding/json writes as intended:
// base64 as a base64 string, dateTime as an RFC 3339 string, and a double with an integral value up
// to 2^53 as a JSON integer (JSON does not tell 1.0 from 1, and this lets clients that cannot send
// 64-bit ints, like Python's xmlrpc.client, send an id as a double).
func toJSON(v any) (any, error) {
	switch x := v.(type) {
	case []byte:
		return base64.StdEncoding.EncodeToString(x), nil
	case time.Time:
		return x.Format(time.RFC3339Nano), nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, fmt.Errorf("double %v has no JSON form", x)
		}
		if x == math.Trunc(x) && math.Abs(x) <= maxExactInt {
			return json.Number(strconv.FormatInt(int64(x), 10)), nil
		}
		return json.Number(strconv.FormatFloat(x, 'g', -1, 64)), nil
	case map[string]any:
		for k, e := range x {
			c, err := toJSON(e)
			if err != nil {
				return nil, fmt.Errorf("member %q: %w", k, err)
			}
			x[k] = c
		}
	case []any:
		for i, e := range x {
			c, err := toJSON(e)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			x[i] = c
		}
	}
	return v, nil
}

// toGeneric turns an operation result into generic values (maps, slices, json.Number, strings,
// bools, nil) by way of its JSON form, so that XML-RPC answers exactly what the JSON transports do.
func toGeneric(res any) (any, error) {
	b, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("encoding the result as JSON: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decoding the result's JSON: %w", err)
	}
	return v, nil
}
