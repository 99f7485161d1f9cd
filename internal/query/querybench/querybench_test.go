package querybench

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gateway-dev/gateway/internal/query"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSmoke runs every workload at a small size: the index must agree with evaluating every filter
// and with cel-go, and beat the naive baseline.
func TestSmoke(t *testing.T) {
	var out strings.Builder
	rs, err := Run(Config{Sizes: []int{3000}, Mixes: Mixes, MatchTime: 100 * time.Millisecond, MaxEvents: 2000,
		NaiveEvents: 5, CELPrograms: 50, CELEvents: 2, ChurnTime: 200 * time.Millisecond, ChurnPercent: 10,
		Seed: 7, Log: &out})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	WriteTable(&out, rs)
	t.Log("\n" + out.String())
	for _, r := range rs {
		if r.Checked != 5 || r.EventsPerSec <= 0 || r.MatchesPerEvent <= 0 || r.BytesPerSub <= 0 || r.ChurnOpsPerSec <= 0 {
			t.Errorf("%s: implausible result %+v", r.Mix, r)
		}
		if r.Mix == string(Channel) && r.SpeedupNaive() < 5 {
			t.Errorf("channel: the index is only %.1fx faster than evaluating every filter", r.SpeedupNaive())
		}
	}
}

// sizes are the benchmark sizes: 10k and 100k, 1M only with QUERY_BENCH_1M=1 (too slow for CI),
// and 10k only with -short.
func sizes() []int {
	switch {
	case testing.Short():
		return []int{10_000}
	case os.Getenv("QUERY_BENCH_1M") != "":
		return []int{10_000, 100_000, 1_000_000}
	}
	return []int{10_000, 100_000}
}

func build(b *testing.B, mix Mix, n int) (*query.Index, []map[string]any) {
	cc := compiler{}
	r := rand.New(rand.NewPCG(1, 2))
	idx := query.NewIndex()
	subs := make([]sub, n)
	for i := range n {
		_, js := Filter(mix, r)
		f, err := cc.compile(js)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := idx.Add(f, &subs[i]); err != nil {
			b.Fatal(err)
		}
	}
	events := make([]map[string]any, 1024)
	for i := range events {
		events[i] = Event(r)
	}
	return idx, events
}

// BenchmarkMatch measures Index.Match per event (one goroutine).
func BenchmarkMatch(b *testing.B) {
	for _, mix := range Mixes {
		for _, n := range sizes() {
			b.Run(fmt.Sprintf("%s/%d", mix, n), func(b *testing.B) {
				idx, events := build(b, mix, n)
				ev := query.NewEvent(nil, query.Meta{})
				defer ev.Release()
				matches := 0
				fn := func(any) { matches++ }
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					ev.Reset(events[i%len(events)], query.Meta{})
					idx.Match(ev, fn)
				}
				b.ReportMetric(float64(matches)/float64(b.N), "matches/event")
			})
		}
	}
}

// BenchmarkAdd measures subscribing a precompiled filter into an index of 100k subscriptions.
func BenchmarkAdd(b *testing.B) {
	for _, mix := range Mixes {
		b.Run(string(mix), func(b *testing.B) {
			idx, _ := build(b, mix, 100_000)
			r := rand.New(rand.NewPCG(3, 4))
			fs := make([]*query.Filter, 4096)
			for i := range fs {
				_, js := Filter(mix, r)
				fs[i], _ = query.CompileJSON([]byte(js), nil)
			}
			var s sub
			b.ResetTimer()
			for i := range b.N {
				h, _ := idx.Add(fs[i%len(fs)], &s)
				idx.Remove(h)
			}
		})
	}
}

// BenchmarkCompile measures compiling a CEL filter and its JSON form.
func BenchmarkCompile(b *testing.B) {
	cel, js := Filter(Mixed, rand.New(rand.NewPCG(5, 6)))
	b.Run("cel", func(b *testing.B) {
		for range b.N {
			if _, err := query.Compile(cel, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		for range b.N {
			if _, err := query.CompileJSON([]byte(js), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
