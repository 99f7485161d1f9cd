package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/gateway-dev/gateway/internal/typo"
)

// EventClass defines a class of events in a realm ([[realms.event_classes]]). Publishing to the
// class's topic (exactly) publishes an event of the class, which must match its fields.
type EventClass struct {
	// Name identifies the class (e.g. "chat.message"); unique in the realm.
	Name string `toml:"name"`
	// Topic is the topic URI of the class's events; unique among the realm's classes. A class
	// that extends another has a topic that continues its parent's ("chat.message" ->
	// "chat.message.private").
	Topic string `toml:"topic"`
	// Extends names the parent class in the same realm, whose fields, strictness, visibility and
	// retention the class inherits; "" for a root class.
	Extends string `toml:"extends"`
	// Description is free text shown by the discovery procedures.
	Description string `toml:"description"`
	// Strict refuses fields the class does not declare; nil inherits the parent's setting (true
	// for a root class).
	Strict *bool `toml:"strict"`
	// Visibility says who may subscribe to the class's events; unset inherits the parent's
	// (public for a root class).
	Visibility EventVisibility `toml:"visibility"`
	// Retention is the history kept of the class's events; nil inherits the parent's (none for a
	// root class).
	Retention *EventRetention `toml:"retention"`
	// Fields are the class's own fields, in file order (inherited ones are not repeated here).
	Fields EventFields `toml:"fields"`
}

// Event field type names.
const (
	TypeString    = "string"
	TypeInt       = "int"
	TypeFloat     = "float"
	TypeBool      = "bool"
	TypeTimestamp = "timestamp" // integer Unix seconds
	TypeEnum      = "enum"      // one of a set of strings
	TypeList      = "list"      // of one element type
	TypeObject    = "object"    // with nested fields
)

// EventFieldTypes lists every event field type.
var EventFieldTypes = []string{TypeString, TypeInt, TypeFloat, TypeBool, TypeTimestamp, TypeEnum, TypeList, TypeObject}

// typeAliases maps names people commonly write for a type to the type's name here.
var typeAliases = map[string]string{
	"str": TypeString, "text": TypeString, "integer": TypeInt, "int64": TypeInt, "long": TypeInt,
	"number": TypeFloat, "double": TypeFloat, "float64": TypeFloat, "boolean": TypeBool,
	"datetime": TypeTimestamp, "date": TypeTimestamp, "time": TypeTimestamp, "array": TypeList,
	"map": TypeObject, "dict": TypeObject, "table": TypeObject, "struct": TypeObject,
}

// EventField is one field of an event class. In the file a field is either a type name
// (`room = "string"`) or a table (`room = { type = "string", required = true }`).
type EventField struct {
	// Name is the field's key in the event's keyword arguments ("" for list items).
	Name string
	// Type is one of EventFieldTypes.
	Type string
	// Required fields must be present in every event; optional ones may be left out.
	Required bool
	// Description is free text shown by the discovery procedures.
	Description string
	// Values are the allowed values of an enum.
	Values []string
	// Items is the element type of a list.
	Items *EventField
	// Fields are the nested fields of an object.
	Fields EventFields
}

// EventFields are the fields of a class or an object, in declaration order. In the file they are
// a table whose keys are the field names.
type EventFields []EventField

// Visibility kinds.
const (
	VisibilityPublic        = "public"        // every session
	VisibilityAuthenticated = "authenticated" // sessions that authenticated (not anonymous)
	VisibilityRoles         = "roles"         // sessions with one of the listed authroles
)

// EventVisibility says who may subscribe to a class's events. In the file it is "public",
// "authenticated", or a list of roles (["member", "admin"]).
type EventVisibility struct {
	// Kind is VisibilityPublic, VisibilityAuthenticated, VisibilityRoles, or "" when unset.
	Kind string
	// Roles are the allowed authroles when Kind is VisibilityRoles.
	Roles []string
}

// EventRetention is the history a class's events keep, a hint for the persistence layer
// ([realms.event_classes.retention]). Zero values mean no limit of that kind; both zero means
// no history is kept.
type EventRetention struct {
	// MaxEvents is the number of most recent events kept.
	MaxEvents int `toml:"max_events"`
	// MaxAge is how long an event is kept (whole seconds).
	MaxAge time.Duration `toml:"max_age"`
}

// Retained reports whether any history is kept.
func (r EventRetention) Retained() bool { return r.MaxEvents > 0 || r.MaxAge > 0 }

// nodeDecoder is implemented by settings whose TOML form the reflection rules of decode.go cannot
// express (a type name or a table, a string or a list). decodeNode reports problems through d.
type nodeDecoder interface {
	decodeNode(d *decoder, n *node, path string)
}

var nodeDecoderType = reflect.TypeFor[nodeDecoder]()

// isCustom reports whether values of type t decode themselves.
func isCustom(t reflect.Type) bool { return reflect.PointerTo(t).Implements(nodeDecoderType) }

func (v *EventVisibility) decodeNode(d *decoder, n *node, path string) {
	switch n.kind {
	case kindString:
		v.Kind = n.raw
	case kindArray:
		v.Kind = VisibilityRoles
		d.decodeValue(n, path, reflect.ValueOf(&v.Roles).Elem(), false)
	default:
		d.fail(n, path, `expected "public", "authenticated" or a list of roles, got %s`, n.describe())
	}
}

func (fs *EventFields) decodeNode(d *decoder, n *node, path string) {
	if n.kind != kindTable {
		d.fail(n, path, `expected a table of fields such as { room = "string" }, got %s`, n.describe())
		return
	}
	out := make(EventFields, 0, len(n.keys))
	for _, key := range n.keys {
		child := n.fields[key]
		p := childPath(path, key)
		d.lines[p] = child.line
		f := EventField{Name: key}
		d.decodeField(child, p, &f, false)
		out = append(out, f)
	}
	*fs = out
}

// Keys of a field written as a table; list items have no "required".
var (
	fieldKeys = []string{"type", "required", "description", "values", "items", "fields"}
	itemKeys  = []string{"type", "description", "values", "items", "fields"}
)

// decodeField decodes a field declaration (a type name or a table) into f; item says it is the
// element type of a list.
func (d *decoder) decodeField(n *node, path string, f *EventField, item bool) {
	switch n.kind {
	case kindString:
		f.Type = n.raw
		return
	case kindTable:
	default:
		d.fail(n, path, `expected a type name such as "string" or a table such as { type = "string", required = true }, got %s`, n.describe())
		return
	}
	keys := fieldKeys
	if item {
		keys = itemKeys
	}
	for _, key := range n.keys {
		child := n.fields[key]
		p := childPath(path, key)
		d.lines[p] = child.line
		if !slices.Contains(keys, key) {
			if item && key == "required" {
				d.fail(child, p, "list items cannot be required or optional: a list has no gaps")
				continue
			}
			d.fail(child, p, "unknown key%s", suggestAmong(key, keys))
			continue
		}
		switch key {
		case "type":
			d.decodeValue(child, p, reflect.ValueOf(&f.Type).Elem(), false)
		case "required":
			d.decodeValue(child, p, reflect.ValueOf(&f.Required).Elem(), false)
		case "description":
			d.decodeValue(child, p, reflect.ValueOf(&f.Description).Elem(), false)
		case "values":
			d.decodeValue(child, p, reflect.ValueOf(&f.Values).Elem(), false)
		case "items":
			f.Items = &EventField{}
			d.decodeField(child, p, f.Items, true)
		case "fields":
			f.Fields.decodeNode(d, child, p)
		}
	}
	if _, ok := n.fields["type"]; !ok {
		d.fail(n, path, "type is required: one of %s", strings.Join(EventFieldTypes, ", "))
	}
}

// suggestAmong returns a "did you mean" hint for key among names, or "".
func suggestAmong(key string, names []string) string {
	if len(key) > 64 {
		return ""
	}
	best := typo.Closest(key, names)
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// InheritFields returns the fields of a class that extends a class whose (complete) fields are
// parent: the parent's fields in their order, each narrowed by the child's redeclaration of it,
// followed by the child's new fields. A redeclaration is a complete declaration that must keep the
// field's type; it may make an optional field required, allow only some of an enum's values, and
// add or narrow nested fields of an object (by the same rules). parentName names the parent in
// error messages. The error describes the first redeclaration that breaks these rules; Validate
// reports all of them with their lines.
func InheritFields(parentName string, parent, child EventFields) (EventFields, error) {
	var first error
	out := mergeFields(parentName, parent, child, "fields", "", func(key, msg string) {
		if first == nil {
			first = fmt.Errorf("%s: %s", key, msg)
		}
	})
	return out, first
}

// mergeFields implements InheritFields: key is the key path of child in the file, field the
// dotted path of the object whose fields they are ("" at the top), and report receives the key
// path and description of each broken rule.
func mergeFields(parentName string, parent, child EventFields, key, field string, report func(key, msg string)) EventFields {
	out := make(EventFields, 0, len(parent)+len(child))
	for _, pf := range parent {
		i := slices.IndexFunc(child, func(f EventField) bool { return f.Name == pf.Name })
		if i < 0 {
			out = append(out, pf)
			continue
		}
		fp := pf.Name
		if field != "" {
			fp = field + "." + pf.Name
		}
		out = append(out, mergeField(parentName, pf, child[i], childPath(key, pf.Name), fp, false, report))
	}
	for _, cf := range child {
		if !slices.ContainsFunc(parent, func(f EventField) bool { return f.Name == cf.Name }) {
			out = append(out, cf)
		}
	}
	return out
}

// mergeField narrows the inherited field pf (at dotted path field, or its list items) by its
// redeclaration cf, declared at key path key.
func mergeField(parentName string, pf, cf EventField, key, field string, items bool, report func(key, msg string)) EventField {
	if cf.Type != pf.Type {
		if items {
			report(key+".type", fmt.Sprintf("the items of inherited field %q are %s in class %q: a subclass cannot change their type to %s",
				field, pf.Type, parentName, cf.Type))
		} else {
			report(key+".type", fmt.Sprintf("inherited field %q is %s in class %q: a subclass cannot change its type to %s",
				field, pf.Type, parentName, cf.Type))
		}
		return pf
	}
	out := pf
	if cf.Description != "" {
		out.Description = cf.Description
	}
	if pf.Required && !cf.Required && !items {
		report(key+".required", fmt.Sprintf("inherited field %q is required in class %q: a subclass cannot make it optional (write required = true)",
			field, parentName))
	}
	out.Required = pf.Required || cf.Required
	switch pf.Type {
	case TypeEnum:
		if cf.Values != nil {
			what := fmt.Sprintf("inherited field %q", field)
			if items {
				what = fmt.Sprintf("the items of inherited field %q", field)
			}
			for i, v := range cf.Values {
				if !slices.Contains(pf.Values, v) {
					report(fmt.Sprintf("%s.values[%d]", key, i), fmt.Sprintf("%q is not a value of %s in class %q (%s): a subclass can only allow fewer values",
						v, what, parentName, quoteList(pf.Values)))
				}
			}
			out.Values = cf.Values
		}
	case TypeList:
		if cf.Items != nil && pf.Items != nil {
			it := mergeField(parentName, *pf.Items, *cf.Items, key+".items", field, true, report)
			out.Items = &it
		}
	case TypeObject:
		out.Fields = mergeFields(parentName, pf.Fields, cf.Fields, key+".fields", field, report)
	}
	return out
}

// quoteList writes strings as "a", "b", "c".
func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}
