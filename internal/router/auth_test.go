package router

import (
	"testing"
	"time"

	"github.com/gateway-dev/gateway/internal/auth"
	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/store"
	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

const authRealmTOML = `
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
[[realms.auth.ticket.principals]]
authid = "svc"
role = "backend"
secret = "svc-secret"

[[realms.roles]]
name = "anonymous"
[[realms.roles.permissions]]
uri = "com.example.public."
match = "prefix"
allow = ["subscribe"]

[[realms.roles]]
name = "user"
[[realms.roles.permissions]]
uri = "com.example."
match = "prefix"
allow = ["subscribe", "call"]
disclose_caller = true
[[realms.roles.permissions]]
uri = "com.example.chat."
match = "prefix"
allow = ["subscribe", "publish"]
disclose_publisher = true

[[realms.roles]]
name = "backend"
[[realms.roles.permissions]]
uri = ""
match = "prefix"
allow = ["publish", "subscribe", "call", "register"]
`

// authRouter builds a router whose realm1 authenticates with tickets and authorizes by roles, and
// issues client tokens from a store in a temporary directory.
func authRouter(t *testing.T) *Router {
	t.Helper()
	cfg, err := config.Parse("test.toml", []byte(authRealmTOML))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tokens := auth.NewTokens(st, cfg.ClientToken)
	rc := &cfg.Realms[0]
	authz, err := auth.NewAuthorizer(rc.Roles, rc.StrictURIs)
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.NewAuthenticator(rc, authz, auth.Deps{Store: st, Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{
		Realms:       []RealmConfig{{Name: "realm1", AllowDisclose: true, Authenticator: authn, Authorizer: authz}},
		HelloTimeout: time.Second, GoodbyeTimeout: 200 * time.Millisecond, Tokens: tokens,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// login joins with a ticket.
func login(t *testing.T, r *Router, authid, ticket string) *testClient {
	t.Helper()
	c := dial(t, r, codec.JSON)
	c.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": allClientRoles, "authmethods": []any{"ticket"}, "authid": authid}})
	ch := recvAs[*wamp.Challenge](c)
	if ch.AuthMethod != "ticket" {
		t.Fatalf("CHALLENGE %+v", ch)
	}
	c.send(&wamp.Authenticate{Signature: ticket, Extra: wamp.Dict{}})
	w := recvAs[*wamp.Welcome](c)
	c.id, c.welc = w.Session, w
	return c
}

func TestTicketAuthentication(t *testing.T) {
	r := authRouter(t)
	alice := login(t, r, "alice", "alice-secret")
	d := alice.welc.Details
	if d["authid"] != "alice" || d["authrole"] != "user" || d["authmethod"] != "ticket" {
		t.Fatalf("WELCOME %v", d)
	}
	extra := d["authextra"].(map[string]any)
	if tok, _ := extra["client_token"].(string); len(tok) < 22 {
		t.Fatalf("no client token in WELCOME: %v", extra)
	}

	bad := dial(t, r, codec.JSON)
	bad.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": allClientRoles, "authmethods": []any{"ticket"}, "authid": "alice"}})
	recvAs[*wamp.Challenge](bad)
	bad.send(&wamp.Authenticate{Signature: "wrong", Extra: wamp.Dict{}})
	bad.expectAbort(wamp.ErrAuthenticationFailed)

	none := dial(t, r, codec.JSON)
	none.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": allClientRoles, "authmethods": []any{"cryptosign"}}})
	none.expectAbort(wamp.ErrNoAuthMethod)

	early := dial(t, r, codec.JSON)
	early.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": allClientRoles, "authmethods": []any{"ticket"}, "authid": "alice"}})
	recvAs[*wamp.Challenge](early)
	early.send(&wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: "com.example.chat.x"})
	early.expectAbort(wamp.ErrProtocolViolation)
}

func TestAuthorizationByRole(t *testing.T) {
	r := authRouter(t)
	alice := login(t, r, "alice", "alice-secret")
	svc := login(t, r, "svc", "svc-secret")
	anon := joinWith(t, r, codec.JSON, wamp.Dict{"roles": allClientRoles})
	if anon.welc.Details["authrole"] != "anonymous" {
		t.Fatalf("anonymous WELCOME %v", anon.welc.Details)
	}
	deny := func(c *testClient, m wamp.Message, reqType wamp.MessageType) {
		t.Helper()
		c.send(m)
		e := recvAs[*wamp.Error](c)
		if e.Error != wamp.ErrNotAuthorized || e.RequestType != reqType {
			t.Fatalf("%s: got %+v, want not_authorized", reqType, e)
		}
	}
	// anonymous: public events only
	anon.subscribe("com.example.public.news", nil)
	deny(anon, &wamp.Subscribe{Request: 90, Options: wamp.Dict{}, Topic: "com.example.private"}, wamp.SUBSCRIBE)
	deny(anon, &wamp.Publish{Request: 91, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.public.news"}, wamp.PUBLISH)
	deny(anon, &wamp.Call{Request: 92, Options: wamp.Dict{}, Procedure: "wamp.session.count"}, wamp.CALL)
	// user: subscribe and call under com.example., publish in chat; no register
	alice.subscribe("com.example.private", nil)
	alice.subscribe("com.example.news", wamp.Dict{"match": "prefix"}) // the pattern itself is checked
	deny(alice, &wamp.Subscribe{Request: 96, Options: wamp.Dict{"match": "prefix"}, Topic: "com"}, wamp.SUBSCRIBE)
	deny(alice, &wamp.Publish{Request: 93, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.private"}, wamp.PUBLISH)
	deny(alice, &wamp.Register{Request: 94, Options: wamp.Dict{}, Procedure: "com.example.proc"}, wamp.REGISTER)
	deny(alice, &wamp.Subscribe{Request: 95, Options: wamp.Dict{}, Topic: "org.other"}, wamp.SUBSCRIBE)
	// backend: everything, callers disclosed
	svc.register("com.example.proc", nil)
	alice.call("com.example.proc", nil, nil, nil)
	inv := svc.answer(nil)
	if inv.Details["caller_authid"] != "alice" {
		t.Fatalf("disclose_caller from the role: %v", inv.Details)
	}
	recvAs[*wamp.Result](alice)
	// chat publications are disclosed by the user role's permission
	svc.subscribe("com.example.chat.room1", nil)
	alice.publish("com.example.chat.room1", nil, wamp.List{"hi"}, nil)
	ev := recvAs[*wamp.Event](svc)
	if ev.Details["publisher_authid"] != "alice" {
		t.Fatalf("disclose_publisher from the role: %v", ev.Details)
	}
	// per-user private delivery: eligible_authid
	alice2 := login(t, r, "alice", "alice-secret")
	alice2.subscribe("com.example.user.notify", nil)
	alice.subscribe("com.example.user.notify", nil)
	svc.subscribe("com.example.user.notify", nil)
	svc.publish("com.example.user.notify", wamp.Dict{"eligible_authid": []any{"alice"}, "exclude_me": false}, wamp.List{"for alice"}, nil)
	for _, c := range []*testClient{alice, alice2} {
		if ev := recvAs[*wamp.Event](c); ev.Args[0] != "for alice" {
			t.Fatal(ev)
		}
	}
	svc.expectNothing()
}

func TestClientTokenRecognisedAndNotExposed(t *testing.T) {
	r := authRouter(t)
	first := joinWith(t, r, codec.JSON, wamp.Dict{"roles": allClientRoles})
	extra := first.welc.Details["authextra"].(map[string]any)
	tok, id := extra["client_token"].(string), extra["client_id"].(string)
	again := joinWith(t, r, codec.JSON, wamp.Dict{"roles": allClientRoles, "authextra": wamp.Dict{"client_token": tok}})
	extra2 := again.welc.Details["authextra"].(map[string]any)
	if extra2["client_id"] != id || extra2["client_token"] != tok {
		t.Fatalf("token not recognised: %v vs %s/%s", extra2, tok, id)
	}
	tampered := joinWith(t, r, codec.JSON, wamp.Dict{"roles": allClientRoles, "authextra": wamp.Dict{"client_token": tok[:len(tok)-2] + "xx"}})
	if extra3 := tampered.welc.Details["authextra"].(map[string]any); extra3["client_id"] == id || extra3["client_token"] == tok {
		t.Fatalf("tampered token accepted: %v", extra3)
	}
	// Another session cannot read the token through the meta API (backend may call it).
	svc := login(t, r, "svc", "svc-secret")
	info := svc.callResult("wamp.session.get", wamp.List{first.id}, nil).Args[0].(map[string]any)
	if info["client_id"] != id {
		t.Fatalf("session details lack the client id: %v", info)
	}
	if ae, _ := info["authextra"].(map[string]any); ae != nil && ae["client_token"] != nil {
		t.Fatalf("client token exposed through wamp.session.get: %v", info)
	}
}

func TestTokenRevocation(t *testing.T) {
	r := authRouter(t)
	svc := login(t, r, "svc", "svc-secret")
	alice := login(t, r, "alice", "alice-secret")
	tok := alice.welc.Details["authextra"].(map[string]any)["client_token"].(string)
	id := alice.welc.Details["authextra"].(map[string]any)["client_id"]

	// A user may not revoke tokens; the backend role may.
	alice.callError("gateway.token.revoke", nil, wamp.List{tok}, wamp.ErrNotAuthorized)
	svc.callResult("gateway.token.revoke", wamp.List{tok}, nil)
	again := joinWith(t, r, codec.JSON, wamp.Dict{"roles": allClientRoles, "authextra": wamp.Dict{"client_token": tok}})
	if extra := again.welc.Details["authextra"].(map[string]any); extra["client_token"] == tok || extra["client_id"] == id {
		t.Fatalf("revoked token still recognised: %v", extra)
	}
	if n := svc.callResult("gateway.token.revoke_authid", wamp.List{"nobody"}, nil).Args[0]; n != int64(0) {
		t.Fatalf("revoke_authid of an unknown authid: %v", n)
	}
	svc.callError("gateway.token.revoke", nil, nil, wamp.ErrInvalidArgument)
}

func TestAuthenticateMustArriveWithinTheHelloTimeout(t *testing.T) {
	r := authRouter(t)
	r.cfg.HelloTimeout = 50 * time.Millisecond
	c := dial(t, r, codec.JSON)
	c.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": allClientRoles, "authmethods": []any{"ticket"}, "authid": "alice"}})
	recvAs[*wamp.Challenge](c)
	deadline := time.Now().Add(2 * time.Second)
	for !c.conn.isClosed() {
		if time.Now().After(deadline) {
			t.Fatal("a client that never answers the CHALLENGE was not closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
