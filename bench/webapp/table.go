package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/gateway-dev/gateway/internal/bench"
)

// row is one transport's line of the table, as printed.
type row struct {
	Transport string   `json:"transport"`
	Cells     []string `json:"cells"`
}

// header names the table's columns after the transport.
func (h *harness) header() []string {
	fan := fmt.Sprintf("%d subs", h.subscribers)
	return []string{
		fmt.Sprintf("publishes/s (C=%d, no subs)", h.concurrency),
		"publish p50 / p99 (ms)",
		"gateway CPU per publish (µs)",
		"publishes/s per gateway core (publishes/s ÷ gateway CPU)",
		"broker CPU per publish (µs)",
		fmt.Sprintf("%s: publishes/s (C=%d, %s)", fan, h.fanoutConcurrency, rateText(h.fanoutRate)),
		fan + ": publish p50 / p99 (ms)",
		fan + ": deliveries/s",
		fan + ": delivery p50 / p99 (ms)",
		fan + ": lost / errors",
		"verdict",
	}
}

func ms2(l *bench.Latency) string {
	if l == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.2f / %.2f", l.P50MS, l.P99MS)
}

// table builds one row per transport.
func (h *harness) table() []row {
	var rows []row
	for _, t := range h.transports {
		if why, ok := h.out.Skipped[t]; ok {
			rows = append(rows, row{Transport: t, Cells: []string{"skipped: " + why}})
			continue
		}
		r := h.out.Runs[t]
		if r == nil {
			continue
		}
		cells := make([]string, 0, 11)
		verdicts := []string{}
		if tp := webappOf(r.Throughput); tp != nil {
			srv, perCore := "n/a", "n/a"
			if s := tp.Server; s != nil && s.PID != 0 {
				srv = fmt.Sprintf("%.1f", s.USPerOp)
				if s.Core != nil {
					srv += fmt.Sprintf(" (core %.0f%% busy)", 100*s.Core.Busy)
				}
			}
			if tp.PublishesPerServerCore > 0 {
				perCore = fmt.Sprintf("%.0f", tp.PublishesPerServerCore)
			}
			broker := "-"
			if r.BrokerUSPerPublish > 0 {
				broker = fmt.Sprintf("%.1f (%.2f cores)", r.BrokerUSPerPublish, r.BrokerCores)
			}
			cells = append(cells, fmt.Sprintf("%.0f", tp.PublishesPerS), ms2(tp.Latency), srv, perCore, broker)
			if !tp.Pass {
				verdicts = append(verdicts, "throughput FAIL: "+tp.Failure)
			}
		} else {
			cells = append(cells, "failed", "", "", "", "")
		}
		if fo := webappOf(r.Fanout); fo != nil {
			cells = append(cells, fmt.Sprintf("%.1f", fo.PublishesPerS), ms2(fo.Latency), fmt.Sprintf("%.0f", fo.DeliveriesPerS),
				ms2(fo.DeliveryLatency), fmt.Sprintf("%d / %d", fo.Lost, fo.Errors))
			if !fo.Pass {
				verdicts = append(verdicts, "fan-out FAIL: "+fo.Failure)
			}
			if fo.ClientLimited {
				verdicts = append(verdicts, "fan-out client-bound")
			}
		} else {
			cells = append(cells, "failed", "", "", "", "")
		}
		if len(r.Errors) > 0 {
			verdicts = append(verdicts, r.Errors...)
		}
		if len(verdicts) == 0 {
			verdicts = append(verdicts, "pass")
		}
		cells = append(cells, strings.Join(verdicts, "; "))
		rows = append(rows, row{Transport: t, Cells: cells})
	}
	return rows
}

func webappOf(r *bench.Report) *bench.WebappResult {
	if r == nil {
		return nil
	}
	return r.Webapp
}

func (o *output) describe(w io.Writer, prefix string) {
	m := o.Machine
	fmt.Fprintf(w, "%s%s, gateway %s, %d CPUs (%s), kernel %s, %s, pinned=%v (gateway on CPU %d with GOMAXPROCS=1, client on CPU %d)\n",
		prefix, o.Date, m.Revision, m.CPUs, m.CPUModel, m.Kernel, m.GoVersion, m.Pinned, m.ServerCore, m.ClientCore)
	fmt.Fprintf(w, "%sload average at start %s; machine %.0f%% busy at start\n", prefix, m.LoadAvg, 100*m.BusyStart)
	for _, k := range []string{"throughput", "fanout", "gateway"} {
		fmt.Fprintf(w, "%s%s: %s\n", prefix, k, o.Params[k])
	}
}

// printText prints the table transposed (one block per transport) for a terminal.
func printText(w io.Writer, o *output) {
	o.describe(w, "")
	h := header(o)
	for _, r := range o.Table {
		fmt.Fprintf(w, "\n%s\n", r.Transport)
		if len(r.Cells) == 1 {
			fmt.Fprintf(w, "  %s\n", r.Cells[0])
			continue
		}
		for i, c := range r.Cells {
			fmt.Fprintf(w, "  %-48s %s\n", h[i], c)
		}
	}
	for _, warn := range o.Warnings {
		fmt.Fprintf(w, "WARNING: %s\n", warn)
	}
	fmt.Fprintf(w, "elapsed %.0fs\n", o.ElapsedS)
}

// printMarkdown prints the table in Markdown, one row per transport.
func printMarkdown(w io.Writer, o *output) {
	o.describe(w, "")
	fmt.Fprintln(w)
	h := header(o)
	fmt.Fprintf(w, "| transport | %s |\n|---|%s\n", strings.Join(h, " | "), strings.Repeat("---|", len(h)))
	for _, r := range o.Table {
		cells := r.Cells
		if len(cells) == 1 {
			cells = append(cells, make([]string, len(h)-1)...)
		}
		fmt.Fprintf(w, "| %s | %s |\n", r.Transport, strings.Join(cells, " | "))
	}
	for _, warn := range o.Warnings {
		fmt.Fprintf(w, "\nWARNING: %s\n", warn)
	}
	fmt.Fprintf(w, "\nelapsed %.0fs\n", o.ElapsedS)
}

// header returns the column names the table was built with.
func header(o *output) []string { return o.Header }
