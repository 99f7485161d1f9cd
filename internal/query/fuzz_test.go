package query

import (
	"testing"
)

var fuzzSeeds = []string{
	`channel == "room-42"`,
	`priority >= 3 && channel in ["a", "b"] || !has(geo.city)`,
	`_topic.startsWith("com.") && name.endsWith("x") && !name.contains("y")`,
	`(a == 1 || b == 2) && (c < 3.5 || d != "x")`,
	`!(x in [1, 2.5, "s", true]) && flag`,
	`a + 1 > 2`, `a[0] == 1`, `has(a`, `"\xff"`, `1 == 1`, `x.matches("a")`, `true`, `false || x == 1u`,
	`a == 9007199254740993 || a > 1e308 || a < -9223372036854775808`,
}

// FuzzCompile checks that any text either fails with an *Error or compiles to a Filter whose
// canonical text and JSON form compile back to it, and that the index agrees with evaluation.
func FuzzCompile(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	kw := map[string]any{"a": int64(1), "b": 2.5, "channel": "room-42", "name": "xyz", "flag": true,
		"geo": map[string]any{"city": "c"}, "x": "s", "priority": int64(3)}
	meta := Meta{Topic: "com.example"}
	f.Fuzz(func(t *testing.T, src string) {
		flt, err := Compile(src, nil)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Compile(%q) returned %T %v", src, err, err)
			}
			return
		}
		g, err := Compile(flt.String(), nil)
		if err != nil || !g.Equal(flt) {
			t.Fatalf("canonical %q of %q recompiles to %v, %v", flt, src, g, err)
		}
		j, err := CompileJSON(flt.JSON(), nil)
		if err != nil || !j.Equal(flt) {
			t.Fatalf("JSON %s of %q recompiles to %v, %v", flt.JSON(), src, j, err)
		}
		want := evalTree(flt.tree, kw, meta)
		if flt.Eval(kw, meta) != want {
			t.Fatalf("DNF of %q disagrees with the tree", src)
		}
		idx := NewIndex()
		h, err := idx.Add(flt, 1)
		if err != nil {
			return // scan budget
		}
		ev := NewEvent(kw, meta)
		defer ev.Release()
		if got := idx.Match(ev, func(any) {}) == 1; got != want {
			t.Fatalf("index says %v for %q, evaluation %v", got, src, want)
		}
		if !idx.Remove(h) {
			t.Fatal("Remove failed")
		}
	})
}

// FuzzCompileJSON checks the JSON form the same way.
func FuzzCompileJSON(f *testing.F) {
	for _, s := range []string{`{"and":[{"eq":["channel","room-42"]},{"gt":["priority",3]}]}`,
		`{"or":[{"in":["a",[1,2,"x"]]},{"not":{"has":"b"}}]}`, `{"startsWith":["_topic","com."]}`, `true`,
		`{"eq":["a",1e400]}`, `{"lt":["a",-0.0]}`, `[]`, `{"and":[]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		flt, err := CompileJSON(data, nil)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("CompileJSON(%q) returned %T %v", data, err, err)
			}
			return
		}
		g, err := CompileJSON(flt.JSON(), nil)
		if err != nil || !g.Equal(flt) {
			t.Fatalf("JSON %s of %q recompiles to %v, %v", flt.JSON(), data, g, err)
		}
		if len(flt.String()) <= DefaultLimits.MaxLength {
			c, err := Compile(flt.String(), nil)
			if err != nil || !c.Equal(flt) {
				t.Fatalf("CEL %q of %q recompiles to %v, %v", flt, data, c, err)
			}
		}
	})
}
