package query

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// Metadata field names. They address the event's metadata rather than its kwargs; kwargs keys that
// start with "_" cannot be addressed by a filter.
const (
	FieldTopic     = "_topic"     // the topic URI the event was published to
	FieldClass     = "_class"     // the event class name (missing when the topic has no class)
	FieldPublisher = "_publisher" // the publisher's authid (missing when not disclosed)
)

var metaFields = []string{FieldClass, FieldPublisher, FieldTopic}

// Type is the declared type of a schema field.
type Type uint8

// Schema field types. Timestamps and enums are declared as TypeString (or TypeInt for numeric
// timestamps) by the caller; lists and objects can only be tested with has().
const (
	TypeDyn    Type = iota // any value; checked at match time
	TypeString             // string
	TypeInt                // integer (compared numerically with floats)
	TypeFloat              // floating point number
	TypeBool               // boolean
	TypeList               // list: only has() applies
	TypeObject             // object (nested map): only has() applies to the object itself
)

func (t Type) cel() *cel.Type {
	switch t {
	case TypeString:
		return cel.StringType
	case TypeInt:
		return cel.IntType
	case TypeFloat:
		return cel.DoubleType
	case TypeBool:
		return cel.BoolType
	case TypeList:
		return cel.ListType(cel.DynType)
	case TypeObject:
		return cel.MapType(cel.StringType, cel.DynType)
	}
	return cel.DynType
}

// Limits bound what one filter may contain. Zero fields take the DefaultLimits value.
type Limits struct {
	MaxLength       int // bytes of filter text (CEL or JSON)
	MaxPredicates   int // comparisons, in, has and string functions, counted as written
	MaxInList       int // values in one in [...] list
	MaxAlternatives int // conjunctions after expansion to || of && (the index entries of one filter)
	MaxDepth        int // nesting of the expression (parentheses, operators) and of field paths
}

// DefaultLimits are the limits used by Compile and CompileJSON.
var DefaultLimits = Limits{MaxLength: 1024, MaxPredicates: 16, MaxInList: 64, MaxAlternatives: 16, MaxDepth: 16}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxLength > 0 {
		d.MaxLength = l.MaxLength
	}
	if l.MaxPredicates > 0 {
		d.MaxPredicates = l.MaxPredicates
	}
	if l.MaxInList > 0 {
		d.MaxInList = l.MaxInList
	}
	if l.MaxAlternatives > 0 {
		d.MaxAlternatives = l.MaxAlternatives
	}
	if l.MaxDepth > 0 {
		d.MaxDepth = l.MaxDepth
	}
	// A conjunction's predicates and a filter's conjunctions are counted in bytes by the index.
	d.MaxPredicates = min(d.MaxPredicates, 255)
	d.MaxAlternatives = min(d.MaxAlternatives, 255)
	d.MaxDepth = min(d.MaxDepth, 64)
	return d
}

// ErrInvalidFilter is wrapped by every error that Compile and CompileJSON return.
var ErrInvalidFilter = errors.New("invalid filter")

// Error is a filter compilation error. Line and Column are 1-based and point at the offending part
// of a CEL filter (0 when the error concerns the whole filter); Path locates it in a JSON filter.
type Error struct {
	Line, Column int
	Path         string // JSON form: the location, e.g. "and[1].gt"
	Msg          string
}

func (e *Error) Error() string {
	switch {
	case e.Path != "":
		return fmt.Sprintf("invalid filter at %s: %s", e.Path, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("invalid filter at %d:%d: %s", e.Line, e.Column, e.Msg)
	}
	return "invalid filter: " + e.Msg
}

// Unwrap makes errors.Is(err, ErrInvalidFilter) true.
func (e *Error) Unwrap() error { return ErrInvalidFilter }

// Schema declares the fields of an event class. Filters compiled against a schema may only name its
// fields (and the metadata fields) and are type-checked against the declared types.
type Schema struct {
	fields map[string]Type
	env    *cel.Env
}

// NewSchema builds a schema from dotted field paths (e.g. "geo.city") and their types. An object
// field's children may be declared as well ("geo" TypeObject, "geo.city" TypeString).
func NewSchema(fields map[string]Type) (*Schema, error) {
	s := &Schema{fields: make(map[string]Type, len(fields))}
	opts := []cel.EnvOption{}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		t := fields[name]
		if err := validPath(name); err != nil {
			return nil, fmt.Errorf("query: schema field %q: %w", name, err)
		}
		if t > TypeObject {
			return nil, fmt.Errorf("query: schema field %q: unknown type %d", name, t)
		}
		if i := strings.LastIndexByte(name, '.'); i > 0 {
			if pt, ok := fields[name[:i]]; ok && pt != TypeObject && pt != TypeDyn {
				return nil, fmt.Errorf("query: schema field %q: parent %q is not an object", name, name[:i])
			}
		}
		s.fields[name] = t
		opts = append(opts, cel.Variable(name, t.cel()))
	}
	env, err := baseEnv().Extend(opts...)
	if err != nil {
		return nil, fmt.Errorf("query: schema: %w", err)
	}
	s.env = env
	return s, nil
}

// validPath checks a dotted field path: CEL identifiers, not reserved words, not starting with "_".
func validPath(p string) error {
	if p == "" {
		return errors.New("empty field name")
	}
	for _, part := range strings.Split(p, ".") {
		if part == "" {
			return errors.New("empty path segment")
		}
		for i, c := range part {
			letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
			if !letter && (i == 0 || c < '0' || c > '9') {
				return fmt.Errorf("segment %q is not an identifier ([A-Za-z_][A-Za-z0-9_]*)", part)
			}
		}
		if reserved[part] {
			return fmt.Errorf("segment %q is a CEL reserved word", part)
		}
	}
	if p[0] == '_' {
		return errors.New("names starting with _ are reserved for metadata")
	}
	return nil
}

var reserved = map[string]bool{"true": true, "false": true, "null": true, "in": true, "as": true,
	"break": true, "const": true, "continue": true, "else": true, "for": true, "function": true,
	"if": true, "import": true, "let": true, "loop": true, "package": true, "namespace": true,
	"return": true, "var": true, "void": true, "while": true}

// hasFunc is the function our has() macro expands to: unlike CEL's has(), it accepts a top-level
// field (has(channel)) as well as a nested one (has(geo.city)).
const hasFunc = "@has"

func hasExpander(eh cel.MacroExprFactory, _ celast.Expr, args []celast.Expr) (celast.Expr, *common.Error) {
	if _, ok := fieldPath(args[0]); !ok {
		return nil, eh.NewError(args[0].ID(), "has() takes a field name, like has(priority) or has(geo.city)")
	}
	return eh.NewCall(hasFunc, args[0]), nil
}

var baseEnvValue = func() *cel.Env {
	opts := []cel.EnvOption{
		cel.ClearMacros(),
		cel.Macros(cel.GlobalMacro("has", 1, hasExpander)),
		cel.CrossTypeNumericComparisons(true),
		cel.Function(hasFunc, cel.Overload("query_has", []*cel.Type{cel.TypeParamType("T")}, cel.BoolType,
			cel.UnaryBinding(func(ref.Val) ref.Val { return types.True }))),
	}
	for _, m := range metaFields {
		opts = append(opts, cel.Variable(m, cel.StringType))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		panic(err)
	}
	return env
}()

func baseEnv() *cel.Env { return baseEnvValue }

// Compile parses and type-checks a CEL filter and compiles it for an Index, with DefaultLimits. A
// nil schema makes every field dynamic.
func Compile(expr string, schema *Schema) (*Filter, error) {
	return DefaultLimits.Compile(expr, schema)
}

// Compile is Compile with these limits.
func (l Limits) Compile(expr string, schema *Schema) (*Filter, error) {
	l = l.withDefaults()
	if len(expr) > l.MaxLength {
		return nil, &Error{Msg: fmt.Sprintf("filter is %d bytes long, the limit is %d", len(expr), l.MaxLength)}
	}
	if !utf8.ValidString(expr) {
		return nil, &Error{Msg: "filter is not valid UTF-8"}
	}
	if strings.TrimSpace(expr) == "" {
		return nil, &Error{Msg: "filter is empty"}
	}
	env := baseEnv()
	if schema != nil {
		env = schema.env
	}
	// The parser's recursion limit guards the stack; count depth in our own walk too.
	parsed, iss := env.Parse(expr)
	if iss.Err() != nil {
		return nil, issueError(iss)
	}
	if err := (&lowerer{info: parsed.NativeRep().SourceInfo()}).calls(parsed.NativeRep().Expr(), 0); err != nil {
		return nil, err
	}
	if schema == nil {
		// Declare every top-level name the filter uses as a dynamic variable.
		var roots []string
		collectRoots(parsed.NativeRep().Expr(), &roots, 0)
		slices.Sort(roots)
		roots = slices.Compact(roots)
		var opts []cel.EnvOption
		for _, r := range roots {
			if strings.HasPrefix(r, "_") && !slices.Contains(metaFields, r) {
				off := max(strings.Index(expr, r), 0)
				line := 1 + strings.Count(expr[:off], "\n")
				col := 1 + utf8.RuneCountInString(expr[strings.LastIndexByte(expr[:off], '\n')+1:off])
				return nil, &Error{Line: line, Column: col, Msg: fmt.Sprintf("unknown metadata field %s (metadata fields are %s)", r, strings.Join(metaFields, ", "))}
			}
			if !strings.HasPrefix(r, "_") && !reserved[r] {
				opts = append(opts, cel.Variable(r, cel.DynType))
			}
		}
		if len(opts) > 0 {
			var err error
			if env, err = env.Extend(opts...); err != nil {
				return nil, &Error{Msg: err.Error()}
			}
		}
	}
	checked, iss := env.Check(parsed)
	if iss.Err() != nil {
		return nil, issueError(iss)
	}
	if t := checked.OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		return nil, &Error{Line: 1, Column: 1, Msg: fmt.Sprintf("a filter must be a condition (bool), this one is of type %s", t)}
	}
	lw := &lowerer{info: checked.NativeRep().SourceInfo(), limits: l}
	tree, err := lw.lower(checked.NativeRep().Expr(), 0)
	if err != nil {
		return nil, err
	}
	f, err := newFilter(expr, tree, l)
	if err != nil {
		return nil, &Error{Line: 1, Column: 1, Msg: err.Error()}
	}
	return f, nil
}

func collectRoots(e celast.Expr, out *[]string, depth int) {
	if depth > 200 {
		return
	}
	switch e.Kind() {
	case celast.IdentKind:
		*out = append(*out, e.AsIdent())
	case celast.SelectKind:
		collectRoots(e.AsSelect().Operand(), out, depth+1)
	case celast.CallKind:
		c := e.AsCall()
		if c.IsMemberFunction() {
			collectRoots(c.Target(), out, depth+1)
		}
		for _, a := range c.Args() {
			collectRoots(a, out, depth+1)
		}
	case celast.ListKind:
		for _, a := range e.AsList().Elements() {
			collectRoots(a, out, depth+1)
		}
	case celast.MapKind:
		for _, en := range e.AsMap().Entries() {
			m := en.AsMapEntry()
			collectRoots(m.Key(), out, depth+1)
			collectRoots(m.Value(), out, depth+1)
		}
	}
}

func issueError(iss *cel.Issues) error {
	errs := iss.Errors()
	if len(errs) == 0 {
		return &Error{Msg: iss.String()}
	}
	e := errs[0]
	out := &Error{Msg: e.Message}
	if loc := e.Location; loc != nil && loc.Line() > 0 {
		out.Line, out.Column = loc.Line(), loc.Column()+1
	}
	out.Msg = strings.TrimPrefix(out.Msg, "Syntax error: ")
	return out
}

// fieldPath returns the dotted path of an identifier or a chain of field selections.
func fieldPath(e celast.Expr) (string, bool) {
	switch e.Kind() {
	case celast.IdentKind:
		return e.AsIdent(), true
	case celast.SelectKind:
		s := e.AsSelect()
		if s.IsTestOnly() {
			return "", false
		}
		p, ok := fieldPath(s.Operand())
		if !ok {
			return "", false
		}
		return p + "." + s.FieldName(), true
	}
	return "", false
}

type lowerer struct {
	info   *celast.SourceInfo
	limits Limits
	preds  int
}

func (lw *lowerer) errAt(e celast.Expr, format string, args ...any) error {
	out := &Error{Msg: fmt.Sprintf(format, args...)}
	if loc := lw.info.GetStartLocation(e.ID()); loc != nil && loc.Line() > 0 {
		out.Line, out.Column = loc.Line(), loc.Column()+1
	}
	return out
}

var unsupported = map[string]string{
	"_+_": "arithmetic (+) is not supported", "_-_": "arithmetic (-) is not supported",
	"_*_": "arithmetic (*) is not supported", "_/_": "arithmetic (/) is not supported",
	"_%_": "arithmetic (%) is not supported", "-_": "arithmetic (unary -) is only allowed on number literals",
	"_?_:_":   "the conditional operator ?: is not supported",
	"_[_]":    "indexing ([...]) is not supported; use dots for nested fields",
	"matches": "regular expressions (matches) are not supported",
}

var cmpOps = map[string]op{"_==_": opEq, "_!=_": opNe, "_<_": opLt, "_<=_": opLe, "_>_": opGt, "_>=_": opGe}

// flipped gives the operator with its operands swapped: 3 < x is x > 3.
var flipped = map[op]op{opEq: opEq, opNe: opNe, opLt: opGt, opLe: opGe, opGt: opLt, opGe: opLe}

func (lw *lowerer) lower(e celast.Expr, depth int) (*node, error) {
	if depth > lw.limits.MaxDepth {
		return nil, lw.errAt(e, "filter is nested more than %d levels deep", lw.limits.MaxDepth)
	}
	switch e.Kind() {
	case celast.LiteralKind:
		if b, ok := e.AsLiteral().(types.Bool); ok {
			return &node{kind: nConst, value: bool(b)}, nil
		}
		return nil, lw.errAt(e, "a filter must be a condition, got the literal %v", e.AsLiteral())
	case celast.IdentKind, celast.SelectKind:
		// A boolean field on its own: flag is flag == true.
		a, err := lw.field(e)
		if err != nil {
			return nil, err
		}
		a.op, a.val = opEq, boolValue(true)
		return lw.atom(e, a)
	case celast.ListKind:
		return nil, lw.errAt(e, "a list is only allowed on the right of in")
	case celast.MapKind, celast.StructKind:
		return nil, lw.errAt(e, "map and message literals are not supported")
	case celast.ComprehensionKind:
		return nil, lw.errAt(e, "macros are not supported")
	case celast.CallKind:
	default:
		return nil, lw.errAt(e, "unsupported expression")
	}
	c := e.AsCall()
	fn := c.FunctionName()
	args := c.Args()
	switch fn {
	case "_&&_", "_||_":
		n := &node{kind: nAnd}
		if fn == "_||_" {
			n.kind = nOr
		}
		for _, a := range args {
			k, err := lw.lower(a, depth+1)
			if err != nil {
				return nil, err
			}
			if k.kind == n.kind {
				n.kids = append(n.kids, k.kids...)
			} else {
				n.kids = append(n.kids, k)
			}
		}
		return n, nil
	case "!_":
		k, err := lw.lower(args[0], depth+1)
		if err != nil {
			return nil, err
		}
		return &node{kind: nNot, kids: []*node{k}}, nil
	case hasFunc:
		a, err := lw.field(args[0])
		if err != nil {
			return nil, err
		}
		a.op = opHas
		return lw.atom(e, a)
	case "@in":
		return lw.in(e, args[0], args[1])
	case "startsWith", "endsWith", "contains":
		if !c.IsMemberFunction() {
			return nil, lw.errAt(e, "%s must be called on a field: field.%s(\"...\")", fn, fn)
		}
		a, err := lw.field(c.Target())
		if err != nil {
			return nil, err
		}
		v, err := lw.literal(args[0])
		if err != nil {
			return nil, err
		}
		if v.k != kString {
			return nil, lw.errAt(args[0], "%s takes a string literal", fn)
		}
		a.op = map[string]op{"startsWith": opPrefix, "endsWith": opSuffix, "contains": opContains}[fn]
		a.val = v
		return lw.atom(e, a)
	}
	if o, ok := cmpOps[fn]; ok {
		return lw.comparison(e, o, args[0], args[1])
	}
	if msg, ok := unsupported[fn]; ok {
		return nil, lw.errAt(e, "%s", msg)
	}
	return nil, lw.errAt(e, "function %s is not supported (allowed: comparisons, in, &&, ||, !, has, startsWith, endsWith, contains)", strings.Trim(fn, "_@"))
}

func (lw *lowerer) atom(e celast.Expr, a atom) (*node, error) {
	lw.preds++
	if lw.preds > lw.limits.MaxPredicates {
		return nil, lw.errAt(e, "too many predicates: the limit is %d", lw.limits.MaxPredicates)
	}
	return &node{kind: nAtom, atom: a}, nil
}

func (lw *lowerer) field(e celast.Expr) (atom, error) {
	p, ok := fieldPath(e)
	if !ok {
		return atom{}, lw.errAt(e, "expected a field name")
	}
	if strings.Count(p, ".") >= lw.limits.MaxDepth {
		return atom{}, lw.errAt(e, "field path %q is nested more than %d levels deep", p, lw.limits.MaxDepth)
	}
	if strings.HasPrefix(p, "_") && !slices.Contains(metaFields, p) {
		return atom{}, lw.errAt(e, "unknown metadata field %s (metadata fields are %s)", p, strings.Join(metaFields, ", "))
	}
	return atom{path: p}, nil
}

func (lw *lowerer) literal(e celast.Expr) (value, error) {
	if e.Kind() != celast.LiteralKind {
		return value{}, lw.errAt(e, "expected a literal value")
	}
	switch t := e.AsLiteral().(type) {
	case types.String:
		return stringValue(string(t)), nil
	case types.Int:
		return intValue(int64(t)), nil
	case types.Uint:
		if uint64(t) > math.MaxInt64 {
			return normNum(floatValue(float64(t))), nil
		}
		return intValue(int64(t)), nil
	case types.Double:
		return normNum(floatValue(float64(t))), nil
	case types.Bool:
		return boolValue(bool(t)), nil
	case types.Null:
		return value{}, lw.errAt(e, "null is not supported; use !has(field) to test that a field is absent")
	}
	return value{}, lw.errAt(e, "unsupported literal %v", e.AsLiteral())
}

// normNum turns an integral float literal into an int, so that x == 3.0 and x == 3 are one filter.
func normNum(v value) value {
	if v.k == kFloat {
		f := v.float()
		if f == math.Trunc(f) && f >= -9223372036854775808.0 && f < 9223372036854775808.0 {
			return intValue(int64(f))
		}
	}
	return v
}

func (lw *lowerer) comparison(e celast.Expr, o op, l, r celast.Expr) (*node, error) {
	_, lf := fieldPath(l)
	_, rf := fieldPath(r)
	for _, side := range []celast.Expr{l, r} {
		if side.Kind() == celast.CallKind {
			if msg, ok := unsupported[side.AsCall().FunctionName()]; ok {
				return nil, lw.errAt(side, "%s", msg)
			}
			return nil, lw.errAt(side, "a comparison takes a field and a literal")
		}
	}
	switch {
	case lf && rf:
		return nil, lw.errAt(e, "comparing two fields is not supported; compare a field with a literal")
	case !lf && !rf:
		return nil, lw.errAt(e, "a comparison needs a field on one side")
	case !lf:
		l, r = r, l
		o = flipped[o]
	}
	a, err := lw.field(l)
	if err != nil {
		return nil, err
	}
	v, err := lw.literal(r)
	if err != nil {
		return nil, err
	}
	if v.k == kBool && o != opEq && o != opNe {
		return nil, lw.errAt(e, "booleans can only be compared with == and !=")
	}
	a.op, a.val = o, v
	return lw.atom(e, a)
}

func (lw *lowerer) in(e, l, r celast.Expr) (*node, error) {
	a, err := lw.field(l)
	if err != nil {
		return nil, lw.errAt(e, "in needs a field on the left and a list of literals on the right")
	}
	if r.Kind() != celast.ListKind {
		return nil, lw.errAt(r, "in needs a list of literals on the right, like [\"a\", \"b\"]")
	}
	elems := r.AsList().Elements()
	if len(elems) > lw.limits.MaxInList {
		return nil, lw.errAt(r, "in list has %d values, the limit is %d", len(elems), lw.limits.MaxInList)
	}
	set := make([]value, 0, len(elems))
	for _, el := range elems {
		v, err := lw.literal(el)
		if err != nil {
			return nil, err
		}
		set = append(set, v)
	}
	a.op, a.set = opIn, canonSet(set)
	return lw.atom(e, inAtom(a))
}

// canonSet sorts and deduplicates in-list values.
func canonSet(set []value) []value {
	slices.SortFunc(set, order)
	return slices.CompactFunc(set, func(a, b value) bool { return order(a, b) == 0 })
}

// inAtom simplifies x in [v] to x == v and x in [] to a predicate that is always false.
func inAtom(a atom) atom {
	if len(a.set) == 1 {
		return atom{path: a.path, op: opEq, val: a.set[0]}
	}
	return a
}

var allowedCalls = map[string]bool{"_&&_": true, "_||_": true, "!_": true, "_==_": true, "_!=_": true,
	"_<_": true, "_<=_": true, "_>_": true, "_>=_": true, "@in": true, hasFunc: true,
	"startsWith": true, "endsWith": true, "contains": true}

// calls rejects unsupported functions before type-checking, with a clearer message than the
// checker's "undeclared reference".
func (lw *lowerer) calls(e celast.Expr, depth int) error {
	if depth > 100 {
		return nil
	}
	switch e.Kind() {
	case celast.CallKind:
		c := e.AsCall()
		fn := c.FunctionName()
		if !allowedCalls[fn] {
			if msg, ok := unsupported[fn]; ok {
				return lw.errAt(e, "%s", msg)
			}
			return lw.errAt(e, "function %s is not supported (allowed: comparisons, in, &&, ||, !, has, startsWith, endsWith, contains)", strings.Trim(fn, "_@"))
		}
		if c.IsMemberFunction() {
			if err := lw.calls(c.Target(), depth+1); err != nil {
				return err
			}
		}
		for _, a := range c.Args() {
			if err := lw.calls(a, depth+1); err != nil {
				return err
			}
		}
	case celast.ListKind:
		for _, a := range e.AsList().Elements() {
			if err := lw.calls(a, depth+1); err != nil {
				return err
			}
		}
	case celast.SelectKind:
		return lw.calls(e.AsSelect().Operand(), depth+1)
	}
	return nil
}
