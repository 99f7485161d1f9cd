package xmlrpc

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// readSample returns a document Python's xmlrpc.client wrote (testdata/python/gen_samples.py).
func readSample(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "python", name+".xml"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestPythonSamples decodes what Python's xmlrpc.client sends for every type.
func TestPythonSamples(t *testing.T) {
	samples := map[string]any{
		"int":             int64(42),
		"int_min":         int64(math.MinInt32),
		"int_max":         int64(math.MaxInt32),
		"bool_true":       true,
		"bool_false":      false,
		"double":          1.5,
		"double_integral": 1.0,
		"double_big":      1e300,
		"double_small":    -2.5e-10,
		"double_inf":      math.Inf(1),
		"string":          "a<&>\"' é😀\n\ttab",
		"string_empty":    "",
		"bytes":           []byte("\x00\xffhello"),
		"datetime":        time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC),
		"none":            nil,
		"struct":          map[string]any{"a": int64(1), "b": []any{int64(1), "x"}, "c": map[string]any{}},
		"array":           []any{int64(1), "two", 3.0, true, nil},
		"array_empty":     []any{},
		"struct_empty":    map[string]any{},
	}
	for name, want := range samples {
		t.Run(name, func(t *testing.T) {
			call, err := DecodeCall(readSample(t, name), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if call.Method != "m" || len(call.Params) != 1 {
				t.Fatalf("got method %q with %d params, want m with 1", call.Method, len(call.Params))
			}
			if got := call.Params[0]; !reflect.DeepEqual(got, want) {
				t.Errorf("got %#v, want %#v", got, want)
			}
		})
	}
}

func TestPythonPublishAndMulticall(t *testing.T) {
	call, err := DecodeCall(readSample(t, "publish"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := &Call{Method: "gateway.publish", Params: []any{
		"com.example.topic", []any{int64(1), "a"}, map[string]any{"k": "v"}, map[string]any{"retain": true},
	}}
	if !reflect.DeepEqual(call, want) {
		t.Errorf("publish: got %#v, want %#v", call, want)
	}
	call, err = DecodeCall(readSample(t, "multicall"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want = &Call{Method: "system.multicall", Params: []any{[]any{
		map[string]any{"methodName": "gateway.health", "params": []any{}},
		map[string]any{"methodName": "gateway.publish", "params": []any{"t"}},
	}}}
	if !reflect.DeepEqual(call, want) {
		t.Errorf("multicall: got %#v, want %#v", call, want)
	}
}

func TestPythonFaultResponse(t *testing.T) {
	v, err := DecodeResponse(readSample(t, "fault_response"), Limits{})
	var f *Fault
	if !errors.As(err, &f) {
		t.Fatalf("got %#v, %v; want a *Fault", v, err)
	}
	if f.Code != 404 || f.String != "gateway.error.no_such_operation: no" {
		t.Errorf("got fault %d %q", f.Code, f.String)
	}
}
