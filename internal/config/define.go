package config

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
)

// DefineKey is the key path under which ParseEventClass and ValidateEventClass name the keys of
// the class they check ("class.fields.amount"). The realm's other classes are named
// event_classes."<name>".
const DefineKey = "class"

// maxDefineDepth bounds the nesting of a definition given as a generic value, so that a hostile
// document cannot exhaust the stack; the field rules (MaxFieldDepth) are stricter anyway.
const maxDefineDepth = 64

// ParseEventClass decodes one event class given as a generic value (the keys of a
// [[realms.event_classes]] table, as decoded from JSON: strings, bools, int64, float64,
// json.Number, []any and map[string]any; nil stands for a missing key) and validates it exactly
// as the configuration file's validation does, in the context of realm r: r.Roles for the
// visibility, r.StrictURIs, and r.EventClasses as the realm's other classes (a class of r with
// the same name is replaced by def). Fields take the inline form ({"amount": "int"}) or the
// detailed one ({"amount": {"type": "int", "required": true}}); JSON objects have no order, so
// fields are kept in the order of their names. On failure the error is an *Errors whose keys
// start with DefineKey.
func ParseEventClass(r *Realm, def map[string]any) (EventClass, error) {
	var c EventClass
	errs := &errorList{}
	d := decoder{errs: errs, lines: map[string]int{}, bad: map[string]bool{}}
	root, err := genericNode(def, DefineKey, 0)
	if err != nil {
		errs.add(0, err.key, err.msg)
		return EventClass{}, errs.result()
	}
	d.decodeStruct(root, DefineKey, reflect.ValueOf(&c).Elem())
	checkDefined(r, &c, d.lines, d.bad, errs)
	if err := errs.result(); err != nil {
		return EventClass{}, err
	}
	return c, nil
}

// ValidateEventClass checks an event class built in code in the context of realm r, by the rules
// of ParseEventClass. It returns nil or an *Errors.
func ValidateEventClass(r *Realm, def EventClass) error {
	errs := &errorList{}
	checkDefined(r, &def, nil, nil, errs)
	return errs.result()
}

// checkDefined runs the event class rules on r's classes with def replacing (or added after) the
// class of its name; lines and bad are def's keys as decoded under DefineKey.
func checkDefined(r *Realm, def *EventClass, lines map[string]int, bad map[string]bool, errs *errorList) {
	classes := make([]EventClass, 0, len(r.EventClasses)+1)
	for _, c := range r.EventClasses {
		if c.Name != def.Name {
			classes = append(classes, c)
		}
	}
	classes = append(classes, *def)
	last := len(classes) - 1
	v := &checker{errs: errs, lines: lines, bad: bad}
	v.classesIn(classes, r, func(i int) string {
		if i == last {
			return DefineKey
		}
		return "event_classes." + quoteKey(classes[i].Name)
	})
}

// nodeError is a problem found while converting a generic value.
type nodeError struct{ key, msg string }

// genericNode converts a generic value at key path into the decoder's tree. Map keys are taken in
// sorted order; nil values are left out, as absent keys.
func genericNode(v any, path string, depth int) (*node, *nodeError) {
	if depth > maxDefineDepth {
		return nil, &nodeError{path, "nested too deeply"}
	}
	switch x := v.(type) {
	case string:
		return &node{kind: kindString, raw: x}, nil
	case bool:
		return &node{kind: kindBool, b: x, raw: strconv.FormatBool(x)}, nil
	case int:
		return intNode(int64(x)), nil
	case int64:
		return intNode(x), nil
	case float64:
		return floatNode(x), nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return intNode(i), nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, &nodeError{path, fmt.Sprintf("invalid number %s", x)}
		}
		return floatNode(f), nil
	case []any:
		n := &node{kind: kindArray}
		for i, e := range x {
			if e == nil {
				return nil, &nodeError{path + "[" + strconv.Itoa(i) + "]", "null is not allowed in a list"}
			}
			c, err := genericNode(e, path+"["+strconv.Itoa(i)+"]", depth+1)
			if err != nil {
				return nil, err
			}
			n.elems = append(n.elems, c)
		}
		return n, nil
	case map[string]any:
		n := newTable(0)
		keys := make([]string, 0, len(x))
		for k, e := range x {
			if e != nil {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			c, err := genericNode(x[k], childPath(path, k), depth+1)
			if err != nil {
				return nil, err
			}
			n.set(k, c)
		}
		return n, nil
	case nil:
		return nil, &nodeError{path, "expected a table of the class's keys, got null"}
	}
	return nil, &nodeError{path, fmt.Sprintf("unsupported value of type %T", v)}
}

func intNode(i int64) *node { return &node{kind: kindInteger, i: i, raw: strconv.FormatInt(i, 10)} }

// floatNode is an integer node for integral values (JSON has one number type), a float otherwise.
func floatNode(f float64) *node {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return intNode(int64(f))
	}
	return &node{kind: kindFloat, raw: strconv.FormatFloat(f, 'g', -1, 64)}
}
