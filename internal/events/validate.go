package events

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/typo"
	"github.com/gateway-dev/gateway/wamp"
)

// Timestamps are integer Unix seconds from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, the
// range of RFC 3339.
const (
	MinTimestamp = -62135596800
	MaxTimestamp = 253402300799
)

// ValidationError says why a publication does not match its class. The router answers it with
// wamp.error.invalid_argument and Error() as the message, for example
//
//	field "priority": expected int, got string "high"
//	missing required field "author.name"
//	unknown field "colour" (did you mean "color"?)
//	field "tags[2]": expected string, got int 7
type ValidationError struct {
	// Class is the name of the event class.
	Class string
	// Path locates the failing field: "room", "author.name", "tags[2]", "items[0].sku"; "" when
	// the problem is not a field's (positional arguments).
	Path string
	// Msg says what is wrong with the field.
	Msg string

	kind errKind
}

type errKind uint8

const (
	errInvalid errKind = iota // Msg describes the value
	errMissing                // a required field is missing
	errUnknown                // a field the class does not declare; Msg may hold a hint
	errArgs                   // positional arguments; Msg is the whole message
)

// Error formats the problem.
func (e *ValidationError) Error() string {
	switch e.kind {
	case errMissing:
		return fmt.Sprintf("missing required field %q", e.Path)
	case errUnknown:
		return fmt.Sprintf("unknown field %q%s", e.Path, e.Msg)
	case errArgs:
		return e.Msg
	}
	return fmt.Sprintf("field %q: %s", e.Path, e.Msg)
}

// ErrInvalidEvent is wrapped by every error Validate returns: errors.Is(err, ErrInvalidEvent).
var ErrInvalidEvent = errors.New("invalid event")

// Unwrap makes errors.Is(err, ErrInvalidEvent) true.
func (e *ValidationError) Unwrap() error { return ErrInvalidEvent }

// in prefixes the error's path with an object field's name.
func (e *ValidationError) in(name string) *ValidationError {
	switch {
	case e.Path == "":
		e.Path = name
	case e.Path[0] == '[':
		e.Path = name + e.Path
	default:
		e.Path = name + "." + e.Path
	}
	return e
}

// at prefixes the error's path with a list index.
func (e *ValidationError) at(i int) *ValidationError {
	idx := "[" + strconv.Itoa(i) + "]"
	switch {
	case e.Path == "" || e.Path[0] == '[':
		e.Path = idx + e.Path
	default:
		e.Path = idx + "." + e.Path
	}
	return e
}

// Validate checks a publication to the class's topic: the event's fields are its keyword
// arguments, which must match the class's fields; positional arguments are not allowed. Every
// required field must be present; a present field must have its declared type (null is not a
// value of any type: leave optional fields out instead); a strict class refuses undeclared
// fields, at every level of nesting. The error, a *ValidationError, names the first failing
// field in declaration order (undeclared fields last). Validate does not allocate when the
// publication is valid.
//
// Values are those the WAMP codecs decode (int64, uint64 above math.MaxInt64, float64, string,
// bool, nil, []any, map[string]any, []byte) and the other Go integer and float types. An int or
// timestamp must be an integer (a float such as 3.0 is refused); a float accepts integers too,
// but not NaN or infinities (JSON cannot carry them); binary values match no type.
func (c *Class) Validate(args wamp.List, kwargs wamp.Dict) error {
	if len(args) != 0 {
		return &ValidationError{Class: c.name, kind: errArgs, Msg: fmt.Sprintf(
			"event class %q takes its fields as keyword arguments, not positional ones (got %d)", c.name, len(args))}
	}
	if e := c.root.check(kwargs); e != nil {
		e.Class = c.name
		return e
	}
	return nil
}

// kind is the compiled type of a field.
type kind uint8

const (
	kString kind = iota + 1
	kInt
	kFloat
	kBool
	kTimestamp
	kEnum
	kList
	kObject
)

// maxEnumScan is the number of enum values above which a map is used instead of a scan.
const maxEnumScan = 8

// spec is a compiled field type.
type spec struct {
	kind   kind
	values []string            // enum, in declaration order
	set    map[string]struct{} // enum with more than maxEnumScan values
	items  *spec               // list
	obj    *object             // object
}

// fieldSpec is a compiled field of an object.
type fieldSpec struct {
	name     string
	required bool
	spec
}

// object is a compiled set of fields (a class's, or an object field's).
type object struct {
	fields []fieldSpec
	strict bool
}

var kinds = map[string]kind{
	config.TypeString: kString, config.TypeInt: kInt, config.TypeFloat: kFloat, config.TypeBool: kBool,
	config.TypeTimestamp: kTimestamp, config.TypeEnum: kEnum, config.TypeList: kList, config.TypeObject: kObject,
}

func compileObject(fs config.EventFields, strict bool, depth int) (*object, error) {
	o := &object{fields: make([]fieldSpec, len(fs)), strict: strict}
	for i := range fs {
		f := &fs[i]
		if f.Name == "" || slices.ContainsFunc(fs[:i], func(g config.EventField) bool { return g.Name == f.Name }) {
			return nil, fmt.Errorf("field %q: empty or duplicate name", f.Name)
		}
		s, err := compileSpec(f, strict, depth)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", f.Name, err)
		}
		o.fields[i] = fieldSpec{name: f.Name, required: f.Required, spec: *s}
	}
	return o, nil
}

func compileSpec(f *config.EventField, strict bool, depth int) (*spec, error) {
	if depth > config.MaxFieldDepth {
		return nil, fmt.Errorf("nested more than %d levels deep", config.MaxFieldDepth)
	}
	k, ok := kinds[f.Type]
	if !ok {
		return nil, fmt.Errorf("unknown type %q", f.Type)
	}
	s := &spec{kind: k}
	switch k {
	case kEnum:
		if len(f.Values) == 0 {
			return nil, errors.New("an enum without values")
		}
		s.values = slices.Clone(f.Values)
		if len(f.Values) > maxEnumScan {
			s.set = make(map[string]struct{}, len(f.Values))
			for _, v := range f.Values {
				s.set[v] = struct{}{}
			}
		}
	case kList:
		if f.Items == nil {
			return nil, errors.New("a list without items")
		}
		items, err := compileSpec(f.Items, strict, depth+1)
		if err != nil {
			return nil, fmt.Errorf("items: %w", err)
		}
		s.items = items
	case kObject:
		if len(f.Fields) == 0 {
			return nil, errors.New("an object without fields")
		}
		obj, err := compileObject(f.Fields, strict, depth+1)
		if err != nil {
			return nil, err
		}
		s.obj = obj
	}
	return s, nil
}

// check validates the fields of an event or object m.
func (o *object) check(m map[string]any) *ValidationError {
	present := 0
	for i := range o.fields {
		f := &o.fields[i]
		v, ok := m[f.name]
		if !ok {
			if f.required {
				return &ValidationError{Path: f.name, kind: errMissing}
			}
			continue
		}
		present++
		if v == nil {
			msg := "expected " + f.typeName() + ", got null"
			if !f.required {
				msg += " (leave an optional field out instead of sending null)"
			}
			return &ValidationError{Path: f.name, Msg: msg}
		}
		if e := f.check(v); e != nil {
			return e.in(f.name)
		}
	}
	if o.strict && present != len(m) {
		return o.unknown(m)
	}
	return nil
}

// unknown reports the undeclared field of m that sorts first (so the message does not depend on
// map order), with a hint when it looks like a typo of a declared field.
func (o *object) unknown(m map[string]any) *ValidationError {
	first, found := "", false
	for k := range m {
		if o.declared(k) {
			continue
		}
		if !found || k < first {
			first, found = k, true
		}
	}
	e := &ValidationError{Path: truncate(first, 64), kind: errUnknown}
	if best := o.similar(first); best != "" {
		e.Msg = fmt.Sprintf(" (did you mean %q?)", best)
	}
	return e
}

func (o *object) declared(name string) bool {
	for i := range o.fields {
		if o.fields[i].name == name {
			return true
		}
	}
	return false
}

// similar returns the declared field name closest to name, if it is close enough to be a typo.
func (o *object) similar(name string) string {
	names := make([]string, len(o.fields))
	for i := range o.fields {
		names[i] = o.fields[i].name
	}
	return typo.Closest(name, names)
}

// check validates a value that is not nil at the top of an object (nil list elements are
// checked here).
func (s *spec) check(v any) *ValidationError {
	switch s.kind {
	case kString:
		if _, ok := v.(string); ok {
			return nil
		}
	case kInt:
		switch x := v.(type) {
		case int64, int, int32, int16, int8, uint32, uint16, uint8:
			return nil
		case uint64:
			if x <= math.MaxInt64 {
				return nil
			}
			return &ValidationError{Msg: fmt.Sprintf("integer %d is out of range for int (at most %d)", x, int64(math.MaxInt64))}
		case uint:
			if uint64(x) <= math.MaxInt64 {
				return nil
			}
			return &ValidationError{Msg: fmt.Sprintf("integer %d is out of range for int (at most %d)", x, int64(math.MaxInt64))}
		}
	case kFloat:
		switch x := v.(type) {
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return &ValidationError{Msg: fmt.Sprintf("float %v is not allowed (JSON cannot carry it)", x)}
			}
			return nil
		case float32:
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return &ValidationError{Msg: fmt.Sprintf("float %v is not allowed (JSON cannot carry it)", x)}
			}
			return nil
		case int64, uint64, int, int32, int16, int8, uint, uint32, uint16, uint8:
			return nil
		}
	case kBool:
		if _, ok := v.(bool); ok {
			return nil
		}
	case kTimestamp:
		var t int64
		switch x := v.(type) {
		case int64:
			t = x
		case int:
			t = int64(x)
		case int32, int16, int8, uint32, uint16, uint8:
			return nil // always in range
		case uint64:
			if x > MaxTimestamp {
				return timestampRange(fmt.Sprint(x))
			}
			return nil
		case uint:
			if uint64(x) > MaxTimestamp {
				return timestampRange(fmt.Sprint(x))
			}
			return nil
		default:
			return &ValidationError{Msg: "expected timestamp (integer Unix seconds), got " + describe(v)}
		}
		if t < MinTimestamp || t > MaxTimestamp {
			return timestampRange(strconv.FormatInt(t, 10))
		}
		return nil
	case kEnum:
		x, ok := v.(string)
		if !ok {
			break
		}
		if s.set != nil {
			if _, ok := s.set[x]; ok {
				return nil
			}
		} else if slices.Contains(s.values, x) {
			return nil
		}
		return &ValidationError{Msg: fmt.Sprintf("%s is not one of %s", describe(v), enumValues(s.values))}
	case kList:
		l, ok := v.([]any)
		if !ok {
			break
		}
		for i, x := range l {
			if x == nil {
				return (&ValidationError{Msg: "expected " + s.items.typeName() + ", got null"}).at(i)
			}
			if e := s.items.check(x); e != nil {
				return e.at(i)
			}
		}
		return nil
	case kObject:
		if m, ok := v.(map[string]any); ok {
			return s.obj.check(m)
		}
	}
	return &ValidationError{Msg: "expected " + s.typeName() + ", got " + describe(v)}
}

func timestampRange(v string) *ValidationError {
	msg := fmt.Sprintf("timestamp %s is out of range: Unix seconds between %d and %d (years 1 to 9999)", v, MinTimestamp, MaxTimestamp)
	if len(strings.TrimPrefix(v, "-")) >= 13 {
		msg += "; milliseconds? send seconds"
	}
	return &ValidationError{Msg: msg}
}

// typeName names the type in messages: "int", "list of string", "enum".
func (s *spec) typeName() string {
	switch s.kind {
	case kString:
		return config.TypeString
	case kInt:
		return config.TypeInt
	case kFloat:
		return config.TypeFloat
	case kBool:
		return config.TypeBool
	case kTimestamp:
		return "timestamp (integer Unix seconds)"
	case kEnum:
		return "one of " + enumValues(s.values)
	case kList:
		return "list of " + s.items.typeName()
	default:
		return config.TypeObject
	}
}

// enumValues writes an enum's values for a message, the first 10 of them.
func enumValues(vs []string) string {
	var b strings.Builder
	for i, v := range vs {
		if i == 10 {
			fmt.Fprintf(&b, ", ... (%d values)", len(vs))
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(truncate(v, 64)))
	}
	return b.String()
}

// describe names a decoded value's type and, for scalars, the value: `string "high"`, `int 5`.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "string " + strconv.Quote(truncate(x, 64))
	case bool:
		return "bool " + strconv.FormatBool(x)
	case int64, int, int32, int16, int8, uint64, uint, uint32, uint16, uint8:
		return fmt.Sprintf("int %d", x)
	case float64:
		return "float " + strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return "float " + strconv.FormatFloat(float64(x), 'g', -1, 32)
	case []any:
		return fmt.Sprintf("list (%d elements)", len(x))
	case map[string]any:
		return "object"
	case []byte:
		return fmt.Sprintf("binary (%d bytes)", len(x))
	}
	return fmt.Sprintf("unsupported value of Go type %T", v)
}

// truncate shortens s to at most n bytes (at a rune boundary), marking the cut with "...".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
