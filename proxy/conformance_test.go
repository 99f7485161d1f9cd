package proxy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// conformance checks, over one transport, that every operation sends the gateway the request a
// JSON client would, and decodes its answer into the same values.
func conformance(t *testing.T, p *Proxy, gw *fakeInvoker) {
	xmlrpc := p.Transport() == TransportXMLRPC
	expect := func(t *testing.T, op, body string) {
		t.Helper()
		c := gw.last(t)
		if c.op != op || !sameJSON(t, c.body, body) {
			t.Errorf("the gateway received %s %s, want %s %s", c.op, c.body, op, body)
		}
	}
	t.Run("publish", func(t *testing.T) {
		id, err := p.Publish(ctx(t), "com.example.news", []any{1, "two"}, map[string]any{"n": 3},
			&PublishOptions{Retain: true, Exclude: []uint64{5}, EligibleAuthRole: []string{"user"}, DiscloseMe: true})
		if err != nil || id != bigPub {
			t.Fatalf("Publish = %d, %v; want %d", id, err, bigPub)
		}
		expect(t, "publish", `{"topic":"com.example.news","args":[1,"two"],"kwargs":{"n":3},
			"options":{"retain":true,"exclude":[5],"eligible_authrole":["user"],"disclose_me":true}}`)
	})
	t.Run("publish_class", func(t *testing.T) {
		if _, err := p.Publish(ctx(t), "", nil, map[string]any{"amount": 5}, &PublishOptions{Class: "order.created"}); err != nil {
			t.Fatal(err)
		}
		expect(t, "publish", `{"kwargs":{"amount":5},"options":{"class":"order.created"}}`)
	})
	t.Run("publish_batch", func(t *testing.T) {
		res, err := p.PublishBatch(ctx(t), []Publication{
			{Topic: "a.b", Args: []any{1}},
			{Kwargs: map[string]any{"amount": "x"}, Options: &PublishOptions{Class: "order.created"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		expect(t, "publish_batch", `{"publications":[{"topic":"a.b","args":[1]},{"kwargs":{"amount":"x"},"options":{"class":"order.created"}}]}`)
		if len(res) != 2 || res[0].Publication != 7 || res[0].Err != nil || res[1].Err == nil {
			t.Fatalf("results %+v", res)
		}
		e := res[1].Err
		if e.URI != "wamp.error.invalid_argument" || e.Message != "amount must be an int" || e.Status != 422 ||
			!reflect.DeepEqual(e.Details, map[string]any{"field": "amount"}) {
			t.Errorf("element error %+v", e)
		}
	})
	t.Run("issue_ticket", func(t *testing.T) {
		tk, err := p.IssueTicket(ctx(t), "alice", "user", 90*time.Second, map[string]any{"tier": "gold"})
		if err != nil {
			t.Fatal(err)
		}
		expect(t, "issue_ticket", `{"authid":"alice","authrole":"user","ttl":90,"authextra":{"tier":"gold"}}`)
		want := Ticket{Ticket: "tkt-1", Expires: ticketExpiry, AuthID: "alice", AuthRole: "user", Realm: "realm1"}
		if !tk.Expires.Equal(want.Expires) || tk.Ticket != want.Ticket || tk.AuthID != want.AuthID || tk.AuthRole != want.AuthRole || tk.Realm != want.Realm {
			t.Errorf("ticket %+v, want %+v", tk, want)
		}
	})
	t.Run("revoke", func(t *testing.T) {
		r, err := p.Revoke(ctx(t), "alice")
		if err != nil || *r != (Revoked{1, 2, 3}) {
			t.Fatalf("Revoke = %+v, %v", r, err)
		}
		expect(t, "revoke", `{"authid":"alice"}`)
	})
	t.Run("sessions", func(t *testing.T) {
		s, err := p.Sessions(ctx(t), SessionFilter{AuthRole: "user"})
		if err != nil {
			t.Fatal(err)
		}
		expect(t, "sessions", `{"authrole":"user"}`)
		want := []map[string]any{{"session": int64(123456789012), "authid": "alice", "authrole": "user"}}
		if !reflect.DeepEqual(s, want) {
			t.Errorf("sessions %#v, want %#v", s, want)
		}
	})
	t.Run("kill_session", func(t *testing.T) {
		killed, err := p.KillSession(ctx(t), 123456789012, "wamp.close.killed", "bye")
		if err != nil || !killed {
			t.Fatalf("KillSession = %v, %v", killed, err)
		}
		expect(t, "kill_session", `{"session":123456789012,"reason":"wamp.close.killed","message":"bye"}`)
	})
	t.Run("call", func(t *testing.T) {
		res, err := p.Call(ctx(t), "com.example.add", []any{2, 3}, map[string]any{"k": true}, 1500*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		expect(t, "call", `{"procedure":"com.example.add","args":[2,3],"kwargs":{"k":true},"options":{"timeout":1500}}`)
		wantArgs := []any{int64(1), 2.5, "x"}
		wantKwargs := map[string]any{"big": bigInt, "nested": map[string]any{"l": []any{true, nil}}}
		if !reflect.DeepEqual(res.Args, wantArgs) || !reflect.DeepEqual(res.Kwargs, wantKwargs) {
			t.Errorf("result %#v %#v, want %#v %#v", res.Args, res.Kwargs, wantArgs, wantKwargs)
		}
	})
	t.Run("call_error", func(t *testing.T) {
		_, err := p.Call(ctx(t), "com.example.fail", nil, nil, 0)
		var e *Error
		if !errors.As(err, &e) || e.URI != "com.example.oops" || e.Message != "callee failed" || e.Status != 422 {
			t.Fatalf("got %v, want com.example.oops", err)
		}
		if xmlrpc {
			return // faults carry no payload
		}
		if !reflect.DeepEqual(e.Args, []any{int64(1), "x"}) || !reflect.DeepEqual(e.Kwargs, map[string]any{"why": "because"}) {
			t.Errorf("payload %#v %#v", e.Args, e.Kwargs)
		}
	})
	t.Run("event_classes", func(t *testing.T) {
		c, err := p.EventClasses(ctx(t))
		if err != nil || len(c) != 1 || c[0]["name"] != "order.created" {
			t.Fatalf("EventClasses = %v, %v", c, err)
		}
		expect(t, "event_classes", `{}`)
	})
	t.Run("describe_class", func(t *testing.T) {
		c, err := p.DescribeClass(ctx(t), "order.created")
		if err != nil || !reflect.DeepEqual(c, map[string]any{"name": "order.created", "fields": map[string]any{"amount": "int"}}) {
			t.Fatalf("DescribeClass = %v, %v", c, err)
		}
		expect(t, "describe_class", `{"class":"order.created"}`)
	})
	t.Run("define_class", func(t *testing.T) {
		c, replaced, err := p.DefineClass(ctx(t), map[string]any{"name": "pay", "topic": "com.pay", "fields": map[string]any{"amount": "int"}})
		if err != nil || !replaced || !reflect.DeepEqual(c, map[string]any{"name": "pay", "topic": "com.pay"}) {
			t.Fatalf("DefineClass = %v, %v, %v", c, replaced, err)
		}
		expect(t, "define_class", `{"class":{"fields":{"amount":"int"},"name":"pay","topic":"com.pay"}}`)
		_, _, err = p.DefineClass(ctx(t), map[string]any{"name": "pay", "topic": "com.pay", "fields": map[string]any{"amount": map[string]any{"type": "integer"}}})
		var e *Error
		if !errors.As(err, &e) || e.URI != "wamp.error.invalid_argument" || !strings.Contains(e.Message, "class.fields.amount") || e.Status != 422 {
			t.Fatalf("refused definition: %#v", err)
		}
	})
	t.Run("describe_class_error", func(t *testing.T) {
		_, err := p.DescribeClass(ctx(t), "missing")
		var e *Error
		if !errors.As(err, &e) || e.URI != "wamp.error.invalid_argument" || e.Message != `no event class "missing"` || e.Status != 422 {
			t.Fatalf("got %#v", err)
		}
		want := map[string]any{"class": "missing"}
		if xmlrpc {
			want = map[string]any{"fault_code": int64(422)}
		}
		if !reflect.DeepEqual(e.Details, want) {
			t.Errorf("details %#v, want %#v", e.Details, want)
		}
		if ErrorURI(err) != "wamp.error.invalid_argument" || e.Temporary() {
			t.Errorf("ErrorURI/Temporary wrong for %v", e)
		}
	})
	t.Run("health", func(t *testing.T) {
		h, err := p.Health(ctx(t))
		if err != nil || *h != (Health{Status: "ok", Store: "none", Realm: "realm1"}) {
			t.Fatalf("Health = %+v, %v", h, err)
		}
		expect(t, "health", `{}`)
	})
	t.Run("stats", func(t *testing.T) {
		s, err := p.Stats(ctx(t))
		want := Stats{Realm: "realm1", Sessions: 2, Subscriptions: 3, Registrations: 1, Publications: 10, Uptime: 12500 * time.Millisecond}
		if err != nil || *s != want {
			t.Fatalf("Stats = %+v, %v; want %+v", s, err, want)
		}
		expect(t, "stats", `{}`)
	})
	t.Run("invoke_raw", func(t *testing.T) {
		raw, err := p.Invoke(ctx(t), "revoke", map[string]any{"authid": "bob"})
		if err != nil || !sameJSON(t, raw, `{"sessions":1,"tickets":2,"tokens":3}`) {
			t.Fatalf("Invoke = %s, %v", raw, err)
		}
		expect(t, "revoke", `{"authid":"bob"}`)
	})
}
