package router

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

func TestPublishSubscribeExactWithArgsAndKwargs(t *testing.T) {
	r := newRouter(t)
	sub, pub := join(t, r), join(t, r)
	subID := sub.subscribe("com.example.topic", nil)
	req := pub.publish("com.example.topic", wamp.Dict{"acknowledge": true}, wamp.List{"hello", int64(42)}, wamp.Dict{"k": "v"})
	ack := recvAs[*wamp.Published](pub)
	if ack.Request != req || !ack.Publication.Valid() {
		t.Fatalf("PUBLISHED %+v", ack)
	}
	ev := recvAs[*wamp.Event](sub)
	if ev.Subscription != subID || ev.Publication != ack.Publication {
		t.Fatalf("EVENT ids %+v", ev)
	}
	if fmt.Sprint(ev.Args) != "[hello 42]" || ev.Kwargs["k"] != "v" {
		t.Fatalf("EVENT payload %v %v", ev.Args, ev.Kwargs)
	}
	if _, has := ev.Details["topic"]; has {
		t.Fatal("exact subscription got details.topic")
	}
	if _, has := ev.Details["publisher"]; has {
		t.Fatal("publisher disclosed without disclose_me")
	}
}

func TestPublishWithoutAcknowledgeGetsNoReply(t *testing.T) {
	r := newRouter(t)
	pub := join(t, r)
	pub.publish("a.b", nil, nil, nil)
	pub.expectNothing()
}

func TestPatternSubscriptions(t *testing.T) {
	r := newRouter(t)
	sub, pub := join(t, r), join(t, r)
	prefix := sub.subscribe("com.example", wamp.Dict{"match": "prefix"})
	wild := sub.subscribe("com..update", wamp.Dict{"match": "wildcard"})
	if prefix == wild {
		t.Fatal("distinct patterns share a subscription")
	}
	pub.publish("com.example.x.update", nil, nil, nil) // prefix only (4 components)
	ev := recvAs[*wamp.Event](sub)
	if ev.Subscription != prefix || ev.Details["topic"] != "com.example.x.update" {
		t.Fatalf("prefix event %+v", ev)
	}
	sub.expectNothing()
	pub.publish("com.example.update", nil, nil, nil) // both
	got := map[wamp.ID]bool{}
	for i := 0; i < 2; i++ {
		ev := recvAs[*wamp.Event](sub)
		got[ev.Subscription] = true
		if ev.Details["topic"] != "com.example.update" {
			t.Fatalf("details.topic %v", ev.Details["topic"])
		}
	}
	if !got[prefix] || !got[wild] {
		t.Fatalf("events for %v", got)
	}
	pub.publish("com.examplefoo", nil, nil, nil) // prefix match is a string prefix
	if ev := recvAs[*wamp.Event](sub); ev.Subscription != prefix {
		t.Fatalf("string-prefix event %+v", ev)
	}
	pub.publish("org.example.update", nil, nil, nil)
	sub.expectNothing()
}

func TestSubscribeTwiceReturnsSameSubscription(t *testing.T) {
	r := newRouter(t)
	a, b := join(t, r), join(t, r)
	id1 := a.subscribe("x.y", nil)
	id2 := a.subscribe("x.y", nil)
	id3 := b.subscribe("x.y", nil)
	if id1 != id2 || id1 != id3 {
		t.Fatalf("ids %d %d %d: one subscription per topic and match", id1, id2, id3)
	}
}

func TestUnsubscribe(t *testing.T) {
	r := newRouter(t)
	sub, pub := join(t, r), join(t, r)
	id := sub.subscribe("x.y", nil)
	req := sub.nextReq()
	sub.send(&wamp.Unsubscribe{Request: req, Subscription: id})
	if u := recvAs[*wamp.Unsubscribed](sub); u.Request != req {
		t.Fatalf("UNSUBSCRIBED %+v", u)
	}
	pub.publish("x.y", nil, nil, nil)
	sub.expectNothing()
	req = sub.nextReq()
	sub.send(&wamp.Unsubscribe{Request: req, Subscription: id})
	if e := recvAs[*wamp.Error](sub); e.Error != wamp.ErrNoSuchSubscription || e.RequestType != wamp.UNSUBSCRIBE {
		t.Fatalf("ERROR %+v", e)
	}
}

func TestPublisherExclusion(t *testing.T) {
	r := newRouter(t)
	c := join(t, r)
	c.subscribe("x.y", nil)
	c.publish("x.y", nil, nil, nil)
	c.expectNothing()
	c.publish("x.y", wamp.Dict{"exclude_me": false}, wamp.List{"me"}, nil)
	if ev := recvAs[*wamp.Event](c); ev.Args[0] != "me" {
		t.Fatalf("event %+v", ev)
	}
}

func TestBlackWhiteListing(t *testing.T) {
	r := newRouter(t)
	pub := join(t, r)
	subs := []*testClient{join(t, r), join(t, r), join(t, r)}
	for _, s := range subs {
		s.subscribe("x.y", nil)
	}
	a, b, c := subs[0], subs[1], subs[2]
	authid := func(tc *testClient) string { return tc.welc.Details["authid"].(string) }
	cases := []struct {
		name string
		opts wamp.Dict
		want []*testClient
	}{
		{"eligible", wamp.Dict{"eligible": []any{a.id, b.id}}, []*testClient{a, b}},
		{"exclude", wamp.Dict{"exclude": []any{a.id}}, []*testClient{b, c}},
		{"eligible and exclude", wamp.Dict{"eligible": []any{a.id, b.id}, "exclude": []any{b.id}}, []*testClient{a}},
		{"eligible_authid", wamp.Dict{"eligible_authid": []any{authid(c)}}, []*testClient{c}},
		{"exclude_authid", wamp.Dict{"exclude_authid": []any{authid(c)}}, []*testClient{a, b}},
		{"eligible_authrole", wamp.Dict{"eligible_authrole": []any{"anonymous"}}, []*testClient{a, b, c}},
		{"exclude_authrole", wamp.Dict{"exclude_authrole": []any{"anonymous"}}, nil},
		{"eligible_authrole other", wamp.Dict{"eligible_authrole": []any{"admin"}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pub.publish("x.y", tc.opts, wamp.List{tc.name}, nil)
			want := map[*testClient]bool{}
			for _, w := range tc.want {
				want[w] = true
			}
			for _, s := range subs {
				if want[s] {
					if ev := recvAs[*wamp.Event](s); ev.Args[0] != tc.name {
						t.Fatalf("event %v", ev.Args)
					}
				} else {
					s.expectNothing()
				}
			}
		})
	}
	pub.publish("x.y", wamp.Dict{"eligible": "all"}, nil, nil)
	pub.publish("x.y", wamp.Dict{"exclude_authid": []any{1}, "acknowledge": true}, nil, nil)
	for i := 0; i < 2; i++ {
		if e := recvAs[*wamp.Error](pub); e.Error != wamp.ErrInvalidArgument {
			t.Fatalf("bad list option: %+v", e)
		}
	}
}

func TestPublisherDisclosure(t *testing.T) {
	r := newRouter(t)
	sub, pub := join(t, r), join(t, r)
	sub.subscribe("x.y", nil)
	pub.publish("x.y", wamp.Dict{"disclose_me": true}, nil, nil)
	ev := recvAs[*wamp.Event](sub)
	if id, _ := asID(ev.Details["publisher"]); id != pub.id {
		t.Fatalf("details %v", ev.Details)
	}
	if ev.Details["publisher_authrole"] != "anonymous" || ev.Details["publisher_authid"] == nil {
		t.Fatalf("details %v", ev.Details)
	}

	strict := newRouter(t, RealmConfig{Name: "realm1", AllowDisclose: false})
	p := join(t, strict)
	req := p.publish("x.y", wamp.Dict{"disclose_me": true}, nil, nil)
	if e := recvAs[*wamp.Error](p); e.Error != wamp.ErrOptionDisallowedDisclose || e.Request != req {
		t.Fatalf("ERROR %+v", e)
	}

	always := newRouter(t, RealmConfig{Name: "realm1", AlwaysDisclosePublisher: true})
	s2, p2 := join(t, always), join(t, always)
	s2.subscribe("x.y", nil)
	p2.publish("x.y", nil, nil, nil)
	if ev := recvAs[*wamp.Event](s2); ev.Details["publisher"] == nil {
		t.Fatalf("always_disclose_publisher: details %v", ev.Details)
	}
}

func TestInvalidTopicURIs(t *testing.T) {
	r := newRouter(t, RealmConfig{Name: "realm1", StrictURIs: true})
	c := join(t, r)
	for _, topic := range []wamp.URI{"", "a..b", ".a", "a.", "A.b", "a b.c", "a#b"} {
		req := c.publish(topic, wamp.Dict{"acknowledge": true}, nil, nil)
		if e := recvAs[*wamp.Error](c); e.Error != wamp.ErrInvalidURI || e.Request != req {
			t.Fatalf("publish %q: %+v", topic, e)
		}
	}
	req := c.nextReq()
	c.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{}, Topic: "Bad.Topic"})
	if e := recvAs[*wamp.Error](c); e.Error != wamp.ErrInvalidURI {
		t.Fatalf("subscribe: %+v", e)
	}
	loose := newRouter(t)
	l := join(t, loose)
	l.subscribe("Com.Example-ünïcode", nil) // fine under loose rules
	req = l.publish("wamp.session.on_join", wamp.Dict{"acknowledge": true}, nil, nil)
	if e := recvAs[*wamp.Error](l); e.Error != wamp.ErrInvalidURI || e.Request != req {
		t.Fatalf("publish to reserved namespace: %+v", e)
	}
}

func TestInvalidMatchPolicy(t *testing.T) {
	r := newRouter(t)
	c := join(t, r)
	req := c.nextReq()
	c.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{"match": "regex"}, Topic: "a.b"})
	if e := recvAs[*wamp.Error](c); e.Error != wamp.ErrInvalidArgument {
		t.Fatalf("%+v", e)
	}
}

// countingSerializer counts EVENT encodings.
type countingSerializer struct {
	codec.Serializer
	events *int
}

func (c countingSerializer) Encode(dst []byte, m wamp.Message) ([]byte, error) {
	if m.MessageType() == wamp.EVENT {
		*c.events++
	}
	return c.Serializer.Encode(dst, m)
}

func TestEventEncodedOncePerSerializer(t *testing.T) {
	r := newRouter(t)
	encodes := 0
	var clients []*testClient
	for i := 0; i < 50; i++ {
		ser := []codec.ID{codec.JSON, codec.MsgPack, codec.CBOR}[i%3]
		c := joinWith(t, r, ser, wamp.Dict{"roles": allClientRoles})
		c.sess.(*Session).ser = countingSerializer{c.conn.ser, &encodes}
		c.subscribe("fan.out", nil)
		clients = append(clients, c)
	}
	pub := join(t, r)
	pub.publish("fan.out", nil, wamp.List{"x"}, nil)
	for _, c := range clients {
		if ev := recvAs[*wamp.Event](c); ev.Args[0] != "x" {
			t.Fatal(ev)
		}
	}
	if encodes != 3 {
		t.Fatalf("EVENT encoded %d times for 50 subscribers over 3 serializers, want 3", encodes)
	}
}

func TestEventsFromOnePublisherArriveInOrder(t *testing.T) {
	r := newRouter(t)
	sub, pub := join(t, r), join(t, r)
	sub.subscribe("seq", nil)
	for i := 0; i < 500; i++ {
		pub.publish("seq", nil, wamp.List{int64(i)}, nil)
	}
	for i := 0; i < 500; i++ {
		ev := recvAs[*wamp.Event](sub)
		if n, _ := asInt(ev.Args[0]); n != int64(i) {
			t.Fatalf("event %d arrived as %v", i, ev.Args[0])
		}
	}
}

func TestPayloadPassthruIsForwarded(t *testing.T) {
	r := newRouter(t)
	sub, pub := join(t, r), join(t, r)
	sub.subscribe("ppt", nil)
	pub.publish("ppt", wamp.Dict{"ppt_scheme": "x_custom", "ppt_serializer": "native"}, wamp.List{[]byte{1, 2, 3}}, nil)
	ev := recvAs[*wamp.Event](sub)
	if ev.Details["ppt_scheme"] != "x_custom" || ev.Details["ppt_serializer"] != "native" {
		t.Fatalf("details %v", ev.Details)
	}
	if b, ok := ev.Args[0].([]byte); !ok || len(b) != 3 {
		t.Fatalf("binary payload %v", ev.Args)
	}
}

func TestTooBigEventIsSkippedForThatSubscriber(t *testing.T) {
	r := newRouter(t)
	small, big, pub := join(t, r), join(t, r), join(t, r)
	small.conn.maxLen = 100
	small.subscribe("x", nil)
	big.subscribe("x", nil)
	pub.publish("x", nil, wamp.List{strings.Repeat("x", 1000)}, nil)
	recvAs[*wamp.Event](big)
	small.expectNothing()
	if small.conn.isClosed() {
		t.Fatal("subscriber with a small maximum was disconnected")
	}
}

func TestPayloadPassthruNeedsAnnouncement(t *testing.T) {
	r := newRouter(t)
	plain := joinWith(t, r, codec.JSON, wamp.Dict{"roles": wamp.Dict{"publisher": wamp.Dict{}}})
	plain.publish("ppt", wamp.Dict{"ppt_scheme": "mqtt"}, wamp.List{[]byte{1}}, nil)
	plain.expectAbort(wamp.ErrProtocolViolation)
}
