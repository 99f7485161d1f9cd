package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/gateway-dev/gateway/internal/bench"
)

// row is one line of the comparison table.
type row struct {
	Section     string   `json:"section"`
	Metric      string   `json:"metric"`
	Better      string   `json:"better,omitempty"` // "lower" or "higher"
	Gateway     *float64 `json:"gateway,omitempty"`
	Nexus       *float64 `json:"nexus,omitempty"`
	GatewayText string   `json:"gateway_text"` // as printed
	NexusText   string   `json:"nexus_text"`
	Ratio       *float64 `json:"ratio,omitempty"` // gateway / nexus
	Advantage   string   `json:"advantage,omitempty"`
	Centrifugo  string   `json:"centrifugo,omitempty"`
}

// value extracts one figure from a server's results: a number (ok) and/or a text.
type value func(r *serverResults) (v float64, text string, ok bool)

func (c *comparison) table() []row {
	var rows []row
	add := func(section, metric, better, format, anchor string, val value) {
		rw := row{Section: section, Metric: metric, Better: better, Centrifugo: anchor}
		for _, kind := range []string{kindGateway, kindNexus} {
			text, num := "not run", (*float64)(nil)
			if r := c.out.Servers[kind]; r != nil {
				text = "n/a"
				if v, t, ok := val(r); ok {
					num = &v
					text = fmt.Sprintf(format, v)
					if t != "" {
						text += " " + t
					}
				} else if t != "" {
					text = t
				}
			}
			if kind == kindGateway {
				rw.Gateway, rw.GatewayText = num, text
			} else {
				rw.Nexus, rw.NexusText = num, text
			}
		}
		if rw.Gateway != nil && rw.Nexus != nil && *rw.Nexus != 0 && better != "" {
			ratio := *rw.Gateway / *rw.Nexus
			rw.Ratio = &ratio
			rw.Advantage = advantage(ratio, better)
		}
		rows = append(rows, rw)
	}
	step0 := func(f func(st *bench.Step) (float64, string, bool)) value {
		return func(r *serverResults) (float64, string, bool) {
			if r.Fanout == nil || len(r.Fanout.Steps) == 0 {
				return 0, "", false
			}
			return f(&r.Fanout.Steps[0])
		}
	}
	lat := func(l *bench.Latency, pick func(*bench.Latency) float64) (float64, string, bool) {
		if l == nil {
			return 0, "", false
		}
		return pick(l), "", true
	}
	p50 := func(l *bench.Latency) float64 { return l.P50MS }
	p99 := func(l *bench.Latency) float64 { return l.P99MS }
	p999 := func(l *bench.Latency) float64 { return l.P999MS }

	fan := fmt.Sprintf("fan-out %s/s", shortRate(c.rate*float64(c.subscribers)))
	add(fan, "deliveries/s (measured)", "higher", "%.0f", "60k", step0(func(st *bench.Step) (float64, string, bool) {
		return st.DeliveriesPerS, "", true
	}))
	add(fan, "gaps / duplicates / reorders", "", "%s", "0 (pilot)", step0(func(st *bench.Step) (float64, string, bool) {
		return 0, fmt.Sprintf("%d / %d / %d", st.Lost, st.Duplicates, st.Reorders), false
	}))
	add(fan, "latency p50 (ms)", "lower", "%.2f", "", step0(func(st *bench.Step) (float64, string, bool) { return lat(st.Latency, p50) }))
	add(fan, "latency p99 (ms)", "lower", "%.2f", "118", step0(func(st *bench.Step) (float64, string, bool) { return lat(st.Latency, p99) }))
	add(fan, "latency p99.9 (ms)", "lower", "%.2f", "", step0(func(st *bench.Step) (float64, string, bool) { return lat(st.Latency, p999) }))
	add(fan, "publish ack p99 (ms)", "lower", "%.2f", "", step0(func(st *bench.Step) (float64, string, bool) { return lat(st.PublishAck, p99) }))
	add(fan, "server CPU per delivery, process (µs)", "lower", "%.2f", "12-13 (pilot)", step0(func(st *bench.Step) (float64, string, bool) {
		if st.Server == nil || st.Server.PID == 0 {
			return 0, "", false
		}
		return st.Server.USPerOp, "", true
	}))
	add(fan, "server core busy per delivery (µs)", "lower", "%.2f", "14.2", step0(func(st *bench.Step) (float64, string, bool) {
		if st.Server == nil || st.Server.Core == nil {
			return 0, "", false
		}
		return st.Server.Core.USPerOp, fmt.Sprintf("(core %.0f%% busy)", 100*st.Server.Core.Busy), true
	}))
	add(fan, "client CPU (cores)", "", "%.2f", "", step0(func(st *bench.Step) (float64, string, bool) {
		t := ""
		if st.ClientLimited {
			t = "CLIENT-BOUND"
		}
		return st.Client.Cores, t, true
	}))
	add(fan, "client CPU per delivery (µs)", "", "%.2f", "", step0(func(st *bench.Step) (float64, string, bool) {
		return st.ClientUSPerDelivery, fmt.Sprintf("(floor %s per publication)", fmtFloor(st.ClientFloorMS)), st.ClientUSPerDelivery > 0
	}))
	add(fan, "verdict", "", "%s", "", step0(func(st *bench.Step) (float64, string, bool) {
		if st.Pass {
			return 0, "pass", false
		}
		return 0, "FAIL: " + clip(st.Failure, 70), false
	}))

	add("saturation probe", "highest passing deliveries/s", "higher", "%.0f", "~70k (pilot knee)", func(r *serverResults) (float64, string, bool) {
		if r.Fanout == nil || r.Fanout.Saturation == nil {
			return 0, "", false
		}
		s := r.Fanout.Saturation
		v, t := s.MaxDeliveriesPerS, ""
		if s.ClientBoundPerS > 0 {
			v, t = s.ClientBoundPerS, "(at least: the client saturated)"
		} else if s.ClientLimited {
			t = "(at least: the client saturated at the next step)"
		}
		return v, t, true
	})
	add("saturation probe", "first failing step", "", "%s", "", func(r *serverResults) (float64, string, bool) {
		if r.Fanout == nil || r.Fanout.Saturation == nil {
			return 0, "", false
		}
		s := r.Fanout.Saturation
		if s.Reason == "" {
			return 0, "none (the whole ramp passed)", false
		}
		return 0, fmt.Sprintf("%s/s: %s", shortRate(s.StoppedAt*float64(c.subscribers)), clip(s.Reason, 60)), false
	})

	rpcv := func(f func(p *bench.RPCResult) (float64, string, bool)) value {
		return func(r *serverResults) (float64, string, bool) {
			if r.RPC == nil || r.RPC.RPC == nil {
				return 0, "", false
			}
			return f(r.RPC.RPC)
		}
	}
	rpc := fmt.Sprintf("rpc, %d in flight", c.inFlight)
	add(rpc, "calls/s", "higher", "%.0f", "", rpcv(func(p *bench.RPCResult) (float64, string, bool) {
		t := ""
		if p.ClientLimited {
			t = "(client-bound)"
		}
		return p.CallsPerS, t, true
	}))
	add(rpc, "latency p50 (ms)", "lower", "%.2f", "", rpcv(func(p *bench.RPCResult) (float64, string, bool) { return lat(p.Latency, p50) }))
	add(rpc, "latency p99 (ms)", "lower", "%.2f", "", rpcv(func(p *bench.RPCResult) (float64, string, bool) { return lat(p.Latency, p99) }))
	add(rpc, "server CPU per call, process (µs)", "lower", "%.2f", "", rpcv(func(p *bench.RPCResult) (float64, string, bool) {
		if p.Server == nil || p.Server.PID == 0 {
			return 0, "", false
		}
		return p.Server.USPerOp, "", true
	}))
	add(rpc, "calls/s per server core", "higher", "%.0f", "", rpcv(func(p *bench.RPCResult) (float64, string, bool) {
		return p.CallsPerServerCore, "", p.CallsPerServerCore > 0
	}))
	add(rpc, "errors", "", "%s", "", rpcv(func(p *bench.RPCResult) (float64, string, bool) {
		return 0, strconv.FormatUint(p.Errors, 10), false
	}))

	idles := append([]int(nil), c.idle...)
	sort.Ints(idles)
	for _, n := range idles {
		key := strconv.Itoa(n)
		idv := func(f func(d *bench.IdleResult) (float64, string, bool)) value {
			return func(r *serverResults) (float64, string, bool) {
				rep := r.Idle[key]
				if rep == nil || rep.Idle == nil {
					return 0, "", false
				}
				return f(rep.Idle)
			}
		}
		sec := fmt.Sprintf("idle, %s connections", shortRate(float64(n)))
		rssAnchor, goAnchor, grAnchor := "", "", ""
		if n == 15000 {
			rssAnchor, goAnchor, grAnchor = "38.5 KB after GC (pilot); 71 KB after fan-out", "27.5", "2"
		}
		add(sec, "RSS per connection (KiB)", "lower", "%.1f", rssAnchor, idv(func(d *bench.IdleResult) (float64, string, bool) {
			return d.RSSPerConnKiB, "", d.Loaded != nil && d.Loaded.RSS > 0
		}))
		add(sec, "Go heap+stacks per connection after GC (KiB)", "lower", "%.1f", goAnchor, idv(func(d *bench.IdleResult) (float64, string, bool) {
			return d.HeapStackPerConnKiB, fmt.Sprintf("(heap %.1f + stacks %.1f)", d.HeapPerConnKiB, d.StackPerConnKiB), d.Loaded != nil && d.Loaded.HeapAlloc > 0
		}))
		add(sec, "goroutines per connection", "lower", "%.2f", grAnchor, idv(func(d *bench.IdleResult) (float64, string, bool) {
			return d.GoroutinesPerConn, "", d.Loaded != nil && d.Loaded.Goroutines > 0
		}))
	}
	return rows
}

// advantage says which server is better and by how much.
func advantage(ratio float64, better string) string {
	if ratio <= 0 {
		return ""
	}
	f := ratio // gateway / nexus
	if better == "lower" {
		f = 1 / ratio
	}
	switch {
	case f >= 1.05:
		return fmt.Sprintf("gateway %.1fx better", f)
	case f <= 1/1.05:
		return fmt.Sprintf("nexus %.1fx better", 1/f)
	default:
		return "about equal"
	}
}

func shortRate(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

func fmtFloor(ms float64) string { return fmt.Sprintf("%.0f ms", ms) }

func fmtRatio(r *float64) string {
	if r == nil {
		return ""
	}
	return fmt.Sprintf("%.2f", *r)
}

func printHeader(w io.Writer, o *output, prefix string) {
	m := o.Machine
	fmt.Fprintf(w, "%sgateway (%s) vs nexus v3.3.0, measured %s\n", prefix, m.Revision, o.Date)
	fmt.Fprintf(w, "%smachine: %d CPUs, %s, Linux %s, %s; servers pinned to CPU %d with GOMAXPROCS=1, client on CPU %d (pinned: %v)\n",
		prefix, m.CPUs, m.CPUModel, m.Kernel, m.GoVersion, m.ServerCore, m.ClientCore, m.Pinned)
	keys := make([]string, 0, len(o.Params))
	for k := range o.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s%s: %s\n", prefix, k, o.Params[k])
	}
}

func printText(w io.Writer, o *output) {
	fmt.Fprintln(w)
	printHeader(w, o, "")
	headers := []string{"metric", "gateway", "nexus", "gw/nexus", "advantage", "Centrifugo (ref.)"}
	cells := [][]string{}
	section := ""
	for _, r := range o.Table {
		if r.Section != section {
			section = r.Section
			cells = append(cells, []string{"[" + section + "]", "", "", "", "", ""})
		}
		cells = append(cells, []string{"  " + r.Metric, r.GatewayText, r.NexusText, fmtRatio(r.Ratio), r.Advantage, r.Centrifugo})
	}
	width := make([]int, len(headers))
	for i, h := range headers {
		width[i] = len([]rune(h))
	}
	for _, row := range cells {
		for i, c := range row {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(row []string) {
		var b strings.Builder
		for i, c := range row {
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-len([]rune(c))+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	fmt.Fprintln(w)
	line(headers)
	for _, row := range cells {
		line(row)
	}
	printWarnings(w, o, "")
}

func printWarnings(w io.Writer, o *output, prefix string) {
	for _, s := range []string{kindGateway, kindNexus} {
		if r := o.Servers[s]; r != nil {
			for _, e := range r.Errors {
				fmt.Fprintf(w, "%sERROR %s: %s\n", prefix, s, e)
			}
		}
	}
	for _, warn := range o.Warnings {
		fmt.Fprintf(w, "%sWARNING: %s\n", prefix, warn)
	}
	fmt.Fprintf(w, "%selapsed %.0f s\n", prefix, o.ElapsedS)
}

func printMarkdown(w io.Writer, o *output) {
	printHeader(w, o, "")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| workload | metric | gateway | nexus | gateway/nexus | advantage | Centrifugo (ref.) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for _, r := range o.Table {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", esc(r.Section), esc(r.Metric), esc(r.GatewayText),
			esc(r.NexusText), fmtRatio(r.Ratio), r.Advantage, esc(r.Centrifugo))
	}
	fmt.Fprintln(w)
	printWarnings(w, o, "")
}
