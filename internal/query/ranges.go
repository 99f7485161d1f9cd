package query

import (
	"math"
	"slices"
)

// rentry is a conjunction in a range list: the interval its range predicates on the list's field
// allow, widened to float32 (the predicates themselves are re-checked on every candidate).
type rentry struct {
	lo, hi float32
	c      *conj
}

// newEntry rounds lo down and hi up to float32, so that the entry's interval contains the exact one.
func newEntry(lo, hi float64, c *conj) rentry {
	l, h := float32(lo), float32(hi)
	if float64(l) > lo {
		l = math.Nextafter32(l, float32(math.Inf(-1)))
	}
	if float64(h) < hi {
		h = math.Nextafter32(h, float32(math.Inf(1)))
	}
	return rentry{lo: l, hi: h, c: c}
}

func cmpEntry(a, b *rentry) int {
	switch {
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.c.seq < b.c.seq:
		return -1
	case a.c.seq > b.c.seq:
		return 1
	}
	return 0
}

const chunkMax = 128

// chunk is a sorted run of entries with the largest hi among them, so that a lookup skips chunks
// whose intervals all end below the value.
type chunk struct {
	ents  []rentry
	maxHi float32
}

func (ch *chunk) recompute() {
	ch.maxHi = ch.ents[0].hi
	for i := range ch.ents {
		ch.maxHi = max(ch.maxHi, ch.ents[i].hi)
	}
}

// rangeList keeps intervals sorted by (lo, hi) in chunks of at most chunkMax entries. A lookup for
// v visits the chunks whose first lo <= v, skipping those whose maxHi < v; heads mirrors each
// chunk's first lo and maxHi so that skipping reads one contiguous array.
type rangeList struct {
	chunks []*chunk
	heads  []head
	n      int
	field  uint32
}

type head struct{ lo, maxHi float32 }

func (rl *rangeList) sync(i int) {
	ch := rl.chunks[i]
	rl.heads[i] = head{lo: ch.ents[0].lo, maxHi: ch.maxHi}
}

// find returns the index of the chunk where e belongs: the last chunk whose first entry <= e.
func (rl *rangeList) find(e *rentry) int {
	i, _ := slices.BinarySearchFunc(rl.chunks, e, func(ch *chunk, e *rentry) int {
		return cmpEntry(&ch.ents[0], e)
	})
	// i is the first chunk whose first entry >= e.
	if i < len(rl.chunks) && cmpEntry(&rl.chunks[i].ents[0], e) == 0 {
		return i
	}
	return max(i-1, 0)
}

func (rl *rangeList) insert(e rentry) {
	rl.n++
	if len(rl.chunks) == 0 {
		rl.chunks = []*chunk{{ents: []rentry{e}, maxHi: e.hi}}
		rl.heads = []head{{lo: e.lo, maxHi: e.hi}}
		return
	}
	ci := rl.find(&e)
	ch := rl.chunks[ci]
	j, _ := slices.BinarySearchFunc(ch.ents, &e, func(a rentry, b *rentry) int { return cmpEntry(&a, b) })
	ch.ents = slices.Insert(ch.ents, j, e)
	ch.maxHi = max(ch.maxHi, e.hi)
	if len(ch.ents) > chunkMax {
		half := len(ch.ents) / 2
		right := &chunk{ents: append(make([]rentry, 0, chunkMax/2+8), ch.ents[half:]...)}
		left := &chunk{ents: append(make([]rentry, 0, chunkMax/2+8), ch.ents[:half]...)}
		left.recompute()
		right.recompute()
		rl.chunks[ci] = left
		rl.chunks = slices.Insert(rl.chunks, ci+1, right)
		rl.heads = slices.Insert(rl.heads, ci+1, head{})
		rl.sync(ci + 1)
	}
	rl.sync(ci)
}

func (rl *rangeList) remove(e rentry) {
	ci := rl.find(&e)
	ch := rl.chunks[ci]
	j, found := slices.BinarySearchFunc(ch.ents, &e, func(a rentry, b *rentry) int { return cmpEntry(&a, b) })
	if !found || ch.ents[j].c != e.c {
		// Only after 2^32 insertions can two entries share (lo, hi, seq): search the list.
		rl.removeSlow(e)
		return
	}
	ch.ents = slices.Delete(ch.ents, j, j+1)
	rl.n--
	if len(ch.ents) == 0 {
		rl.chunks = slices.Delete(rl.chunks, ci, ci+1)
		rl.heads = slices.Delete(rl.heads, ci, ci+1)
		return
	}
	if e.hi >= ch.maxHi {
		ch.recompute()
	}
	rl.sync(ci)
}

func (rl *rangeList) removeSlow(e rentry) {
	for ci, ch := range rl.chunks {
		for j := range ch.ents {
			if ch.ents[j].c == e.c {
				ch.ents = slices.Delete(ch.ents, j, j+1)
				rl.n--
				if len(ch.ents) == 0 {
					rl.chunks = slices.Delete(rl.chunks, ci, ci+1)
					rl.heads = slices.Delete(rl.heads, ci, ci+1)
				} else {
					ch.recompute()
					rl.sync(ci)
				}
				return
			}
		}
	}
}
