package router

import "github.com/gateway-dev/gateway/wamp"

// uriRule selects how strictly URIs are checked (WAMP spec, "URIs").
type uriRule struct {
	strict bool // components limited to [0-9a-z_]
}

// componentChar reports whether c may appear in a URI component.
func (r uriRule) componentChar(c byte) bool {
	if r.strict {
		return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
	}
	// loose: anything but whitespace, '.' and '#'
	return c != '.' && c != '#' && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v'
}

// valid checks u. allowEmpty permits empty components (wildcard patterns); allowLastEmpty permits a
// trailing '.' (prefix patterns).
func (r uriRule) valid(u wamp.URI, allowEmpty, allowLastEmpty bool) bool {
	if len(u) == 0 {
		return false
	}
	compLen := 0
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c == '.' {
			if compLen == 0 && !allowEmpty {
				return false
			}
			compLen = 0
			continue
		}
		if !r.componentChar(c) {
			return false
		}
		compLen++
	}
	if compLen == 0 && !allowEmpty && !allowLastEmpty {
		return false
	}
	return true
}

// validMatch checks a topic or procedure pattern for the given match policy.
func (r uriRule) validMatch(u wamp.URI, match string) bool {
	switch match {
	case matchWildcard:
		return r.valid(u, true, true)
	case matchPrefix:
		return r.valid(u, false, true)
	default:
		return r.valid(u, false, false)
	}
}

// reserved reports whether u lies in a namespace that clients may not register or publish to.
func reserved(u wamp.URI) bool {
	return hasComponentPrefix(u, "wamp") || hasComponentPrefix(u, "gateway")
}

func hasComponentPrefix(u wamp.URI, p string) bool {
	return len(u) > len(p) && string(u[:len(p)]) == p && u[len(p)] == '.'
}
