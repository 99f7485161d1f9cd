package config

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// defineRealm is a realm with roles and two classes, the context of the definitions below.
func defineRealm(t *testing.T) *Realm {
	t.Helper()
	c, err := Parse("g.toml", []byte(`
[[realms]]
name = "realm1"
[[realms.roles]]
name = "anonymous"
[[realms.roles]]
name = "member"

[[realms.event_classes]]
name = "chat.message"
topic = "chat.message"
fields = { room = { type = "string", required = true }, text = "string" }

[[realms.event_classes]]
name = "chat.message.private"
topic = "chat.message.private"
extends = "chat.message"
visibility = ["member"]
fields = { to = { type = "string", required = true } }
`))
	if err != nil {
		t.Fatal(err)
	}
	return &c.Realms[0]
}

// fromJSON decodes a definition as the web-app's request decoder does (numbers as json.Number).
func fromJSON(t *testing.T, src string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(src))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Both field forms, retention, visibility and inheritance decode to the same structures as the file.
func TestParseEventClassDecodes(t *testing.T) {
	r := defineRealm(t)
	_, err := ParseEventClass(r, fromJSON(t, `{
		"name": "chat.message.pinned", "topic": "chat.message.pinned", "extends": "chat.message",
		"fields": {"by": "string", "amount": 1.5e0}}`))
	if err == nil || !strings.Contains(err.Error(), `class.fields.amount: expected a type name`) {
		t.Fatalf("a number as field type: %v", err)
	}
	def := fromJSON(t, `{
		"name": "chat.message.pinned", "topic": "chat.message.pinned", "extends": "chat.message",
		"description": "A pinned message.", "strict": false, "visibility": ["member"],
		"retention": {"max_events": 100, "max_age": "1h"},
		"fields": {"by": {"type": "string", "required": true}, "prio": {"type": "enum", "values": ["low", "high"]},
		           "at": "timestamp", "tags": {"type": "list", "items": "string"}}}`)
	got, err := ParseEventClass(r, def)
	if err != nil {
		t.Fatal(err)
	}
	no := false
	want := EventClass{
		Name: "chat.message.pinned", Topic: "chat.message.pinned", Extends: "chat.message",
		Description: "A pinned message.", Strict: &no,
		Visibility: EventVisibility{Kind: VisibilityRoles, Roles: []string{"member"}},
		Retention:  &EventRetention{MaxEvents: 100, MaxAge: time.Hour},
		Fields: EventFields{ // in the order of their names: JSON objects have none
			{Name: "at", Type: TypeTimestamp},
			{Name: "by", Type: TypeString, Required: true},
			{Name: "prio", Type: TypeEnum, Values: []string{"low", "high"}},
			{Name: "tags", Type: TypeList, Items: &EventField{Type: TypeString}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	// Numbers also arrive as float64 and int64 (other decoders).
	def["retention"] = map[string]any{"max_events": float64(100), "max_age": "1h"}
	if got, err = ParseEventClass(r, def); err != nil || got.Retention.MaxEvents != 100 {
		t.Fatalf("float64 max_events: %+v, %v", got.Retention, err)
	}
	def["retention"] = map[string]any{"max_events": int64(100), "max_age": nil}
	if got, err = ParseEventClass(r, def); err != nil || got.Retention.MaxEvents != 100 || got.Retention.MaxAge != 0 {
		t.Fatalf("int64 max_events, null max_age: %+v, %v", got.Retention, err)
	}
}

// Invalid definitions are refused with the configuration's messages, naming the key under "class".
func TestParseEventClassRefuses(t *testing.T) {
	r := defineRealm(t)
	for _, tc := range []struct{ def, want string }{
		{`{"name": "pay", "topic": "pay", "fields": {"amount": "integer"}}`,
			`class.fields.amount: unknown type "integer" (did you mean "int"?)`},
		{`{"name": "pay", "topic": "pay", "fields": {"amount": {"type": "strng"}}}`,
			`class.fields.amount.type: unknown type "strng" (did you mean "string"?)`},
		{`{"name": "pay", "fields": {"amount": "int"}}`, `class: topic is required`},
		{`{"topic": "pay"}`, `class: name is required`},
		{`{"name": "pay", "topic": "chat.message"}`, `class.topic: topic "chat.message" is already the topic of class "chat.message"`},
		{`{"name": "pay", "topic": "pay", "extends": "chat.mesage"}`, `class.extends: unknown class "chat.mesage" (did you mean "chat.message"?)`},
		{`{"name": "pay", "topic": "pay", "visibility": ["staff"]}`, `class.visibility[0]: role "staff" is not defined in this realm's [[realms.roles]]`},
		{`{"name": "pay", "topic": "pay", "visibility": "everyone"}`, `class.visibility: invalid visibility "everyone"`},
		{`{"name": "pay", "topic": "pay", "colour": "red"}`, `class.colour: unknown key`},
		{`{"name": "pay", "topic": "pay", "strict": "yes"}`, `class.strict: expected true or false, got string "yes"`},
		{`{"name": "pay", "topic": "pay", "retention": {"max_events": 1.5}}`, `class.retention.max_events: expected an integer, got float 1.5`},
		{`{"name": "pay", "topic": "pay", "fields": {"e": "enum"}}`, `class.fields.e: an enum needs its values`},
		{`{"name": "pay", "topic": "pay", "fields": {"in": "int"}}`, `class.fields.in: invalid field name "in"`},
		{`{"name": "pay", "topic": "chat.message.pay"}`, `class.topic: topic "chat.message.pay" lies under the topic of class "chat.message"`},
		{`{"name": "pay", "topic": "wamp.pay"}`, `class.topic: invalid topic "wamp.pay"`},
		{`{"name": "pay", "topic": "pay", "extends": "pay"}`, `class.extends: a class cannot extend itself`},
		// Redefining a parent so that a subclass breaks is refused at the subclass.
		{`{"name": "chat.message", "topic": "chat.msg"}`,
			`event_classes."chat.message.private".topic: topic "chat.message.private" must continue the topic of parent class "chat.message"`},
		{`{"name": "chat.message.private", "topic": "chat.message.private", "extends": "chat.message", "fields": {"room": "int"}}`,
			`class.fields.room: inherited field "room" is string in class "chat.message": a subclass cannot change its type to int`},
	} {
		_, err := ParseEventClass(r, fromJSON(t, tc.def))
		var list *Errors
		if !errors.As(err, &list) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %s", tc.def, err, tc.want)
		}
	}
}

// A valid redefinition of an existing class is accepted: it replaces the class of the same name.
func TestParseEventClassReplaces(t *testing.T) {
	r := defineRealm(t)
	got, err := ParseEventClass(r, fromJSON(t, `{"name": "chat.message", "topic": "chat.message", "fields": {"room": {"type": "string", "required": true}, "lang": "string"}}`))
	if err != nil || len(got.Fields) != 2 || got.Fields[0].Name != "lang" {
		t.Fatalf("%+v, %v", got, err)
	}
	if err := ValidateEventClass(r, got); err != nil {
		t.Fatalf("ValidateEventClass of a parsed class: %v", err)
	}
	got.Fields[0].Type = "integer"
	if err := ValidateEventClass(r, got); err == nil || !strings.Contains(err.Error(), `class.fields.lang: unknown type "integer"`) {
		t.Fatalf("ValidateEventClass: %v", err)
	}
	// Without roles in the realm, any role may be listed (as in the file).
	open := *r
	open.Roles = nil
	if _, err := ParseEventClass(&open, fromJSON(t, `{"name": "x", "topic": "x", "visibility": ["anyone"]}`)); err != nil {
		t.Fatal(err)
	}
}

// Values a JSON decoder cannot produce and hostile nesting are refused without a panic.
func TestParseEventClassOddValues(t *testing.T) {
	r := defineRealm(t)
	if _, err := ParseEventClass(r, map[string]any{"name": "x", "topic": "x", "description": struct{}{}}); err == nil {
		t.Fatal("a struct value was accepted")
	}
	deep := map[string]any{"type": "string"}
	for range 200 {
		deep = map[string]any{"type": "object", "fields": map[string]any{"a": deep}}
	}
	_, err := ParseEventClass(r, map[string]any{"name": "x", "topic": "x", "fields": map[string]any{"a": deep}})
	if err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Fatalf("deep nesting: %v", err)
	}
	if _, err := ParseEventClass(r, map[string]any{"name": "x", "topic": "x", "fields": map[string]any{"a": []any{nil}}}); err == nil {
		t.Fatal("null in a list was accepted")
	}
}

// FuzzParseEventClass: no JSON definition crashes the decoder, and an accepted class passes
// ValidateEventClass.
func FuzzParseEventClass(f *testing.F) {
	for _, s := range []string{
		`{"name": "pay", "topic": "pay", "fields": {"amount": "int"}}`,
		`{"name": "chat.message.x", "topic": "chat.message.x", "extends": "chat.message", "fields": {"room": {"type": "string", "required": true}}}`,
		`{"name": "p", "topic": "p", "retention": {"max_events": 1e3, "max_age": "1h"}, "visibility": "authenticated"}`,
		`{"name": "p", "topic": "p", "fields": {"l": {"type": "list", "items": {"type": "object", "fields": {"a": "int"}}}}}`,
	} {
		f.Add(s)
	}
	var r Realm
	if c, err := Parse("g.toml", []byte("[[realms]]\nname = \"r\"\n[[realms.event_classes]]\nname = \"chat.message\"\ntopic = \"chat.message\"\nfields = { room = \"string\" }\n")); err == nil {
		r = c.Realms[0]
	} else {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src string) {
		dec := json.NewDecoder(strings.NewReader(src))
		dec.UseNumber()
		var m map[string]any
		if dec.Decode(&m) != nil {
			return
		}
		c, err := ParseEventClass(&r, m)
		if err != nil {
			return
		}
		if err := ValidateEventClass(&r, c); err != nil {
			t.Fatalf("parsed class fails ValidateEventClass: %v", err)
		}
	})
}
