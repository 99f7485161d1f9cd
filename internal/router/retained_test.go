package router

import (
	"testing"

	"github.com/gateway-dev/gateway/wamp"
)

func TestEventRetention(t *testing.T) {
	r := newRouter(t)
	pub := join(t, r)
	pub.publish("sensor.temp", wamp.Dict{"retain": true, "acknowledge": true}, wamp.List{int64(20)}, nil)
	recvAs[*wamp.Published](pub)
	pub.publish("sensor.temp", wamp.Dict{"retain": true, "acknowledge": true}, wamp.List{int64(21)}, wamp.Dict{"room": "a"})
	first := recvAs[*wamp.Published](pub)
	pub.publish("sensor.temp", wamp.Dict{"acknowledge": true}, wamp.List{int64(99)}, nil) // not retained
	recvAs[*wamp.Published](pub)
	pub.publish("sensor.humidity", wamp.Dict{"retain": true, "acknowledge": true}, wamp.List{int64(40)}, nil)
	recvAs[*wamp.Published](pub)

	sub := join(t, r)
	id := sub.subscribe("sensor.temp", wamp.Dict{"get_retained": true})
	ev := recvAs[*wamp.Event](sub)
	if ev.Subscription != id || ev.Publication != first.Publication || ev.Args[0] != int64(21) || ev.Details["retained"] != true {
		t.Fatalf("retained event %+v", ev)
	}
	sub.expectNothing()

	// Without the option, nothing is replayed.
	plain := join(t, r)
	plain.subscribe("sensor.temp", nil)
	plain.expectNothing()

	// A prefix subscription gets the retained event of each topic it covers, with details.topic.
	pre := join(t, r)
	pre.subscribe("sensor", wamp.Dict{"match": "prefix", "get_retained": true})
	topics := map[any]bool{}
	for i := 0; i < 2; i++ {
		ev := recvAs[*wamp.Event](pre)
		if ev.Details["retained"] != true {
			t.Fatalf("not marked retained: %+v", ev)
		}
		topics[ev.Details["topic"]] = true
	}
	if !topics["sensor.temp"] || !topics["sensor.humidity"] {
		t.Fatalf("retained topics %v", topics)
	}

	// A filter applies to the retained event too.
	f := join(t, r)
	f.subscribe("sensor.temp", wamp.Dict{"get_retained": true, "x_filter": `room == "b"`})
	f.expectNothing()

	// Eligibility of the retained publication still holds.
	pub.publish("secret", wamp.Dict{"retain": true, "eligible_authid": []any{"nobody"}}, wamp.List{"x"}, nil)
	other := join(t, r)
	other.subscribe("secret", wamp.Dict{"get_retained": true})
	other.expectNothing()

	// Wrong option types are refused.
	pub.publish("x", wamp.Dict{"retain": "yes", "acknowledge": true}, nil, nil)
	if e := recvAs[*wamp.Error](pub); e.Error != wamp.ErrInvalidArgument {
		t.Fatal(e)
	}
	sub.send(&wamp.Subscribe{Request: sub.nextReq(), Options: wamp.Dict{"get_retained": 1}, Topic: "x"})
	if e := recvAs[*wamp.Error](sub); e.Error != wamp.ErrInvalidArgument {
		t.Fatal(e)
	}
}

func TestPatternMatches(t *testing.T) {
	for _, tc := range []struct {
		match          string
		pattern, topic wamp.URI
		want           bool
	}{
		{matchExact, "a.b", "a.b", true},
		{matchExact, "a.b", "a.bc", false},
		{matchPrefix, "a.b", "a.bc", true},
		{matchPrefix, "a.b", "a", false},
		{matchWildcard, "a..c", "a.x.c", true},
		{matchWildcard, "a..c", "a.x.y.c", false},
		{matchWildcard, ".b", "a.b", true},
	} {
		if got := patternMatches(tc.match, tc.pattern, tc.topic); got != tc.want {
			t.Errorf("%s %q covers %q: %v, want %v", tc.match, tc.pattern, tc.topic, got, tc.want)
		}
	}
}
