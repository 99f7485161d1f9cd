package query

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

type testSub struct {
	id int
	f  *Filter
}

// matchIDs returns the sorted ids of the subscriptions idx matches for ev.
func matchIDs(idx *Index, ev *Event) []int {
	var ids []int
	n := idx.Match(ev, func(s any) { ids = append(ids, s.(*testSub).id) })
	if n != len(ids) {
		panic("Match count differs from callbacks")
	}
	slices.Sort(ids)
	return ids
}

// naiveIDs evaluates every live subscription's filter with the reference evaluator.
func naiveIDs(subs map[int]*testSub, kw map[string]any, m Meta) []int {
	var ids []int
	for id, s := range subs {
		if evalTree(s.f.tree, kw, m) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func TestIndexMatchesNaiveEvaluation(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			g := gen{rand.New(rand.NewPCG(seed, 7))}
			idx := NewIndex()
			idx.SetScanBudget(1 << 20)
			subs := map[int]*testSub{}
			handles := map[int]Handle{}
			next := 0
			add := func() {
				src := g.expr(1 + g.r.IntN(6))
				if seed%2 == 1 && g.r.IntN(3) == 0 {
					// Many conjunctions under one key with a range: the posting is split.
					src = fmt.Sprintf("s1 == %s && n1 %s %s && (%s)", g.str(), []string{"<", "<=", ">", ">="}[g.r.IntN(4)], g.num(), g.expr(2))
				}
				f, err := Compile(src, nil)
				if err != nil {
					t.Fatalf("Compile(%q): %v", src, err)
				}
				next++
				s := &testSub{id: next, f: f}
				h, err := idx.Add(f, s)
				if err != nil {
					t.Fatalf("Add(%q): %v", src, err)
				}
				subs[next], handles[next] = s, h
			}
			for range 400 + 400*int(seed%2) {
				add()
			}
			ev := NewEvent(nil, Meta{})
			defer ev.Release()
			matched, split := 0, 0
			defer func() { t.Logf("%d matches in 300 events", matched) }()
			for round := range 300 {
				kw, m := g.event()
				ev.Reset(kw, m)
				got, want := matchIDs(idx, ev), naiveIDs(subs, kw, m)
				matched += len(got)
				for _, p := range idx.eq1 {
					if p.rng != nil {
						split++
					}
				}
				if !slices.Equal(got, want) {
					for _, id := range symmetricDiff(got, want) {
						t.Errorf("sub %d filter %q (canonical %q): index %v, reference %v; event %v %+v",
							id, subs[id].f.Source(), subs[id].f, slices.Contains(got, id), slices.Contains(want, id), kw, m)
					}
					t.FailNow()
				}
				// The canonical DNF agrees with the tree as written.
				for _, s := range subs {
					if s.f.Eval(kw, m) != evalTree(s.f.tree, kw, m) {
						t.Fatalf("DNF of %q (%q) disagrees with the tree on %v %+v", s.f.Source(), s.f, kw, m)
					}
				}
				// Churn: remove some subscriptions and add others.
				for range 1 + round%7 {
					for id, h := range handles {
						if !idx.Remove(h) {
							t.Fatalf("Remove(%d) = false", id)
						}
						if idx.Remove(h) {
							t.Fatalf("second Remove(%d) = true", id)
						}
						delete(handles, id)
						delete(subs, id)
						break
					}
					add()
				}
			}
			if st := idx.Stats(); st.Subscriptions != len(subs) {
				t.Fatalf("Stats.Subscriptions = %d, want %d", st.Subscriptions, len(subs))
			}
			// Removing everything empties the index, field table included.
			for _, h := range handles {
				idx.Remove(h)
			}
			if st := idx.Stats(); st != (Stats{}) {
				t.Fatalf("after removing all: %+v", st)
			}
			if len(idx.fields) != 0 || len(idx.eq1) != 0 || len(idx.eq2) != 0 || len(idx.prefix) != 0 ||
				idx.dedup.n != 0 || len(idx.scan) != 0 || len(idx.all) != 0 {
				t.Fatalf("index not empty: %d fields, %d eq1, %d eq2, %d prefix, %d dedup",
					len(idx.fields), len(idx.eq1), len(idx.eq2), len(idx.prefix), idx.dedup.n)
			}
			if seed%2 == 1 && split == 0 {
				t.Fatal("no posting list was split into an interval list")
			}
		})
	}
}

func symmetricDiff(a, b []int) []int {
	var out []int
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			out = append(out, x)
		}
	}
	return out
}

func TestIdenticalFiltersShareOneEntry(t *testing.T) {
	idx := NewIndex()
	srcs := []string{`a == 1 && b == "x"`, `b == "x" && a == 1.0`, `"x" == b && 1 == a && a == 1`, `a in [1] && b in ["x", "x"]`}
	var hs []Handle
	for i, src := range srcs {
		f, err := Compile(src, nil)
		if err != nil {
			t.Fatal(err)
		}
		h, err := idx.Add(f, i)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	if st := idx.Stats(); st.Filters != 1 || st.Subscriptions != 4 {
		t.Fatalf("stats %+v, want 1 filter and 4 subscriptions", st)
	}
	ev := NewEvent(map[string]any{"a": int64(1), "b": "x"}, Meta{})
	defer ev.Release()
	var got []int
	idx.Match(ev, func(s any) { got = append(got, s.(int)) })
	slices.Sort(got)
	if !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Fatalf("matched %v", got)
	}
	idx.Remove(hs[1])
	idx.Remove(hs[0])
	got = got[:0]
	idx.Match(ev, func(s any) { got = append(got, s.(int)) })
	slices.Sort(got)
	if !slices.Equal(got, []int{2, 3}) {
		t.Fatalf("after removing two: matched %v", got)
	}
}

func TestScanBudget(t *testing.T) {
	idx := NewIndex()
	idx.SetScanBudget(1)
	f, _ := Compile(`!(status == "done")`, nil)
	g, _ := Compile(`status != "x" || !has(status)`, nil)
	if _, err := idx.Add(f, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := idx.Add(f, 2); err != nil {
		t.Fatalf("an identical filter needs no budget: %v", err)
	}
	if _, err := idx.Add(g, 3); err != ErrScanBudget {
		t.Fatalf("Add over budget: %v, want ErrScanBudget", err)
	}
	// Indexable filters are unaffected.
	h, _ := Compile(`status == "x"`, nil)
	if _, err := idx.Add(h, 4); err != nil {
		t.Fatal(err)
	}
}

func TestMatchAllAndNothing(t *testing.T) {
	idx := NewIndex()
	all, _ := Compile(`true || x == 1`, nil)
	none, _ := Compile(`x == 1 && false`, nil)
	if !all.MatchesAll() || !none.MatchesNothing() {
		t.Fatalf("MatchesAll %v, MatchesNothing %v", all.MatchesAll(), none.MatchesNothing())
	}
	ha, _ := idx.Add(all, "all")
	hn, _ := idx.Add(none, "none")
	ev := NewEvent(map[string]any{"x": int64(1)}, Meta{})
	defer ev.Release()
	var got []any
	idx.Match(ev, func(s any) { got = append(got, s) })
	if !slices.Equal(got, []any{"all"}) {
		t.Fatalf("matched %v", got)
	}
	if !idx.Remove(ha) || !idx.Remove(hn) {
		t.Fatal("Remove failed")
	}
	if NewIndex().Remove(ha) {
		t.Fatal("a foreign index removed a handle")
	}
}

// TestConcurrentAddRemoveMatch runs matchers against writers; run with -race.
func TestConcurrentAddRemoveMatch(t *testing.T) {
	idx := NewIndex()
	idx.SetScanBudget(1 << 20)
	g := gen{rand.New(rand.NewPCG(1, 2))}
	var filters []*Filter
	for range 300 {
		f, err := Compile(g.expr(4), nil)
		if err != nil {
			t.Fatal(err)
		}
		filters = append(filters, f)
	}
	var events [][2]any
	for range 50 {
		kw, m := g.event()
		events = append(events, [2]any{kw, m})
	}
	stop := make(chan struct{})
	var writers, matchers sync.WaitGroup
	// Stable subscriptions that must always be delivered.
	stable := map[int]*testSub{}
	for i := range 50 {
		s := &testSub{id: i, f: filters[i]}
		stable[i] = s
		if _, err := idx.Add(s.f, s); err != nil {
			t.Fatal(err)
		}
	}
	for w := range 2 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			r := rand.New(rand.NewPCG(uint64(w), 9))
			var hs []Handle
			for {
				select {
				case <-stop:
					for _, h := range hs {
						idx.Remove(h)
					}
					return
				default:
				}
				f := filters[r.IntN(len(filters))]
				h, err := idx.Add(f, &testSub{id: -1, f: f})
				if err != nil {
					t.Error(err)
					return
				}
				hs = append(hs, h)
				if len(hs) > 100 {
					i := r.IntN(len(hs))
					if r.IntN(2) == 0 {
						idx.Remove(hs[i])
					} else {
						idx.Update(func(tx Tx) {
							tx.Remove(hs[i])
							g := filters[r.IntN(len(filters))]
							h, err := tx.Add(g, &testSub{id: -1, f: g})
							if err != nil {
								t.Error(err)
							}
							hs = append(hs, h)
						})
					}
					hs = slices.Delete(hs, i, i+1)
				}
			}
		}()
	}
	for m := range 2 {
		matchers.Add(1)
		go func() {
			defer matchers.Done()
			ev := NewEvent(nil, Meta{})
			defer ev.Release()
			for i := range 400 {
				e := events[(i+m)%len(events)]
				ev.Reset(e[0].(map[string]any), e[1].(Meta))
				var got []int
				idx.Match(ev, func(s any) {
					if ts := s.(*testSub); ts.id >= 0 {
						got = append(got, ts.id)
					}
				})
				slices.Sort(got)
				want := naiveIDs(stable, e[0].(map[string]any), e[1].(Meta))
				if !slices.Equal(got, want) {
					t.Errorf("stable subscriptions: got %v, want %v", got, want)
					return
				}
			}
		}()
	}
	matchers.Wait()
	close(stop)
	writers.Wait()
	if st := idx.Stats(); st.Subscriptions != 50 {
		t.Fatalf("after writers removed theirs: %d subscriptions", st.Subscriptions)
	}
}
