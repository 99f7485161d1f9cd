// Package querybench measures the query package's filter index against evaluating every filter
// (with the same typed predicates and with cel-go) on synthetic workloads, and prints the table that
// docs/EVENTS.md quotes. cmd/querybench runs it; its tests run a small smoke version.
package querybench

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// Mix names a subscription workload.
type Mix string

// The three workloads of issue 5.
const (
	// Channel: 90% channel == "room-N" over 100k channels; 5% type && region; 5% symbol && amount > A.
	Channel Mix = "channel"
	// Mixed: every filter an equality (or small in-list) plus a range.
	Mixed Mix = "mixed"
	// Range: only range predicates (3 or 4 per filter, intervals and thresholds), the hardest case.
	Range Mix = "range"
)

// Mixes lists the workloads in table order.
var Mixes = []Mix{Channel, Mixed, Range}

const (
	channels = 100_000
	types    = 50
	regions  = 10
	symbols  = 2000
	users    = 1_000_000
)

// Event returns the kwargs of a random event with 20 attributes (4 of them nested under geo).
func Event(r *rand.Rand) map[string]any {
	return map[string]any{
		"channel":  "room-" + strconv.Itoa(r.IntN(channels)),
		"type":     "t" + strconv.Itoa(r.IntN(types)),
		"region":   "r" + strconv.Itoa(r.IntN(regions)),
		"symbol":   "s" + strconv.Itoa(r.IntN(symbols)),
		"user":     "u" + strconv.Itoa(r.IntN(users)),
		"amount":   r.Float64() * 10000,
		"priority": int64(1 + r.IntN(5)),
		"score":    r.Float64(),
		"qty":      int64(r.IntN(1000)),
		"flag":     r.IntN(2) == 0,
		"lang":     "l" + strconv.Itoa(r.IntN(20)),
		"device":   "d" + strconv.Itoa(r.IntN(5)),
		"version":  int64(1 + r.IntN(10)),
		"ts":       int64(1_790_000_000 + r.IntN(1_000_000)),
		"source":   "src" + strconv.Itoa(r.IntN(10)),
		"tenant":   "tenant-" + strconv.Itoa(r.IntN(1000)),
		"geo": map[string]any{
			"country": "c" + strconv.Itoa(r.IntN(50)),
			"city":    "city" + strconv.Itoa(r.IntN(500)),
			"lat":     r.Float64()*180 - 90,
			"lon":     r.Float64()*360 - 180,
		},
	}
}

// Filter returns a random filter of the mix as CEL text and in the JSON form (the same filter).
func Filter(mix Mix, r *rand.Rand) (cel, json string) {
	q := strconv.Quote
	switch mix {
	case Channel:
		switch p := r.IntN(100); {
		case p < 90:
			c := "room-" + strconv.Itoa(r.IntN(channels))
			return fmt.Sprintf("channel == %s", q(c)), fmt.Sprintf(`{"eq":["channel",%s]}`, q(c))
		case p < 95:
			t, g := "t"+strconv.Itoa(r.IntN(types)), "r"+strconv.Itoa(r.IntN(regions))
			return fmt.Sprintf("type == %s && region == %s", q(t), q(g)),
				fmt.Sprintf(`{"and":[{"eq":["type",%s]},{"eq":["region",%s]}]}`, q(t), q(g))
		default:
			s, a := "s"+strconv.Itoa(r.IntN(symbols)), 100*r.IntN(100)
			return fmt.Sprintf("symbol == %s && amount > %d", q(s), a),
				fmt.Sprintf(`{"and":[{"eq":["symbol",%s]},{"gt":["amount",%d]}]}`, q(s), a)
		}
	case Mixed:
		switch p := r.IntN(100); {
		case p < 40:
			c, pr := "room-"+strconv.Itoa(r.IntN(channels)), 1+r.IntN(5)
			return fmt.Sprintf("channel == %s && priority >= %d", q(c), pr),
				fmt.Sprintf(`{"and":[{"eq":["channel",%s]},{"ge":["priority",%d]}]}`, q(c), pr)
		case p < 65:
			s, a := "s"+strconv.Itoa(r.IntN(symbols)), 100*r.IntN(100)
			return fmt.Sprintf("symbol == %s && amount > %d", q(s), a),
				fmt.Sprintf(`{"and":[{"eq":["symbol",%s]},{"gt":["amount",%d]}]}`, q(s), a)
		case p < 80:
			t1, t2, t3 := q("t"+strconv.Itoa(r.IntN(types))), q("t"+strconv.Itoa(r.IntN(types))), q("t"+strconv.Itoa(r.IntN(types)))
			lo := 100 * r.IntN(90)
			return fmt.Sprintf("type in [%s, %s, %s] && amount >= %d && amount < %d", t1, t2, t3, lo, lo+1000),
				fmt.Sprintf(`{"and":[{"in":["type",[%s,%s,%s]]},{"ge":["amount",%d]},{"lt":["amount",%d]}]}`, t1, t2, t3, lo, lo+1000)
		case p < 90:
			g, t, s := q("r"+strconv.Itoa(r.IntN(regions))), q("t"+strconv.Itoa(r.IntN(types))), float64(r.IntN(100))/100
			return fmt.Sprintf("region == %s && type == %s && score > %s", g, t, fl(s)),
				fmt.Sprintf(`{"and":[{"eq":["region",%s]},{"eq":["type",%s]},{"gt":["score",%s]}]}`, g, t, fl(s))
		default:
			c, n := q("c"+strconv.Itoa(r.IntN(50))), 10*r.IntN(100)
			return fmt.Sprintf("geo.country == %s && qty < %d", c, n),
				fmt.Sprintf(`{"and":[{"eq":["geo.country",%s]},{"lt":["qty",%d]}]}`, c, n)
		}
	default: // Range
		switch p := r.IntN(100); {
		case p < 40:
			lo, w, s := 10*r.IntN(1000), 10+10*r.IntN(20), float64(r.IntN(100))/100
			return fmt.Sprintf("amount >= %d && amount < %d && score > %s", lo, lo+w, fl(s)),
				fmt.Sprintf(`{"and":[{"ge":["amount",%d]},{"lt":["amount",%d]},{"gt":["score",%s]}]}`, lo, lo+w, fl(s))
		case p < 70:
			t, n := 1_790_000_000+1000*r.IntN(1000), 10*r.IntN(100)
			return fmt.Sprintf("ts >= %d && ts < %d && qty < %d", t, t+1000, n),
				fmt.Sprintf(`{"and":[{"ge":["ts",%d]},{"lt":["ts",%d]},{"lt":["qty",%d]}]}`, t, t+1000, n)
		default:
			x, y := r.IntN(178)-90, r.IntN(358)-180
			return fmt.Sprintf("geo.lat > %d && geo.lat < %d && geo.lon > %d && geo.lon < %d", x, x+2, y, y+2),
				fmt.Sprintf(`{"and":[{"gt":["geo.lat",%d]},{"lt":["geo.lat",%d]},{"gt":["geo.lon",%d]},{"lt":["geo.lon",%d]}]}`, x, x+2, y, y+2)
		}
	}
}

// fl formats a float literal that CEL reads as a double.
func fl(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	for _, c := range s {
		if c == '.' {
			return s
		}
	}
	return s + ".0"
}
