package router

import (
	"context"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/internal/peer"
	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

func TestWelcomeAnnouncesImplementedFeatures(t *testing.T) {
	r := newRouter(t)
	c := join(t, r)
	if !c.id.Valid() {
		t.Fatalf("session ID %d out of range", c.id)
	}
	d := c.welc.Details
	if d["authrole"] != "anonymous" || d["authmethod"] != "anonymous" {
		t.Fatalf("welcome details %v", d)
	}
	roles := d["roles"].(map[string]any)
	for role, want := range map[string][]string{"broker": brokerFeatures, "dealer": dealerFeatures} {
		f := roles[role].(map[string]any)["features"].(map[string]any)
		if len(f) != len(want) {
			t.Errorf("%s announces %d features, want %d: %v", role, len(f), len(want), f)
		}
		for _, k := range want {
			if f[k] != true {
				t.Errorf("%s does not announce %s", role, k)
			}
		}
	}
}

func TestAnonymousAuthIDIsNotClientChosen(t *testing.T) {
	r := newRouter(t)
	c := joinWith(t, r, codec.JSON, wamp.Dict{"roles": allClientRoles, "authid": "alice"})
	if c.welc.Details["authid"] == "alice" {
		t.Fatal("anonymous session got the authid it claimed; authid-based delivery could be spoofed")
	}
}

func TestHelloErrors(t *testing.T) {
	r := newRouter(t)
	cases := []struct {
		name   string
		msg    wamp.Message
		reason wamp.URI
	}{
		{"unknown realm", &wamp.Hello{Realm: "nope", Details: wamp.Dict{"roles": allClientRoles}}, wamp.ErrNoSuchRealm},
		{"no roles", &wamp.Hello{Realm: "realm1", Details: wamp.Dict{}}, wamp.ErrProtocolViolation},
		{"roles not a dict", &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": "all"}}, wamp.ErrProtocolViolation},
		{"unknown roles only", &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"juggler": wamp.Dict{}}}}, wamp.ErrProtocolViolation},
		{"authmethods not a list", &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": allClientRoles, "authmethods": "ticket"}}, wamp.ErrProtocolViolation},
		{"no usable authmethod", &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": allClientRoles, "authmethods": []any{"ticket"}}}, wamp.ErrNoAuthMethod},
		{"message before HELLO", &wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: "a.b"}, wamp.ErrProtocolViolation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, r, codec.JSON)
			c.send(tc.msg)
			c.expectAbort(tc.reason)
		})
	}
	// The router still serves new clients.
	join(t, r)
}

func TestSecondHelloIsProtocolViolation(t *testing.T) {
	r := newRouter(t)
	c := join(t, r)
	c.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": allClientRoles}})
	c.expectAbort(wamp.ErrProtocolViolation)
	if n := r.Realm("realm1").SessionCount(); n != 0 {
		t.Fatalf("aborted session still counted: %d", n)
	}
}

func TestUndecodableFrameIsProtocolViolation(t *testing.T) {
	r := newRouter(t)
	c := join(t, r)
	c.sess.Receive([]byte(`{"not":"an array"}`))
	c.expectAbort(wamp.ErrProtocolViolation)
}

func TestClientMayNotSendRouterMessages(t *testing.T) {
	r := newRouter(t)
	for _, m := range []wamp.Message{
		&wamp.Welcome{Session: 1, Details: wamp.Dict{}},
		&wamp.Event{Subscription: 1, Publication: 1, Details: wamp.Dict{}},
		&wamp.Result{Request: 1, Details: wamp.Dict{}},
		&wamp.Error{RequestType: wamp.CALL, Request: 1, Details: wamp.Dict{}, Error: "x.y"},
	} {
		c := join(t, r)
		c.send(m)
		c.expectAbort(wamp.ErrProtocolViolation)
	}
}

func TestMaxSessions(t *testing.T) {
	r := newRouter(t, RealmConfig{Name: "realm1", MaxSessions: 1})
	join(t, r)
	c := dial(t, r, codec.JSON)
	c.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": allClientRoles}})
	c.expectAbort(ErrLimitReached)
}

func TestHelloTimeoutClosesConnection(t *testing.T) {
	r, err := New(Config{Realms: []RealmConfig{{Name: "realm1"}}, HelloTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, r, codec.JSON)
	deadline := time.Now().Add(2 * time.Second)
	for !c.conn.isClosed() {
		if time.Now().After(deadline) {
			t.Fatal("connection without HELLO was not closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if c.conn.code != peer.ClosePolicy {
		t.Fatalf("close code %v", c.conn.code)
	}
}

func TestGoodbyeFromClient(t *testing.T) {
	r := newRouter(t)
	watcher := join(t, r)
	watcher.subscribe("wamp.session.on_leave", nil)
	c := join(t, r)
	c.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseNormal})
	g := recvAs[*wamp.Goodbye](c)
	if g.Reason != wamp.ErrGoodbyeAndOut {
		t.Fatalf("GOODBYE reason %s", g.Reason)
	}
	ev := recvAs[*wamp.Event](watcher)
	if id, _ := asID(ev.Args[0]); id != c.id {
		t.Fatalf("on_leave for %v, want %d", ev.Args, c.id)
	}
}

func TestShutdownSendsSystemShutdown(t *testing.T) {
	r := newRouter(t)
	a, b := join(t, r), join(t, r)
	pending := dial(t, r, codec.JSON) // no HELLO yet
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		done <- r.Shutdown(ctx)
	}()
	for _, c := range []*testClient{a, b} {
		g := recvAs[*wamp.Goodbye](c)
		if g.Reason != wamp.ErrSystemShutdown {
			t.Fatalf("GOODBYE reason %s", g.Reason)
		}
		c.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut})
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if !pending.conn.isClosed() {
		t.Fatal("connection without session not closed on shutdown")
	}
	// New connections are refused.
	late := dial(t, r, codec.JSON)
	if !late.conn.isClosed() {
		t.Fatal("connection accepted after shutdown")
	}
}

// A message that a session's reader was already handling when another session killed it must not
// leave a subscription, registration or call behind (the handler runs after detach).
func TestNoStateAddedAfterDetach(t *testing.T) {
	r := newRouter(t)
	callee := join(t, r)
	callee.register("p", nil)
	victim := join(t, r)
	s := victim.sess.(*Session)
	s.goodbye(wamp.ErrKilled, "")
	rl := r.Realm("realm1")
	rl.broker.subscribe(s, &wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: "late.topic"})
	rl.dealer.register(s, &wamp.Register{Request: 2, Options: wamp.Dict{}, Procedure: "late.proc"})
	rl.dealer.call(s, &wamp.Call{Request: 3, Options: wamp.Dict{}, Procedure: "p"})
	rl.broker.mu.RLock()
	nsubs := len(rl.broker.byID)
	rl.broker.mu.RUnlock()
	rl.dealer.mu.Lock()
	nregs, ncalls := len(rl.dealer.byID), len(rl.dealer.calls)
	rl.dealer.mu.Unlock()
	if nsubs != 0 || nregs != 1 || ncalls != 0 {
		t.Fatalf("after detach: %d subscriptions, %d registrations (want 1), %d calls", nsubs, nregs, ncalls)
	}
	callee.expectNothing()
}
