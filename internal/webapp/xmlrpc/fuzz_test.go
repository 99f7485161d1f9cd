package xmlrpc

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// fuzzLimits keep fuzzed documents cheap while still reaching the limits.
var fuzzLimits = Limits{MaxDepth: 16, MaxValues: 2000}

// FuzzDecodeCall feeds arbitrary bytes to DecodeCall (seeds: testdata/fuzz/FuzzDecodeCall). Whatever
// it accepts must encode again (or be refused as unencodable) and decode to the same call.
func FuzzDecodeCall(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		call, err := DecodeCall(data, fuzzLimits)
		if err != nil {
			if !errors.Is(err, ErrNotWellFormed) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrLimit) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		doc, err := AppendCall(nil, call.Method, call.Params)
		if err != nil {
			if !errors.Is(err, ErrUnencodable) {
				t.Fatalf("unclassified encoding error: %v", err)
			}
			return
		}
		again, err := DecodeCall(doc, fuzzLimits)
		if err != nil {
			t.Fatalf("decoding our own encoding: %v\n%s", err, doc)
		}
		if want := normalize(call.Params); call.Method != again.Method || !reflect.DeepEqual(again.Params, want) {
			t.Fatalf("round trip changed the call:\n%#v\n%#v\n%s", call, again, doc)
		}
	})
}

// normalize turns decoded values into what encoding keeps of them: dateTime values in UTC, whole
// seconds.
func normalize(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Truncate(time.Second)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}
