package query

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"cel.dev/cel-go/cel"
)

func TestCompileErrorsCarryPositions(t *testing.T) {
	schema, err := NewSchema(map[string]Type{"channel": TypeString, "priority": TypeInt, "tags": TypeList,
		"geo": TypeObject, "geo.city": TypeString, "urgent": TypeBool})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a == 1 && ", 200) + "a == 1"
	many := strings.Repeat("a == 1 && ", 16) + "a == 1"
	bigIn := "a in [" + strings.Repeat("1, ", 64) + "1]"
	tests := []struct {
		src          string
		schema       *Schema
		line, column int
		msg          string
	}{
		{`channel == `, nil, 1, 12, "mismatched input"},
		{`channel = "a"`, nil, 1, 9, "token recognition error"},
		{`priority + 1 > 3`, nil, 1, 10, "arithmetic (+) is not supported"},
		{`-priority > 3`, nil, 1, 1, "arithmetic (unary -)"},
		{`x ? a == 1 : b == 2`, nil, 1, 3, "conditional operator"},
		{`name.matches("^a")`, nil, 1, 13, "regular expressions"},
		{`tags.exists(t, t == "a")`, nil, 1, 12, "function exists is not supported"},
		{`size(name) > 3`, nil, 1, 5, "function size is not supported"},
		{`a[0] == 1`, nil, 1, 2, "indexing"},
		{`a == b`, nil, 1, 3, "comparing two fields"},
		{`1 == 1`, nil, 1, 3, "needs a field"},
		{`a == null`, nil, 1, 6, "null is not supported"},
		{`flag < true`, nil, 1, 6, "booleans can only be compared"},
		{`"a" in tags`, nil, 1, 5, "in needs"},
		{`a in b`, nil, 1, 6, "list of literals"},
		{`has(1)`, nil, 1, 5, "has() takes a field"},
		{`name.startsWith(1)`, nil, 1, 16, "no matching overload"},
		{`"abc"`, nil, 1, 1, "must be a condition"},
		{`_secret == "x"`, nil, 1, 1, "unknown metadata field _secret"},
		{"a == 1 &&\n  _secret == 2", nil, 2, 3, "unknown metadata field _secret"},
		{`chanel == "a"`, schema, 1, 1, "undeclared reference to 'chanel'"},
		{`priority == "high"`, schema, 1, 10, "no matching overload"},
		{`channel > 3`, schema, 1, 9, "no matching overload"},
		{`tags == "a"`, schema, 1, 6, "no matching overload"},
		{"a == 1 &&\n  b +", nil, 2, 6, "mismatched input"},
		{long, nil, 0, 0, "bytes long, the limit is 1024"},
		{many, nil, 1, 163, "too many predicates: the limit is 16"},
		{bigIn, nil, 1, 6, "in list has 65 values, the limit is 64"},
		{`(a == 1 || a == 2) && (b == 1 || b == 2) && (c == 1 || c == 2) && (d == 1 || d == 2) && (e == 1 || e == 2)`, nil, 1, 1, "more than 16 alternatives"},
		{strings.Repeat("!(", 20) + "a == 1" + strings.Repeat(")", 20), nil, 1, 0, "nested more than 16 levels"},
		{"", nil, 0, 0, "empty"},
		{"a == \"\xff\"", nil, 0, 0, "UTF-8"},
	}
	for _, tt := range tests {
		_, err := Compile(tt.src, tt.schema)
		var fe *Error
		if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidFilter) {
			t.Errorf("Compile(%q) = %v, want an *Error", tt.src, err)
			continue
		}
		if !strings.Contains(fe.Msg, tt.msg) {
			t.Errorf("Compile(%q): message %q does not contain %q", tt.src, fe.Msg, tt.msg)
		}
		if fe.Line != tt.line || (tt.column != 0 && fe.Column != tt.column) {
			t.Errorf("Compile(%q): position %d:%d, want %d:%d (%v)", tt.src, fe.Line, fe.Column, tt.line, tt.column, err)
		}
	}
}

func TestCompileAcceptsTheDocumentedLanguage(t *testing.T) {
	schema, err := NewSchema(map[string]Type{"channel": TypeString, "priority": TypeInt, "score": TypeFloat,
		"tags": TypeList, "geo": TypeObject, "geo.city": TypeString, "urgent": TypeBool})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		src, canon string
		schema     *Schema
	}{
		{`channel == "room-42"`, `channel == "room-42"`, schema},
		{`"room-42" == channel`, `channel == "room-42"`, schema},
		{`priority >= 3 && channel in ["b", "a", "b"]`, `channel in ["a", "b"] && priority >= 3`, schema},
		{`score > 2 && priority < 2.5`, `priority < 2.5 && score > 2`, schema},
		{`channel in ["a"]`, `channel == "a"`, schema},
		{`!(channel == "a" || channel == "b")`, `!(channel == "a") && !(channel == "b")`, schema},
		{`has(tags) && has(geo.city) && urgent`, `has(geo.city) && has(tags) && urgent == true`, schema},
		{`channel.startsWith("room-") && !channel.endsWith("-x") && geo.city.contains("burg")`,
			`channel.startsWith("room-") && !channel.endsWith("-x") && geo.city.contains("burg")`, schema},
		{`_topic == "com.example" && _class == "Order" && _publisher != "bot"`,
			`_class == "Order" && _publisher != "bot" && _topic == "com.example"`, schema},
		{`a == 1 || a == 1 && b == 2`, `a == 1`, nil},
		{`a == 1 && !(a == 1)`, `false`, nil},
		{`x in []`, `false`, nil},
		{`!(x in [])`, `true`, nil},
		{`n == 3.0 || n == 2u`, `n == 2 || n == 3`, nil},
		{`deep.a.b.c > -1.5`, `deep.a.b.c > -1.5`, nil},
	}
	for _, tt := range tests {
		f, err := Compile(tt.src, tt.schema)
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.src, err)
			continue
		}
		if f.String() != tt.canon {
			t.Errorf("Compile(%q) = %q, want %q", tt.src, f, tt.canon)
		}
		// The canonical text and the JSON form compile to the same filter.
		g, err := Compile(f.String(), tt.schema)
		if err != nil || !g.Equal(f) {
			t.Errorf("recompiling %q: %v, %v", f, g, err)
		}
		j, err := CompileJSON(f.JSON(), tt.schema)
		if err != nil || !j.Equal(f) {
			t.Errorf("CompileJSON(%s): %v, %v", f.JSON(), j, err)
		}
	}
}

func TestCompileJSON(t *testing.T) {
	f, err := CompileJSON([]byte(`{"and":[{"eq":["channel","room-42"]},{"gt":["priority",3]},{"not":{"has":"muted"}}]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := `channel == "room-42" && !has(muted) && priority > 3`; f.String() != want {
		t.Fatalf("got %q, want %q", f, want)
	}
	schema, _ := NewSchema(map[string]Type{"priority": TypeInt, "tags": TypeList})
	bad := []struct{ src, path, msg string }{
		{`{"eq":["priority"]}`, "$.eq", "takes [field, value]"},
		{`{"and":[{"eq":["priority",1]},{"gt":["priority","x"]}]}`, "$.and[1].gt[1]", "does not match the field's type"},
		{`{"eq":["nope",1]}`, "$.eq[0]", "undeclared field"},
		{`{"eq":["tags",1]}`, "$.eq[0]", "only has() applies"},
		{`{"lt":["priority",true]}`, "$.lt[1]", "booleans"},
		{`{"regex":["priority","x"]}`, "$.regex", "unknown operator"},
		{`{"in":["priority",[1,2,null]]}`, "$.in[1][2]", "null is not supported"},
		{`{"eq":["_x","a"]}`, "$.eq[0]", "unknown metadata field"},
		{`{"eq":["priority",1],"gt":["priority",0]}`, "$", "one operator key"},
	}
	for _, b := range bad {
		_, err := CompileJSON([]byte(b.src), schema)
		var fe *Error
		if !errors.As(err, &fe) || fe.Path != b.path || !strings.Contains(fe.Msg, b.msg) {
			t.Errorf("CompileJSON(%s) = %v, want path %s and %q", b.src, err, b.path, b.msg)
		}
	}
	if _, err := CompileJSON([]byte(`{"eq":["a",1]} x`), nil); err == nil {
		t.Error("trailing data accepted")
	}
}

func TestMissingFieldSemantics(t *testing.T) {
	kw := map[string]any{"present": "x", "num": int64(5), "obj": map[string]any{"k": "v"}}
	tests := map[string]bool{
		`missing == "x"`:           false,
		`missing != "x"`:           false, // a comparison on a missing field is false, even !=
		`!(missing == "x")`:        true,  // ! negates the false comparison
		`!has(missing)`:            true,
		`missing < 3 || num > 4`:   true,
		`num == "5"`:               false, // type mismatch: false
		`num != "5"`:               false,
		`!(num == "5")`:            true,
		`obj == "v"`:               false, // objects compare false
		`has(obj) && obj.k == "v"`: true,
		`obj.k.deeper == 1`:        false,
		`present.startsWith("")`:   true,
		`num.startsWith("5")`:      false,
		`num == 5.0 && num < 5.5`:  true,
		`_class == "c"`:            false, // empty metadata is missing
		`!has(_class)`:             true,
		`_topic == "t"`:            true,
	}
	for src, want := range tests {
		f, err := Compile(src, nil)
		if err != nil {
			t.Fatalf("Compile(%q): %v", src, err)
		}
		if got := f.Eval(kw, Meta{Topic: "t"}); got != want {
			t.Errorf("%s = %v, want %v", src, got, want)
		}
		idx := NewIndex()
		idx.SetScanBudget(10)
		idx.Add(f, 1)
		ev := NewEvent(kw, Meta{Topic: "t"})
		if got := idx.Match(ev, func(any) {}) == 1; got != want {
			t.Errorf("index: %s = %v, want %v", src, got, want)
		}
		ev.Release()
	}
}

// TestAgreesWithCELGo evaluates random filters with cel-go itself on events where every field is
// present with its declared type (where CEL's error semantics and ours cannot differ).
func TestAgreesWithCELGo(t *testing.T) {
	schema, err := NewSchema(map[string]Type{"s1": TypeString, "s2": TypeString, "n1": TypeInt, "n2": TypeFloat,
		"b1": TypeBool, "geo": TypeObject, "geo.city": TypeString, "geo.zip": TypeInt,
		"deep": TypeObject, "deep.a": TypeObject, "deep.a.b": TypeFloat})
	if err != nil {
		t.Fatal(err)
	}
	g := gen{rand.New(rand.NewPCG(3, 4))}
	checked := 0
	for range 400 {
		src := g.expr(1 + g.r.IntN(5))
		f, err := Compile(src, schema)
		if err != nil {
			continue // mistyped on purpose by the generator, e.g. s1 == 1
		}
		ast, iss := schema.env.Compile(src)
		if iss.Err() != nil {
			t.Fatalf("cel-go rejects %q that we accept: %v", src, iss.Err())
		}
		prg, err := schema.env.Program(ast)
		if err != nil {
			t.Fatal(err)
		}
		for range 10 {
			vars := map[string]any{
				"s1": genStrings[g.r.IntN(len(genStrings))], "s2": genStrings[g.r.IntN(len(genStrings))],
				"n1": int64(g.r.IntN(7) - 1), "n2": float64(g.r.IntN(14))/2 - 1, "b1": g.r.IntN(2) == 0,
				"geo.city": genStrings[g.r.IntN(len(genStrings))], "geo.zip": int64(g.r.IntN(5)),
				"deep.a.b": float64(g.r.IntN(5)), "geo": map[string]any{}, "deep": map[string]any{},
				"deep.a": map[string]any{},
				"_topic": "a", "_publisher": "ab", "_class": "c",
			}
			kw := map[string]any{"s1": vars["s1"], "s2": vars["s2"], "n1": vars["n1"], "n2": vars["n2"], "b1": vars["b1"],
				"geo":  map[string]any{"city": vars["geo.city"], "zip": vars["geo.zip"]},
				"deep": map[string]any{"a": map[string]any{"b": vars["deep.a.b"]}}}
			out, _, err := prg.Eval(vars)
			if err != nil {
				t.Fatalf("cel-go Eval(%q): %v", src, err)
			}
			want := out.Value().(bool)
			if got := f.Eval(kw, Meta{Topic: "a", Publisher: "ab", Class: "c"}); got != want {
				t.Fatalf("%q on %v: ours %v, cel-go %v", src, kw, got, want)
			}
			checked++
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d evaluations compared", checked)
	}
	_ = cel.BoolType
}

func TestSchemaValidation(t *testing.T) {
	for _, bad := range []map[string]Type{{"": TypeInt}, {"a..b": TypeInt}, {"_x": TypeInt}, {"in": TypeInt},
		{"a-b": TypeInt}, {"a": TypeInt, "a.b": TypeInt}, {"x": 99}} {
		if _, err := NewSchema(bad); err == nil {
			t.Errorf("NewSchema(%v) accepted", bad)
		}
	}
}
