package querybench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/gateway-dev/gateway/internal/query"
)

// Config selects what Run measures.
type Config struct {
	Sizes        []int         // subscriptions per run
	Mixes        []Mix         // workloads
	MatchTime    time.Duration // how long to match events through the index (at most MaxEvents)
	MaxEvents    int           // events matched through the index per run
	NaiveEvents  int           // events evaluated against every filter (each one is cross-checked)
	CELPrograms  int           // cel-go programs in the cel-go baseline sample
	CELEvents    int           // events evaluated by every program of the sample
	ChurnTime    time.Duration // 0: no churn run
	ChurnPercent float64       // subscriptions replaced per second, in percent of the size
	Seed         uint64
	Log          io.Writer // progress lines, or nil
}

// Result is one row of the table.
type Result struct {
	Mix                string
	Subscriptions      int
	Filters            int     // distinct filters
	EventsPerSec       float64 // index, one goroutine
	P50, P99           time.Duration
	MatchesPerEvent    float64
	BytesPerSub        float64 // heap growth of the index per subscription, after GC
	AddMicros          float64 // Index.Add per subscription (filter precompiled)
	CompileMicros      float64 // query.Compile (CEL parse, check, lower) per filter, on a sample
	CompileJSONMicros  float64 // query.CompileJSON per filter, on a sample
	NaiveEventsPerSec  float64 // evaluating every filter with our typed predicates
	CELNanosPerEval    float64 // cel-go Program.Eval per filter, on the sample
	CELEventsPerSec    float64 // extrapolated linearly to Subscriptions: 1e9 / (CELNanosPerEval * Subscriptions)
	Checked            int     // events whose index result equalled the naive result
	Churn              bool
	ChurnOpsPerSec     float64 // subscriptions replaced per second (one Remove plus one Add each)
	ChurnEventsPerSec  float64
	ChurnP50, ChurnP99 time.Duration
}

// SpeedupNaive is the index's events/s over evaluating every filter with typed predicates.
func (r Result) SpeedupNaive() float64 { return r.EventsPerSec / r.NaiveEventsPerSec }

// SpeedupCEL is the index's events/s over evaluating every filter with cel-go (extrapolated).
func (r Result) SpeedupCEL() float64 { return r.EventsPerSec / r.CELEventsPerSec }

type sub struct{ id int32 }

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// Run measures every (mix, size) and returns the rows. It fails if the index ever disagrees with
// evaluating every filter.
func Run(c Config) ([]Result, error) {
	var out []Result
	for _, mix := range c.Mixes {
		for _, n := range c.Sizes {
			r, err := runOne(c, mix, n)
			if err != nil {
				return out, fmt.Errorf("%s/%d: %w", mix, n, err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func heap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// compiler compiles JSON filters, sharing identical texts (as a router's cache would).
type compiler map[string]*query.Filter

func (cc compiler) compile(js string) (*query.Filter, error) {
	if f, ok := cc[js]; ok {
		return f, nil
	}
	f, err := query.CompileJSON([]byte(js), nil)
	if err != nil {
		return nil, err
	}
	cc[js] = f
	return f, nil
}

func runOne(c Config, mix Mix, n int) (Result, error) {
	res := Result{Mix: string(mix), Subscriptions: n}
	events := make([]map[string]any, 4096)
	er := rand.New(rand.NewPCG(c.Seed, 1))
	for i := range events {
		events[i] = Event(er)
	}
	meta := query.Meta{Topic: "com.example.events"}

	// Compile costs, on a sample.
	sample := 2000
	fr := rand.New(rand.NewPCG(c.Seed, 3))
	var cels, jsons []string
	for range sample {
		a, b := Filter(mix, fr)
		cels, jsons = append(cels, a), append(jsons, b)
	}
	t0 := time.Now()
	for i, s := range cels {
		f, err := query.Compile(s, nil)
		if err != nil {
			return res, fmt.Errorf("compile %q: %w", s, err)
		}
		g, err := query.CompileJSON([]byte(jsons[i]), nil)
		if err != nil || !g.Equal(f) {
			return res, fmt.Errorf("JSON form %s is not %q: %v", jsons[i], s, err)
		}
	}
	both := time.Since(t0)
	t0 = time.Now()
	for _, s := range jsons {
		query.CompileJSON([]byte(s), nil)
	}
	res.CompileJSONMicros = float64(time.Since(t0).Microseconds()) / float64(sample)
	res.CompileMicros = float64(both.Microseconds())/float64(sample) - res.CompileJSONMicros

	// Build the index; measure its heap growth and the cost of Add.
	subs := make([]sub, n)
	for i := range subs {
		subs[i].id = int32(i)
	}
	handles := make([]query.Handle, n)
	filters := make([]*query.Filter, n)
	cc := compiler{}
	fr = rand.New(rand.NewPCG(c.Seed, 2))
	for i := range filters {
		_, js := Filter(mix, fr)
		f, err := cc.compile(js)
		if err != nil {
			return res, err
		}
		filters[i] = f
	}
	clear(cc)
	before := heap()
	idx := query.NewIndex()
	t0 = time.Now()
	for i, f := range filters {
		h, err := idx.Add(f, &subs[i])
		if err != nil {
			return res, err
		}
		handles[i] = h
	}
	res.AddMicros = float64(time.Since(t0).Nanoseconds()) / 1e3 / float64(n)
	after := heap()
	res.BytesPerSub = float64(int64(after)-int64(before)) / float64(n)
	res.Filters = idx.Stats().Filters
	c.logf("%s/%d: built, %d distinct filters, %.0f B/sub, Add %.2f µs", mix, n, res.Filters, res.BytesPerSub, res.AddMicros)

	// Match through the index.
	ev := query.NewEvent(nil, meta)
	defer ev.Release()
	matches := 0
	count := func(any) { matches++ }
	lat := make([]time.Duration, 0, c.MaxEvents)
	start := time.Now()
	for i := 0; i < c.MaxEvents; i++ {
		if i%256 == 0 && i > 0 && time.Since(start) > c.MatchTime {
			break
		}
		ev.Reset(events[i%len(events)], meta)
		t := time.Now()
		idx.Match(ev, count)
		lat = append(lat, time.Since(t))
	}
	total := time.Since(start)
	res.EventsPerSec = float64(len(lat)) / total.Seconds()
	res.MatchesPerEvent = float64(matches) / float64(len(lat))
	res.P50, res.P99 = percentiles(lat)
	c.logf("%s/%d: index %.0f ev/s p50 %v p99 %v, %.1f matches/event", mix, n, res.EventsPerSec, res.P50, res.P99, res.MatchesPerEvent)

	// Evaluate every filter (typed predicates) and cross-check each event.
	naive := query.NewNaive()
	for i, f := range filters {
		naive.Add(f, &subs[i])
	}
	var got, want []int32
	var naiveTime time.Duration
	for i := 0; i < c.NaiveEvents; i++ {
		ev.Reset(events[(i*7)%len(events)], meta)
		want = want[:0]
		t := time.Now()
		naive.Match(ev, func(s any) { want = append(want, s.(*sub).id) })
		naiveTime += time.Since(t)
		got = got[:0]
		idx.Match(ev, func(s any) { got = append(got, s.(*sub).id) })
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			return res, fmt.Errorf("event %d: index matched %d subscriptions, evaluating every filter %d", i, len(got), len(want))
		}
		res.Checked++
	}
	res.NaiveEventsPerSec = float64(c.NaiveEvents) / naiveTime.Seconds()
	naive = nil
	c.logf("%s/%d: naive %.1f ev/s; %d events cross-checked", mix, n, res.NaiveEventsPerSec, res.Checked)

	// cel-go on a sample of the filters, extrapolated.
	if err := celBaseline(c, &res, filters, events, meta); err != nil {
		return res, err
	}
	c.logf("%s/%d: cel-go %.0f ns/eval -> %.2f ev/s at %d", mix, n, res.CELNanosPerEval, res.CELEventsPerSec, n)

	if c.ChurnTime > 0 {
		churn(c, &res, mix, idx, subs, handles, events, meta, cc)
		c.logf("%s/%d: churn %.0f replacements/s: %.0f ev/s p50 %v p99 %v", mix, n, res.ChurnOpsPerSec, res.ChurnEventsPerSec, res.ChurnP50, res.ChurnP99)
	}
	runtime.KeepAlive(handles)
	return res, nil
}

func percentiles(lat []time.Duration) (p50, p99 time.Duration) {
	if len(lat) == 0 {
		return 0, 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[len(s)/2], s[min(len(s)-1, len(s)*99/100)]
}

// celBaseline compiles a sample of the subscriptions' filters with cel-go and evaluates each on
// CELEvents events, with one activation per event.
func celBaseline(c Config, res *Result, filters []*query.Filter, events []map[string]any, meta query.Meta) error {
	var decls []cel.EnvOption
	for _, name := range []string{"channel", "type", "region", "symbol", "user", "amount", "priority", "score",
		"qty", "flag", "lang", "device", "version", "ts", "source", "tenant", "geo"} {
		decls = append(decls, cel.Variable(name, cel.DynType))
	}
	decls = append(decls, cel.CrossTypeNumericComparisons(true))
	env, err := cel.NewEnv(decls...)
	if err != nil {
		return err
	}
	k := min(c.CELPrograms, len(filters))
	prgs := make([]cel.Program, 0, k)
	sample := make([]*query.Filter, 0, k)
	for i := 0; i < k; i++ {
		f := filters[i*len(filters)/k]
		ast, iss := env.Compile(f.String())
		if iss.Err() != nil {
			return fmt.Errorf("cel-go: %q: %w", f, iss.Err())
		}
		prg, err := env.Program(ast)
		if err != nil {
			return err
		}
		prgs = append(prgs, prg)
		sample = append(sample, f)
	}
	var elapsed time.Duration
	evals := 0
	for i := 0; i < c.CELEvents; i++ {
		kw := events[(i*13)%len(events)]
		act, err := cel.NewActivation(kw)
		if err != nil {
			return err
		}
		t := time.Now()
		for j, p := range prgs {
			out, _, err := p.Eval(act)
			if err != nil {
				return fmt.Errorf("cel-go eval %q: %w", sample[j], err)
			}
			if i == 0 && out.Value().(bool) != sample[j].Eval(kw, meta) {
				return fmt.Errorf("cel-go and query disagree on %q", sample[j])
			}
		}
		elapsed += time.Since(t)
		evals += len(prgs)
	}
	res.CELNanosPerEval = float64(elapsed.Nanoseconds()) / float64(evals)
	res.CELEventsPerSec = 1e9 / (res.CELNanosPerEval * float64(res.Subscriptions))
	return nil
}

// churn replaces ChurnPercent of the subscriptions per second from a second goroutine while this
// one matches events, for ChurnTime.
func churn(c Config, res *Result, mix Mix, idx *query.Index, subs []sub, handles []query.Handle,
	events []map[string]any, meta query.Meta, cc compiler) {
	n := len(handles)
	// Precompile the replacement filters so that the churn goroutine measures Remove and Add.
	perSec := float64(n) * c.ChurnPercent / 100
	total := int(perSec*c.ChurnTime.Seconds()) + 1
	fr := rand.New(rand.NewPCG(c.Seed, 5))
	repl := make([]*query.Filter, total)
	for i := range repl {
		_, js := Filter(mix, fr)
		repl[i], _ = cc.compile(js)
	}
	clear(cc)
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		r := rand.New(rand.NewPCG(c.Seed, 6))
		start := time.Now()
		ops := 0
		for ops < total {
			select {
			case <-stop:
				done <- ops
				return
			default:
			}
			// Pace to perSec, in batches of up to 1 ms worth.
			due := int(time.Since(start).Seconds() * perSec)
			if ops >= due {
				time.Sleep(time.Millisecond)
				continue
			}
			// One write lock per batch: a write waits for the Match in flight, so one lock per
			// replacement would pace churn to the match rate.
			idx.Update(func(tx query.Tx) {
				for ; ops < due && ops < total; ops++ {
					i := r.IntN(n)
					tx.Remove(handles[i])
					h, err := tx.Add(repl[ops], &subs[i])
					if err != nil {
						panic(err)
					}
					handles[i] = h
				}
			})
		}
		<-stop
		done <- ops
	}()
	ev := query.NewEvent(nil, meta)
	defer ev.Release()
	lat := make([]time.Duration, 0, c.MaxEvents)
	start := time.Now()
	for i := 0; time.Since(start) < c.ChurnTime && i < 50*c.MaxEvents; i++ {
		ev.Reset(events[i%len(events)], meta)
		t := time.Now()
		idx.Match(ev, func(any) {})
		lat = append(lat, time.Since(t))
	}
	elapsed := time.Since(start)
	close(stop)
	ops := <-done
	res.Churn = true
	res.ChurnOpsPerSec = float64(ops) / elapsed.Seconds()
	res.ChurnEventsPerSec = float64(len(lat)) / elapsed.Seconds()
	res.ChurnP50, res.ChurnP99 = percentiles(lat)
}

// WriteTable prints the results as Markdown tables.
func WriteTable(w io.Writer, rs []Result) {
	fmt.Fprintln(w, "| mix | subscriptions | distinct filters | events/s | p50 | p99 | matches/event | bytes/sub | Add µs/sub | evaluate-every-filter events/s (typed) | speed-up | cel-go events/s (extrapolated) | speed-up vs cel-go | events cross-checked |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %.1f | %.0f | %.2f | %s | %sx | %s | %sx | %d |\n",
			r.Mix, num(float64(r.Subscriptions)), num(float64(r.Filters)), num(r.EventsPerSec), dur(r.P50), dur(r.P99),
			r.MatchesPerEvent, r.BytesPerSub, r.AddMicros, num(r.NaiveEventsPerSec), num(r.SpeedupNaive()),
			num(r.CELEventsPerSec), num(r.SpeedupCEL()), r.Checked)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| mix | subscriptions | Compile (CEL) µs/filter | CompileJSON µs/filter | cel-go ns/eval (sample) |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %s | %.1f | %.1f | %.0f |\n", r.Mix, num(float64(r.Subscriptions)), r.CompileMicros, r.CompileJSONMicros, r.CELNanosPerEval)
	}
	churned := false
	for _, r := range rs {
		if r.Churn {
			if !churned {
				fmt.Fprintln(w)
				fmt.Fprintln(w, "| mix | subscriptions | replacements/s | events/s (churn) | p50 (churn) | p99 (churn) | events/s (no churn) | p99 (no churn) |")
				fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
				churned = true
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Mix, num(float64(r.Subscriptions)),
				num(r.ChurnOpsPerSec), num(r.ChurnEventsPerSec), dur(r.ChurnP50), dur(r.ChurnP99), num(r.EventsPerSec), dur(r.P99))
		}
	}
}

func num(f float64) string {
	switch {
	case f >= 1e6:
		return fmt.Sprintf("%.2fM", f/1e6)
	case f >= 1e4:
		return fmt.Sprintf("%.1fk", f/1e3)
	case f >= 100:
		return fmt.Sprintf("%.0f", f)
	case f >= 1:
		return fmt.Sprintf("%.1f", f)
	}
	return strings.TrimRight(fmt.Sprintf("%.3f", f), "0")
}

func dur(d time.Duration) string {
	switch {
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.1f µs", float64(d)/1e3)
}
