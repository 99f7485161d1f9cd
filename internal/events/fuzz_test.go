package events

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/gateway-dev/gateway/internal/config"
)

// valueGen turns fuzz input into decoded WAMP payload values: every type the codecs produce (and
// some Go types they do not), with keys and strings drawn mostly from the classes' field names
// and enum values so that the generated events get deep into the schemas.
type valueGen struct {
	data []byte
}

var words = []string{"room", "text", "sent_at", "priority", "score", "count", "pinned", "tags", "author",
	"attachments", "recipient", "id", "name", "url", "size", "user", "online", "color", "matrix", "geo",
	"city", "pos", "lat", "low", "normal", "high", "c3", "c11", "x", "", "Room"}

func (g *valueGen) byte() byte {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return b
}

func (g *valueGen) u64() uint64 {
	var buf [8]byte
	n := copy(buf[:], g.data)
	g.data = g.data[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

func (g *valueGen) str() string {
	b := g.byte()
	if b < 200 {
		return words[int(b)%len(words)]
	}
	n := min(int(b-200), len(g.data))
	s := string(g.data[:n])
	g.data = g.data[n:]
	return s
}

func (g *valueGen) value(depth int) any {
	switch op := g.byte() % 16; {
	case op == 0:
		return nil
	case op == 1:
		return g.byte()&1 == 1
	case op == 2:
		return int64(g.u64())
	case op == 3:
		return int64(g.byte()) // small, in every range
	case op == 4:
		return g.u64() | 1<<63 // above MaxInt64, as the codecs produce
	case op == 5:
		return math.Float64frombits(g.u64())
	case op == 6:
		return float64(int8(g.byte()))
	case op == 7 || op == 8:
		return g.str()
	case op == 9:
		return []byte(g.str())
	case op == 10:
		return int(int8(g.byte()))
	case op == 11:
		return []string{g.str()} // not a decoded type
	case depth >= 6:
		return nil
	case op == 12 || op == 13:
		n := int(g.byte() % 5)
		l := make([]any, n)
		for i := range l {
			l[i] = g.value(depth + 1)
		}
		return l
	default:
		return g.object(depth + 1)
	}
}

func (g *valueGen) object(depth int) map[string]any {
	n := int(g.byte() % 12)
	m := make(map[string]any, n)
	for range n {
		m[g.str()] = g.value(depth)
	}
	return m
}

// mutate changes m at one place: it deletes, replaces or adds a key, or descends into a nested
// object or list to change something there.
func (g *valueGen) mutate(m map[string]any, depth int) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	op := g.byte()
	if len(keys) == 0 || op%4 == 0 {
		m[g.str()] = g.value(depth)
		return
	}
	k := keys[int(g.byte())%len(keys)]
	switch op % 4 {
	case 1:
		delete(m, k)
	case 2:
		m[k] = g.value(depth)
	default:
		switch x := m[k].(type) {
		case map[string]any:
			g.mutate(x, depth+1)
		case []any:
			if len(x) == 0 {
				m[k] = []any{g.value(depth + 1)}
				return
			}
			i := int(g.byte()) % len(x)
			if sub, ok := x[i].(map[string]any); ok && g.byte()&1 == 0 {
				g.mutate(sub, depth+1)
			} else {
				x[i] = g.value(depth + 1)
			}
		default:
			m[k] = g.value(depth)
		}
	}
}

// refValid is a reference validator: the rules of Validate written as directly as possible over
// the configuration's fields, for differential testing.
func refValid(fs config.EventFields, strict bool, m map[string]any) bool {
	for i := range fs {
		v, ok := m[fs[i].Name]
		if !ok {
			if fs[i].Required {
				return false
			}
			continue
		}
		if !refValue(&fs[i], strict, v) {
			return false
		}
	}
	if strict {
		for k := range m {
			if !slices.ContainsFunc(fs, func(f config.EventField) bool { return f.Name == k }) {
				return false
			}
		}
	}
	return true
}

// refInt converts any integer to a float64-free (value, fits-in-int64) pair.
func refInt(v any) (i int64, isInt, fits bool) {
	switch x := v.(type) {
	case int64:
		return x, true, true
	case int:
		return int64(x), true, true
	case int32:
		return int64(x), true, true
	case uint8:
		return int64(x), true, true
	case uint64:
		return int64(x), true, x <= math.MaxInt64
	}
	return 0, false, false
}

func refValue(f *config.EventField, strict bool, v any) bool {
	switch f.Type {
	case config.TypeString:
		_, ok := v.(string)
		return ok
	case config.TypeInt:
		_, isInt, fits := refInt(v)
		return isInt && fits
	case config.TypeFloat:
		if x, ok := v.(float64); ok {
			return !math.IsNaN(x) && !math.IsInf(x, 0)
		}
		_, isInt, _ := refInt(v)
		return isInt
	case config.TypeBool:
		_, ok := v.(bool)
		return ok
	case config.TypeTimestamp:
		i, isInt, fits := refInt(v)
		return isInt && fits && i >= MinTimestamp && i <= MaxTimestamp
	case config.TypeEnum:
		s, ok := v.(string)
		return ok && slices.Contains(f.Values, s)
	case config.TypeList:
		l, ok := v.([]any)
		if !ok {
			return false
		}
		for _, x := range l {
			if !refValue(f.Items, strict, x) {
				return false
			}
		}
		return true
	case config.TypeObject:
		m, ok := v.(map[string]any)
		return ok && refValid(f.Fields, strict, m)
	}
	return false
}

// FuzzValidate checks that Validate never panics on arbitrary decoded values, that it agrees with
// the reference validator, and that its errors are well-formed.
func FuzzValidate(f *testing.F) {
	for _, seed := range [][]byte{
		{},
		{0x0e, 3, 7, 0, 8, 1},
		{0x0e, 5, 8, 0, 7, 1, 8, 2, 3, 5, 8, 3, 7, 25, 8, 8, 7, 0x0e, 2, 8, 11, 8, 12, 7, 7},
		{0x0e, 4, 8, 7, 0x0c, 3, 7, 0, 7, 1, 3, 8, 0x0e, 2, 8, 11, 8, 12, 7, 7, 1, 1},
		{0x0e, 2, 8, 17, 0x0c, 2, 0x0c, 1, 3, 0x0c, 2, 3, 7, 1},
		{0x0e, 1, 8, 19, 0x0e, 1, 8, 21, 0x0e, 1, 8, 22, 5, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f},
		{0x0e, 2, 8, 2, 4, 1, 2, 3, 4, 5, 6, 7, 8, 8, 5, 6, 3},
	} {
		for class := range byte(5) {
			f.Add(append([]byte{class}, seed...))
		}
	}
	r := registry(f, chatClasses+moreClasses)
	classes := r.List()
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &valueGen{data: data}
		c := classes[int(g.byte())%len(classes)]
		var args []any
		if g.byte()%8 == 0 {
			args = []any{g.value(0)}
		}
		var kwargs map[string]any
		switch mode := g.byte(); {
		case mode == 0xff:
		case mode&1 == 0:
			// A valid event of one of the chat classes, changed at a few places: events near the
			// boundary between valid and invalid.
			kwargs = validMessage()
			kwargs["recipient"] = "bob"
			for range mode >> 5 {
				g.mutate(kwargs, 0)
			}
		default:
			kwargs = g.object(0)
		}
		err := c.Validate(args, kwargs)
		want := len(args) == 0 && refValid(c.Fields(), c.Strict(), kwargs)
		if (err == nil) != want {
			t.Fatalf("class %s, args %v, kwargs %#v: Validate = %v, reference valid = %v", c.Name(), args, kwargs, err, want)
		}
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Class != c.Name() || err.Error() == "" {
				t.Fatalf("malformed error %#v", err)
			}
		}
	})
}
