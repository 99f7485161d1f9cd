package query

// Naive evaluates every subscription's filter in turn, with the same typed predicates as Index but
// without its index: the baseline that Index is measured against, and a cross-check for it. A Naive
// is not safe for concurrent use.
type Naive struct {
	fields *Index // field table only
	subs   []naiveSub
}

type naiveSub struct {
	fe  *filterEntry
	sub any
}

// NewNaive returns an empty Naive.
func NewNaive() *Naive { return &Naive{fields: NewIndex()} }

// Add appends a subscription.
func (n *Naive) Add(f *Filter, sub any) {
	n.subs = append(n.subs, naiveSub{fe: n.fields.build(f), sub: sub})
}

// Len returns the number of subscriptions.
func (n *Naive) Len() int { return len(n.subs) }

// Match calls fn for every subscription whose filter matches ev and returns the count.
func (n *Naive) Match(ev *Event, fn func(sub any)) int {
	ev.resolve(n.fields)
	count := 0
	for i := range n.subs {
		fe := n.subs[i].fe
		for j := 0; j < int(fe.nconj); j++ {
			if n.fields.check(ev, fe.conj(j)) {
				fn(n.subs[i].sub)
				count++
				break
			}
		}
	}
	return count
}
