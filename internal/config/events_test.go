package config

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Every way of writing classes and fields decodes to the same structures, in file order.
func TestParseEventClasses(t *testing.T) {
	src := `
[[realms]]
name = "realm1"

[[realms.roles]]
name = "anonymous"
[[realms.roles]]
name = "member"
[[realms.roles]]
name = "admin"

[[realms.event_classes]]
name = "order"
topic = "shop.order"
description = "An order."
strict = false
visibility = ["member", "admin"]
retention = { max_events = 10 }
fields.id = { type = "int", required = true, description = "order id" }
fields.total = "float"

[realms.event_classes.fields.lines]
type = "list"
[realms.event_classes.fields.lines.items]
type = "object"
fields = { sku = { type = "string", required = true }, qty = "int" }

[realms.event_classes.fields.state]
type = "enum"
values = ["new", "paid"]

[[realms.event_classes]]
name = "order.paid"
topic = "shop.order.paid"
extends = "order"
visibility = "authenticated"
retention = {}
fields = { paid_at = { type = "timestamp", required = true }, ok = "bool", tags = { type = "list", items = { type = "enum", values = ["a"] } } }
`
	c, err := Parse("g.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	no := false
	want := []EventClass{{
		Name:        "order",
		Topic:       "shop.order",
		Description: "An order.",
		Strict:      &no,
		Visibility:  EventVisibility{Kind: VisibilityRoles, Roles: []string{"member", "admin"}},
		Retention:   &EventRetention{MaxEvents: 10},
		Fields: EventFields{
			{Name: "id", Type: TypeInt, Required: true, Description: "order id"},
			{Name: "total", Type: TypeFloat},
			{Name: "lines", Type: TypeList, Items: &EventField{Type: TypeObject, Fields: EventFields{
				{Name: "sku", Type: TypeString, Required: true},
				{Name: "qty", Type: TypeInt},
			}}},
			{Name: "state", Type: TypeEnum, Values: []string{"new", "paid"}},
		},
	}, {
		Name:       "order.paid",
		Topic:      "shop.order.paid",
		Extends:    "order",
		Visibility: EventVisibility{Kind: VisibilityAuthenticated},
		Retention:  &EventRetention{},
		Fields: EventFields{
			{Name: "paid_at", Type: TypeTimestamp, Required: true},
			{Name: "ok", Type: TypeBool},
			{Name: "tags", Type: TypeList, Items: &EventField{Type: TypeEnum, Values: []string{"a"}}},
		},
	}}
	if got := c.Realms[0].EventClasses; !reflect.DeepEqual(got, want) {
		t.Errorf("classes =\n%+v\nwant\n%+v", got, want)
	}
	if c.Realms[0].EventClasses[1].Retention.Retained() || !c.Realms[0].EventClasses[0].Retention.Retained() {
		t.Error("Retained() is wrong")
	}
}

func TestEventClassErrors(t *testing.T) {
	const realm = "[[realms]]\nname = \"r\"\n"
	class := func(lines ...string) string {
		return "[[realms.event_classes]]\n" + strings.Join(lines, "\n") + "\n"
	}
	ab := class(`name = "a"`, `topic = "a"`)
	tests := []struct {
		name string
		src  string // after realm (lines 1-2)
		want []string
	}{
		// names and topics
		{"no name", class(`topic = "a"`),
			[]string{`3: realms[0].event_classes[0]: name is required`}},
		{"empty name", class(`name = ""`, `topic = "a"`),
			[]string{`4: realms[0].event_classes[0].name: must not be empty`}},
		{"invalid name", class(`name = "a b"`, `topic = "a"`),
			[]string{`4: realms[0].event_classes[0].name: invalid class name "a b": use dotted names such as "chat.message": contains whitespace`}},
		{"duplicate name", ab + class(`name = "a"`, `topic = "b"`),
			[]string{`7: realms[0].event_classes[1].name: duplicate class name "a": already used by realms[0].event_classes[0] (line 4)`}},
		{"no topic", class(`name = "a"`),
			[]string{`3: realms[0].event_classes[0]: topic is required: the URI that events of the class are published to`}},
		{"invalid topic", class(`name = "a"`, `topic = "a..b"`),
			[]string{`5: realms[0].event_classes[0].topic: invalid topic "a..b": not a valid WAMP URI (loose rules): component 2 is empty`}},
		{"wamp topic", class(`name = "a"`, `topic = "wamp.a"`),
			[]string{`5: realms[0].event_classes[0].topic: invalid topic "wamp.a": URIs starting with "wamp." are reserved by the WAMP spec`}},
		{"gateway topic", class(`name = "a"`, `topic = "gateway.event.list"`),
			[]string{`5: realms[0].event_classes[0].topic: invalid topic "gateway.event.list": URIs starting with "gateway." are reserved for the gateway's own topics`}},
		{"duplicate topic", ab + class(`name = "b"`, `topic = "a"`),
			[]string{`8: realms[0].event_classes[1].topic: topic "a" is already the topic of class "a": realms[0].event_classes[0] (line 5)`}},

		// extends and topics of subclasses
		{"unknown parent", ab + class(`name = "b"`, `topic = "a.b"`, `extends = "aa"`),
			[]string{`9: realms[0].event_classes[1].extends: unknown class "aa" (did you mean "a"?)`}},
		{"extends itself", class(`name = "a"`, `topic = "a"`, `extends = "a"`),
			[]string{`6: realms[0].event_classes[0].extends: a class cannot extend itself`}},
		{"cycle of two", class(`name = "a"`, `topic = "a"`, `extends = "b"`) + class(`name = "b"`, `topic = "b"`, `extends = "a"`),
			[]string{`6: realms[0].event_classes[0].extends: inheritance cycle: "a" extends "b" extends "a"`}},
		{"cycle of three, reported once", class(`name = "x"`, `topic = "x"`, `extends = "c"`) +
			class(`name = "a"`, `topic = "a"`, `extends = "c"`) + class(`name = "b"`, `topic = "b"`, `extends = "a"`) +
			class(`name = "c"`, `topic = "c"`, `extends = "b"`),
			[]string{`10: realms[0].event_classes[1].extends: inheritance cycle: "a" extends "c" extends "b" extends "a"`}},
		{"topic not under parent's", ab + class(`name = "b"`, `topic = "b"`, `extends = "a"`),
			[]string{`8: realms[0].event_classes[1].topic: topic "b" must continue the topic of parent class "a", e.g. "a.b": subscribers to a class receive its subclasses' events`}},
		{"topic prefix is not a component prefix", ab + class(`name = "b"`, `topic = "ab"`, `extends = "a"`),
			[]string{`8: realms[0].event_classes[1].topic: topic "ab" must continue the topic of parent class "a", e.g. "a.ab": subscribers to a class receive its subclasses' events`}},
		{"topic under a class it does not extend", ab + class(`name = "b"`, `topic = "a.b"`),
			[]string{`8: realms[0].event_classes[1].topic: topic "a.b" lies under the topic of class "a" ("a"): the class must extend it (extends = "a") or use another topic`}},
		{"extends a farther class", ab + class(`name = "b"`, `topic = "a.b"`, `extends = "a"`) +
			class(`name = "c"`, `topic = "a.b.c"`, `extends = "a"`),
			[]string{`13: realms[0].event_classes[2].extends: class extends "a", but its topic "a.b.c" lies under the topic of class "b" ("a.b"): extend "b", or use another topic`}},

		// visibility, retention, strict
		{"bad visibility", class(`name = "a"`, `topic = "a"`, `visibility = "private"`),
			[]string{`6: realms[0].event_classes[0].visibility: invalid visibility "private": use "public", "authenticated" or a list of roles such as ["member", "admin"]`}},
		{"visibility of wrong type", class(`name = "a"`, `topic = "a"`, `visibility = true`),
			[]string{`6: realms[0].event_classes[0].visibility: expected "public", "authenticated" or a list of roles, got boolean true`}},
		{"visibility with no roles", class(`name = "a"`, `topic = "a"`, `visibility = []`),
			[]string{`6: realms[0].event_classes[0].visibility: an empty list of roles would hide the events from everyone: list roles, or use "public" or "authenticated"`}},
		{"visibility role twice", class(`name = "a"`, `topic = "a"`, `visibility = ["x", "x"]`),
			[]string{`6: realms[0].event_classes[0].visibility[1]: role "x" is listed twice`}},
		{"visibility role not a string", class(`name = "a"`, `topic = "a"`, `visibility = ["x", 1]`),
			[]string{`6: realms[0].event_classes[0].visibility[1]: expected a string, got integer 1`}},
		{"undefined role", "[realms.auth.anonymous]\nrole = \"member\"\n[[realms.roles]]\nname = \"member\"\n" +
			class(`name = "a"`, `topic = "a"`, `visibility = ["member", "admin"]`),
			[]string{`10: realms[0].event_classes[0].visibility[1]: role "admin" is not defined in this realm's [[realms.roles]]`}},
		{"negative max_events", class(`name = "a"`, `topic = "a"`, `retention = { max_events = -1 }`),
			[]string{`6: realms[0].event_classes[0].retention.max_events: must be 0 (no limit) or more`}},
		{"fractional max_age", class(`name = "a"`, `topic = "a"`, `retention = { max_age = "1500ms" }`),
			[]string{`6: realms[0].event_classes[0].retention.max_age: must be a whole number of seconds, got 1.5s`}},
		{"unknown retention key", class(`name = "a"`, `topic = "a"`, `retention = { max_event = 5 }`),
			[]string{`6: realms[0].event_classes[0].retention.max_event: unknown key (did you mean "max_events"?)`}},
		{"retention not a table", class(`name = "a"`, `topic = "a"`, `retention = "1h"`),
			[]string{`6: realms[0].event_classes[0].retention: expected a table [realms[0].event_classes[0].retention], got string "1h"`}},
		{"strict not a bool", class(`name = "a"`, `topic = "a"`, `strict = "yes"`),
			[]string{`6: realms[0].event_classes[0].strict: expected true or false, got string "yes"`}},
		{"unknown class key", class(`name = "a"`, `topic = "a"`, `field = {}`),
			[]string{`6: realms[0].event_classes[0].field: unknown key (did you mean "fields"?)`}},

		// field declarations
		{"fields not a table", class(`name = "a"`, `topic = "a"`, `fields = ["x"]`),
			[]string{`6: realms[0].event_classes[0].fields: expected a table of fields such as { room = "string" }, got array`}},
		{"field name with a digit first", ab + "fields.1x = \"int\"\n",
			[]string{`6: realms[0].event_classes[0].fields.1x: invalid field name "1x": use letters, digits and _, not starting with a digit (filters name fields as identifiers)`}},
		{"field name with a dash", ab + "fields.a-b = \"int\"\n",
			[]string{`6: realms[0].event_classes[0].fields.a-b: invalid field name "a-b": use letters, digits and _, not starting with a digit (filters name fields as identifiers)`}},
		{"field name with underscore first", ab + "fields._x = \"int\"\n",
			[]string{`6: realms[0].event_classes[0].fields._x: invalid field name "_x": names starting with _ are reserved for event metadata in filters (_topic, _class, _publisher)`}},
		{"reserved field name", ab + "fields.null = \"int\"\n",
			[]string{`6: realms[0].event_classes[0].fields.null: invalid field name "null": a reserved word of the filter language`}},
		{"field of wrong TOML type", ab + "fields.x = 5\n",
			[]string{`6: realms[0].event_classes[0].fields.x: expected a type name such as "string" or a table such as { type = "string", required = true }, got integer 5`}},
		{"field without type", ab + "fields.x = { required = true }\n",
			[]string{`6: realms[0].event_classes[0].fields.x: type is required: one of string, int, float, bool, timestamp, enum, list, object`}},
		{"type alias", ab + "fields.x = \"integer\"\n",
			[]string{`6: realms[0].event_classes[0].fields.x: unknown type "integer" (did you mean "int"?): use string, int, float, bool, timestamp, enum, list, object`}},
		{"type typo in a table", ab + "fields.x = { type = \"strng\" }\n",
			[]string{`6: realms[0].event_classes[0].fields.x.type: unknown type "strng" (did you mean "string"?): use string, int, float, bool, timestamp, enum, list, object`}},
		{"unknown field key", ab + "fields.x = { type = \"int\", requird = true }\n",
			[]string{`6: realms[0].event_classes[0].fields.x.requird: unknown key (did you mean "required"?)`}},
		{"required not a bool", ab + "fields.x = { type = \"int\", required = 1 }\n",
			[]string{`6: realms[0].event_classes[0].fields.x.required: expected true or false, got integer 1`}},
		{"enum without values", ab + "fields.x = \"enum\"\n",
			[]string{`6: realms[0].event_classes[0].fields.x: an enum needs its values, e.g. values = ["low", "high"]`}},
		{"enum with empty values", ab + "fields.x = { type = \"enum\", values = [] }\n",
			[]string{`6: realms[0].event_classes[0].fields.x.values: an enum needs its values, e.g. values = ["low", "high"]`}},
		{"enum value twice", ab + "fields.x = { type = \"enum\", values = [\"a\", \"a\"] }\n",
			[]string{`6: realms[0].event_classes[0].fields.x.values[1]: value "a" is listed twice`}},
		{"enum value empty", ab + "fields.x = { type = \"enum\", values = [\"\"] }\n",
			[]string{`6: realms[0].event_classes[0].fields.x.values[0]: must not be empty`}},
		{"enum value not a string", ab + "fields.x = { type = \"enum\", values = [1] }\n",
			[]string{`6: realms[0].event_classes[0].fields.x.values[0]: expected a string, got integer 1`}},
		{"values on a string", ab + "fields.x = { type = \"string\", values = [\"a\"] }\n",
			[]string{`6: realms[0].event_classes[0].fields.x.values: values only apply to enum fields (this field is string)`}},
		{"list without items", ab + "fields.x = \"list\"\n",
			[]string{`6: realms[0].event_classes[0].fields.x: a list needs the type of its elements, e.g. items = "string"`}},
		{"required items", ab + "fields.x = { type = \"list\", items = { type = \"int\", required = true } }\n",
			[]string{`6: realms[0].event_classes[0].fields.x.items.required: list items cannot be required or optional: a list has no gaps`}},
		{"bad items type", ab + "fields.x = { type = \"list\", items = \"lst\" }\n",
			[]string{`6: realms[0].event_classes[0].fields.x.items: unknown type "lst" (did you mean "list"?): use string, int, float, bool, timestamp, enum, list, object`}},
		{"items on an int", ab + "fields.x = { type = \"int\", items = \"int\" }\n",
			[]string{`6: realms[0].event_classes[0].fields.x.items: items only apply to list fields (this field is int)`}},
		{"object without fields", ab + "fields.x = \"object\"\n",
			[]string{`6: realms[0].event_classes[0].fields.x: an object needs its fields, e.g. fields = { name = "string" }`}},
		{"object with empty fields", ab + "fields.x = { type = \"object\", fields = {} }\n",
			[]string{`6: realms[0].event_classes[0].fields.x.fields: an object needs its fields, e.g. fields = { name = "string" }`}},
		{"fields on a bool", ab + "fields.x = { type = \"bool\", fields = { y = \"int\" } }\n",
			[]string{`6: realms[0].event_classes[0].fields.x.fields: fields only apply to object fields (this field is bool)`}},
		{"bad nested field", ab + "fields.x = { type = \"object\", fields = { y = { type = \"object\", fields = { \"z z\" = \"int\" } } } }\n",
			[]string{`6: realms[0].event_classes[0].fields.x.fields.y.fields."z z": invalid field name "z z": use letters, digits and _, not starting with a digit (filters name fields as identifiers)`}},
		{"too deep", ab + "fields.x = " + strings.Repeat(`{ type = "list", items = `, 8) + `"int"` + strings.Repeat(" }", 8) + "\n",
			[]string{`6: realms[0].event_classes[0].fields.x` + strings.Repeat(".items", 8) + `: fields are nested too deeply (at most 8 levels of objects and lists)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := errorLines(t, "g.toml", realm+tt.src)
			var want []string
			for _, w := range tt.want {
				want = append(want, "g.toml:"+w)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("source:\n%s\nerrors:\n%s\nwant:\n%s", realm+tt.src, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// Eight levels of nesting are allowed.
func TestEventFieldDepthLimit(t *testing.T) {
	src := "[[realms]]\nname = \"r\"\n[[realms.event_classes]]\nname = \"a\"\ntopic = \"a\"\nfields.x = " +
		strings.Repeat(`{ type = "object", fields = { y = `, 7) + `"int"` + strings.Repeat(" } }", 7) + "\n"
	if _, err := Parse("g.toml", []byte(src)); err != nil {
		t.Fatal(err)
	}
}

// A subclass may only narrow the fields it inherits; every violation is reported at the
// redeclaration, naming the inherited field and the parent class.
func TestEventClassInheritanceErrors(t *testing.T) {
	src := `[[realms]]
name = "r"
[[realms.event_classes]]
name = "a"
topic = "a"
[realms.event_classes.fields]
room = { type = "string", required = true }
prio = { type = "enum", values = ["low", "high"] }
tags = { type = "list", items = { type = "enum", values = ["x", "y"] } }
author = { type = "object", fields = { name = "string", id = "int" } }
[[realms.event_classes]]
name = "b"
topic = "a.b"
extends = "a"
[realms.event_classes.fields]
room = "string"
prio = { type = "enum", values = ["low", "mid"] }
tags = { type = "list", items = { type = "enum", values = ["z"] } }
author = { type = "object", fields = { name = "int", extra = "bool" } }
[[realms.event_classes]]
name = "c"
topic = "a.b.c"
extends = "b"
[realms.event_classes.fields]
room = { type = "int", required = true }
lines = { type = "list", items = "string" }
[[realms.event_classes]]
name = "d"
topic = "a.b.c.d"
extends = "c"
fields.lines = { type = "list", items = "int" }
`
	got := errorLines(t, "g.toml", src)
	want := []string{
		`g.toml:16: realms[0].event_classes[1].fields.room: inherited field "room" is required in class "a": a subclass cannot make it optional (write required = true)`,
		`g.toml:17: realms[0].event_classes[1].fields.prio.values[1]: "mid" is not a value of inherited field "prio" in class "a" ("low", "high"): a subclass can only allow fewer values`,
		`g.toml:18: realms[0].event_classes[1].fields.tags.items.values[0]: "z" is not a value of the items of inherited field "tags" in class "a" ("x", "y"): a subclass can only allow fewer values`,
		`g.toml:19: realms[0].event_classes[1].fields.author.fields.name: inherited field "author.name" is string in class "a": a subclass cannot change its type to int`,
		`g.toml:25: realms[0].event_classes[2].fields.room.type: inherited field "room" is string in class "b": a subclass cannot change its type to int`,
		`g.toml:31: realms[0].event_classes[3].fields.lines.items: the items of inherited field "lines" are string in class "c": a subclass cannot change their type to int`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Redeclarations that narrow are accepted, and InheritFields returns the complete fields:
// the parent's in order (narrowed), then the subclass's new ones.
func TestInheritFields(t *testing.T) {
	parent := EventFields{
		{Name: "room", Type: TypeString, Description: "the room"},
		{Name: "prio", Type: TypeEnum, Values: []string{"low", "mid", "high"}},
		{Name: "author", Type: TypeObject, Fields: EventFields{{Name: "name", Type: TypeString}}},
		{Name: "tags", Type: TypeList, Items: &EventField{Type: TypeEnum, Values: []string{"x", "y"}}},
	}
	child := EventFields{
		{Name: "extra", Type: TypeBool},
		{Name: "prio", Type: TypeEnum, Values: []string{"high"}, Required: true},
		{Name: "author", Type: TypeObject, Fields: EventFields{{Name: "name", Type: TypeString, Required: true}, {Name: "id", Type: TypeInt}}},
		{Name: "tags", Type: TypeList, Items: &EventField{Type: TypeEnum, Values: []string{"y"}}},
	}
	got, err := InheritFields("p", parent, child)
	if err != nil {
		t.Fatal(err)
	}
	want := EventFields{
		{Name: "room", Type: TypeString, Description: "the room"},
		{Name: "prio", Type: TypeEnum, Values: []string{"high"}, Required: true},
		{Name: "author", Type: TypeObject, Fields: EventFields{{Name: "name", Type: TypeString, Required: true}, {Name: "id", Type: TypeInt}}},
		{Name: "tags", Type: TypeList, Items: &EventField{Type: TypeEnum, Values: []string{"y"}}},
		{Name: "extra", Type: TypeBool},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("InheritFields =\n%+v\nwant\n%+v", got, want)
	}
	if parent[1].Required || len(parent[2].Fields) != 1 || len(parent[3].Items.Values) != 2 {
		t.Errorf("InheritFields modified the parent's fields: %+v", parent)
	}
	_, err = InheritFields("p", parent, EventFields{{Name: "room", Type: TypeInt}})
	if err == nil || err.Error() != `fields.room.type: inherited field "room" is string in class "p": a subclass cannot change its type to int` {
		t.Errorf("InheritFields(type change) error = %v", err)
	}
}

// The event class example and the error example in CONFIG.md are real.
func TestDocEventClassExamples(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	sec := regexp.MustCompile("(?s)### `\\[\\[realms\\.event_classes\\]\\]`\n(.*?)\n## ").FindSubmatch(doc)
	if sec == nil {
		t.Fatal("CONFIG.md has no [[realms.event_classes]] section")
	}
	blocks := regexp.MustCompile("(?s)```(toml)?\n(.*?)```").FindAllSubmatch(sec[1], -1)
	if len(blocks) != 2 {
		t.Fatalf("want a TOML example and an error example in the section, found %d blocks", len(blocks))
	}
	c, err := Parse("gateway.toml", blocks[0][2])
	if err != nil {
		t.Fatalf("the example does not parse: %v", err)
	}
	if cs := c.Realms[0].EventClasses; len(cs) != 2 || cs[1].Extends != cs[0].Name || len(cs[0].Fields) != 6 {
		t.Errorf("example classes = %+v", cs)
	}
	// The errors come from the example with three mistakes.
	bad := strings.Replace(string(blocks[0][2]), `extends = "chat.message"`, `extends = "chat.mesage"`, 1)
	bad = strings.Replace(bad, `priority = { type = "enum", values = ["normal", "high"], required = true }`,
		`priority = { type = "string", required = true }`, 1)
	bad += "\n[[realms.event_classes]]\nname = \"a\"\ntopic = \"a\"\nextends = \"b\"\n[[realms.event_classes]]\nname = \"b\"\ntopic = \"b\"\nextends = \"a\"\n"
	_, err = Parse("gateway.toml", []byte(bad))
	if err == nil {
		t.Fatal("the broken example parses")
	}
	// An unknown parent stops the inheritance checks of that class: the type change shows on a
	// second run with the parent's name fixed.
	bad2 := strings.Replace(bad, `extends = "chat.mesage"`, `extends = "chat.message"`, 1)
	_, err2 := Parse("gateway.toml", []byte(bad2))
	if err2 == nil {
		t.Fatal("the broken example parses")
	}
	got := map[string]bool{}
	for _, l := range strings.Split(err.Error()+"\n"+err2.Error(), "\n") {
		got[l] = true
	}
	for _, l := range strings.Split(strings.TrimSpace(string(blocks[1][2])), "\n") {
		if !got[l] {
			t.Errorf("CONFIG.md shows %q; the gateway reports:\n%v\n%v", l, err, err2)
		}
	}
}

// A class may leave out everything it inherits, and the shipped example's classes load.
func TestExampleEventClasses(t *testing.T) {
	c, err := Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	cs := c.Realms[1].EventClasses
	if len(cs) != 2 || cs[1].Strict != nil || cs[1].Retention != nil {
		t.Fatalf("classes = %+v", cs)
	}
	if cs[0].Retention.MaxAge != 24*time.Hour {
		t.Errorf("retention = %+v", cs[0].Retention)
	}
}
