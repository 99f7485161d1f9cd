package wamp

import "testing"

func TestMatches(t *testing.T) {
	for _, c := range []struct {
		match        string
		pattern, uri URI
		want         bool
	}{
		{MatchExact, "a.b", "a.b", true},
		{MatchExact, "a.b", "a.b.c", false},
		{"", "a.b", "a.b", true},
		{MatchPrefix, "a.b", "a.b.c", true},
		{MatchPrefix, "a.b", "a.bc", true}, // a string prefix, as the spec says
		{MatchPrefix, "a.b", "a", false},
		{MatchWildcard, "a..c", "a.b.c", true},
		{MatchWildcard, "a..c", "a.b.d", false},
		{MatchWildcard, "a..c", "a.b.c.d", false},
		{MatchWildcard, "..", "x.y.z", true},
		{MatchWildcard, "a.", "a.b", true},
		{MatchWildcard, "a.", "a", false},
		{MatchWildcard, ".b", "a.b", true},
	} {
		if got := Matches(c.match, c.pattern, c.uri); got != c.want {
			t.Errorf("Matches(%q, %q, %q) = %v, want %v", c.match, c.pattern, c.uri, got, c.want)
		}
	}
}
