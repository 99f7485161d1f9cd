package events

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/query"
	"github.com/gateway-dev/gateway/wamp"
)

// Class is an event class: a name, a topic, fields (its own and its ancestors'), and who may see
// its events. A Class is immutable and safe for concurrent use.
type Class struct {
	name        string
	topic       string
	description string
	parent      *Class
	ancestors   []*Class // parent first
	subclasses  []*Class // direct subclasses, sorted by name
	strict      bool
	visibility  config.EventVisibility // Kind is never ""
	retention   config.EventRetention
	fields      config.EventFields // all fields, inherited ones first
	root        *object            // compiled fields
	schema      *query.Schema
}

// newClass builds a class from its definition and its (already built) parent.
func newClass(def *config.EventClass, parent *Class) (*Class, error) {
	c := &Class{
		name:        def.Name,
		topic:       def.Topic,
		description: def.Description,
		parent:      parent,
		strict:      true,
		visibility:  config.EventVisibility{Kind: config.VisibilityPublic},
		fields:      def.Fields,
	}
	if parent != nil {
		c.ancestors = append([]*Class{parent}, parent.ancestors...)
		c.strict, c.visibility, c.retention = parent.strict, parent.visibility, parent.retention
		fs, err := config.InheritFields(parent.name, parent.fields, def.Fields)
		if err != nil {
			return nil, err
		}
		c.fields = fs
	}
	if def.Strict != nil {
		c.strict = *def.Strict
	}
	switch def.Visibility.Kind {
	case "":
	case config.VisibilityPublic, config.VisibilityAuthenticated:
		c.visibility = config.EventVisibility{Kind: def.Visibility.Kind}
	case config.VisibilityRoles:
		if len(def.Visibility.Roles) == 0 {
			return nil, errors.New("visibility: an empty list of roles")
		}
		c.visibility = config.EventVisibility{Kind: config.VisibilityRoles, Roles: slices.Clone(def.Visibility.Roles)}
	default:
		return nil, fmt.Errorf("invalid visibility %q", def.Visibility.Kind)
	}
	if def.Retention != nil {
		c.retention = *def.Retention
	}
	root, err := compileObject(c.fields, c.strict, 1)
	if err != nil {
		return nil, err
	}
	c.root = root
	if c.schema, err = query.NewSchema(filterFields(c.fields)); err != nil {
		return nil, err
	}
	return c, nil
}

// Name returns the class's name.
func (c *Class) Name() string { return c.name }

// Topic returns the topic URI that events of the class are published to.
func (c *Class) Topic() string { return c.topic }

// Description returns the class's description ("" when none).
func (c *Class) Description() string { return c.description }

// Parent returns the class this class extends, or nil.
func (c *Class) Parent() *Class { return c.parent }

// Ancestors returns the parent, its parent, and so on up to the root class. A subscription to
// any of them receives this class's events. The slice must not be modified.
func (c *Class) Ancestors() []*Class { return c.ancestors }

// Subclasses returns the classes that extend this class directly, sorted by name. The slice
// must not be modified.
func (c *Class) Subclasses() []*Class { return c.subclasses }

// IsA reports whether c is ancestor or a subclass of it (at any depth).
func (c *Class) IsA(ancestor *Class) bool {
	return c == ancestor || slices.Contains(c.ancestors, ancestor)
}

// Strict reports whether publications with undeclared fields are refused.
func (c *Class) Strict() bool { return c.strict }

// Fields returns every field of the class, inherited ones first, in declaration order. The
// result must not be modified.
func (c *Class) Fields() config.EventFields { return c.fields }

// Retention returns the history to keep of the class's events (inherited when the class sets
// none); its zero value keeps none.
func (c *Class) Retention() config.EventRetention { return c.retention }

// Visibility returns who may see the class's events: Kind is config.VisibilityPublic,
// VisibilityAuthenticated or VisibilityRoles (with Roles). Roles must not be modified.
func (c *Class) Visibility() config.EventVisibility { return c.visibility }

// Visible reports whether a session with authrole, which authenticated (true) or joined
// anonymously (false), may see the class's events and so subscribe to its topic. Public events
// are visible to every session, authenticated events to sessions that did not join anonymously,
// and events restricted to roles to sessions whose authrole is listed (whatever their
// authentication method: list the anonymous role to include anonymous sessions).
func (c *Class) Visible(authrole string, authenticated bool) bool {
	switch c.visibility.Kind {
	case config.VisibilityPublic:
		return true
	case config.VisibilityAuthenticated:
		return authenticated
	default:
		return slices.Contains(c.visibility.Roles, authrole)
	}
}

// VisibleWherever reports whether every session that may see the events of class a may see
// c's events too. When c is a subclass of a for which it is false, a subscription to a's topic
// must check c.Visible for each subscriber before delivering c's events; when it is true (the
// common case, c not narrowing a's visibility) no check is needed.
func (c *Class) VisibleWherever(a *Class) bool {
	switch c.visibility.Kind {
	case config.VisibilityPublic:
		return true
	case config.VisibilityAuthenticated:
		return a.visibility.Kind == config.VisibilityAuthenticated
	default:
		if a.visibility.Kind != config.VisibilityRoles {
			return false
		}
		for _, r := range a.visibility.Roles {
			if !slices.Contains(c.visibility.Roles, r) {
				return false
			}
		}
		return true
	}
}

// Summary returns the class's entry in the answer of gateway.event.list: name, topic, and
// description and extends when set.
func (c *Class) Summary() wamp.Dict {
	d := wamp.Dict{"name": c.name, "topic": c.topic}
	if c.description != "" {
		d["description"] = c.description
	}
	if c.parent != nil {
		d["extends"] = c.parent.name
	}
	return d
}

// Describe returns the answer of gateway.event.describe: the summary plus "ancestors" and
// "subclasses" (names, when any), "strict", "visibility" ("public", "authenticated" or "roles",
// with "roles"), "retention" ({"max_events", "max_age" in seconds}, when any history is kept),
// and "fields": a list of {"name", "type", "required", "description", "values" (enum), "items"
// (list: a field without name and required), "fields" (object)}. The result is built for each
// call and belongs to the caller.
func (c *Class) Describe() wamp.Dict {
	d := c.Summary()
	if len(c.ancestors) > 0 {
		d["ancestors"] = classNames(c.ancestors)
	}
	if len(c.subclasses) > 0 {
		d["subclasses"] = classNames(c.subclasses)
	}
	d["strict"] = c.strict
	d["visibility"] = c.visibility.Kind
	if c.visibility.Kind == config.VisibilityRoles {
		d["roles"] = stringList(c.visibility.Roles)
	}
	if c.retention.Retained() {
		d["retention"] = wamp.Dict{
			"max_events": int64(c.retention.MaxEvents),
			"max_age":    int64(c.retention.MaxAge / time.Second),
		}
	}
	d["fields"] = describeFields(c.fields)
	return d
}

func classNames(cs []*Class) wamp.List {
	l := make(wamp.List, len(cs))
	for i, c := range cs {
		l[i] = c.name
	}
	return l
}

func stringList(ss []string) wamp.List {
	l := make(wamp.List, len(ss))
	for i, s := range ss {
		l[i] = s
	}
	return l
}

func describeFields(fs config.EventFields) wamp.List {
	l := make(wamp.List, len(fs))
	for i := range fs {
		d := describeType(&fs[i])
		d["name"] = fs[i].Name
		d["required"] = fs[i].Required
		l[i] = d
	}
	return l
}

// describeType describes a field's type: "type" and what goes with it.
func describeType(f *config.EventField) wamp.Dict {
	d := wamp.Dict{"type": f.Type}
	if f.Description != "" {
		d["description"] = f.Description
	}
	switch f.Type {
	case config.TypeEnum:
		d["values"] = stringList(f.Values)
	case config.TypeList:
		if f.Items != nil {
			d["items"] = describeType(f.Items)
		}
	case config.TypeObject:
		d["fields"] = describeFields(f.Fields)
	}
	return d
}
