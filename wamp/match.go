package wamp

import "strings"

// The match policies of SUBSCRIBE and REGISTER (Options.match).
const (
	MatchExact    = "exact"
	MatchPrefix   = "prefix"
	MatchWildcard = "wildcard"
)

// Matches reports whether the pattern (a topic or procedure URI) with the given match policy covers
// uri: equal for exact (or an unknown policy), a string prefix for prefix, and for wildcard the same
// number of components with every non-empty pattern component equal.
func Matches(match string, pattern, uri URI) bool {
	switch match {
	case MatchPrefix:
		return strings.HasPrefix(string(uri), string(pattern))
	case MatchWildcard:
		p, u := string(pattern), string(uri)
		if strings.Count(p, ".") != strings.Count(u, ".") {
			return false
		}
		for p != "" || u != "" {
			pc, prest, _ := strings.Cut(p, ".")
			uc, urest, _ := strings.Cut(u, ".")
			if pc != "" && pc != uc {
				return false
			}
			p, u = prest, urest
		}
		return true
	default:
		return pattern == uri
	}
}
