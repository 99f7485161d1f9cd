package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxFieldDepth bounds the nesting of event fields: a top-level field is at depth 1, a field of an
// object or the items of a list one deeper.
const MaxFieldDepth = 8

// celReserved are the words a CEL filter cannot use as a field name.
var celReserved = []string{"true", "false", "null", "in", "as", "break", "const", "continue", "else",
	"for", "function", "if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"}

// checkFieldName reports why name cannot be an event field name. Names are identifiers so that
// every field can be named in a subscription filter.
func checkFieldName(name string) error {
	if name == "" {
		return fmt.Errorf("a field name must not be empty")
	}
	if len(name) > 64 {
		return fmt.Errorf("field name %q is too long (at most 64 bytes)", name[:64]+"...")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return fmt.Errorf("invalid field name %q: use letters, digits and _, not starting with a digit (filters name fields as identifiers)", name)
		}
	}
	if name[0] == '_' {
		return fmt.Errorf("invalid field name %q: names starting with _ are reserved for event metadata in filters (_topic, _class, _publisher)", name)
	}
	if slices.Contains(celReserved, name) {
		return fmt.Errorf("invalid field name %q: a reserved word of the filter language", name)
	}
	return nil
}

// classState tracks a class through the inheritance checks.
type classState struct {
	parent  int  // index of the parent class; -1 for a root class or an unknown parent
	broken  bool // an unknown parent, or part of (or below) a cycle: no inheritance checks
	visited bool
	merged  EventFields // all fields, inherited ones included, once computed
	done    bool
}

// eventClasses checks realm r's [[realms.event_classes]]; p is "realms[i]".
func (v *checker) eventClasses(p string, r *Realm) {
	v.classesIn(r.EventClasses, r, func(i int) string { return p + ".event_classes[" + strconv.Itoa(i) + "]" })
}

// classesIn checks classes as the event classes of realm r (its roles and URI rules); keyOf gives
// the key path of the i-th class.
func (v *checker) classesIn(classes []EventClass, r *Realm, keyOf func(int) string) {
	if len(classes) == 0 {
		return
	}
	var roles map[string]bool
	if len(r.Roles) > 0 {
		roles = map[string]bool{}
		for _, role := range r.Roles {
			roles[role.Name] = true
		}
	}
	names := map[string]int{}
	topics := map[string]int{}
	for i := range classes {
		c := &classes[i]
		cp := keyOf(i)
		v.className(i, c, r.StrictURIs, names, keyOf)
		v.classTopic(i, c, r.StrictURIs, topics, classes, keyOf)
		v.visibility(cp+".visibility", &c.Visibility, roles)
		if c.Retention != nil {
			if c.Retention.MaxEvents < 0 {
				v.report(cp+".retention.max_events", "must be 0 (no limit) or more")
			}
			if c.Retention.MaxAge%time.Second != 0 {
				v.report(cp+".retention.max_age", "must be a whole number of seconds, got %s", c.Retention.MaxAge)
			}
		}
		if c.Extends != "" && c.Extends == c.Name {
			v.report(cp+".extends", "a class cannot extend itself")
		}
		v.fields(cp+".fields", c.Fields, 1)
	}
	v.inheritance(classes, names, keyOf)
}

func (v *checker) className(i int, c *EventClass, strict bool, names map[string]int, keyOf func(int) string) {
	cp := keyOf(i)
	key := cp + ".name"
	switch {
	case c.Name == "" && v.has(key):
		v.report(key, "must not be empty")
	case c.Name == "":
		v.report(cp, "name is required")
	default:
		if err := checkURI(c.Name, strict); err != nil {
			v.report(key, "invalid class name %q: use dotted names such as \"chat.message\": %v", c.Name, err)
			return
		}
		if o, dup := names[c.Name]; dup {
			v.report(key, "duplicate class name %q: already used by %s%s", c.Name, keyOf(o), v.at(keyOf(o)+".name"))
			return
		}
		names[c.Name] = i
	}
}

func (v *checker) classTopic(i int, c *EventClass, strict bool, topics map[string]int, classes []EventClass, keyOf func(int) string) {
	cp := keyOf(i)
	key := cp + ".topic"
	switch {
	case c.Topic == "" && v.has(key):
		v.report(key, "must not be empty")
	case c.Topic == "":
		v.report(cp, "topic is required: the URI that events of the class are published to")
	default:
		rules := "loose"
		if strict {
			rules = "strict"
		}
		if err := checkURI(c.Topic, strict); err != nil {
			v.report(key, "invalid topic %q: not a valid WAMP URI (%s rules): %v", c.Topic, rules, err)
			return
		}
		switch first, _, _ := strings.Cut(c.Topic, "."); first {
		case "wamp":
			v.report(key, "invalid topic %q: URIs starting with \"wamp.\" are reserved by the WAMP spec", c.Topic)
			return
		case "gateway":
			v.report(key, "invalid topic %q: URIs starting with \"gateway.\" are reserved for the gateway's own topics", c.Topic)
			return
		}
		if o, dup := topics[c.Topic]; dup {
			v.report(key, "topic %q is already the topic of class %q: %s%s", c.Topic, classes[o].Name, keyOf(o), v.at(keyOf(o)+".topic"))
			return
		}
		topics[c.Topic] = i
	}
}

func (v *checker) visibility(key string, vis *EventVisibility, roles map[string]bool) {
	switch vis.Kind {
	case "", VisibilityPublic, VisibilityAuthenticated:
	case VisibilityRoles:
		if len(vis.Roles) == 0 {
			v.report(key, `an empty list of roles would hide the events from everyone: list roles, or use "public" or "authenticated"`)
		}
		for i, role := range vis.Roles {
			rk := key + "[" + strconv.Itoa(i) + "]"
			switch {
			case role == "":
				v.report(rk, "must not be empty")
			case slices.Contains(vis.Roles[:i], role):
				v.report(rk, "role %q is listed twice", role)
			case roles != nil && !roles[role]:
				v.report(rk, "role %q is not defined in this realm's [[realms.roles]]", role)
			}
		}
	default:
		v.report(key, `invalid visibility %q: use "public", "authenticated" or a list of roles such as ["member", "admin"]`, vis.Kind)
	}
}

// fields checks the declarations of a class's own fields (or an object's nested fields) at key
// path p, at nesting depth.
func (v *checker) fields(p string, fs EventFields, depth int) {
	for i := range fs {
		f := &fs[i]
		fp := childPath(p, f.Name)
		if err := checkFieldName(f.Name); err != nil {
			v.report(fp, "%v", err)
			continue
		}
		v.field(fp, f, depth)
	}
}

// field checks one declaration (a field, or the items of a list) at key path fp.
func (v *checker) field(fp string, f *EventField, depth int) {
	typeKey := fp + ".type"
	if !v.has(typeKey) {
		typeKey = fp // written as `name = "type"`
	}
	if depth > MaxFieldDepth {
		v.report(fp, "fields are nested too deeply (at most %d levels of objects and lists)", MaxFieldDepth)
		return
	}
	if !slices.Contains(EventFieldTypes, f.Type) { // a missing type was reported while decoding
		hint := suggestAmong(f.Type, EventFieldTypes)
		if alias, ok := typeAliases[strings.ToLower(f.Type)]; ok {
			hint = fmt.Sprintf(" (did you mean %q?)", alias)
		}
		v.report(typeKey, "unknown type %q%s: use %s", f.Type, hint, strings.Join(EventFieldTypes, ", "))
		return
	}
	if f.Type != TypeEnum && f.Values != nil {
		v.report(fp+".values", "values only apply to enum fields (this field is %s)", f.Type)
	}
	if f.Type != TypeList && f.Items != nil {
		v.report(fp+".items", "items only apply to list fields (this field is %s)", f.Type)
	}
	if f.Type != TypeObject && f.Fields != nil {
		v.report(fp+".fields", "fields only apply to object fields (this field is %s)", f.Type)
	}
	switch f.Type {
	case TypeEnum:
		if len(f.Values) == 0 {
			key := fp + ".values"
			if !v.has(key) {
				key = typeKey
			}
			v.report(key, `an enum needs its values, e.g. values = ["low", "high"]`)
		}
		for i, val := range f.Values {
			switch {
			case val == "":
				v.report(fp+".values["+strconv.Itoa(i)+"]", "must not be empty")
			case slices.Contains(f.Values[:i], val):
				v.report(fp+".values["+strconv.Itoa(i)+"]", "value %q is listed twice", val)
			}
		}
	case TypeList:
		if f.Items == nil {
			v.report(typeKey, `a list needs the type of its elements, e.g. items = "string"`)
			return
		}
		v.field(fp+".items", f.Items, depth+1)
	case TypeObject:
		if len(f.Fields) == 0 {
			key := fp + ".fields"
			if !v.has(key) {
				key = typeKey
			}
			v.report(key, `an object needs its fields, e.g. fields = { name = "string" }`)
			return
		}
		v.fields(fp+".fields", f.Fields, depth+1)
	}
}

// inheritance checks extends: known parents, no cycles, topics that continue the parent's, the
// parent being the class with the nearest enclosing topic, and redeclared fields that narrow the
// inherited ones.
func (v *checker) inheritance(classes []EventClass, names map[string]int, keyOf func(int) string) {
	st := make([]classState, len(classes))
	for i := range classes {
		c := &classes[i]
		st[i].parent = -1
		if c.Extends == "" || c.Extends == c.Name {
			st[i].broken = c.Extends != ""
			continue
		}
		j, ok := names[c.Extends]
		if !ok {
			known := make([]string, 0, len(names))
			for n := range names {
				known = append(known, n)
			}
			slices.Sort(known)
			v.report(keyOf(i)+".extends", "unknown class %q%s", c.Extends, suggestAmong(c.Extends, known))
			st[i].broken = true
			continue
		}
		st[i].parent = j
	}
	// Cycles: follow each chain; a chain that comes back to a class on it is a cycle, reported
	// once, at the first of its classes in the file.
	for i := range classes {
		if st[i].visited {
			continue
		}
		var chain []int
		j := i
		for j >= 0 && !st[j].visited {
			st[j].visited = true
			chain = append(chain, j)
			j = st[j].parent
		}
		if j < 0 {
			if k := len(chain) - 1; k >= 0 && st[chain[k]].broken {
				for _, c := range chain {
					st[c].broken = true
				}
			}
			continue
		}
		start := slices.Index(chain, j)
		if start < 0 { // joined an already checked chain
			if st[j].broken {
				for _, c := range chain {
					st[c].broken = true
				}
			}
			continue
		}
		cycle := chain[start:]
		first := slices.Min(cycle)
		at := slices.Index(cycle, first)
		cycle = append(cycle[at:], cycle[:at]...)
		path := make([]string, 0, len(cycle)+1)
		for _, c := range cycle {
			path = append(path, fmt.Sprintf("%q", classes[c].Name))
		}
		path = append(path, fmt.Sprintf("%q", classes[first].Name))
		v.report(keyOf(first)+".extends", "inheritance cycle: %s", strings.Join(path, " extends "))
		for _, c := range chain {
			st[c].broken = true
		}
	}
	for i := range classes {
		v.topicRule(i, classes, st, keyOf)
	}
	for i := range classes {
		v.mergedFields(i, classes, st, keyOf)
	}
}

// topicRule checks that class i's topic continues its parent's topic, and that its parent is the
// class whose topic is the longest prefix of its topic.
func (v *checker) topicRule(i int, classes []EventClass, st []classState, keyOf func(int) string) {
	c := &classes[i]
	if st[i].broken || c.Topic == "" || v.failed(keyOf(i)+".topic") {
		return
	}
	if j := st[i].parent; j >= 0 && classes[j].Topic != "" && !strings.HasPrefix(c.Topic, classes[j].Topic+".") {
		v.report(keyOf(i)+".topic", "topic %q must continue the topic of parent class %q, e.g. %q: subscribers to a class receive its subclasses' events",
			c.Topic, classes[j].Name, classes[j].Topic+"."+lastComponent(c.Topic))
		return
	}
	nearest := -1
	for j := range classes {
		t := classes[j].Topic
		if j != i && t != "" && strings.HasPrefix(c.Topic, t+".") && (nearest < 0 || len(t) > len(classes[nearest].Topic)) {
			nearest = j
		}
	}
	if nearest < 0 || nearest == st[i].parent {
		return
	}
	n := &classes[nearest]
	if st[i].parent < 0 {
		v.report(keyOf(i)+".topic", "topic %q lies under the topic of class %q (%q): the class must extend it (extends = %q) or use another topic",
			c.Topic, n.Name, n.Topic, n.Name)
		return
	}
	v.report(keyOf(i)+".extends", "class extends %q, but its topic %q lies under the topic of class %q (%q): extend %q, or use another topic",
		c.Extends, c.Topic, n.Name, n.Topic, n.Name)
}

// lastComponent returns the last component of a dotted URI.
func lastComponent(uri string) string {
	_, last := splitLast(uri)
	return last
}

// mergedFields returns the complete fields of class i (inherited included), reporting
// redeclarations that do not narrow the inherited field.
func (v *checker) mergedFields(i int, classes []EventClass, st []classState, keyOf func(int) string) EventFields {
	if st[i].done {
		return st[i].merged
	}
	st[i].done = true
	c := &classes[i]
	st[i].merged = c.Fields
	if st[i].broken || st[i].parent < 0 {
		return c.Fields
	}
	parent := v.mergedFields(st[i].parent, classes, st, keyOf)
	st[i].merged = mergeFields(c.Extends, parent, c.Fields, keyOf(i)+".fields", "", func(key, msg string) {
		if !v.has(key) && v.has(parentKey(key)) {
			key = parentKey(key) // a left-out "required", or a type written as `name = "type"`
		}
		v.report(key, "%s", msg)
	})
	return st[i].merged
}
