package query

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
)

// noField marks a fieldInfo that is only the parent of nested fields.
const noField = ^uint32(0)

// maxKeys bounds how many hash keys one conjunction is registered under (in-lists expanded).
const maxKeys = 16

// DefaultScanBudget is the default number of conjunctions an Index accepts that cannot be indexed
// (only negated predicates, such as !(status == "done")): each is checked for every event.
const DefaultScanBudget = 1000

// ErrScanBudget is returned by Add when the filter needs the scan list and the list is full.
var ErrScanBudget = errors.New("query: filter has no indexable predicate and the index's scan budget is used up")

type fieldInfo struct {
	id    uint32 // noField when the path is only the parent of nested fields
	refs  int32  // predicates that name this path
	inner int32  // referenced paths below this one
}

type rootRef struct {
	name string
	info *fieldInfo
}

type metaRef struct {
	name string
	id   uint32
}

// accKind says how a conjunction is found for an event.
type accKind uint8

const (
	accAll    accKind = iota + 1 // empty conjunction: every event
	accEq1                       // hash on one field's value (in-lists expanded)
	accEq2                       // hash on two fields' values
	accRange                     // interval list of one numeric field
	accPrefix                    // hash on a prefix of one string field
	accHas                       // list of the conjunctions that need one field present
	accScan                      // checked for every event
)

// pred is a predicate with its field resolved to an id; 32 bytes.
type pred struct {
	field uint32
	op    op
	neg   bool
	k     kind
	n     uint64 // number bits, bool, or (opIn) the set's offset<<32 | length in the conj's tail
	s     string
}

func (p *pred) value() value { return value{k: p.k, n: p.n, s: p.s} }

// set returns the values of an opIn predicate of c. They are stored after c's predicates, in the
// same allocation (beyond len(c.preds), within its capacity), each as a pred holding a value.
func (c *conj) set(p *pred) []pred {
	off, n := int(p.n>>32), int(uint32(p.n))
	return c.preds[off : off+n : off+n]
}

// conj is one conjunction of a filter as stored in the index.
type conj struct {
	fe    *filterEntry
	preds []pred
	pos   int32  // position in its posting list (single-key registrations)
	seq   uint32 // tie-breaker in range lists
	cover uint16 // predicates implied by the access path (not re-checked)
	acc   accKind
	a, b  uint8 // access predicates
	multi bool  // registered under several hash keys (in-lists): pos is not tracked
}

type subSlot struct {
	val any
	id  uint32
}

// feExt holds the rarely needed parts of a filterEntry.
type feExt struct {
	more []*conj   // conjunctions after the first
	subs []subSlot // subscribers after the first
	pos  map[uint32]int32
}

// filterEntry is one distinct filter with its subscribers.
type filterEntry struct {
	hash    uint64
	c0      conj
	s0      any
	ext     *feExt
	s0id    uint32 // 0: no first subscriber
	nextID  uint32
	nsubs   uint32
	nconj   uint8
	removed bool
}

func (fe *filterEntry) conj(i int) *conj {
	if i == 0 {
		return &fe.c0
	}
	return fe.ext.more[i-1]
}

type key1 struct {
	f uint32
	k kind
	n uint64
	s string
}

type key2 struct{ a, b key1 }

type shapeRef struct {
	other uint32
	refs  int32
}

type lenRef struct {
	n    int
	refs int32
}

// fieldIdx is the per-field part of the index.
type fieldIdx struct {
	eq     int32      // registrations in eq1 on this field
	shapes []shapeRef // eq2 registrations with this field first
	ranges *rangeList
	plens  []lenRef // prefix lengths registered, ascending
	has    []*conj
}

// Handle identifies one subscription in an Index, for Remove.
type Handle struct {
	idx *Index
	fe  *filterEntry
	id  uint32
}

// Valid reports whether h was returned by a successful Add.
func (h Handle) Valid() bool { return h.fe != nil }

// Index matches events against many filters. Identical filters share one entry; each conjunction of
// a filter is found through its most selective predicate (a hash on one or two equality predicates,
// an interval list for numeric ranges, a prefix hash for startsWith, a per-field list for presence)
// and its other predicates are checked on the candidates. Match may run concurrently with itself
// and with Add and Remove: a read-write lock guards the index, held briefly by Add and Remove.
type Index struct {
	mu      sync.RWMutex
	fields  map[string]*fieldInfo
	names   []string // by field id; "" when free
	free    []uint32
	roots   []rootRef
	metaIDs []metaRef
	version uint64
	per     []fieldIdx
	eq1     map[key1]posting
	eq2     map[key2]posting
	prefix  map[key1][]*conj
	scan    []*conj
	all     []*conj
	dedup   dedupTable
	seq     uint32

	scanBudget int
	nsubs      int
	nfilters   int
	nconjs     int
}

// NewIndex returns an empty Index with DefaultScanBudget.
func NewIndex() *Index {
	return &Index{
		fields:     map[string]*fieldInfo{},
		eq1:        map[key1]posting{},
		eq2:        map[key2]posting{},
		prefix:     map[key1][]*conj{},
		scanBudget: DefaultScanBudget,
	}
}

// SetScanBudget sets how many unindexable conjunctions the index accepts (0 or less: none).
func (idx *Index) SetScanBudget(n int) {
	idx.mu.Lock()
	idx.scanBudget = n
	idx.mu.Unlock()
}

// Stats describes an Index.
type Stats struct {
	Subscriptions int // Add calls not yet removed
	Filters       int // distinct filters
	Conjunctions  int // indexed conjunctions of the distinct filters
	Scan          int // conjunctions on the scan list
	Fields        int // distinct field paths referenced
}

// Stats returns the index's counters.
func (idx *Index) Stats() Stats {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	return Stats{Subscriptions: idx.nsubs, Filters: idx.nfilters, Conjunctions: idx.nconjs,
		Scan: len(idx.scan), Fields: len(idx.names) - len(idx.free)}
}

// plan is the access path chosen for one conjunction of a Filter (by literal positions).
type plan struct {
	acc  accKind
	a, b int
}

func eqKeys(l *lit) int {
	if l.neg {
		return 0
	}
	switch l.op {
	case opEq:
		if _, _, ok := l.val.hashKey(); ok {
			return 1
		}
	case opIn:
		if len(l.set) == 0 || len(l.set) > maxKeys {
			return 0
		}
		for _, v := range l.set {
			if _, _, ok := v.hashKey(); !ok {
				return 0
			}
		}
		return len(l.set)
	}
	return 0
}

func isRange(l *lit) bool {
	return !l.neg && l.val.isNum() && (l.op == opLt || l.op == opLe || l.op == opGt || l.op == opGe)
}

// choosePlan picks the access path of a conjunction: two equalities, one equality, a numeric range
// (preferring a field bounded on both sides), the longest prefix, presence of a field, else scan.
func choosePlan(c []lit) plan {
	if len(c) == 0 {
		return plan{acc: accAll}
	}
	best, second := -1, -1
	for i := range c {
		n := eqKeys(&c[i])
		if n == 0 {
			continue
		}
		switch {
		case best < 0:
			best = i
		case n < eqKeys(&c[best]):
			if c[i].path != c[best].path {
				second = best
			}
			best = i
		case second < 0 || n < eqKeys(&c[second]):
			if c[i].path != c[best].path {
				second = i
			}
		}
	}
	if best >= 0 {
		if second >= 0 && c[second].path != c[best].path && eqKeys(&c[best])*eqKeys(&c[second]) <= maxKeys {
			a, b := best, second
			if a > b {
				a, b = b, a
			}
			return plan{acc: accEq2, a: a, b: b}
		}
		return plan{acc: accEq1, a: best}
	}
	rng := -1
	for i := range c {
		if !isRange(&c[i]) {
			continue
		}
		if rng < 0 {
			rng = i
		}
		lower := c[i].op == opGt || c[i].op == opGe
		for j := range c {
			if c[j].path == c[i].path && isRange(&c[j]) && (c[j].op == opGt || c[j].op == opGe) != lower {
				return plan{acc: accRange, a: i}
			}
		}
	}
	if rng >= 0 {
		return plan{acc: accRange, a: rng}
	}
	pfx := -1
	for i := range c {
		if !c[i].neg && c[i].op == opPrefix && c[i].val.s != "" && (pfx < 0 || len(c[i].val.s) > len(c[pfx].val.s)) {
			pfx = i
		}
	}
	if pfx >= 0 {
		return plan{acc: accPrefix, a: pfx}
	}
	for i := range c {
		if !c[i].neg && c[i].op == opHas {
			return plan{acc: accHas, a: i}
		}
	}
	// Any other positive predicate needs its field present.
	for i := range c {
		if !c[i].neg {
			return plan{acc: accHas, a: i}
		}
	}
	return plan{acc: accScan}
}

// Add subscribes sub with filter f and returns the handle that Remove takes. It fails only with
// ErrScanBudget. sub is passed to Match's callback for every matching event.
func (idx *Index) Add(f *Filter, sub any) (Handle, error) {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	return idx.add(f, sub)
}

// Tx adds and removes subscriptions while Index.Update holds the write lock.
type Tx struct{ idx *Index }

// Add is Index.Add within the transaction.
func (tx Tx) Add(f *Filter, sub any) (Handle, error) { return tx.idx.add(f, sub) }

// Remove is Index.Remove within the transaction.
func (tx Tx) Remove(h Handle) bool { return tx.idx.remove(h) }

// Update runs fn with the index write-locked, so that many Adds and Removes (a session closing, a
// batch of subscriptions) cost one lock acquisition and wait for in-flight Matches only once. fn
// must not call idx's own methods.
func (idx *Index) Update(fn func(tx Tx)) {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	fn(Tx{idx})
}

func (idx *Index) add(f *Filter, sub any) (Handle, error) {
	plans := make([]plan, len(f.conjs))
	nscan := 0
	for i, c := range f.conjs {
		plans[i] = choosePlan(c)
		if plans[i].acc == accScan {
			nscan++
		}
	}
	fe := idx.dedup.find(f.hash, func(fe *filterEntry) bool { return idx.same(fe, f) })
	if fe == nil {
		if nscan > 0 && len(idx.scan)+nscan > idx.scanBudget {
			return Handle{}, ErrScanBudget
		}
		fe = idx.insert(f, plans)
	}
	fe.nextID++
	if fe.nextID == 0 {
		fe.nextID = 1
	}
	id := fe.nextID
	if fe.s0id == 0 {
		fe.s0, fe.s0id = sub, id
	} else {
		if fe.ext == nil {
			fe.ext = &feExt{}
		}
		x := fe.ext
		if x.pos != nil {
			x.pos[id] = int32(len(x.subs))
		}
		x.subs = append(x.subs, subSlot{val: sub, id: id})
		if x.pos == nil && len(x.subs) > 16 {
			x.pos = make(map[uint32]int32, len(x.subs))
			for i, s := range x.subs {
				x.pos[s.id] = int32(i)
			}
		}
	}
	fe.nsubs++
	idx.nsubs++
	return Handle{idx: idx, fe: fe, id: id}, nil
}

// Remove unsubscribes h. It reports false when h is not a live subscription of idx.
func (idx *Index) Remove(h Handle) bool {
	if h.idx != idx || h.fe == nil {
		return false
	}
	idx.mu.Lock()
	defer idx.mu.Unlock()
	return idx.remove(h)
}

func (idx *Index) remove(h Handle) bool {
	if h.idx != idx || h.fe == nil {
		return false
	}
	fe := h.fe
	if fe.removed {
		return false
	}
	x := fe.ext
	switch {
	case fe.s0id == h.id:
		if x != nil && len(x.subs) > 0 {
			last := x.subs[len(x.subs)-1]
			fe.s0, fe.s0id = last.val, last.id
			x.subs[len(x.subs)-1] = subSlot{}
			x.subs = x.subs[:len(x.subs)-1]
			if x.pos != nil {
				delete(x.pos, last.id)
			}
		} else {
			fe.s0, fe.s0id = nil, 0
		}
	case x != nil:
		i := -1
		if x.pos != nil {
			if p, ok := x.pos[h.id]; ok {
				i = int(p)
			}
		} else {
			for j := range x.subs {
				if x.subs[j].id == h.id {
					i = j
					break
				}
			}
		}
		if i < 0 {
			return false
		}
		last := len(x.subs) - 1
		x.subs[i] = x.subs[last]
		x.subs[last] = subSlot{}
		x.subs = x.subs[:last]
		if x.pos != nil {
			delete(x.pos, h.id)
			if i < last {
				x.pos[x.subs[i].id] = int32(i)
			}
		}
	default:
		return false
	}
	fe.nsubs--
	idx.nsubs--
	if fe.nsubs == 0 {
		idx.drop(fe)
	}
	return true
}

// same reports whether fe stores exactly the filter f.
func (idx *Index) same(fe *filterEntry, f *Filter) bool {
	if int(fe.nconj) != len(f.conjs) {
		return false
	}
	for i, lits := range f.conjs {
		c := fe.conj(i)
		if len(c.preds) != len(lits) {
			return false
		}
		for j := range lits {
			p, l := &c.preds[j], &lits[j]
			if idx.names[p.field] != l.path || p.op != l.op || p.neg != l.neg {
				return false
			}
			if p.op == opIn {
				if !slices.EqualFunc(c.set(p), l.set, func(q pred, v value) bool { return sameValue(q.value(), v) }) {
					return false
				}
			} else if !sameValue(p.value(), l.val) {
				return false
			}
		}
	}
	return true
}

func sameValue(a, b value) bool { return a.k == b.k && a.n == b.n && a.s == b.s }

// insert stores a new filter entry. Caller holds idx.mu.
func (idx *Index) insert(f *Filter, plans []plan) *filterEntry {
	fe := idx.build(f)
	for i := range f.conjs {
		c := fe.conj(i)
		pl := plans[i]
		c.acc, c.a, c.b = pl.acc, uint8(pl.a), uint8(pl.b)
		switch pl.acc {
		case accEq1, accPrefix:
			c.cover = 1 << pl.a
		case accEq2:
			c.cover = 1<<pl.a | 1<<pl.b
		case accHas:
			if c.preds[pl.a].op == opHas {
				c.cover = 1 << pl.a
			}
		}
		idx.seq++
		c.seq = idx.seq
		idx.register(c)
		idx.nconjs++
	}
	idx.dedup.insert(fe)
	idx.nfilters++
	return fe
}

// build converts f to a filterEntry, resolving its fields, without registering it.
func (idx *Index) build(f *Filter) *filterEntry {
	fe := &filterEntry{hash: f.hash, nconj: uint8(len(f.conjs))}
	for i, lits := range f.conjs {
		c := &fe.c0
		if i > 0 {
			if fe.ext == nil {
				fe.ext = &feExt{}
			}
			c = &conj{}
			fe.ext.more = append(fe.ext.more, c)
		}
		c.fe = fe
		tail := 0
		for j := range lits {
			tail += len(lits[j].set)
		}
		all := make([]pred, len(lits)+tail)
		c.preds = all[:len(lits)]
		off := len(lits)
		for j := range lits {
			l := &lits[j]
			p := &c.preds[j]
			p.field = idx.ref(l.path)
			p.op, p.neg = l.op, l.neg
			if l.op == opIn {
				p.n = uint64(off)<<32 | uint64(len(l.set))
				for _, v := range l.set {
					all[off] = pred{k: v.k, n: v.n, s: v.s}
					off++
				}
			} else {
				p.k, p.n, p.s = l.val.k, l.val.n, l.val.s
			}
		}
	}
	return fe
}

// drop removes a filter entry that has no subscribers left. Caller holds idx.mu.
func (idx *Index) drop(fe *filterEntry) {
	for i := 0; i < int(fe.nconj); i++ {
		c := fe.conj(i)
		idx.unregister(c)
		for j := range c.preds {
			idx.unref(c.preds[j].field)
		}
		idx.nconjs--
	}
	idx.dedup.remove(fe)
	fe.removed = true
	idx.nfilters--
}

// ref counts one more predicate on path and returns the path's field id.
func (idx *Index) ref(path string) uint32 {
	fi := idx.fields[path]
	if fi == nil {
		fi = &fieldInfo{id: noField}
		idx.fields[path] = fi
		idx.version++
	}
	if fi.id == noField {
		if n := len(idx.free); n > 0 {
			fi.id = idx.free[n-1]
			idx.free = idx.free[:n-1]
			idx.names[fi.id] = path
		} else {
			fi.id = uint32(len(idx.names))
			idx.names = append(idx.names, path)
			idx.per = append(idx.per, fieldIdx{})
		}
		for i := strings.IndexByte(path, '.'); i >= 0; {
			parent := path[:i]
			pi := idx.fields[parent]
			if pi == nil {
				pi = &fieldInfo{id: noField}
				idx.fields[parent] = pi
			}
			pi.inner++
			j := strings.IndexByte(path[i+1:], '.')
			if j < 0 {
				break
			}
			i += 1 + j
		}
		idx.version++
		idx.rebuildRoots()
	}
	fi.refs++
	return fi.id
}

// unref undoes ref.
func (idx *Index) unref(id uint32) {
	path := idx.names[id]
	fi := idx.fields[path]
	fi.refs--
	if fi.refs > 0 {
		return
	}
	idx.names[id] = ""
	idx.per[id] = fieldIdx{}
	idx.free = append(idx.free, id)
	fi.id = noField
	if fi.inner == 0 {
		delete(idx.fields, path)
	}
	for i := strings.IndexByte(path, '.'); i >= 0; {
		parent := path[:i]
		pi := idx.fields[parent]
		pi.inner--
		if pi.inner == 0 && pi.id == noField {
			delete(idx.fields, parent)
		}
		j := strings.IndexByte(path[i+1:], '.')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	idx.version++
	idx.rebuildRoots()
}

func (idx *Index) rebuildRoots() {
	idx.roots = idx.roots[:0]
	idx.metaIDs = idx.metaIDs[:0]
	for name, fi := range idx.fields {
		switch {
		case strings.HasPrefix(name, "_"):
			if fi.id != noField {
				idx.metaIDs = append(idx.metaIDs, metaRef{name: name, id: fi.id})
			}
		case strings.IndexByte(name, '.') < 0:
			idx.roots = append(idx.roots, rootRef{name: name, info: fi})
		}
	}
}

func (idx *Index) key(f uint32, v value) key1 {
	k, n, _ := v.hashKey()
	if k == kString {
		return key1{f: f, k: k, s: v.s}
	}
	return key1{f: f, k: k, n: n}
}

// keys1 lists the hash keys of an accEq1 conjunction.
func (idx *Index) keys1(c *conj) []key1 {
	p := &c.preds[c.a]
	if p.op == opIn {
		set := c.set(p)
		out := make([]key1, len(set))
		for i := range set {
			out[i] = idx.key(p.field, set[i].value())
		}
		return out
	}
	return []key1{idx.key(p.field, p.value())}
}

// keys2 lists the hash keys of an accEq2 conjunction.
func (idx *Index) keys2(c *conj) []key2 {
	ca := idx.keys1(&conj{preds: c.preds, a: c.a})
	cb := idx.keys1(&conj{preds: c.preds, a: c.b})
	out := make([]key2, 0, len(ca)*len(cb))
	for _, a := range ca {
		for _, b := range cb {
			out = append(out, key2{a, b})
		}
	}
	return out
}

// postAdd appends c to list, recording its position unless c is under several keys.
func postAdd(list []*conj, c *conj) []*conj {
	if !c.multi {
		c.pos = int32(len(list))
	}
	return append(list, c)
}

// postDel removes c from list by swapping the last entry into its place.
func postDel(list []*conj, c *conj) []*conj {
	i := int(c.pos)
	if c.multi {
		i = slices.Index(list, c)
	}
	last := len(list) - 1
	if i < last {
		m := list[last]
		list[i] = m
		if !m.multi {
			m.pos = int32(i)
		}
	}
	list[last] = nil
	return list[:last]
}

// posting is the set of conjunctions under one hash key. When it grows, the conjunctions that also
// bound one numeric field move to an interval list on that field, so that a lookup visits only
// those whose interval contains the event's value.
type posting struct {
	plain []*conj
	rng   *rangeList
}

// rangeThreshold is the posting size at which its ranged conjunctions move to an interval list.
const rangeThreshold = 32

// rangeBounds returns the interval c's range predicates allow on f; ok is false when c has none.
func rangeBounds(c *conj, f uint32) (lo, hi float64, ok bool) {
	for i := range c.preds {
		p := &c.preds[i]
		if p.field == f && !p.neg && (p.k == kInt || p.k == kFloat) &&
			(p.op == opLt || p.op == opLe || p.op == opGt || p.op == opGe) {
			lo, hi = bounds(c, f)
			return lo, hi, true
		}
	}
	return 0, 0, false
}

func (p posting) add(c *conj) posting {
	if p.rng != nil {
		if lo, hi, ok := rangeBounds(c, p.rng.field); ok {
			p.rng.insert(newEntry(lo, hi, c))
			return p
		}
	}
	p.plain = postAdd(p.plain, c)
	if p.rng == nil && len(p.plain) >= rangeThreshold {
		p = p.split()
	}
	return p
}

// split moves the conjunctions that bound the most common range field to an interval list.
func (p posting) split() posting {
	counts := map[uint32]int{}
	for _, c := range p.plain {
		seen := uint32(noField)
		for i := range c.preds {
			q := &c.preds[i]
			if q.field != seen && !q.neg && (q.k == kInt || q.k == kFloat) &&
				(q.op == opLt || q.op == opLe || q.op == opGt || q.op == opGe) {
				counts[q.field]++
				seen = q.field
			}
		}
	}
	best, n := uint32(noField), 0
	for f, k := range counts {
		if k > n || (k == n && f < best) {
			best, n = f, k
		}
	}
	if n < rangeThreshold/2 {
		return p
	}
	p.rng = &rangeList{field: best}
	keep := p.plain[:0]
	for _, c := range p.plain {
		if lo, hi, ok := rangeBounds(c, best); ok {
			p.rng.insert(newEntry(lo, hi, c))
			continue
		}
		if !c.multi {
			c.pos = int32(len(keep))
		}
		keep = append(keep, c)
	}
	clear(p.plain[len(keep):])
	p.plain = keep
	return p
}

func (p posting) del(c *conj) posting {
	if p.rng != nil {
		if lo, hi, ok := rangeBounds(c, p.rng.field); ok {
			p.rng.remove(newEntry(lo, hi, c))
			if p.rng.n == 0 {
				p.rng = nil
			}
			return p
		}
	}
	p.plain = postDel(p.plain, c)
	return p
}

func (p posting) empty() bool { return len(p.plain) == 0 && p.rng == nil }

// register adds c to its access structure. Caller holds idx.mu.
func (idx *Index) register(c *conj) {
	switch c.acc {
	case accAll:
		idx.all = postAdd(idx.all, c)
	case accScan:
		idx.scan = postAdd(idx.scan, c)
	case accHas:
		f := c.preds[c.a].field
		idx.per[f].has = postAdd(idx.per[f].has, c)
	case accEq1:
		ks := idx.keys1(c)
		c.multi = len(ks) > 1
		for _, k := range ks {
			idx.eq1[k] = idx.eq1[k].add(c)
			idx.per[k.f].eq++
		}
	case accEq2:
		ks := idx.keys2(c)
		c.multi = len(ks) > 1
		for _, k := range ks {
			idx.eq2[k] = idx.eq2[k].add(c)
		}
		fa, fb := c.preds[c.a].field, c.preds[c.b].field
		fi := &idx.per[fa]
		j := slices.IndexFunc(fi.shapes, func(s shapeRef) bool { return s.other == fb })
		if j < 0 {
			fi.shapes = append(fi.shapes, shapeRef{other: fb})
			j = len(fi.shapes) - 1
		}
		fi.shapes[j].refs += int32(len(ks))
	case accPrefix:
		p := &c.preds[c.a]
		k := key1{f: p.field, k: kString, s: p.s}
		idx.prefix[k] = postAdd(idx.prefix[k], c)
		fi := &idx.per[p.field]
		j, found := slices.BinarySearchFunc(fi.plens, len(p.s), func(l lenRef, n int) int { return l.n - n })
		if !found {
			fi.plens = slices.Insert(fi.plens, j, lenRef{n: len(p.s)})
		}
		fi.plens[j].refs++
	case accRange:
		f := c.preds[c.a].field
		fi := &idx.per[f]
		if fi.ranges == nil {
			fi.ranges = &rangeList{field: f}
		}
		lo, hi := bounds(c, f)
		fi.ranges.insert(newEntry(lo, hi, c))
	}
}

// unregister undoes register. Caller holds idx.mu.
func (idx *Index) unregister(c *conj) {
	switch c.acc {
	case accAll:
		idx.all = postDel(idx.all, c)
	case accScan:
		idx.scan = postDel(idx.scan, c)
	case accHas:
		f := c.preds[c.a].field
		idx.per[f].has = postDel(idx.per[f].has, c)
	case accEq1:
		for _, k := range idx.keys1(c) {
			if p := idx.eq1[k].del(c); !p.empty() {
				idx.eq1[k] = p
			} else {
				delete(idx.eq1, k)
			}
			idx.per[k.f].eq--
		}
	case accEq2:
		ks := idx.keys2(c)
		for _, k := range ks {
			if p := idx.eq2[k].del(c); !p.empty() {
				idx.eq2[k] = p
			} else {
				delete(idx.eq2, k)
			}
		}
		fa, fb := c.preds[c.a].field, c.preds[c.b].field
		fi := &idx.per[fa]
		j := slices.IndexFunc(fi.shapes, func(s shapeRef) bool { return s.other == fb })
		fi.shapes[j].refs -= int32(len(ks))
		if fi.shapes[j].refs == 0 {
			fi.shapes = slices.Delete(fi.shapes, j, j+1)
		}
	case accPrefix:
		p := &c.preds[c.a]
		k := key1{f: p.field, k: kString, s: p.s}
		if l := postDel(idx.prefix[k], c); len(l) > 0 {
			idx.prefix[k] = l
		} else {
			delete(idx.prefix, k)
		}
		fi := &idx.per[p.field]
		j, _ := slices.BinarySearchFunc(fi.plens, len(p.s), func(l lenRef, n int) int { return l.n - n })
		fi.plens[j].refs--
		if fi.plens[j].refs == 0 {
			fi.plens = slices.Delete(fi.plens, j, j+1)
		}
	case accRange:
		f := c.preds[c.a].field
		lo, hi := bounds(c, f)
		fi := &idx.per[f]
		fi.ranges.remove(newEntry(lo, hi, c))
		if fi.ranges.n == 0 {
			fi.ranges = nil
		}
	}
}

// bounds returns the interval [lo, hi] that the numeric range predicates of c on field f allow, as
// float64s rounded so that no matching value falls outside (the predicates are re-checked exactly).
func bounds(c *conj, f uint32) (lo, hi float64) {
	lo, hi = math.Inf(-1), math.Inf(1)
	for i := range c.preds {
		p := &c.preds[i]
		if p.field != f || p.neg || (p.k != kInt && p.k != kFloat) {
			continue
		}
		v := p.value().asFloat()
		switch p.op {
		case opGt, opGe:
			lo = max(lo, v)
		case opLt, opLe:
			hi = min(hi, v)
		}
	}
	return lo, hi
}

// Match calls fn(sub) once for every subscription whose filter matches ev and returns how many
// calls it made. fn runs with the index read-locked: it must be quick and must not call Add or
// Remove on idx.
func (idx *Index) Match(ev *Event, fn func(sub any)) int {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	ev.resolve(idx)
	ev.seen = ev.seen[:0]
	n := 0
	for _, c := range idx.all {
		n += idx.emit(ev, c, fn)
	}
	for _, c := range idx.scan {
		if idx.check(ev, c) {
			n += idx.emit(ev, c, fn)
		}
	}
	for _, f := range ev.present {
		v := ev.slots[f]
		fi := &idx.per[f]
		if fi.eq > 0 {
			if k, bits, ok := v.hashKey(); ok {
				kk := key1{f: f, k: k, n: bits}
				if k == kString {
					kk = key1{f: f, k: k, s: v.s}
				}
				n += idx.probePosting(ev, idx.eq1[kk], fn)
			}
		}
		if len(fi.shapes) > 0 {
			n += idx.probeShapes(ev, f, v, fi.shapes, fn)
		}
		if fi.ranges != nil && v.isNum() {
			n += idx.scanRange(ev, fi.ranges, v.asFloat(), fn)
		}
		if len(fi.plens) > 0 && v.k == kString {
			for _, l := range fi.plens {
				if l.n > len(v.s) {
					break
				}
				n += idx.probe(ev, idx.prefix[key1{f: f, k: kString, s: v.s[:l.n]}], fn)
			}
		}
		for _, c := range fi.has {
			if idx.check(ev, c) {
				n += idx.emit(ev, c, fn)
			}
		}
	}
	return n
}

func (idx *Index) probeShapes(ev *Event, f uint32, v value, shapes []shapeRef, fn func(any)) int {
	ka, na, ok := v.hashKey()
	if !ok {
		return 0
	}
	n := 0
	k := key2{a: key1{f: f, k: ka, n: na}}
	if ka == kString {
		k.a = key1{f: f, k: ka, s: v.s}
	}
	for _, s := range shapes {
		w := ev.slots[s.other]
		kb, nb, ok := w.hashKey()
		if !ok {
			continue
		}
		if kb == kString {
			k.b = key1{f: s.other, k: kb, s: w.s}
		} else {
			k.b = key1{f: s.other, k: kb, n: nb}
		}
		n += idx.probePosting(ev, idx.eq2[k], fn)
	}
	return n
}

func (idx *Index) probePosting(ev *Event, p posting, fn func(any)) int {
	n := idx.probe(ev, p.plain, fn)
	if p.rng != nil {
		if v := ev.slots[p.rng.field]; v.isNum() {
			n += idx.scanRange(ev, p.rng, v.asFloat(), fn)
		}
	}
	return n
}

func (idx *Index) probe(ev *Event, list []*conj, fn func(any)) int {
	n := 0
	for _, c := range list {
		if idx.check(ev, c) {
			n += idx.emit(ev, c, fn)
		}
	}
	return n
}

func (idx *Index) scanRange(ev *Event, rl *rangeList, v float64, fn func(any)) int {
	if v != v {
		return 0
	}
	n := 0
	for i, h := range rl.heads {
		if float64(h.lo) > v {
			break
		}
		if float64(h.maxHi) < v {
			continue
		}
		ents := rl.chunks[i].ents
		for j := range ents {
			e := &ents[j]
			if float64(e.lo) > v {
				break
			}
			if float64(e.hi) >= v && idx.check(ev, e.c) {
				n += idx.emit(ev, e.c, fn)
			}
		}
	}
	return n
}

// check evaluates the predicates of c that its access path does not imply.
func (idx *Index) check(ev *Event, c *conj) bool {
	for i := range c.preds {
		if c.cover&(1<<i) != 0 {
			continue
		}
		p := &c.preds[i]
		if evalPred(p, ev.slots[p.field], c) == p.neg {
			return false
		}
	}
	return true
}

func evalPred(p *pred, v value, c *conj) bool {
	switch p.op {
	case opHas:
		return v.present()
	case opIn:
		set := c.set(p)
		for i := range set {
			if r, ok := compare(v, set[i].value()); ok && r == 0 {
				return true
			}
		}
		return false
	case opPrefix:
		return v.k == kString && strings.HasPrefix(v.s, p.s)
	case opSuffix:
		return v.k == kString && strings.HasSuffix(v.s, p.s)
	case opContains:
		return v.k == kString && strings.Contains(v.s, p.s)
	}
	r, ok := compare(v, p.value())
	if !ok {
		return false
	}
	switch p.op {
	case opEq:
		return r == 0
	case opNe:
		return r != 0
	case opLt:
		return r < 0
	case opLe:
		return r <= 0
	case opGt:
		return r > 0
	case opGe:
		return r >= 0
	}
	return false
}

// emit delivers the subscribers of c's filter, once per event even when several of its
// conjunctions match.
func (idx *Index) emit(ev *Event, c *conj, fn func(any)) int {
	fe := c.fe
	if fe.nconj > 1 {
		if slices.Contains(ev.seen, fe) {
			return 0
		}
		ev.seen = append(ev.seen, fe)
	}
	if fe.s0id == 0 {
		return 0
	}
	fn(fe.s0)
	n := 1
	if fe.ext != nil {
		for i := range fe.ext.subs {
			fn(fe.ext.subs[i].val)
		}
		n += len(fe.ext.subs)
	}
	return n
}

// String describes the index (for debugging).
func (idx *Index) String() string {
	s := idx.Stats()
	return fmt.Sprintf("query.Index{subscriptions: %d, filters: %d, conjunctions: %d, scan: %d, fields: %d}",
		s.Subscriptions, s.Filters, s.Conjunctions, s.Scan, s.Fields)
}
