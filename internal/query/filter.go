package query

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
)

// op is the operator of a predicate.
type op uint8

const (
	opEq op = iota + 1
	opNe
	opLt
	opLe
	opGt
	opGe
	opIn       // field in [list]
	opHas      // field present
	opPrefix   // field.startsWith(s)
	opSuffix   // field.endsWith(s)
	opContains // field.contains(s)
)

var opNames = [...]string{opEq: "==", opNe: "!=", opLt: "<", opLe: "<=", opGt: ">", opGe: ">=",
	opIn: "in", opHas: "has", opPrefix: "startsWith", opSuffix: "endsWith", opContains: "contains"}

// atom is one predicate over one field.
type atom struct {
	path string
	op   op
	val  value   // literal (not for opIn/opHas)
	set  []value // opIn: sorted, distinct
}

// lit is an atom or its negation.
type lit struct {
	atom
	neg bool
}

// evalAtom evaluates a over the field's value v. A missing field, a value of another type, or a
// non-scalar makes every predicate false except has(), which is true for any present value.
func evalAtom(a *atom, v value) bool {
	switch a.op {
	case opHas:
		return v.present()
	case opIn:
		for i := range a.set {
			if c, ok := compare(v, a.set[i]); ok && c == 0 {
				return true
			}
		}
		return false
	case opPrefix:
		return v.k == kString && strings.HasPrefix(v.s, a.val.s)
	case opSuffix:
		return v.k == kString && strings.HasSuffix(v.s, a.val.s)
	case opContains:
		return v.k == kString && strings.Contains(v.s, a.val.s)
	}
	c, ok := compare(v, a.val)
	if !ok {
		return false
	}
	switch a.op {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	case opGe:
		return c >= 0
	}
	return false
}

// nodeKind is the kind of a filter expression tree node.
type nodeKind uint8

const (
	nAtom nodeKind = iota
	nAnd
	nOr
	nNot
	nConst
)

// node is the filter expression as written (before normalisation); it is kept for the reference
// evaluator and for error positions.
type node struct {
	kind  nodeKind
	kids  []*node
	atom  atom
	value bool // nConst
}

// Filter is a compiled filter: a canonical disjunction of conjunctions of (possibly negated)
// predicates. A Filter is immutable and safe for concurrent use; Filters with the same canonical form
// are shared by an Index.
type Filter struct {
	src   string
	tree  *node
	conjs [][]lit // canonical DNF; nil: matches nothing; one empty conjunction: matches everything
	canon string
	hash  uint64
}

// String returns the filter's canonical text: a CEL expression, equivalent to the source, that is
// the same for every equivalent spelling the normaliser recognises (operand order, duplicate
// predicates, in-lists of one value, and so on). Compiling it yields an equal Filter.
func (f *Filter) String() string { return f.canon }

// Source returns the text (CEL or JSON) the filter was compiled from.
func (f *Filter) Source() string { return f.src }

// Equal reports whether f and g have the same canonical form.
func (f *Filter) Equal(g *Filter) bool { return f.canon == g.canon }

// MatchesAll reports whether the filter matches every event (for example "true").
func (f *Filter) MatchesAll() bool { return len(f.conjs) == 1 && len(f.conjs[0]) == 0 }

// MatchesNothing reports whether the filter can never match (for example "false").
func (f *Filter) MatchesNothing() bool { return len(f.conjs) == 0 }

// Fields returns the distinct field paths the filter reads, sorted.
func (f *Filter) Fields() []string {
	var out []string
	for _, c := range f.conjs {
		for _, l := range c {
			out = append(out, l.path)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

var hashSeed = maphash.MakeSeed()

// errTooComplex is returned by dnf when the expansion exceeds the limit.
type errTooComplex struct{ limit int }

func (e errTooComplex) Error() string {
	return fmt.Sprintf("filter expands to more than %d alternatives (|| of &&); simplify it or use in [...]", e.limit)
}

// toDNF converts the tree to disjunctive normal form, pushing negations down to the atoms. Atoms are
// two-valued (a missing field makes a predicate false, not unknown), so De Morgan's laws hold.
func toDNF(n *node, neg bool, limit int) ([][]lit, error) {
	switch n.kind {
	case nConst:
		if n.value != neg {
			return [][]lit{{}}, nil
		}
		return nil, nil
	case nAtom:
		return [][]lit{{{atom: n.atom, neg: neg}}}, nil
	case nNot:
		return toDNF(n.kids[0], !neg, limit)
	}
	isOr := (n.kind == nOr) != neg
	if isOr {
		var out [][]lit
		for _, k := range n.kids {
			d, err := toDNF(k, neg, limit)
			if err != nil {
				return nil, err
			}
			out = append(out, d...)
			if len(out) > limit {
				return nil, errTooComplex{limit}
			}
		}
		return out, nil
	}
	out := [][]lit{{}}
	for _, k := range n.kids {
		d, err := toDNF(k, neg, limit)
		if err != nil {
			return nil, err
		}
		if len(out)*len(d) > limit {
			return nil, errTooComplex{limit}
		}
		next := make([][]lit, 0, len(out)*len(d))
		for _, a := range out {
			for _, b := range d {
				c := make([]lit, 0, len(a)+len(b))
				c = append(append(c, a...), b...)
				next = append(next, c)
			}
		}
		out = next
	}
	return out, nil
}

func cmpLit(a, b lit) int {
	if c := strings.Compare(a.path, b.path); c != 0 {
		return c
	}
	if c := cmp.Compare(a.op, b.op); c != 0 {
		return c
	}
	if a.neg != b.neg {
		if a.neg {
			return 1
		}
		return -1
	}
	if c := order(a.val, b.val); c != 0 {
		return c
	}
	return slices.CompareFunc(a.set, b.set, order)
}

func cmpConj(a, b []lit) int { return slices.CompareFunc(a, b, cmpLit) }

// normalize sorts and deduplicates the DNF and drops contradictory conjunctions that contain both a
// literal and its negation; a conjunction that is a subset of another makes the other redundant.
func normalize(conjs [][]lit) [][]lit {
	out := conjs[:0]
	for _, c := range conjs {
		// x in [] is false; !(x in []) is true.
		empty := false
		c = slices.DeleteFunc(c, func(l lit) bool {
			if l.op == opIn && len(l.set) == 0 {
				empty = empty || !l.neg
				return true
			}
			return false
		})
		if empty {
			continue
		}
		slices.SortFunc(c, cmpLit)
		c = slices.CompactFunc(c, func(a, b lit) bool { return cmpLit(a, b) == 0 })
		contradictory := false
		for i := range c {
			for j := i + 1; j < len(c) && c[j].path == c[i].path; j++ {
				if c[i].neg != c[j].neg && c[i].op == c[j].op && order(c[i].val, c[j].val) == 0 &&
					slices.CompareFunc(c[i].set, c[j].set, order) == 0 {
					contradictory = true
				}
			}
		}
		if !contradictory {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, cmpConj)
	out = slices.CompactFunc(out, func(a, b []lit) bool { return cmpConj(a, b) == 0 })
	// Absorption: drop a conjunction when another one is a subset of it (A || A&&B == A).
	kept := out[:0]
	for i, c := range out {
		redundant := false
		for j, d := range out {
			if i != j && len(d) < len(c) && subset(d, c) {
				redundant = true
				break
			}
		}
		if !redundant {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return kept
}

// subset reports whether every literal of d (sorted) is in c (sorted).
func subset(d, c []lit) bool {
	i := 0
	for _, l := range d {
		for i < len(c) && cmpLit(c[i], l) < 0 {
			i++
		}
		if i == len(c) || cmpLit(c[i], l) != 0 {
			return false
		}
		i++
	}
	return true
}

// canonical renders the DNF as CEL text.
func canonical(conjs [][]lit) string {
	if len(conjs) == 0 {
		return "false"
	}
	var b strings.Builder
	for i, c := range conjs {
		if i > 0 {
			b.WriteString(" || ")
		}
		if len(c) == 0 {
			b.WriteString("true")
			continue
		}
		paren := len(conjs) > 1 && len(c) > 1
		if paren {
			b.WriteByte('(')
		}
		for j, l := range c {
			if j > 0 {
				b.WriteString(" && ")
			}
			writeLit(&b, l)
		}
		if paren {
			b.WriteByte(')')
		}
	}
	return b.String()
}

func writeLit(b *strings.Builder, l lit) {
	if l.neg {
		b.WriteByte('!')
	}
	switch l.op {
	case opHas:
		b.WriteString("has(")
		b.WriteString(l.path)
		b.WriteByte(')')
		return
	case opPrefix, opSuffix, opContains:
		b.WriteString(l.path)
		b.WriteByte('.')
		b.WriteString(opNames[l.op])
		b.WriteByte('(')
		b.WriteString(l.val.literal())
		b.WriteByte(')')
		return
	}
	if l.neg {
		b.WriteByte('(')
	}
	b.WriteString(l.path)
	b.WriteByte(' ')
	b.WriteString(opNames[l.op])
	b.WriteByte(' ')
	if l.op == opIn {
		b.WriteByte('[')
		for i, v := range l.set {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(v.literal())
		}
		b.WriteByte(']')
	} else {
		b.WriteString(l.val.literal())
	}
	if l.neg {
		b.WriteByte(')')
	}
}

// finish normalises the tree into f's canonical DNF.
func newFilter(src string, tree *node, limits Limits) (*Filter, error) {
	conjs, err := toDNF(tree, false, limits.MaxAlternatives)
	if err != nil {
		return nil, err
	}
	conjs = normalize(conjs)
	f := &Filter{src: src, tree: tree, conjs: conjs}
	f.canon = canonical(conjs)
	f.hash = maphash.String(hashSeed, f.canon)
	return f, nil
}

// evalTree is the reference evaluator: it walks the filter as written over the kwargs map and the
// metadata, with no index, normalisation or field table. Tests compare everything else with it.
func evalTree(n *node, kwargs map[string]any, meta Meta) bool {
	switch n.kind {
	case nConst:
		return n.value
	case nNot:
		return !evalTree(n.kids[0], kwargs, meta)
	case nAnd:
		for _, k := range n.kids {
			if !evalTree(k, kwargs, meta) {
				return false
			}
		}
		return true
	case nOr:
		for _, k := range n.kids {
			if evalTree(k, kwargs, meta) {
				return true
			}
		}
		return false
	}
	return evalAtom(&n.atom, lookupPath(kwargs, meta, n.atom.path))
}

// lookupPath finds a dotted path in kwargs (or a metadata field) the slow, obvious way.
func lookupPath(kwargs map[string]any, meta Meta, path string) value {
	if v, ok := meta.lookup(path); ok {
		return v
	}
	if strings.HasPrefix(path, "_") {
		return value{}
	}
	var cur any = kwargs
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return value{}
		}
		cur, ok = m[part]
		if !ok {
			return value{}
		}
	}
	return fromAny(cur)
}

// Eval evaluates the filter on one event without an index (slow; for tests and one-off checks).
func (f *Filter) Eval(kwargs map[string]any, meta Meta) bool {
	for _, c := range f.conjs {
		ok := true
		for i := range c {
			if evalAtom(&c[i].atom, lookupPath(kwargs, meta, c[i].path)) == c[i].neg {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
