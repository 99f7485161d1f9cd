package router

import (
	"fmt"
	"math"

	"github.com/gateway-dev/gateway/wamp"
)

// optionError reports an option of the wrong type or value; it becomes ERROR wamp.error.invalid_argument.
type optionError struct{ msg string }

func (e *optionError) Error() string { return e.msg }

func badOption(key, want string, v any) *optionError {
	return &optionError{msg: fmt.Sprintf("option %q must be %s, got %T", key, want, v)}
}

func optBool(d wamp.Dict, key string, def bool) (bool, error) {
	v, ok := d[key]
	if !ok || v == nil {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return def, badOption(key, "a boolean", v)
	}
	return b, nil
}

func optString(d wamp.Dict, key, def string) (string, error) {
	v, ok := d[key]
	if !ok || v == nil {
		return def, nil
	}
	s, ok := v.(string)
	if !ok {
		return def, badOption(key, "a string", v)
	}
	return s, nil
}

// asInt converts a decoded number to int64 when it is integral.
func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case uint64:
		if n <= math.MaxInt64 {
			return int64(n), true
		}
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<63 {
			return int64(n), true
		}
	case int:
		return int64(n), true
	}
	return 0, false
}

func asID(v any) (wamp.ID, bool) {
	n, ok := asInt(v)
	if !ok || !wamp.ID(n).Valid() || n < 0 {
		return 0, false
	}
	return wamp.ID(n), true
}

func optInt(d wamp.Dict, key string, def int64) (int64, error) {
	v, ok := d[key]
	if !ok || v == nil {
		return def, nil
	}
	n, ok := asInt(v)
	if !ok {
		return def, badOption(key, "an integer", v)
	}
	return n, nil
}

// optIDSet reads a list of session IDs; nil when absent.
func optIDSet(d wamp.Dict, key string) (map[wamp.ID]struct{}, error) {
	v, ok := d[key]
	if !ok || v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, badOption(key, "a list of session IDs", v)
	}
	set := make(map[wamp.ID]struct{}, len(l))
	for _, x := range l {
		id, ok := asID(x)
		if !ok {
			return nil, badOption(key, "a list of session IDs", x)
		}
		set[id] = struct{}{}
	}
	return set, nil
}

// optStringSet reads a list of strings; nil when absent.
func optStringSet(d wamp.Dict, key string) (map[string]struct{}, error) {
	v, ok := d[key]
	if !ok || v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, badOption(key, "a list of strings", v)
	}
	set := make(map[string]struct{}, len(l))
	for _, x := range l {
		s, ok := x.(string)
		if !ok {
			return nil, badOption(key, "a list of strings", x)
		}
		set[s] = struct{}{}
	}
	return set, nil
}

// pptKeys are the Payload Passthru Mode options a router forwards from PUBLISH/CALL/YIELD/ERROR to
// EVENT/INVOCATION/RESULT/ERROR details.
var pptKeys = [...]string{"ppt_scheme", "ppt_serializer", "ppt_cipher", "ppt_keyid"}

// pptOptions validates and copies the payload passthru options of opts into dst (allocating it when
// needed) and returns dst.
func pptOptions(opts wamp.Dict, dst wamp.Dict) (wamp.Dict, error) {
	if _, ok := opts["ppt_scheme"]; !ok {
		return dst, nil
	}
	for _, k := range pptKeys {
		v, ok := opts[k]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok || s == "" {
			return dst, badOption(k, "a non-empty string", v)
		}
		if dst == nil {
			dst = wamp.Dict{}
		}
		dst[k] = s
	}
	return dst, nil
}

// parseMatch reads the match policy option of SUBSCRIBE, REGISTER and the lookup meta procedures.
func parseMatch(o wamp.Dict) (string, error) {
	match, err := optString(o, "match", matchExact)
	if err == nil && match != matchExact && match != matchPrefix && match != matchWildcard {
		err = &optionError{msg: "option \"match\" must be \"exact\", \"prefix\" or \"wildcard\", got \"" + match + "\""}
	}
	return match, err
}
