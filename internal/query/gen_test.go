package query

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// gen makes random filters and events over a small vocabulary, so that filters often match and
// fields are often missing, mistyped or nested.
type gen struct{ r *rand.Rand }

var genStrings = []string{"a", "b", "ab", "ba", "abc", ""}

func (g gen) str() string { return strconv.Quote(genStrings[g.r.IntN(len(genStrings))]) }

func (g gen) num() string {
	switch g.r.IntN(3) {
	case 0:
		return strconv.Itoa(g.r.IntN(7) - 1)
	case 1:
		return strconv.FormatFloat(float64(g.r.IntN(14))/2-1, 'f', 1, 64)
	}
	return strconv.Itoa(g.r.IntN(5))
}

// atom returns a random predicate in CEL syntax.
func (g gen) atom() string {
	strField := []string{"s1", "s2", "geo.city", "_topic", "_publisher"}[g.r.IntN(5)]
	numField := []string{"n1", "n2", "geo.zip", "deep.a.b"}[g.r.IntN(4)]
	ops := []string{"==", "!=", "<", "<=", ">", ">="}
	switch g.r.IntN(11) {
	case 0, 1:
		return fmt.Sprintf("%s %s %s", strField, ops[g.r.IntN(6)], g.str())
	case 2, 3:
		return fmt.Sprintf("%s %s %s", numField, ops[g.r.IntN(6)], g.num())
	case 4:
		n := g.r.IntN(4)
		var vals []string
		for range n {
			vals = append(vals, g.str())
		}
		return fmt.Sprintf("%s in [%s]", strField, strings.Join(vals, ", "))
	case 5:
		n := g.r.IntN(4)
		var vals []string
		for range n {
			vals = append(vals, g.num())
		}
		return fmt.Sprintf("%s in [%s]", numField, strings.Join(vals, ", "))
	case 6:
		return fmt.Sprintf("has(%s)", []string{"s1", "n1", "geo", "geo.city", "deep.a.b", "b1", "_class"}[g.r.IntN(7)])
	case 7:
		fn := []string{"startsWith", "endsWith", "contains"}[g.r.IntN(3)]
		return fmt.Sprintf("%s.%s(%s)", strField, fn, g.str())
	case 8:
		return []string{"b1", "b1 == false", "b1 != true"}[g.r.IntN(3)]
	case 9:
		return fmt.Sprintf("%s == %s", []string{"s1", "n1"}[g.r.IntN(2)], []string{`"1"`, "1", "true"}[g.r.IntN(3)])
	}
	return fmt.Sprintf("%s %s %s", numField, ops[g.r.IntN(6)], g.num())
}

// expr returns a random filter of up to about n predicates.
func (g gen) expr(n int) string {
	if n <= 1 || g.r.IntN(4) == 0 {
		a := g.atom()
		if g.r.IntN(6) == 0 {
			return "!(" + a + ")"
		}
		return a
	}
	k := 1 + g.r.IntN(n-1)
	op := " && "
	if g.r.IntN(3) == 0 {
		op = " || "
	}
	e := "(" + g.expr(k) + op + g.expr(n-k) + ")"
	if g.r.IntN(8) == 0 {
		e = "!" + e
	}
	return e
}

// event returns random kwargs and metadata.
func (g gen) event() (map[string]any, Meta) {
	kw := map[string]any{}
	maybe := func(name string, v any) {
		if g.r.IntN(5) > 0 {
			kw[name] = v
		}
	}
	sv := func() any {
		if g.r.IntN(12) == 0 {
			return int64(1)
		}
		return genStrings[g.r.IntN(len(genStrings))]
	}
	nv := func() any {
		switch g.r.IntN(12) {
		case 0:
			return "1"
		case 1:
			return nil
		case 2:
			return []any{1}
		case 3, 4, 5:
			return float64(g.r.IntN(14))/2 - 1
		case 6:
			return uint64(g.r.IntN(5))
		}
		return int64(g.r.IntN(7) - 1)
	}
	maybe("s1", sv())
	maybe("s2", sv())
	maybe("n1", nv())
	maybe("n2", nv())
	maybe("b1", []any{true, false, "true"}[g.r.IntN(3)])
	switch g.r.IntN(4) {
	case 0:
		kw["geo"] = "not an object"
	case 1, 2:
		geo := map[string]any{}
		if g.r.IntN(4) > 0 {
			geo["city"] = sv()
		}
		if g.r.IntN(4) > 0 {
			geo["zip"] = nv()
		}
		kw["geo"] = geo
	}
	if g.r.IntN(2) == 0 {
		kw["deep"] = map[string]any{"a": map[string]any{"b": nv()}}
	}
	kw["noise"] = int64(1)
	kw["_topic"] = "not metadata"
	kw["geo.city"] = "not nested"
	m := Meta{Topic: []string{"a", "ab", "b"}[g.r.IntN(3)]}
	if g.r.IntN(2) == 0 {
		m.Publisher = genStrings[g.r.IntN(len(genStrings))]
	}
	if g.r.IntN(2) == 0 {
		m.Class = "c"
	}
	return kw, m
}
