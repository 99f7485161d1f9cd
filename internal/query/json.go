package query

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The JSON form of a filter is a tree of one-key objects:
//
//	{"and": [f, ...]}  {"or": [f, ...]}  {"not": f}  true  false
//	{"eq": [field, value]} (also "ne", "lt", "le", "gt", "ge")
//	{"in": [field, [value, ...]]}  {"has": field}
//	{"startsWith": [field, "s"]} (also "endsWith", "contains")
//
// where field is a dotted path string ("geo.city", "_topic") and value a string, number or bool.

var jsonCmp = map[string]op{"eq": opEq, "ne": opNe, "lt": opLt, "le": opLe, "gt": opGt, "ge": opGe,
	"startsWith": opPrefix, "endsWith": opSuffix, "contains": opContains}

// CompileJSON compiles the JSON form of a filter with DefaultLimits, checked against schema when it
// is not nil. It yields the same Filter as the equivalent CEL text.
func CompileJSON(data []byte, schema *Schema) (*Filter, error) {
	return DefaultLimits.CompileJSON(data, schema)
}

// CompileJSON is CompileJSON with these limits.
func (l Limits) CompileJSON(data []byte, schema *Schema) (*Filter, error) {
	l = l.withDefaults()
	if len(data) > l.MaxLength {
		return nil, &Error{Msg: fmt.Sprintf("filter is %d bytes long, the limit is %d", len(data), l.MaxLength)}
	}
	if !utf8.Valid(data) {
		return nil, &Error{Msg: "filter is not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &Error{Msg: "not valid JSON: " + err.Error()}
	}
	if dec.More() {
		return nil, &Error{Msg: "not valid JSON: data after the filter"}
	}
	jc := &jsonCompiler{limits: l, schema: schema}
	tree, err := jc.node(v, "$", 0)
	if err != nil {
		return nil, err
	}
	f, err := newFilter(string(data), tree, l)
	if err != nil {
		return nil, &Error{Path: "$", Msg: err.Error()}
	}
	return f, nil
}

type jsonCompiler struct {
	limits Limits
	schema *Schema
	preds  int
}

func jerr(path, format string, args ...any) error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
}

func (jc *jsonCompiler) node(v any, path string, depth int) (*node, error) {
	if depth > jc.limits.MaxDepth {
		return nil, jerr(path, "filter is nested more than %d levels deep", jc.limits.MaxDepth)
	}
	if b, ok := v.(bool); ok {
		return &node{kind: nConst, value: b}, nil
	}
	obj, ok := v.(map[string]any)
	if !ok || len(obj) != 1 {
		return nil, jerr(path, `expected an object with one operator key, like {"eq": ["field", "value"]}, or true/false`)
	}
	var name string
	var arg any
	for name, arg = range obj {
	}
	path += "." + name
	switch name {
	case "and", "or":
		list, ok := arg.([]any)
		if !ok || len(list) == 0 {
			return nil, jerr(path, "%s takes a non-empty list of filters", name)
		}
		n := &node{kind: nAnd}
		if name == "or" {
			n.kind = nOr
		}
		for i, x := range list {
			k, err := jc.node(x, fmt.Sprintf("%s[%d]", path, i), depth+1)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, k)
		}
		return n, nil
	case "not":
		k, err := jc.node(arg, path, depth+1)
		if err != nil {
			return nil, err
		}
		return &node{kind: nNot, kids: []*node{k}}, nil
	case "has":
		f, ok := arg.(string)
		if !ok {
			return nil, jerr(path, "has takes a field name")
		}
		if _, err := jc.field(f, path, opHas); err != nil {
			return nil, err
		}
		return jc.atom(path, atom{path: f, op: opHas})
	case "in":
		list, ok := arg.([]any)
		if !ok || len(list) != 2 {
			return nil, jerr(path, `in takes [field, [values...]]`)
		}
		f, ok := list[0].(string)
		if !ok {
			return nil, jerr(path+"[0]", "expected a field name")
		}
		t, err := jc.field(f, path+"[0]", opIn)
		if err != nil {
			return nil, err
		}
		vals, ok := list[1].([]any)
		if !ok {
			return nil, jerr(path+"[1]", "expected a list of values")
		}
		if len(vals) > jc.limits.MaxInList {
			return nil, jerr(path+"[1]", "in list has %d values, the limit is %d", len(vals), jc.limits.MaxInList)
		}
		set := make([]value, 0, len(vals))
		for i, x := range vals {
			val, err := jc.value(x, t, opEq, fmt.Sprintf("%s[1][%d]", path, i))
			if err != nil {
				return nil, err
			}
			set = append(set, val)
		}
		return jc.atom(path, inAtom(atom{path: f, op: opIn, set: canonSet(set)}))
	}
	o, ok := jsonCmp[name]
	if !ok {
		return nil, jerr(path, "unknown operator %q (allowed: and, or, not, eq, ne, lt, le, gt, ge, in, has, startsWith, endsWith, contains)", name)
	}
	list, ok := arg.([]any)
	if !ok || len(list) != 2 {
		return nil, jerr(path, "%s takes [field, value]", name)
	}
	f, ok := list[0].(string)
	if !ok {
		return nil, jerr(path+"[0]", "expected a field name")
	}
	t, err := jc.field(f, path+"[0]", o)
	if err != nil {
		return nil, err
	}
	val, err := jc.value(list[1], t, o, path+"[1]")
	if err != nil {
		return nil, err
	}
	return jc.atom(path, atom{path: f, op: o, val: val})
}

func (jc *jsonCompiler) atom(path string, a atom) (*node, error) {
	jc.preds++
	if jc.preds > jc.limits.MaxPredicates {
		return nil, jerr(path, "too many predicates: the limit is %d", jc.limits.MaxPredicates)
	}
	return &node{kind: nAtom, atom: a}, nil
}

// field validates a field name and returns its declared type (TypeDyn without a schema).
func (jc *jsonCompiler) field(f, path string, o op) (Type, error) {
	if slices.Contains(metaFields, f) {
		if o == opHas {
			return TypeString, nil
		}
		return TypeString, nil
	}
	if err := validPath(f); err != nil {
		if strings.HasPrefix(f, "_") {
			return 0, jerr(path, "unknown metadata field %s (metadata fields are %s)", f, strings.Join(metaFields, ", "))
		}
		return 0, jerr(path, "field %q: %v", f, err)
	}
	if strings.Count(f, ".") >= jc.limits.MaxDepth {
		return 0, jerr(path, "field path %q is nested more than %d levels deep", f, jc.limits.MaxDepth)
	}
	if jc.schema == nil {
		return TypeDyn, nil
	}
	t, ok := jc.schema.fields[f]
	if !ok {
		return 0, jerr(path, "undeclared field %q", f)
	}
	if o != opHas && (t == TypeList || t == TypeObject) {
		return 0, jerr(path, "field %q is a list or object: only has() applies", f)
	}
	return t, nil
}

// value converts a JSON literal, checking it against the field's type and the operator.
func (jc *jsonCompiler) value(x any, t Type, o op, path string) (value, error) {
	var v value
	switch y := x.(type) {
	case string:
		v = stringValue(y)
	case bool:
		v = boolValue(y)
	case json.Number:
		if i, err := strconv.ParseInt(string(y), 10, 64); err == nil {
			v = intValue(i)
		} else if f, err := strconv.ParseFloat(string(y), 64); err == nil && !math.IsInf(f, 0) {
			v = normNum(floatValue(f))
		} else {
			return value{}, jerr(path, "number %s is out of range", y)
		}
	case nil:
		return value{}, jerr(path, "null is not supported; use {\"not\": {\"has\": field}} to test that a field is absent")
	default:
		return value{}, jerr(path, "expected a string, number or bool")
	}
	switch {
	case o == opPrefix || o == opSuffix || o == opContains:
		if v.k != kString {
			return value{}, jerr(path, "%s takes a string", opNames[o])
		}
		if t != TypeDyn && t != TypeString {
			return value{}, jerr(path, "%s applies to string fields", opNames[o])
		}
	case v.k == kBool && o != opEq && o != opNe:
		return value{}, jerr(path, "booleans can only be compared with eq and ne")
	}
	ok := true
	switch t {
	case TypeString:
		ok = v.k == kString
	case TypeInt, TypeFloat:
		ok = v.isNum()
	case TypeBool:
		ok = v.k == kBool
	}
	if !ok {
		return value{}, jerr(path, "%s does not match the field's type", v.literal())
	}
	return v, nil
}

// JSON returns the canonical filter in the JSON form.
func (f *Filter) JSON() []byte {
	var alts []any
	for _, c := range f.conjs {
		var and []any
		for _, l := range c {
			and = append(and, litJSON(l))
		}
		switch len(and) {
		case 0:
			alts = append(alts, true)
		case 1:
			alts = append(alts, and[0])
		default:
			alts = append(alts, map[string]any{"and": and})
		}
	}
	var out any
	switch len(alts) {
	case 0:
		out = false
	case 1:
		out = alts[0]
	default:
		out = map[string]any{"or": alts}
	}
	b, _ := json.Marshal(out)
	return b
}

func litJSON(l lit) any {
	var a any
	switch l.op {
	case opHas:
		a = map[string]any{"has": l.path}
	case opIn:
		vals := make([]any, len(l.set))
		for i, v := range l.set {
			vals[i] = jsonValue(v)
		}
		a = map[string]any{"in": []any{l.path, vals}}
	default:
		name := ""
		for k, o := range jsonCmp {
			if o == l.op {
				name = k
			}
		}
		a = map[string]any{name: []any{l.path, jsonValue(l.val)}}
	}
	if l.neg {
		return map[string]any{"not": a}
	}
	return a
}

func jsonValue(v value) any {
	if v.k == kFloat {
		return json.Number(strconv.FormatFloat(v.float(), 'g', -1, 64))
	}
	return v.goValue()
}
