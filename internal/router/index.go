package router

import (
	"sort"
	"strings"

	"github.com/gateway-dev/gateway/wamp"
)

// Match policies (SUBSCRIBE.Options.match, REGISTER.Options.match).
const (
	matchExact    = wamp.MatchExact
	matchPrefix   = wamp.MatchPrefix
	matchWildcard = wamp.MatchWildcard
)

// patternIndex finds the entries (subscriptions or registrations) whose URI pattern matches a URI.
// Exact lookups are one map access; prefix lookups cost one map access per distinct prefix length in
// use; wildcard lookups walk a component trie. It is not safe for concurrent use.
type patternIndex[T any] struct {
	exact      map[wamp.URI]T
	prefix     map[wamp.URI]T
	prefixLens []int       // distinct lengths of prefix patterns, longest first
	lenCount   map[int]int // number of prefix patterns per length
	wildcard   map[wamp.URI]T
	trie       *wildNode[T]
}

type wildNode[T any] struct {
	children map[string]*wildNode[T] // "" is the wildcard edge
	item     T
	has      bool
}

func newPatternIndex[T any]() *patternIndex[T] {
	return &patternIndex[T]{
		exact:    map[wamp.URI]T{},
		prefix:   map[wamp.URI]T{},
		lenCount: map[int]int{},
		wildcard: map[wamp.URI]T{},
		trie:     &wildNode[T]{},
	}
}

func (ix *patternIndex[T]) table(match string) map[wamp.URI]T {
	switch match {
	case matchPrefix:
		return ix.prefix
	case matchWildcard:
		return ix.wildcard
	default:
		return ix.exact
	}
}

// get returns the entry registered for exactly this (match, pattern).
func (ix *patternIndex[T]) get(match string, pattern wamp.URI) (T, bool) {
	v, ok := ix.table(match)[pattern]
	return v, ok
}

// put adds or replaces the entry for (match, pattern).
func (ix *patternIndex[T]) put(match string, pattern wamp.URI, v T) {
	t := ix.table(match)
	_, existed := t[pattern]
	t[pattern] = v
	switch match {
	case matchPrefix:
		if !existed {
			ix.lenCount[len(pattern)]++
			if ix.lenCount[len(pattern)] == 1 {
				ix.prefixLens = append(ix.prefixLens, len(pattern))
				sort.Sort(sort.Reverse(sort.IntSlice(ix.prefixLens)))
			}
		}
	case matchWildcard:
		n := ix.trie
		for _, c := range strings.Split(string(pattern), ".") {
			if n.children == nil {
				n.children = map[string]*wildNode[T]{}
			}
			child := n.children[c]
			if child == nil {
				child = &wildNode[T]{}
				n.children[c] = child
			}
			n = child
		}
		n.item, n.has = v, true
	}
}

// del removes the entry for (match, pattern).
func (ix *patternIndex[T]) del(match string, pattern wamp.URI) {
	t := ix.table(match)
	if _, ok := t[pattern]; !ok {
		return
	}
	delete(t, pattern)
	switch match {
	case matchPrefix:
		l := len(pattern)
		ix.lenCount[l]--
		if ix.lenCount[l] == 0 {
			delete(ix.lenCount, l)
			for i, x := range ix.prefixLens {
				if x == l {
					ix.prefixLens = append(ix.prefixLens[:i], ix.prefixLens[i+1:]...)
					break
				}
			}
		}
	case matchWildcard:
		ix.trieDelete(ix.trie, strings.Split(string(pattern), "."))
	}
}

// trieDelete clears the item at path and prunes empty nodes; it reports whether n became empty.
func (ix *patternIndex[T]) trieDelete(n *wildNode[T], path []string) bool {
	if len(path) == 0 {
		var zero T
		n.item, n.has = zero, false
	} else if child := n.children[path[0]]; child != nil {
		if ix.trieDelete(child, path[1:]) {
			delete(n.children, path[0])
		}
	}
	return !n.has && len(n.children) == 0
}

// each calls fn for every entry whose pattern matches uri (exact, then prefixes longest first, then
// wildcards), with the entry's match policy.
func (ix *patternIndex[T]) each(uri wamp.URI, fn func(match string, v T)) {
	if v, ok := ix.exact[uri]; ok {
		fn(matchExact, v)
	}
	for _, l := range ix.prefixLens {
		if l <= len(uri) {
			if v, ok := ix.prefix[uri[:l]]; ok {
				fn(matchPrefix, v)
			}
		}
	}
	if len(ix.wildcard) > 0 {
		walkWild(ix.trie, string(uri), func(v T) { fn(matchWildcard, v) }, false)
	}
}

// walkWild visits the trie along the components of rest; with first set it stops at the first (most
// specific: concrete components preferred from left to right) match and reports whether one was found.
func walkWild[T any](n *wildNode[T], rest string, fn func(T), first bool) bool {
	comp, tail, more := strings.Cut(rest, ".")
	if n.children == nil {
		return false
	}
	for _, key := range [2]string{comp, ""} {
		if child := n.children[key]; child != nil {
			if more {
				if walkWild(child, tail, fn, first) && first {
					return true
				}
			} else if child.has {
				fn(child.item)
				if first {
					return true
				}
			}
		}
		if comp == "" {
			break // the concrete and the wildcard edge are the same edge
		}
	}
	return false
}

// best returns the single entry that should handle uri (for RPC): an exact registration, else the
// longest matching prefix, else the most specific wildcard.
func (ix *patternIndex[T]) best(uri wamp.URI) (T, string, bool) {
	if v, ok := ix.exact[uri]; ok {
		return v, matchExact, true
	}
	for _, l := range ix.prefixLens {
		if l <= len(uri) {
			if v, ok := ix.prefix[uri[:l]]; ok {
				return v, matchPrefix, true
			}
		}
	}
	var found T
	ok := false
	if len(ix.wildcard) > 0 {
		ok = walkWild(ix.trie, string(uri), func(v T) { found = v }, true)
	}
	return found, matchWildcard, ok
}
