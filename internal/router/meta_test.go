package router

import (
	"testing"

	"github.com/gateway-dev/gateway/wamp"
)

func TestSessionMetaProcedures(t *testing.T) {
	r := newRouter(t)
	a, b := join(t, r), join(t, r)
	if n := a.callResult("wamp.session.count", nil, nil).Args[0]; n != int64(2) {
		t.Fatalf("count %v", n)
	}
	if n := a.callResult("wamp.session.count", wamp.List{[]any{"admin"}}, nil).Args[0]; n != int64(0) {
		t.Fatalf("count with role filter %v", n)
	}
	ids := a.callResult("wamp.session.list", nil, nil).Args[0].([]any)
	if len(ids) != 2 {
		t.Fatalf("list %v", ids)
	}
	info := a.callResult("wamp.session.get", wamp.List{b.id}, nil).Args[0].(map[string]any)
	if id, _ := asID(info["session"]); id != b.id || info["authrole"] != "anonymous" || info["authmethod"] != "anonymous" {
		t.Fatalf("get %v", info)
	}
	tr := info["transport"].(map[string]any)
	if tr["type"] != "websocket" || tr["serializer"] != "json" {
		t.Fatalf("transport %v", tr)
	}
	a.callError("wamp.session.get", nil, wamp.List{int64(12345)}, wamp.ErrNoSuchSession)
	a.callError("wamp.session.get", nil, wamp.List{"x"}, wamp.ErrInvalidArgument)
}

func TestSessionKill(t *testing.T) {
	r := newRouter(t)
	admin, victim := join(t, r), join(t, r)
	admin.callError("wamp.session.kill", nil, wamp.List{admin.id}, wamp.ErrNoSuchSession)
	req := admin.nextReq()
	admin.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "wamp.session.kill", Args: wamp.List{victim.id},
		Kwargs: wamp.Dict{"reason": "com.example.bye", "message": "go away"}})
	recvAs[*wamp.Result](admin)
	g := recvAs[*wamp.Goodbye](victim)
	if g.Reason != "com.example.bye" || g.Details["message"] != "go away" {
		t.Fatalf("GOODBYE %+v", g)
	}
	victim.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut})
	if n := admin.callResult("wamp.session.count", nil, nil).Args[0]; n != int64(1) {
		t.Fatalf("count after kill %v", n)
	}
	admin.callError("wamp.session.kill", nil, wamp.List{victim.id}, wamp.ErrNoSuchSession)
}

func TestSessionKillByAuthIDRoleAll(t *testing.T) {
	r := newRouter(t)
	admin := join(t, r)
	others := []*testClient{join(t, r), join(t, r), join(t, r)}
	target := others[0].welc.Details["authid"].(string)
	killed := admin.callResult("wamp.session.kill_by_authid", wamp.List{target}, nil).Args[0].([]any)
	if len(killed) != 1 {
		t.Fatalf("kill_by_authid %v", killed)
	}
	if g := recvAs[*wamp.Goodbye](others[0]); g.Reason != wamp.ErrKilled {
		t.Fatal(g)
	}
	n := admin.callResult("wamp.session.kill_by_authrole", wamp.List{"anonymous"}, nil).Args[0]
	if n != int64(2) { // the caller itself is spared
		t.Fatalf("kill_by_authrole %v", n)
	}
	for _, o := range others[1:] {
		recvAs[*wamp.Goodbye](o)
	}
	if n := admin.callResult("wamp.session.kill_all", nil, nil).Args[0]; n != int64(0) {
		t.Fatalf("kill_all %v", n)
	}
	req := admin.nextReq()
	admin.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "wamp.session.kill_all", Kwargs: wamp.Dict{"reason": "not a uri!"}})
	if e := recvAs[*wamp.Error](admin); e.Error != wamp.ErrInvalidURI {
		t.Fatal(e)
	}
}

func TestSessionMetaEvents(t *testing.T) {
	r := newRouter(t)
	w := join(t, r)
	w.subscribe("wamp.session.on_join", nil)
	w.subscribe("wamp.session.on_leave", nil)
	c := join(t, r)
	ev := recvAs[*wamp.Event](w)
	info := ev.Args[0].(map[string]any)
	if id, _ := asID(info["session"]); id != c.id {
		t.Fatalf("on_join %v", info)
	}
	c.conn.Close(0, "")
	ev = recvAs[*wamp.Event](w)
	if id, _ := asID(ev.Args[0]); id != c.id || ev.Args[2] != "anonymous" {
		t.Fatalf("on_leave %v", ev.Args)
	}
}

func TestSubscriptionMeta(t *testing.T) {
	r := newRouter(t)
	w := join(t, r)
	for _, topic := range []wamp.URI{"wamp.subscription.on_create", "wamp.subscription.on_subscribe", "wamp.subscription.on_unsubscribe", "wamp.subscription.on_delete"} {
		w.send(&wamp.Subscribe{Request: w.nextReq(), Options: wamp.Dict{}, Topic: topic})
	}
	w.drain() // SUBSCRIBED and the meta events about w's own subscriptions
	c := join(t, r)
	id := c.subscribe("com.x", wamp.Dict{"match": "prefix"})
	create := recvAs[*wamp.Event](w)
	details := create.Args[1].(map[string]any)
	if details["uri"] != "com.x" || details["match"] != "prefix" {
		t.Fatalf("on_create %v", create.Args)
	}
	if ev := recvAs[*wamp.Event](w); ev.Args[1] == nil {
		t.Fatal(ev)
	}
	lists := w.callResult("wamp.subscription.list", nil, nil).Args[0].(map[string]any)
	if len(lists["prefix"].([]any)) != 1 {
		t.Fatalf("list %v", lists)
	}
	if got, _ := asID(w.callResult("wamp.subscription.lookup", wamp.List{"com.x", wamp.Dict{"match": "prefix"}}, nil).Args[0]); got != id {
		t.Fatal("lookup")
	}
	if got := w.callResult("wamp.subscription.lookup", wamp.List{"com.x"}, nil).Args[0]; got != nil {
		t.Fatalf("exact lookup of a prefix subscription: %v", got)
	}
	if got := w.callResult("wamp.subscription.match", wamp.List{"com.x.y"}, nil).Args[0].([]any); len(got) != 1 {
		t.Fatalf("match %v", got)
	}
	if got := w.callResult("wamp.subscription.get", wamp.List{id}, nil).Args[0].(map[string]any); got["uri"] != "com.x" {
		t.Fatalf("get %v", got)
	}
	if got := w.callResult("wamp.subscription.list_subscribers", wamp.List{id}, nil).Args[0].([]any); len(got) != 1 {
		t.Fatalf("list_subscribers %v", got)
	}
	if got := w.callResult("wamp.subscription.count_subscribers", wamp.List{id}, nil).Args[0]; got != int64(1) {
		t.Fatalf("count_subscribers %v", got)
	}
	w.callError("wamp.subscription.get", nil, wamp.List{int64(999)}, wamp.ErrNoSuchSubscription)
	c.send(&wamp.Unsubscribe{Request: c.nextReq(), Subscription: id})
	recvAs[*wamp.Unsubscribed](c)
	unsub := recvAs[*wamp.Event](w)
	del := recvAs[*wamp.Event](w)
	if i, _ := asID(unsub.Args[1]); i != id {
		t.Fatal(unsub)
	}
	if i, _ := asID(del.Args[1]); i != id {
		t.Fatal(del)
	}
}

func TestRegistrationMeta(t *testing.T) {
	r := newRouter(t)
	w := join(t, r)
	w.subscribe("wamp.registration.on_create", nil)
	w.subscribe("wamp.registration.on_register", nil)
	w.subscribe("wamp.registration.on_delete", nil)
	c := join(t, r)
	id := c.register("com.p", wamp.Dict{"invoke": "roundrobin"})
	create := recvAs[*wamp.Event](w)
	if d := create.Args[1].(map[string]any); d["uri"] != "com.p" || d["invoke"] != "roundrobin" {
		t.Fatal(d)
	}
	recvAs[*wamp.Event](w)
	if got, _ := asID(w.callResult("wamp.registration.lookup", wamp.List{"com.p"}, nil).Args[0]); got != id {
		t.Fatal("lookup")
	}
	if got, _ := asID(w.callResult("wamp.registration.match", wamp.List{"com.p"}, nil).Args[0]); got != id {
		t.Fatal("match")
	}
	if got := w.callResult("wamp.registration.match", wamp.List{"com.q"}, nil).Args[0]; got != nil {
		t.Fatal("match of unknown")
	}
	if got := w.callResult("wamp.registration.list_callees", wamp.List{id}, nil).Args[0].([]any); len(got) != 1 {
		t.Fatal(got)
	}
	if got := w.callResult("wamp.registration.count_callees", wamp.List{id}, nil).Args[0]; got != int64(1) {
		t.Fatal(got)
	}
	if got := w.callResult("wamp.registration.list", nil, nil).Args[0].(map[string]any); len(got["exact"].([]any)) != 1 {
		t.Fatal(got)
	}
	w.callError("wamp.registration.count_callees", nil, wamp.List{int64(4)}, wamp.ErrNoSuchRegistration)
	c.conn.Close(0, "")
	if del := recvAs[*wamp.Event](w); del.Args[1] == nil {
		t.Fatal(del)
	}
}

func TestTestaments(t *testing.T) {
	r := newRouter(t)
	w := join(t, r)
	w.subscribe("com.gone", nil)
	c := join(t, r)
	req := c.nextReq()
	c.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "wamp.session.add_testament",
		Args: wamp.List{"com.gone", wamp.List{"bye"}, wamp.Dict{"who": "c"}}})
	recvAs[*wamp.Result](c)
	req = c.nextReq()
	c.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "wamp.session.add_testament",
		Args: wamp.List{"com.gone", wamp.List{"detached"}}, Kwargs: wamp.Dict{"scope": "detached"}})
	recvAs[*wamp.Result](c)
	req = c.nextReq()
	c.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "wamp.session.add_testament",
		Args: wamp.List{"com.gone"}, Kwargs: wamp.Dict{"scope": "later"}})
	if e := recvAs[*wamp.Error](c); e.Error != wamp.ErrInvalidArgument {
		t.Fatal(e)
	}
	c.conn.Close(0, "")
	if ev := recvAs[*wamp.Event](w); ev.Args[0] != "detached" {
		t.Fatalf("detached scope first: %v", ev.Args)
	}
	if ev := recvAs[*wamp.Event](w); ev.Args[0] != "bye" || ev.Kwargs["who"] != "c" {
		t.Fatalf("destroyed scope: %v", ev.Args)
	}

	// Flushed testaments are not published.
	d := join(t, r)
	d.send(&wamp.Call{Request: d.nextReq(), Options: wamp.Dict{}, Procedure: "wamp.session.add_testament", Args: wamp.List{"com.gone"}})
	recvAs[*wamp.Result](d)
	if n := d.callResult("wamp.session.flush_testaments", nil, nil).Args[0]; n != int64(1) {
		t.Fatalf("flushed %v", n)
	}
	d.conn.Close(0, "")
	w.expectNothing()
}
