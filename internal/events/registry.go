// Package events implements event classes: the schemas of a realm's events, built from the
// configuration's [[realms.event_classes]]. A Registry finds the class of a topic, validates
// publications against it, answers the discovery procedures, and tells the broker who may see
// the events (visibility) and which classes a subscription to a class covers (subclasses).
package events

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/query"
	"github.com/gateway-dev/gateway/wamp"
)

// Registry holds the event classes of one realm. It is immutable and safe for concurrent use; a
// configuration reload builds a new one. A nil *Registry has no classes.
type Registry struct {
	byName  map[string]*Class
	byTopic map[string]*Class
	list    []*Class // sorted by name
}

// NewRegistry builds the registry of a realm's event classes (config.Realm.EventClasses). The
// configuration's validation reports problems with their file positions; NewRegistry still checks
// what its own guarantees rest on (unique names and topics, known parents without cycles,
// subclass topics under their parent's, inheritance rules, field types) and returns the first
// problem for configurations built in code.
func NewRegistry(classes []config.EventClass) (*Registry, error) {
	r := &Registry{
		byName:  make(map[string]*Class, len(classes)),
		byTopic: make(map[string]*Class, len(classes)),
	}
	defs := make(map[string]*config.EventClass, len(classes))
	for i := range classes {
		def := &classes[i]
		if def.Name == "" {
			return nil, fmt.Errorf("events: class %d has no name", i)
		}
		if def.Topic == "" {
			return nil, fmt.Errorf("events: class %q has no topic", def.Name)
		}
		if _, dup := defs[def.Name]; dup {
			return nil, fmt.Errorf("events: duplicate class name %q", def.Name)
		}
		defs[def.Name] = def
	}
	var build func(def *config.EventClass, path []string) (*Class, error)
	build = func(def *config.EventClass, path []string) (*Class, error) {
		if c := r.byName[def.Name]; c != nil {
			return c, nil
		}
		if slices.Contains(path, def.Name) {
			return nil, fmt.Errorf("events: inheritance cycle: %s extends %q", quoteAll(path, " extends "), def.Name)
		}
		var parent *Class
		if def.Extends != "" {
			pdef, ok := defs[def.Extends]
			if !ok {
				return nil, fmt.Errorf("events: class %q extends unknown class %q", def.Name, def.Extends)
			}
			var err error
			if parent, err = build(pdef, append(path, def.Name)); err != nil {
				return nil, err
			}
		}
		c, err := newClass(def, parent)
		if err != nil {
			return nil, fmt.Errorf("events: class %q: %w", def.Name, err)
		}
		if o := r.byTopic[c.topic]; o != nil {
			return nil, fmt.Errorf("events: classes %q and %q have the same topic %q", o.name, c.name, c.topic)
		}
		r.byName[c.name] = c
		r.byTopic[c.topic] = c
		r.list = append(r.list, c)
		return c, nil
	}
	for i := range classes {
		if _, err := build(&classes[i], nil); err != nil {
			return nil, err
		}
	}
	for _, c := range r.list {
		// The parent is the class with the nearest enclosing topic, so the class tree and the
		// topic tree agree (prefix subscriptions to a class's topic get exactly its subclasses).
		var nearest *Class
		for t := c.topic; nearest == nil; {
			i := strings.LastIndexByte(t, '.')
			if i < 0 {
				break
			}
			t = t[:i]
			nearest = r.byTopic[t]
		}
		if nearest != c.parent {
			if c.parent == nil {
				return nil, fmt.Errorf("events: class %q: topic %q lies under the topic of class %q, which it does not extend", c.name, c.topic, nearest.name)
			}
			return nil, fmt.Errorf("events: class %q: topic %q must continue the topic of its parent %q (%q) and lie under no other class's topic", c.name, c.topic, c.parent.name, c.parent.topic)
		}
		if c.parent != nil {
			c.parent.subclasses = append(c.parent.subclasses, c)
		}
	}
	slices.SortFunc(r.list, func(a, b *Class) int { return strings.Compare(a.name, b.name) })
	for _, c := range r.list {
		slices.SortFunc(c.subclasses, func(a, b *Class) int { return strings.Compare(a.name, b.name) })
	}
	return r, nil
}

func quoteAll(names []string, sep string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, sep)
}

// ByTopic returns the class whose topic is exactly uri, or nil: a publication to uri is an event
// of that class.
func (r *Registry) ByTopic(uri string) *Class {
	if r == nil {
		return nil
	}
	return r.byTopic[uri]
}

// ByName returns the class called name, or nil.
func (r *Registry) ByName(name string) *Class {
	if r == nil {
		return nil
	}
	return r.byName[name]
}

// List returns every class, sorted by name. The slice must not be modified.
func (r *Registry) List() []*Class {
	if r == nil {
		return nil
	}
	return r.list
}

// Len returns the number of classes.
func (r *Registry) Len() int {
	if r == nil {
		return 0
	}
	return len(r.list)
}

// Describe returns the description of class name for gateway.event.describe (see
// Class.Describe), or nil when there is no such class.
func (r *Registry) Describe(name string) wamp.Dict {
	c := r.ByName(name)
	if c == nil {
		return nil
	}
	return c.Describe()
}

// IsA reports whether the class called name is the class called ancestor or one of its
// subclasses; false when either does not exist.
func (r *Registry) IsA(name, ancestor string) bool {
	c, a := r.ByName(name), r.ByName(ancestor)
	return c != nil && a != nil && c.IsA(a)
}

// Schema returns the filter schema of a class (its fields and their types) for query.Compile.
func (c *Class) Schema() *query.Schema { return c.schema }

// filterFields returns the field paths and types a filter may name: every field, nested object
// fields as dotted paths ("author.name"). Timestamps are integers, enums strings; the elements of
// a list cannot be named.
func filterFields(fs config.EventFields) map[string]query.Type {
	out := map[string]query.Type{}
	var walk func(prefix string, fs config.EventFields)
	walk = func(prefix string, fs config.EventFields) {
		for _, f := range fs {
			p := prefix + f.Name
			switch f.Type {
			case config.TypeString, config.TypeEnum:
				out[p] = query.TypeString
			case config.TypeInt, config.TypeTimestamp:
				out[p] = query.TypeInt
			case config.TypeFloat:
				out[p] = query.TypeFloat
			case config.TypeBool:
				out[p] = query.TypeBool
			case config.TypeList:
				out[p] = query.TypeList
			case config.TypeObject:
				out[p] = query.TypeObject
				walk(p+".", f.Fields)
			}
		}
	}
	walk("", fs)
	return out
}
