package router

import (
	"strings"
	"testing"

	"github.com/gateway-dev/gateway/wamp"
)

func TestFilteredSubscriptions(t *testing.T) {
	r := newRouter(t)
	sub, pub := join(t, r), join(t, r)
	room42 := sub.subscribe("chat", wamp.Dict{"x_filter": `room == "42"`})
	urgent := sub.subscribe("chat", wamp.Dict{"x_filter": `priority >= 3 && room in ["42", "43"]`})
	all := sub.subscribe("chat", nil)
	if room42 == urgent || room42 == all || urgent == all {
		t.Fatalf("one session, one topic, different filters: ids %d %d %d must differ", room42, urgent, all)
	}
	// The same filter, written differently, is the same subscription for another session.
	other := join(t, r)
	if id := other.subscribe("chat", wamp.Dict{"x_filter": `room=="42"`}); id != room42 {
		t.Fatalf("identical filter got subscription %d, want %d", id, room42)
	}
	got := func(c *testClient) map[wamp.ID]bool {
		t.Helper()
		ids := map[wamp.ID]bool{}
		for {
			select {
			case m := <-c.conn.out:
				ids[m.(*wamp.Event).Subscription] = true
			default:
				return ids
			}
		}
	}
	pub.publish("chat", wamp.Dict{"acknowledge": true}, nil, wamp.Dict{"room": "42", "priority": int64(5)})
	recvAs[*wamp.Published](pub)
	if ids := got(sub); !ids[room42] || !ids[urgent] || !ids[all] || len(ids) != 3 {
		t.Fatalf("room 42, priority 5: events for %v", ids)
	}
	pub.publish("chat", wamp.Dict{"acknowledge": true}, nil, wamp.Dict{"room": "43", "priority": int64(1)})
	recvAs[*wamp.Published](pub)
	if ids := got(sub); ids[room42] || ids[urgent] || !ids[all] {
		t.Fatalf("room 43, priority 1: events for %v", ids)
	}
	pub.publish("chat", wamp.Dict{"acknowledge": true}, nil, nil) // missing fields: comparisons are false
	recvAs[*wamp.Published](pub)
	if ids := got(sub); len(ids) != 1 || !ids[all] {
		t.Fatalf("no fields: events for %v", ids)
	}
	// Unsubscribing one filtered subscription leaves the others.
	sub.send(&wamp.Unsubscribe{Request: sub.nextReq(), Subscription: urgent})
	recvAs[*wamp.Unsubscribed](sub)
	pub.publish("chat", wamp.Dict{"acknowledge": true}, nil, wamp.Dict{"room": "42", "priority": int64(5)})
	recvAs[*wamp.Published](pub)
	if ids := got(sub); ids[urgent] || !ids[room42] || !ids[all] {
		t.Fatalf("after unsubscribe: events for %v", ids)
	}
}

func TestInvalidFilterIsInvalidArgument(t *testing.T) {
	r := newRouter(t)
	c := join(t, r)
	for _, f := range []any{`room == `, `room =~ "x"`, int64(3)} {
		c.send(&wamp.Subscribe{Request: c.nextReq(), Options: wamp.Dict{"x_filter": f}, Topic: "chat"})
		e := recvAs[*wamp.Error](c)
		if e.Error != wamp.ErrInvalidArgument || len(e.Args) == 0 {
			t.Fatalf("filter %v: %+v", f, e)
		}
		if msg, _ := e.Args[0].(string); !strings.Contains(msg, "x_filter") {
			t.Fatalf("filter %v: message %q does not name the option", f, msg)
		}
	}
}

func TestQueryTopicForClientsWithoutOptions(t *testing.T) {
	r := newRouter(t)
	sub, pub := join(t, r), join(t, r)
	derived := sub.callResult("gateway.query.topic", wamp.List{"chat", `room == "42"`}, nil).Args[0].(string)
	if !strings.HasPrefix(derived, "gateway.query.") {
		t.Fatalf("derived topic %q", derived)
	}
	id := sub.subscribe(wamp.URI(derived), nil)
	if same := join(t, r).subscribe("chat", wamp.Dict{"x_filter": `room == "42"`}); same != id {
		t.Fatalf("derived topic and x_filter give different subscriptions: %d vs %d", id, same)
	}
	pub.publish("chat", nil, nil, wamp.Dict{"room": "41"})
	pub.publish("chat", nil, wamp.List{"hello"}, wamp.Dict{"room": "42"})
	ev := recvAs[*wamp.Event](sub)
	if ev.Subscription != id || ev.Args[0] != "hello" {
		t.Fatalf("event %+v", ev)
	}
	sub.expectNothing()
	sub.callError("gateway.query.topic", nil, wamp.List{"chat", `room ==`}, wamp.ErrInvalidArgument)
	sub.send(&wamp.Subscribe{Request: sub.nextReq(), Options: wamp.Dict{"match": "prefix"}, Topic: wamp.URI(derived)})
	if e := recvAs[*wamp.Error](sub); e.Error != wamp.ErrInvalidArgument {
		t.Fatal(e)
	}
}
