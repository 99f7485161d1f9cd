package events

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/query"
	"github.com/gateway-dev/gateway/wamp"
)

func TestRegistryLookups(t *testing.T) {
	r := registry(t, chatClasses)
	c := r.ByTopic("com.example.chat.message.private")
	if c == nil || c.Name() != "chat.message.private" || r.ByName("chat.message.private") != c {
		t.Fatalf("ByTopic/ByName disagree: %v", c)
	}
	if r.ByTopic("com.example.chat") != nil || r.ByTopic("com.example.chat.message.other") != nil || r.ByTopic("chat.message") != nil {
		t.Error("ByTopic must match exact topics only")
	}
	if r.ByName("com.example.chat.message") != nil {
		t.Error("ByName found a class by its topic")
	}
	var names []string
	for _, c := range r.List() {
		names = append(names, c.Name())
	}
	want := []string{"chat.message", "chat.message.private", "chat.message.private.staff", "presence"}
	if !reflect.DeepEqual(names, want) || r.Len() != 4 {
		t.Errorf("List = %v, want %v", names, want)
	}

	var empty *Registry
	if empty.ByTopic("x") != nil || empty.ByName("x") != nil || empty.List() != nil || empty.Len() != 0 ||
		empty.Describe("x") != nil || empty.IsA("x", "x") {
		t.Error("a nil Registry must behave as one without classes")
	}
	none, err := NewRegistry(nil)
	if err != nil || none.Len() != 0 || none.ByTopic("x") != nil {
		t.Errorf("NewRegistry(nil) = %v, %v", none, err)
	}
}

func fieldNames(fs config.EventFields) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

// A subclass has its parent's fields (first, in order, narrowed where redeclared) and its own;
// strict, visibility and retention are inherited unless set.
func TestInheritance(t *testing.T) {
	r := registry(t, chatClasses)
	msg, priv, staff := r.ByName("chat.message"), r.ByName("chat.message.private"), r.ByName("chat.message.private.staff")

	want := []string{"room", "text", "sent_at", "priority", "score", "count", "pinned", "tags", "author", "attachments", "recipient"}
	if got := fieldNames(priv.Fields()); !reflect.DeepEqual(got, want) {
		t.Errorf("private fields = %v, want %v", got, want)
	}
	if got := fieldNames(staff.Fields()); !reflect.DeepEqual(got, want) {
		t.Errorf("staff fields = %v, want %v", got, want)
	}
	p := priv.Fields()[3]
	if !p.Required || !reflect.DeepEqual(p.Values, []string{"normal", "high"}) {
		t.Errorf("narrowed priority = %+v", p)
	}
	if m := msg.Fields()[3]; m.Required || len(m.Values) != 3 {
		t.Errorf("the parent's priority changed: %+v", m)
	}
	if priv.Fields()[0].Description != "room id" {
		t.Error("the inherited description is lost")
	}

	if !msg.Strict() || !priv.Strict() || staff.Strict() {
		t.Errorf("strict = %v %v %v, want true true false", msg.Strict(), priv.Strict(), staff.Strict())
	}
	if priv.Retention() != (config.EventRetention{MaxEvents: 1000, MaxAge: 24 * time.Hour}) || staff.Retention() != priv.Retention() {
		t.Errorf("retention not inherited: %+v %+v", priv.Retention(), staff.Retention())
	}
	if r.ByName("presence").Retention().Retained() {
		t.Error("a root class without retention keeps history")
	}
	if v := priv.Visibility(); v.Kind != config.VisibilityAuthenticated {
		t.Errorf("private visibility = %+v", v)
	}
	if v := r.ByName("presence").Visibility(); v.Kind != config.VisibilityPublic {
		t.Errorf("default visibility = %+v", v)
	}

	if staff.Parent() != priv || priv.Parent() != msg || msg.Parent() != nil {
		t.Error("Parent is wrong")
	}
	if a := staff.Ancestors(); len(a) != 2 || a[0] != priv || a[1] != msg {
		t.Errorf("Ancestors = %v", a)
	}
	if s := msg.Subclasses(); len(s) != 1 || s[0] != priv {
		t.Errorf("Subclasses = %v", s)
	}
	for _, tt := range []struct {
		class, ancestor string
		want            bool
	}{
		{"chat.message", "chat.message", true},
		{"chat.message.private", "chat.message", true},
		{"chat.message.private.staff", "chat.message", true},
		{"chat.message", "chat.message.private", false},
		{"presence", "chat.message", false},
		{"chat.message", "nope", false},
		{"nope", "nope", false},
	} {
		if got := r.IsA(tt.class, tt.ancestor); got != tt.want {
			t.Errorf("IsA(%s, %s) = %v", tt.class, tt.ancestor, got)
		}
	}
	// The subclass's validation uses the merged fields: it needs recipient and the narrowed
	// priority, and refuses the value only its parent allows.
	ev := validMessage()
	if err := msg.Validate(nil, ev); err != nil {
		t.Fatal(err)
	}
	if err := priv.Validate(nil, ev); err == nil || err.Error() != `missing required field "recipient"` {
		t.Errorf("private without recipient: %v", err)
	}
	ev["recipient"] = "bob"
	ev["priority"] = "low"
	if err := priv.Validate(nil, ev); err == nil || err.Error() != `field "priority": string "low" is not one of "normal", "high"` {
		t.Errorf("private with a parent-only enum value: %v", err)
	}
	ev["priority"] = "high"
	ev["extra"] = 1
	if err := priv.Validate(nil, ev); err == nil || err.Error() != `unknown field "extra"` {
		t.Errorf("private with an extra field: %v", err)
	}
	if err := staff.Validate(nil, ev); err != nil {
		t.Errorf("staff (not strict) with an extra field: %v", err)
	}
}

func TestVisible(t *testing.T) {
	r := registry(t, chatClasses)
	type session struct {
		role string
		auth bool
	}
	sessions := []session{{"anonymous", false}, {"user", true}, {"staff", true}, {"staff", false}, {"admin", true}}
	tests := []struct {
		class string
		want  []bool // per session above
	}{
		{"chat.message", []bool{true, true, true, true, true}},
		{"chat.message.private", []bool{false, true, true, false, true}},
		{"chat.message.private.staff", []bool{false, false, true, true, true}},
	}
	for _, tt := range tests {
		c := r.ByName(tt.class)
		for i, s := range sessions {
			if got := c.Visible(s.role, s.auth); got != tt.want[i] {
				t.Errorf("%s.Visible(%q, %v) = %v", tt.class, s.role, s.auth, got)
			}
		}
	}
}

func TestVisibleWherever(t *testing.T) {
	classes := []config.EventClass{
		{Name: "pub", Topic: "pub"},
		{Name: "auth", Topic: "auth", Visibility: config.EventVisibility{Kind: config.VisibilityAuthenticated}},
		{Name: "ab", Topic: "ab", Visibility: config.EventVisibility{Kind: config.VisibilityRoles, Roles: []string{"a", "b"}}},
		{Name: "a", Topic: "a", Visibility: config.EventVisibility{Kind: config.VisibilityRoles, Roles: []string{"a"}}},
	}
	r, err := NewRegistry(classes)
	if err != nil {
		t.Fatal(err)
	}
	// want[c][a]: every session that sees a also sees c.
	want := map[string]map[string]bool{
		"pub":  {"pub": true, "auth": true, "ab": true, "a": true},
		"auth": {"pub": false, "auth": true, "ab": false, "a": false}, // anonymous sessions may have role a
		"ab":   {"pub": false, "auth": false, "ab": true, "a": true},
		"a":    {"pub": false, "auth": false, "ab": false, "a": true},
	}
	for c, row := range want {
		for a, w := range row {
			if got := r.ByName(c).VisibleWherever(r.ByName(a)); got != w {
				t.Errorf("%s.VisibleWherever(%s) = %v, want %v", c, a, got, w)
			}
		}
	}
}

func TestDescribe(t *testing.T) {
	r := registry(t, chatClasses)
	got := r.Describe("chat.message.private")
	str := func(name string, req bool) wamp.Dict {
		return wamp.Dict{"name": name, "type": "string", "required": req}
	}
	want := wamp.Dict{
		"name":        "chat.message.private",
		"topic":       "com.example.chat.message.private",
		"extends":     "chat.message",
		"ancestors":   wamp.List{"chat.message"},
		"subclasses":  wamp.List{"chat.message.private.staff"},
		"strict":      true,
		"visibility":  "authenticated",
		"retention":   wamp.Dict{"max_events": int64(1000), "max_age": int64(86400)},
		"description": nil, // removed below: the class has none
		"fields": wamp.List{
			wamp.Dict{"name": "room", "type": "string", "required": true, "description": "room id"},
			str("text", true),
			wamp.Dict{"name": "sent_at", "type": "timestamp", "required": true},
			wamp.Dict{"name": "priority", "type": "enum", "required": true, "values": wamp.List{"normal", "high"}},
			wamp.Dict{"name": "score", "type": "float", "required": false},
			wamp.Dict{"name": "count", "type": "int", "required": false},
			wamp.Dict{"name": "pinned", "type": "bool", "required": false},
			wamp.Dict{"name": "tags", "type": "list", "required": false, "items": wamp.Dict{"type": "string"}},
			wamp.Dict{"name": "author", "type": "object", "required": true, "fields": wamp.List{
				wamp.Dict{"name": "id", "type": "int", "required": false},
				str("name", true),
			}},
			wamp.Dict{"name": "attachments", "type": "list", "required": false, "items": wamp.Dict{"type": "object", "fields": wamp.List{
				str("url", true),
				wamp.Dict{"name": "size", "type": "int", "required": false},
			}}},
			str("recipient", true),
		},
	}
	delete(want, "description")
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.MarshalIndent(got, "", "  ")
		t.Errorf("Describe =\n%s", gj)
	}
	if _, err := json.Marshal(got); err != nil {
		t.Errorf("the description is not JSON-friendly: %v", err)
	}
	staff := r.Describe("chat.message.private.staff")
	if staff["visibility"] != "roles" || !reflect.DeepEqual(staff["roles"], wamp.List{"staff", "admin"}) || staff["strict"] != false {
		t.Errorf("staff description = %v", staff)
	}
	if _, ok := r.Describe("presence")["retention"]; ok {
		t.Error("a class without history describes a retention")
	}
	// Each call builds a new description.
	got["name"] = "changed"
	got["fields"].(wamp.List)[0].(wamp.Dict)["name"] = "changed"
	if again := r.Describe("chat.message.private"); again["name"] != "chat.message.private" || !reflect.DeepEqual(again, want) {
		t.Error("changing a description changed the class")
	}
	if r.Describe("nope") != nil {
		t.Error("Describe of an unknown class is not nil")
	}

	sum := r.ByName("chat.message").Summary()
	wantSum := wamp.Dict{"name": "chat.message", "topic": "com.example.chat.message", "description": "A message posted to a chat room."}
	if !reflect.DeepEqual(sum, wantSum) {
		t.Errorf("Summary = %v", sum)
	}
	if s := r.ByName("chat.message.private").Summary(); s["extends"] != "chat.message" || len(s) != 3 {
		t.Errorf("Summary = %v", s)
	}
}

// Schema lets the filter compiler type-check filters against the class's fields.
func TestSchema(t *testing.T) {
	r := registry(t, chatClasses)
	c := r.ByName("chat.message.private")
	ok := []string{
		`room == "room-42" && author.name == "Ann"`,
		`sent_at > 1700000000 && priority in ["high"]`,
		`score >= 0.5 || count < 3 || pinned`,
		`has(tags) && has(author.id) && recipient.startsWith("b")`,
		`has(attachments)`,
	}
	for _, src := range ok {
		f, err := query.Compile(src, c.Schema())
		if err != nil {
			t.Errorf("Compile(%s): %v", src, err)
			continue
		}
		ev := validMessage()
		ev["recipient"] = "bob"
		if !f.Eval(ev, query.Meta{}) {
			t.Errorf("%s does not match the valid message", src)
		}
	}
	bad := []string{
		`priority > 3`,       // enum is a string
		`sent_at == "today"`, // timestamp is an integer
		`colour == "red"`,    // not a field
		`room == 1`,          // string
		`recipient == "b" && pinned == "yes"`,
	}
	for _, src := range bad {
		if _, err := query.Compile(src, c.Schema()); err == nil {
			t.Errorf("Compile(%s) succeeded against the schema", src)
		}
	}
	// The parent's schema does not know the subclass's fields.
	if _, err := query.Compile(`recipient == "b"`, r.ByName("chat.message").Schema()); err == nil {
		t.Error("the parent's schema accepts a subclass field")
	}
}

func TestNewRegistryErrors(t *testing.T) {
	str := config.EventFields{{Name: "x", Type: config.TypeString}}
	tests := []struct {
		name    string
		classes []config.EventClass
		want    string
	}{
		{"no name", []config.EventClass{{Topic: "a"}}, `events: class 0 has no name`},
		{"no topic", []config.EventClass{{Name: "a"}}, `events: class "a" has no topic`},
		{"duplicate name", []config.EventClass{{Name: "a", Topic: "a"}, {Name: "a", Topic: "b"}}, `events: duplicate class name "a"`},
		{"duplicate topic", []config.EventClass{{Name: "a", Topic: "a"}, {Name: "b", Topic: "a"}}, `events: classes "a" and "b" have the same topic "a"`},
		{"unknown parent", []config.EventClass{{Name: "a", Topic: "a", Extends: "b"}}, `events: class "a" extends unknown class "b"`},
		{"cycle", []config.EventClass{{Name: "a", Topic: "a", Extends: "b"}, {Name: "b", Topic: "b", Extends: "a"}},
			`events: inheritance cycle: "a" extends "b" extends "a"`},
		{"self", []config.EventClass{{Name: "a", Topic: "a", Extends: "a"}}, `events: inheritance cycle: "a" extends "a"`},
		{"topic not under parent", []config.EventClass{{Name: "a", Topic: "a"}, {Name: "b", Topic: "b", Extends: "a"}},
			`events: class "b": topic "b" must continue the topic of its parent "a" ("a") and lie under no other class's topic`},
		{"topic under another class", []config.EventClass{{Name: "a", Topic: "a"}, {Name: "b", Topic: "a.b"}},
			`events: class "b": topic "a.b" lies under the topic of class "a", which it does not extend`},
		{"type change", []config.EventClass{{Name: "a", Topic: "a", Fields: str}, {Name: "b", Topic: "a.b", Extends: "a",
			Fields: config.EventFields{{Name: "x", Type: config.TypeInt}}}},
			`events: class "b": fields.x.type: inherited field "x" is string in class "a": a subclass cannot change its type to int`},
		{"unknown type", []config.EventClass{{Name: "a", Topic: "a", Fields: config.EventFields{{Name: "x", Type: "integer"}}}},
			`events: class "a": field "x": unknown type "integer"`},
		{"enum without values", []config.EventClass{{Name: "a", Topic: "a", Fields: config.EventFields{{Name: "x", Type: config.TypeEnum}}}},
			`events: class "a": field "x": an enum without values`},
		{"list without items", []config.EventClass{{Name: "a", Topic: "a", Fields: config.EventFields{{Name: "x", Type: config.TypeList}}}},
			`events: class "a": field "x": a list without items`},
		{"object without fields", []config.EventClass{{Name: "a", Topic: "a", Fields: config.EventFields{{Name: "x", Type: config.TypeObject}}}},
			`events: class "a": field "x": an object without fields`},
		{"duplicate field", []config.EventClass{{Name: "a", Topic: "a", Fields: append(str, str...)}},
			`events: class "a": field "x": empty or duplicate name`},
		{"no roles", []config.EventClass{{Name: "a", Topic: "a", Visibility: config.EventVisibility{Kind: config.VisibilityRoles}}},
			`events: class "a": visibility: an empty list of roles`},
		{"bad visibility", []config.EventClass{{Name: "a", Topic: "a", Visibility: config.EventVisibility{Kind: "secret"}}},
			`events: class "a": invalid visibility "secret"`},
		{"field name not an identifier", []config.EventClass{{Name: "a", Topic: "a", Fields: config.EventFields{{Name: "a-b", Type: config.TypeInt}}}},
			`events: class "a": query: schema field "a-b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRegistry(tt.classes)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("NewRegistry = %v, %v; want error %q", r, err, tt.want)
			}
		})
	}
}

// The classes of the shipped example build a registry.
func TestExampleRegistry(t *testing.T) {
	c, err := config.Load("../../docs/examples/gateway.toml")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, realm := range c.Realms {
		r, err := NewRegistry(realm.EventClasses)
		if err != nil {
			t.Fatalf("realm %s: %v", realm.Name, err)
		}
		n += r.Len()
	}
	if n == 0 {
		t.Error("the example defines no event classes")
	}
}
