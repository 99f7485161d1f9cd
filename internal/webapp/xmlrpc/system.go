package xmlrpc

import (
	"context"
	"slices"
	"strings"

	"github.com/gateway-dev/gateway/internal/typo"
	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/wamp"
)

// systemMethod is one of the introspection and multicall methods.
type systemMethod struct {
	params  []string
	summary string
	run     func(h *handler, ctx context.Context, params []any) (any, error)
}

// systemMethods are the system.* methods, besides the gateway.* operations.
var systemMethods map[string]systemMethod

func init() {
	// Assigned here rather than in the declaration: multicall refers back to systemMethods.
	systemMethods = map[string]systemMethod{
		"system.listMethods": {nil, "list the methods of this server",
			func(_ *handler, _ context.Context, params []any) (any, error) {
				if err := wantParams("system.listMethods", params, 0); err != nil {
					return nil, err
				}
				names := methodNames()
				list := make([]any, len(names))
				for i, n := range names {
					list[i] = n
				}
				return list, nil
			}},
		"system.methodHelp": {[]string{"method"}, "describe a method: its params and what it does",
			func(_ *handler, _ context.Context, params []any) (any, error) {
				name, err := methodParam("system.methodHelp", params)
				if err != nil {
					return nil, err
				}
				return methodHelp(name)
			}},
		"system.methodSignature": {[]string{"method"}, `the signatures of a method ("undef": not declared)`,
			func(_ *handler, _ context.Context, params []any) (any, error) {
				name, err := methodParam("system.methodSignature", params)
				if err != nil {
					return nil, err
				}
				if _, err := methodHelp(name); err != nil {
					return nil, err
				}
				return "undef", nil
			}},
		"system.multicall": {[]string{"calls"}, "run an array of {methodName, params} structs in order; " +
			"answers an array with [result] or a fault struct for each", (*handler).multicall},
	}
}

// methodNames lists every method: the operations in documentation order, then system.*.
func methodNames() []string {
	names := make([]string, 0, len(webapp.Operations)+len(systemMethods))
	for _, op := range webapp.Operations {
		names = append(names, methodPrefix+op.Name)
	}
	var sys []string
	for name := range systemMethods {
		sys = append(sys, name)
	}
	slices.Sort(sys)
	return append(names, sys...)
}

// methodHelp describes a method: "name(params): summary".
func methodHelp(name string) (string, error) {
	if sys, ok := systemMethods[name]; ok {
		return name + "(" + strings.Join(sys.params, ", ") + "): " + sys.summary, nil
	}
	if opName, ok := strings.CutPrefix(name, methodPrefix); ok {
		if op, ok := webapp.LookupOperation(opName); ok {
			return name + "(" + strings.Join(op.Params, ", ") + "): " + op.Summary, nil
		}
	}
	return "", noSuchMethod(name)
}

// noSuchMethod is the error for an unknown method, with the likely intended name when there is one.
func noSuchMethod(name string) error {
	hint := ""
	if _, ok := webapp.LookupOperation(name); ok {
		hint = methodPrefix + name
	} else {
		hint = typo.Closest(name, methodNames())
	}
	if hint != "" {
		return webapp.Errorf(webapp.ErrNoSuchOperation, "no method %q: did you mean %q?", truncateName(name), hint)
	}
	return webapp.Errorf(webapp.ErrNoSuchOperation, "no method %q (system.listMethods lists them)", truncateName(name))
}

// wantParams checks that method got n params.
func wantParams(method string, params []any, n int) error {
	if len(params) != n {
		return webapp.Errorf(webapp.ErrMalformed, "%s takes %d params; got %d", method, n, len(params))
	}
	return nil
}

// methodParam returns the single string param of an introspection method.
func methodParam(method string, params []any) (string, error) {
	if err := wantParams(method, params, 1); err != nil {
		return "", err
	}
	name, ok := params[0].(string)
	if !ok {
		return "", webapp.Errorf(webapp.ErrMalformed, "%s takes a method name (a string)", method)
	}
	return name, nil
}

// multicall runs system.multicall: each call in order, each answered by [result] or a fault struct.
// A failed call does not stop the others.
func (h *handler) multicall(ctx context.Context, params []any) (any, error) {
	const usage = "system.multicall takes one array of {methodName, params} structs"
	if len(params) != 1 {
		return nil, webapp.Errorf(webapp.ErrMalformed, "%s; got %d params", usage, len(params))
	}
	calls, ok := params[0].([]any)
	if !ok {
		return nil, webapp.Errorf(webapp.ErrMalformed, "%s; got a %s", usage, typeName(params[0]))
	}
	results := make([]any, len(calls))
	for i, c := range calls {
		results[i] = h.multicallOne(ctx, c)
	}
	return results, nil
}

// multicallOne runs one element of a multicall and returns its encoded answer.
func (h *handler) multicallOne(ctx context.Context, c any) rawValue {
	m, ok := c.(map[string]any)
	method, okName := m["methodName"].(string)
	params, okParams := m["params"].([]any)
	if m != nil && m["params"] == nil {
		params, okParams = nil, true
	}
	if !ok || !okName || !okParams {
		return faultValue(faultOf(webapp.Errorf(webapp.ErrMalformed,
			"a multicall element is a struct with a string methodName and an array params")))
	}
	if err := ctx.Err(); err != nil {
		return faultValue(faultOf(webapp.Errorf(wamp.ErrCanceled, "the request was canceled: %v", err)))
	}
	result, err := h.call(ctx, method, params, false)
	if err != nil {
		f := faultOf(err)
		h.log.Debug("xml-rpc multicall fault", "method", truncateName(method), "code", f.code, "fault", f.msg)
		return faultValue(f)
	}
	out := append(make([]byte, 0, 128), "<value><array><data>"...)
	out, err = AppendValue(out, result)
	if err != nil {
		return faultValue(faultOf(unencodable(err)))
	}
	return append(out, "</data></array></value>"...)
}

// faultValue is a fault struct as a <value>, for a multicall answer.
func faultValue(f fault) rawValue {
	return appendFaultStruct(nil, f.code, f.msg)
}

// typeName names the XML-RPC type of a decoded value, for error messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case map[string]any:
		return "struct"
	case []any:
		return "array"
	case string:
		return "string"
	case int64:
		return "int"
	case float64:
		return "double"
	case bool:
		return "boolean"
	case []byte:
		return "base64"
	}
	return "dateTime.iso8601"
}
