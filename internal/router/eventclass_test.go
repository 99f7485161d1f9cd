package router

import (
	"strings"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/internal/auth"
	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/events"
	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

const classesTOML = `
[[realms]]
name = "realm1"
[realms.auth]
methods = ["ticket", "anonymous"]
[realms.auth.ticket]
accept = ["static"]
[[realms.auth.ticket.principals]]
authid = "alice"
role = "user"
secret = "alice-secret"

[[realms.event_classes]]
name = "chat.message"
topic = "com.example.chat.message"
[realms.event_classes.fields]
room = { type = "string", required = true }
priority = { type = "int" }

[[realms.event_classes]]
name = "chat.message.private"
topic = "com.example.chat.message.private"
extends = "chat.message"
visibility = "authenticated"
[realms.event_classes.fields]
recipient = { type = "string", required = true }
`

func classRouter(t *testing.T) *Router {
	t.Helper()
	cfg, err := config.Parse("test.toml", []byte(classesTOML))
	if err != nil {
		t.Fatal(err)
	}
	rc := &cfg.Realms[0]
	authz, err := auth.NewAuthorizer(rc.Roles, rc.StrictURIs)
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.NewAuthenticator(rc, authz, auth.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := events.NewRegistry(rc.EventClasses)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{Realms: []RealmConfig{{Name: "realm1", AllowDisclose: true, Authenticator: authn, Authorizer: authz, Events: reg}},
		HelloTimeout: time.Second, GoodbyeTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEventClassValidation(t *testing.T) {
	r := classRouter(t)
	c := joinWith(t, r, codec.JSON, wamp.Dict{"roles": allClientRoles})
	cases := []struct {
		kwargs wamp.Dict
		args   wamp.List
		want   string // part of the error message; "" means accepted
	}{
		{wamp.Dict{"room": "42", "priority": int64(3)}, nil, ""},
		{wamp.Dict{"priority": int64(3)}, nil, `missing required field "room"`},
		{wamp.Dict{"room": "42", "priority": "high"}, nil, `field "priority"`},
		{wamp.Dict{"room": "42", "colour": "red"}, nil, `unknown field "colour"`},
		{wamp.Dict{"room": "42"}, wamp.List{"x"}, "keyword arguments"},
	}
	for _, tc := range cases {
		req := c.publish("com.example.chat.message", wamp.Dict{"acknowledge": true}, tc.args, tc.kwargs)
		m := c.recv()
		if tc.want == "" {
			if _, ok := m.(*wamp.Published); !ok {
				t.Fatalf("%v: got %+v, want PUBLISHED", tc.kwargs, m)
			}
			continue
		}
		e, ok := m.(*wamp.Error)
		if !ok || e.Request != req || e.Error != wamp.ErrInvalidArgument {
			t.Fatalf("%v: got %+v, want invalid_argument", tc.kwargs, m)
		}
		if msg := e.Args[0].(string); !strings.Contains(msg, tc.want) || !strings.Contains(msg, "chat.message") {
			t.Fatalf("%v: message %q should name the class and contain %q", tc.kwargs, msg, tc.want)
		}
	}
	// Topics without a class are not checked.
	c.publish("com.example.other", wamp.Dict{"acknowledge": true}, wamp.List{1}, wamp.Dict{"anything": true})
	recvAs[*wamp.Published](c)
}

func TestEventClassVisibilityAndInheritance(t *testing.T) {
	r := classRouter(t)
	anon := joinWith(t, r, codec.JSON, wamp.Dict{"roles": allClientRoles})
	alice := login(t, r, "alice", "alice-secret")
	pub := login(t, r, "alice", "alice-secret")

	// Anonymous sessions cannot subscribe to an authenticated-only class.
	anon.send(&wamp.Subscribe{Request: anon.nextReq(), Options: wamp.Dict{}, Topic: "com.example.chat.message.private"})
	if e := recvAs[*wamp.Error](anon); e.Error != wamp.ErrNotAuthorized {
		t.Fatal(e)
	}
	// Both subscribe to the public parent class; a prefix subscription covers the subclass too.
	anonParent := anon.subscribe("com.example.chat.message", nil)
	anonPrefix := anon.subscribe("com.example.chat", wamp.Dict{"match": "prefix"})
	aliceParent := alice.subscribe("com.example.chat.message", nil)

	pub.publish("com.example.chat.message.private", nil, nil, wamp.Dict{"room": "42", "recipient": "bob"})
	ev := recvAs[*wamp.Event](alice)
	if ev.Subscription != aliceParent || ev.Details["topic"] != "com.example.chat.message.private" {
		t.Fatalf("parent-class subscriber got %+v", ev)
	}
	anon.expectNothing() // neither through the parent class nor through the prefix

	pub.publish("com.example.chat.message", nil, nil, wamp.Dict{"room": "42"})
	got := map[wamp.ID]bool{}
	for i := 0; i < 2; i++ {
		got[recvAs[*wamp.Event](anon).Subscription] = true
	}
	if !got[anonParent] || !got[anonPrefix] {
		t.Fatalf("public class event reached %v", got)
	}

	if ev := recvAs[*wamp.Event](alice); ev.Subscription != aliceParent {
		t.Fatal(ev)
	}
	// Filters on a class topic are type-checked against its fields and can select subclasses.
	alice.send(&wamp.Subscribe{Request: alice.nextReq(), Options: wamp.Dict{"x_filter": `priority == "high"`}, Topic: "com.example.chat.message"})
	if e := recvAs[*wamp.Error](alice); e.Error != wamp.ErrInvalidArgument {
		t.Fatalf("ill-typed filter: %+v", e)
	}
	onlyPrivate := alice.subscribe("com.example.chat.message", wamp.Dict{"x_filter": `_class == "chat.message.private"`})
	alice.drain()
	pub.publish("com.example.chat.message", nil, nil, wamp.Dict{"room": "1"})
	pub.publish("com.example.chat.message.private", nil, nil, wamp.Dict{"room": "2", "recipient": "x"})
	ids := map[wamp.ID]int{}
	for i := 0; i < 3; i++ {
		ids[recvAs[*wamp.Event](alice).Subscription]++
	}
	if ids[onlyPrivate] != 1 || ids[aliceParent] != 2 {
		t.Fatalf("events per subscription %v", ids)
	}
}

func TestEventClassDiscovery(t *testing.T) {
	r := classRouter(t)
	anon := joinWith(t, r, codec.JSON, wamp.Dict{"roles": allClientRoles})
	alice := login(t, r, "alice", "alice-secret")
	if l := anon.callResult("gateway.event.list", nil, nil).Args[0].([]any); len(l) != 1 {
		t.Fatalf("anonymous sees %v", l)
	}
	if l := alice.callResult("gateway.event.list", nil, nil).Args[0].([]any); len(l) != 2 {
		t.Fatalf("alice sees %v", l)
	}
	d := alice.callResult("gateway.event.describe", wamp.List{"chat.message.private"}, nil).Args[0].(map[string]any)
	if d["topic"] != "com.example.chat.message.private" || d["extends"] != "chat.message" {
		t.Fatalf("describe %v", d)
	}
	anon.callError("gateway.event.describe", nil, wamp.List{"chat.message.private"}, wamp.ErrInvalidArgument)
}
