package events

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/gateway-dev/gateway/wamp"
)

// moreClasses complement chatClasses: large enums, nested lists, nothing required, not strict.
const moreClasses = `
[[realms.event_classes]]
name = "misc"
topic = "misc"
[realms.event_classes.fields]
color = { type = "enum", values = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c10", "c11"] }
matrix = { type = "list", items = { type = "list", items = "int" } }
geo = { type = "object", fields = { city = "string", pos = { type = "object", fields = { lat = { type = "float", required = true } } } } }

[[realms.event_classes]]
name = "loose"
topic = "loose"
strict = false
fields = { geo = { type = "object", fields = { city = "string" } } }
`

func TestValidate(t *testing.T) {
	r := registry(t, chatClasses+moreClasses)
	with := func(changes map[string]any) map[string]any {
		ev := validMessage()
		for k, v := range changes {
			if v == deleted {
				delete(ev, k)
			} else {
				ev[k] = v
			}
		}
		return ev
	}
	author := func(m map[string]any) map[string]any { return with(map[string]any{"author": m}) }
	long := strings.Repeat("x", 100)
	tests := []struct {
		name   string
		class  string
		args   wamp.List
		kwargs map[string]any
		want   string // "" for valid
	}{
		// valid publications
		{"every field", "chat.message", nil, validMessage(), ""},
		{"required fields only", "chat.message", nil, map[string]any{"room": "r", "text": "t", "sent_at": int64(0),
			"author": map[string]any{"name": "n"}}, ""},
		{"empty list", "chat.message", nil, with(map[string]any{"tags": []any{}}), ""},
		{"no fields, none required", "misc", nil, nil, ""},
		{"empty args list", "misc", wamp.List{}, map[string]any{}, ""},
		{"other Go integer types", "chat.message", nil, with(map[string]any{"count": 3, "sent_at": int32(5), "score": uint8(1)}), ""},
		{"uint64 in int64 range", "chat.message", nil, with(map[string]any{"count": uint64(math.MaxInt64), "sent_at": uint64(1)}), ""},
		{"int for float", "chat.message", nil, with(map[string]any{"score": int64(2)}), ""},
		{"float32", "chat.message", nil, with(map[string]any{"score": float32(0.5)}), ""},
		{"negative timestamp", "chat.message", nil, with(map[string]any{"sent_at": int64(-86400)}), ""},
		{"first timestamp", "chat.message", nil, with(map[string]any{"sent_at": int64(MinTimestamp)}), ""},
		{"last timestamp", "chat.message", nil, with(map[string]any{"sent_at": int64(MaxTimestamp)}), ""},
		{"large enum", "misc", nil, map[string]any{"color": "c11"}, ""},
		{"nested lists", "misc", nil, map[string]any{"matrix": []any{[]any{int64(1)}, []any{}, []any{int64(2), int64(3)}}}, ""},
		{"not strict", "loose", nil, map[string]any{"x": []byte("?"), "geo": map[string]any{"city": "c", "zip": nil}}, ""},

		// positional arguments
		{"args", "chat.message", wamp.List{"hello"}, validMessage(),
			`event class "chat.message" takes its fields as keyword arguments, not positional ones (got 1)`},

		// missing fields
		{"missing", "chat.message", nil, with(map[string]any{"room": deleted}), `missing required field "room"`},
		{"missing from nil kwargs", "presence", nil, nil, `missing required field "user"`},
		{"missing in declaration order", "chat.message", nil, with(map[string]any{"sent_at": deleted, "text": deleted}), `missing required field "text"`},
		{"missing nested", "chat.message", nil, author(map[string]any{"id": int64(1)}), `missing required field "author.name"`},
		{"missing in a list element", "chat.message", nil, with(map[string]any{"attachments": []any{
			map[string]any{"url": "u"}, map[string]any{"size": int64(1)}}}), `missing required field "attachments[1].url"`},
		{"missing deeper", "misc", nil, map[string]any{"geo": map[string]any{"pos": map[string]any{}}}, `missing required field "geo.pos.lat"`},

		// null
		{"null optional", "chat.message", nil, with(map[string]any{"score": nil}),
			`field "score": expected float, got null (leave an optional field out instead of sending null)`},
		{"null required", "chat.message", nil, with(map[string]any{"room": nil}), `field "room": expected string, got null`},
		{"null nested", "chat.message", nil, author(map[string]any{"name": nil}), `field "author.name": expected string, got null`},
		{"null element", "chat.message", nil, with(map[string]any{"tags": []any{"a", nil}}), `field "tags[1]": expected string, got null`},

		// wrong types
		{"string", "chat.message", nil, with(map[string]any{"room": int64(42)}), `field "room": expected string, got int 42`},
		{"int from string", "chat.message", nil, with(map[string]any{"count": "high"}), `field "count": expected int, got string "high"`},
		{"int from integral float", "chat.message", nil, with(map[string]any{"count": 3.0}), `field "count": expected int, got float 3`},
		{"int out of range", "chat.message", nil, with(map[string]any{"count": uint64(math.MaxUint64)}),
			`field "count": integer 18446744073709551615 is out of range for int (at most 9223372036854775807)`},
		{"int from bool", "chat.message", nil, with(map[string]any{"count": true}), `field "count": expected int, got bool true`},
		{"float from string", "chat.message", nil, with(map[string]any{"score": "0.5"}), `field "score": expected float, got string "0.5"`},
		{"float NaN", "chat.message", nil, with(map[string]any{"score": math.NaN()}), `field "score": float NaN is not allowed (JSON cannot carry it)`},
		{"float infinity", "chat.message", nil, with(map[string]any{"score": math.Inf(-1)}), `field "score": float -Inf is not allowed (JSON cannot carry it)`},
		{"bool", "chat.message", nil, with(map[string]any{"pinned": "true"}), `field "pinned": expected bool, got string "true"`},
		{"bool from int", "chat.message", nil, with(map[string]any{"pinned": int64(1)}), `field "pinned": expected bool, got int 1`},
		{"binary", "chat.message", nil, with(map[string]any{"text": []byte("abc")}), `field "text": expected string, got binary (3 bytes)`},
		{"unsupported Go value", "chat.message", nil, with(map[string]any{"tags": []string{"a"}}),
			`field "tags": expected list of string, got unsupported value of Go type []string`},
		{"long value shortened", "chat.message", nil, with(map[string]any{"count": long}),
			`field "count": expected int, got string "` + long[:64] + `..."`},

		// timestamps
		{"timestamp as RFC 3339", "chat.message", nil, with(map[string]any{"sent_at": "2024-05-01T12:00:00Z"}),
			`field "sent_at": expected timestamp (integer Unix seconds), got string "2024-05-01T12:00:00Z"`},
		{"timestamp as float", "chat.message", nil, with(map[string]any{"sent_at": 1714564800.5}),
			`field "sent_at": expected timestamp (integer Unix seconds), got float 1.7145648005e+09`},
		{"timestamp in milliseconds", "chat.message", nil, with(map[string]any{"sent_at": int64(1714564800000)}),
			`field "sent_at": timestamp 1714564800000 is out of range: Unix seconds between -62135596800 and 253402300799 (years 1 to 9999); milliseconds? send seconds`},
		{"timestamp before year 1", "chat.message", nil, with(map[string]any{"sent_at": int64(MinTimestamp - 1)}),
			`field "sent_at": timestamp -62135596801 is out of range: Unix seconds between -62135596800 and 253402300799 (years 1 to 9999)`},
		{"timestamp as huge uint64", "chat.message", nil, with(map[string]any{"sent_at": uint64(math.MaxUint64)}),
			`field "sent_at": timestamp 18446744073709551615 is out of range: Unix seconds between -62135596800 and 253402300799 (years 1 to 9999); milliseconds? send seconds`},

		// enums
		{"enum value", "chat.message", nil, with(map[string]any{"priority": "urgent"}),
			`field "priority": string "urgent" is not one of "low", "normal", "high"`},
		{"enum case", "chat.message", nil, with(map[string]any{"priority": "HIGH"}),
			`field "priority": string "HIGH" is not one of "low", "normal", "high"`},
		{"enum type", "chat.message", nil, with(map[string]any{"priority": int64(1)}),
			`field "priority": expected one of "low", "normal", "high", got int 1`},
		{"large enum value", "misc", nil, map[string]any{"color": "c12"},
			`field "color": string "c12" is not one of "c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", ... (12 values)`},

		// lists
		{"list type", "chat.message", nil, with(map[string]any{"tags": "a,b"}), `field "tags": expected list of string, got string "a,b"`},
		{"list element", "chat.message", nil, with(map[string]any{"tags": []any{"a", "b", int64(7)}}), `field "tags[2]": expected string, got int 7`},
		{"list of objects element", "chat.message", nil, with(map[string]any{"attachments": []any{"u"}}),
			`field "attachments[0]": expected object, got string "u"`},
		{"list of objects field", "chat.message", nil, with(map[string]any{"attachments": []any{
			map[string]any{"url": "u"}, map[string]any{"url": "u", "size": "big"}}}), `field "attachments[1].size": expected int, got string "big"`},
		{"list of lists", "misc", nil, map[string]any{"matrix": []any{[]any{int64(1)}, []any{int64(2), "x"}}},
			`field "matrix[1][1]": expected int, got string "x"`},
		{"list of lists type", "misc", nil, map[string]any{"matrix": []any{int64(1)}},
			`field "matrix[0]": expected list of int, got int 1`},

		// objects
		{"object type", "chat.message", nil, with(map[string]any{"author": "Ann"}), `field "author": expected object, got string "Ann"`},
		{"object type list", "chat.message", nil, with(map[string]any{"author": []any{}}), `field "author": expected object, got list (0 elements)`},
		{"nested type", "chat.message", nil, author(map[string]any{"name": "n", "id": "7"}), `field "author.id": expected int, got string "7"`},
		{"deeper type", "misc", nil, map[string]any{"geo": map[string]any{"pos": map[string]any{"lat": "1"}}},
			`field "geo.pos.lat": expected float, got string "1"`},

		// unknown fields
		{"unknown with hint", "chat.message", nil, with(map[string]any{"txt": "x"}), `unknown field "txt" (did you mean "text"?)`},
		{"unknown by case", "chat.message", nil, with(map[string]any{"Room": "x"}), `unknown field "Room" (did you mean "room"?)`},
		{"unknown without hint", "chat.message", nil, with(map[string]any{"zzzzzz": 1}), `unknown field "zzzzzz"`},
		{"first unknown by name", "chat.message", nil, with(map[string]any{"zz": 1, "yy": 2, "zy": 3}), `unknown field "yy"`},
		{"unknown nested", "chat.message", nil, author(map[string]any{"name": "n", "idd": int64(1)}), `unknown field "author.idd" (did you mean "id"?)`},
		{"unknown in a list element", "chat.message", nil, with(map[string]any{"attachments": []any{map[string]any{"url": "u", "sizes": int64(1)}}}),
			`unknown field "attachments[0].sizes" (did you mean "size"?)`},
		{"unknown long name", "chat.message", nil, with(map[string]any{long: 1}), `unknown field "` + long[:64] + `..."`},
		{"missing before unknown", "chat.message", nil, with(map[string]any{"room": deleted, "x": 1}), `missing required field "room"`},
		{"wrong type before unknown", "chat.message", nil, with(map[string]any{"room": false, "a": 1}), `field "room": expected string, got bool false`},
		{"not strict nested type still checked", "loose", nil, map[string]any{"geo": map[string]any{"city": int64(1)}},
			`field "geo.city": expected string, got int 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := r.ByName(tt.class)
			err := c.Validate(tt.args, tt.kwargs)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want valid", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate succeeded, want %s", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Validate =\n%s\nwant\n%s", err, tt.want)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Class != tt.class || !errors.Is(err, ErrInvalidEvent) {
				t.Errorf("error %#v: want a *ValidationError of class %s wrapping ErrInvalidEvent", err, tt.class)
			}
		})
	}
}

// deleted marks a field to remove in TestValidate.
var deleted = &struct{}{}

// The failing field's path is available on its own, for clients that want to point at it.
func TestValidationErrorPath(t *testing.T) {
	r := registry(t, chatClasses)
	ev := validMessage()
	ev["attachments"] = []any{map[string]any{"url": int64(1)}}
	var ve *ValidationError
	if err := r.ByName("chat.message").Validate(nil, ev); !errors.As(err, &ve) || ve.Path != "attachments[0].url" ||
		ve.Msg != "expected string, got int 1" {
		t.Errorf("Validate = %#v", err)
	}
}

// Validation of a valid publication does not allocate.
func TestValidateDoesNotAllocate(t *testing.T) {
	r := registry(t, chatClasses+moreClasses)
	msg, priv, misc := r.ByName("chat.message"), r.ByName("chat.message.private"), r.ByName("misc")
	ev := validMessage()
	pev := validMessage()
	pev["recipient"] = "bob"
	mev := map[string]any{"color": "c7", "matrix": []any{[]any{int64(1)}}, "geo": map[string]any{"pos": map[string]any{"lat": 1.5}}}
	allocs := testing.AllocsPerRun(100, func() {
		if msg.Validate(nil, ev) != nil || priv.Validate(nil, pev) != nil || misc.Validate(nil, mev) != nil {
			panic("invalid")
		}
	})
	if allocs != 0 {
		t.Errorf("Validate allocates %.1f times per call", allocs)
	}
}

func BenchmarkValidate(b *testing.B) {
	r := registry(b, chatClasses)
	c := r.ByName("chat.message.private")
	ev := validMessage()
	ev["recipient"] = "bob"
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Validate(nil, ev); err != nil {
			b.Fatal(err)
		}
	}
}

// A small event: three flat fields, as for a presence or sensor event.
func BenchmarkValidateSmall(b *testing.B) {
	r := registry(b, chatClasses)
	c := r.ByName("presence")
	ev := map[string]any{"user": "ann", "online": true}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Validate(nil, ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkByTopic(b *testing.B) {
	r := registry(b, chatClasses)
	topic := "com.example.chat.message.private"
	b.ReportAllocs()
	for b.Loop() {
		if r.ByTopic(topic) == nil {
			b.Fatal("no class")
		}
	}
}
