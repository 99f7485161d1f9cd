package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/client"
	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/internal/webapp/httpauth"
	"github.com/gateway-dev/gateway/wamp"
)

// webappRealm is a realm with one-time tickets, a user role and an event class with a schema.
const webappRealm = `
[webapp]
call_timeout = "2s"
max_call_timeout = "3s"

[webapp.http]
loopback_without_credentials = true

[[realms]]
name = "realm1"

[realms.auth]
methods = ["ticket", "anonymous"]

[realms.auth.ticket]
accept = ["one_time"]

[[realms.roles]]
name = "user"
[[realms.roles.permissions]]
uri = ""
match = "prefix"
allow = ["subscribe", "publish", "call", "register"]

[[realms.roles]]
name = "anonymous"
[[realms.roles.permissions]]
uri = ""
match = "prefix"
allow = ["subscribe", "publish", "call", "register"]

[[realms.event_classes]]
name = "order.created"
topic = "com.shop.order.created"
fields = { amount = "int" }
`

// invoke runs op with the JSON body on the server's web-app Service.
func invoke(t *testing.T, s *Server, op string, body any) (map[string]any, error) {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	case nil:
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.Webapp().Invoke(ctx(t), op, raw)
	if err != nil {
		return nil, err
	}
	out, err2 := json.Marshal(res)
	if err2 != nil {
		t.Fatalf("%s: result does not marshal: %v", op, err2)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	return m, nil
}

func wantOpError(t *testing.T, err error, uri wamp.URI, part string) {
	t.Helper()
	var e *webapp.Error
	if !errors.As(err, &e) || e.URI != uri || !strings.Contains(e.Message, part) {
		t.Fatalf("got %v, want %s mentioning %q", err, uri, part)
	}
}

func subscribeChan(t *testing.T, c *client.Client, topic string) chan *wamp.Event {
	t.Helper()
	ch := make(chan *wamp.Event, 16)
	if _, err := c.Subscribe(ctx(t), topic, func(e *wamp.Event) { ch <- e }, nil); err != nil {
		t.Fatal(err)
	}
	return ch
}

func nextEvent(t *testing.T, ch chan *wamp.Event) *wamp.Event {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(3 * time.Second):
		t.Fatal("no event")
		return nil
	}
}

func noEvent(t *testing.T, ch chan *wamp.Event) {
	t.Helper()
	select {
	case e := <-ch:
		t.Fatalf("unexpected event %+v", e)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestWebappPublishReachesSubscriber(t *testing.T) {
	s := startTOML(t, webappRealm)
	sub := connect(t, s.Endpoints()[0].WebSocketURL, 0, nil)
	events := subscribeChan(t, sub, "com.shop.news")

	res, err := invoke(t, s, "publish", `{"topic": "com.shop.news", "args": [1, 2.5, "x"], "kwargs": {"n": 3, "big": 9007199254740993, "nested": {"k": [1]}}}`)
	if err != nil {
		t.Fatal(err)
	}
	e := nextEvent(t, events)
	if id, _ := res["publication"].(float64); wamp.ID(id) != e.Publication || e.Publication == 0 {
		t.Errorf("publication %v, EVENT carries %d", res["publication"], e.Publication)
	}
	// Integers stay integers, as if a WAMP client had published them.
	if e.Args[0] != int64(1) || e.Args[1] != 2.5 || e.Args[2] != "x" || e.Kwargs["n"] != int64(3) || e.Kwargs["big"] != int64(9007199254740993) {
		t.Errorf("EVENT payload %#v %#v", e.Args, e.Kwargs)
	}
	if l := e.Kwargs["nested"].(map[string]any)["k"].([]any); l[0] != int64(1) {
		t.Errorf("nested value %#v", l[0])
	}
}

func TestWebappPublishOptions(t *testing.T) {
	s := startTOML(t, webappRealm)
	url := s.Endpoints()[0].WebSocketURL
	a, b := connect(t, url, 0, nil), connect(t, url, 0, nil)
	ea, eb := subscribeChan(t, a, "com.shop.news"), subscribeChan(t, b, "com.shop.news")

	if _, err := invoke(t, s, "publish", map[string]any{"topic": "com.shop.news", "options": map[string]any{"eligible": []any{a.SessionID()}}}); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, ea)
	noEvent(t, eb)
	if _, err := invoke(t, s, "publish", map[string]any{"topic": "com.shop.news", "options": map[string]any{"exclude": []any{a.SessionID()}, "retain": true}}); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, eb)
	noEvent(t, ea)
	// The retained event reaches a later subscriber that asks for it.
	c := connect(t, url, 0, nil)
	ch := make(chan *wamp.Event, 1)
	if _, err := c.Subscribe(ctx(t), "com.shop.news", func(e *wamp.Event) { ch <- e }, wamp.Dict{"get_retained": true}); err != nil {
		t.Fatal(err)
	}
	if e := nextEvent(t, ch); e.Details["retained"] != true {
		t.Errorf("retained event details %v", e.Details)
	}
	_, err := invoke(t, s, "publish", map[string]any{"topic": "com.shop.news", "options": map[string]any{"exclude": "nope"}})
	wantOpError(t, err, wamp.ErrInvalidArgument, "exclude")
}

func TestWebappPublishEventClass(t *testing.T) {
	s := startTOML(t, webappRealm)
	sub := connect(t, s.Endpoints()[0].WebSocketURL, 0, nil)
	events := subscribeChan(t, sub, "com.shop.order.created")

	if _, err := invoke(t, s, "publish", `{"kwargs": {"amount": 5}, "options": {"class": "order.created"}}`); err != nil {
		t.Fatal(err)
	}
	if e := nextEvent(t, events); e.Kwargs["amount"] != int64(5) {
		t.Errorf("event %v", e.Kwargs)
	}
	_, err := invoke(t, s, "publish", `{"kwargs": {"amount": "five"}, "options": {"class": "order.created"}}`)
	wantOpError(t, err, wamp.ErrInvalidArgument, "amount")
	if webapp.HTTPStatus(err) != 422 {
		t.Errorf("schema violation status %d, want 422", webapp.HTTPStatus(err))
	}
	_, err = invoke(t, s, "publish", `{"options": {"class": "order.creatd"}}`)
	wantOpError(t, err, wamp.ErrInvalidArgument, `no event class "order.creatd"`)
	_, err = invoke(t, s, "publish", `{"topic": "com.other", "options": {"class": "order.created"}}`)
	wantOpError(t, err, wamp.ErrInvalidArgument, "give one or the other")
	noEvent(t, events)
}

func TestWebappMalformedRequests(t *testing.T) {
	s := startTOML(t, webappRealm)
	for _, tc := range []struct{ op, body, part string }{
		{"publish", `{"topic": 5}`, `field "topic": expected a string`},
		{"publish", `{"topic": "a.b", "colour": 1}`, `unknown field "colour"`},
		{"publish", `{"topic": "a.b"} {}`, "trailing bytes"},
		{"publish_batch", `{"publications": [{"topic": "a.b", "args": {}}]}`, `field "args" of publications[0]: expected an array, got an object`},
		{"publish_batch", `{"publications": 1}`, `field "publications": expected an array`},
		{"publish", `[1]`, "must be a JSON object"},
		{"publish", `{"topic": "a.b"`, "invalid JSON"},
		{"publish", `{}`, "topic (or options.class) is required"},
		{"call", `{"procedure": "a.b", "options": {"timeout": "soon"}}`, "options.timeout"},
		{"kill_session", `{}`, "session"},
		{"issue_ticket", `{"authid": "a"}`, "authrole"},
	} {
		_, err := invoke(t, s, tc.op, tc.body)
		wantOpError(t, err, webapp.ErrMalformed, tc.part)
		if webapp.HTTPStatus(err) != 400 {
			t.Errorf("%s %s: status %d", tc.op, tc.body, webapp.HTTPStatus(err))
		}
	}
	_, err := invoke(t, s, "publsh", `{}`)
	wantOpError(t, err, webapp.ErrNoSuchOperation, `did you mean "publish"`)
	_, err = invoke(t, s, "publish", `{"topic": "com..bad"}`)
	wantOpError(t, err, wamp.ErrInvalidURI, "com..bad")
}

func TestWebappBatch(t *testing.T) {
	s := startTOML(t, webappRealm)
	sub := connect(t, s.Endpoints()[0].WebSocketURL, 0, nil)
	events := subscribeChan(t, sub, "com.shop.news")
	res, err := invoke(t, s, "publish_batch", `{"publications": [{"topic": "com.shop.news", "args": [1]}, {"topic": "bad..uri"}, {"topic": "com.shop.news", "args": [2]}]}`)
	if err != nil {
		t.Fatal(err)
	}
	results := res["results"].([]any)
	if len(results) != 3 || results[0].(map[string]any)["publication"] == nil || results[1].(map[string]any)["error"].(map[string]any)["error"] != string(wamp.ErrInvalidURI) {
		t.Fatalf("results %v", results)
	}
	if a, b := nextEvent(t, events), nextEvent(t, events); a.Args[0] != int64(1) || b.Args[0] != int64(2) {
		t.Errorf("events out of order: %v %v", a.Args, b.Args)
	}
}

func TestWebappTicketsAndRevoke(t *testing.T) {
	s := startTOML(t, webappRealm)
	res, err := invoke(t, s, "issue_ticket", map[string]any{"authid": "alice", "authrole": "user", "ttl": 30, "authextra": map[string]any{"plan": "gold"}})
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := time.Parse(time.RFC3339Nano, res["expires"].(string))
	if d := time.Until(exp); d < 25*time.Second || d > 31*time.Second || res["realm"] != "realm1" {
		t.Errorf("ticket response %v", res)
	}
	offer := wamp.Dict{"authmethods": []any{"ticket"}}
	alice, err := connectAs(t, s, "realm1", "", nil, offer, ticketAnswer(res["ticket"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	if identity(alice.Details()) != "alice/user/ticket/one_time" {
		t.Errorf("identity %s", identity(alice.Details()))
	}
	_, err = invoke(t, s, "issue_ticket", map[string]any{"authid": "bob", "authrole": "admin"})
	wantOpError(t, err, wamp.ErrInvalidArgument, "admin")

	unused, _ := invoke(t, s, "issue_ticket", map[string]any{"authid": "alice", "authrole": "user"})
	res, err = invoke(t, s, "revoke", map[string]any{"authid": "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if res["sessions"] != 1.0 || res["tickets"] != 1.0 {
		t.Errorf("revoke %v, want one session and one ticket", res)
	}
	select {
	case <-alice.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("alice's session was not closed")
	}
	_, err = connectAs(t, s, "realm1", "", nil, offer, ticketAnswer(unused["ticket"].(string)))
	expectAbort(t, err, wamp.ErrAuthenticationFailed, "")
}

func TestWebappSessionsAndKill(t *testing.T) {
	s := startTOML(t, webappRealm)
	url := s.Endpoints()[0].WebSocketURL
	a, b := connect(t, url, 0, nil), connect(t, url, 0, nil)
	res, err := invoke(t, s, "sessions", nil)
	if err != nil {
		t.Fatal(err)
	}
	list := res["sessions"].([]any)
	if len(list) != 2 {
		t.Fatalf("sessions %v, want the 2 clients (not the web-app's own)", list)
	}
	res, _ = invoke(t, s, "sessions", map[string]any{"authid": a.Details()["authid"]})
	if l := res["sessions"].([]any); len(l) != 1 || wamp.ID(l[0].(map[string]any)["session"].(float64)) != a.SessionID() {
		t.Errorf("sessions by authid: %v", l)
	}
	if _, err := invoke(t, s, "kill_session", map[string]any{"session": b.SessionID(), "reason": "com.shop.bye", "message": "go"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.Done():
		var ce *client.CloseError
		if !errors.As(b.Err(), &ce) || ce.Reason != "com.shop.bye" {
			t.Errorf("b ended with %v", b.Err())
		}
	case <-time.After(3 * time.Second):
		t.Fatal("b was not killed")
	}
	_, err = invoke(t, s, "kill_session", map[string]any{"session": 12345})
	wantOpError(t, err, wamp.ErrNoSuchSession, "")
}

func TestWebappCall(t *testing.T) {
	s := startTOML(t, webappRealm)
	callee := connect(t, s.Endpoints()[0].WebSocketURL, 0, nil)
	if _, err := callee.Register(ctx(t), "com.shop.add", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		x, _ := inv.Args[0].(int64)
		y, _ := inv.Args[1].(int64)
		if y == 0 {
			return nil, &client.RPCError{URI: "com.shop.error.zero", Args: wamp.List{"zero"}, Kwargs: wamp.Dict{"y": y}}
		}
		return &client.Result{Args: wamp.List{x + y}, Kwargs: wamp.Dict{"caller": inv.Details["caller"]}}, nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := callee.Register(ctx(t), "com.shop.slow", func(ctx context.Context, _ *client.Invocation) (*client.Result, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}, nil); err != nil {
		t.Fatal(err)
	}
	res, err := invoke(t, s, "call", map[string]any{"procedure": "com.shop.add", "args": []any{2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	if res["args"].([]any)[0] != 5.0 {
		t.Errorf("call result %v", res)
	}
	_, err = invoke(t, s, "call", map[string]any{"procedure": "com.shop.add", "args": []any{2, 0}})
	var e *webapp.Error
	if !errors.As(err, &e) || e.URI != "com.shop.error.zero" || e.Message != "zero" || e.Kwargs["y"] != int64(0) {
		t.Errorf("callee error became %#v", err)
	}
	start := time.Now()
	_, err = invoke(t, s, "call", map[string]any{"procedure": "com.shop.slow", "options": map[string]any{"timeout": 300}})
	wantOpError(t, err, wamp.ErrTimeout, "")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout of 300ms took %v", d)
	}
	_, err = invoke(t, s, "call", map[string]any{"procedure": "com.shop.none"})
	wantOpError(t, err, wamp.ErrNoSuchProcedure, "")
}

func TestWebappClassesHealthStats(t *testing.T) {
	s := startTOML(t, webappRealm)
	c := connect(t, s.Endpoints()[0].WebSocketURL, 0, nil)
	subscribeChan(t, c, "com.shop.news")
	res, err := invoke(t, s, "event_classes", nil)
	if err != nil {
		t.Fatal(err)
	}
	if l := res["classes"].([]any); len(l) != 1 || l[0].(map[string]any)["name"] != "order.created" {
		t.Errorf("classes %v", l)
	}
	res, err = invoke(t, s, "describe_class", map[string]any{"class": "order.created"})
	if err != nil || res["class"].(map[string]any)["topic"] != "com.shop.order.created" {
		t.Errorf("describe_class %v %v", res, err)
	}
	_, err = invoke(t, s, "describe_class", map[string]any{"class": "nope"})
	wantOpError(t, err, wamp.ErrInvalidArgument, "nope")
	res, err = invoke(t, s, "health", nil)
	if err != nil || res["status"] != "ok" || res["store"] != "ok" {
		t.Errorf("health %v %v", res, err)
	}
	invoke(t, s, "publish", map[string]any{"topic": "com.shop.news"})
	res, err = invoke(t, s, "stats", nil)
	if err != nil || res["sessions"] != 1.0 || res["subscriptions"] != 1.0 || res["publications"] != 1.0 {
		t.Errorf("stats %v %v", res, err)
	}
}

// The HTTP representatives on the WebSocket listener's port, behind an API key and a signing key.
func TestWebappHTTPOnListenerPort(t *testing.T) {
	s := startTOML(t, `
[webapp.http]
api_keys = ["0123456789abcdef-key"]
[[webapp.http.hmac_keys]]
id = "django"
secret = "a-signing-secret-of-some-length"
`)
	sub := connect(t, s.Endpoints()[0].WebSocketURL, 0, nil)
	events := subscribeChan(t, sub, "com.shop.news")
	base := s.WebappURL()
	if base != "http://"+addr(s) {
		t.Fatalf("WebappURL %q, want the listener's address %s", base, addr(s))
	}
	post := func(path, body string, hdr map[string]string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	body := `{"topic": "com.shop.news", "args": ["via http"]}`
	if code, m := post("/api/v1/publish", body, nil); code != 401 || m["error"] != string(webapp.ErrUnauthenticated) {
		t.Errorf("without credentials: %d %v", code, m)
	}
	if code, m := post("/api/v1/publish", body, map[string]string{"Authorization": "Bearer 0123456789abcdef-key"}); code != 200 || m["publication"] == nil {
		t.Errorf("with the API key: %d %v", code, m)
	}
	if e := nextEvent(t, events); e.Args[0] != "via http" {
		t.Errorf("event %v", e.Args)
	}
	ts := time.Now().Unix()
	signed := map[string]string{
		"X-Gateway-Key-Id": "django", "X-Gateway-Timestamp": strconv.FormatInt(ts, 10), "X-Gateway-Nonce": "n-1",
		"X-Gateway-Signature": httpauth.Sign("a-signing-secret-of-some-length", "POST", "/api/v1/publish", ts, "n-1", []byte(body)),
	}
	if code, m := post("/api/v1/publish", body, signed); code != 200 {
		t.Errorf("signed: %d %v", code, m)
	}
	nextEvent(t, events)
	if code, m := post("/api/v1/publish", body, signed); code != 401 || !strings.Contains(m["message"].(string), "nonce") {
		t.Errorf("replayed: %d %v", code, m)
	}
	noEvent(t, events)
	// XML-RPC on the same port.
	xml := `<?xml version="1.0"?><methodCall><methodName>gateway.publish</methodName><params>` +
		`<param><value><string>com.shop.news</string></value></param>` +
		`<param><value><array><data><value><int>42</int></value></data></array></value></param>` +
		`</params></methodCall>`
	req, _ := http.NewRequest("POST", base+"/RPC2", strings.NewReader(xml))
	req.Header.Set("Authorization", "Bearer 0123456789abcdef-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(out), "<methodResponse>") || strings.Contains(string(out), "fault") {
		t.Errorf("XML-RPC answer %s", out)
	}
	if e := nextEvent(t, events); e.Args[0] != int64(42) {
		t.Errorf("XML-RPC event %v", e.Args)
	}
	// WebSocket clients still connect on the same port.
	connect(t, s.Endpoints()[0].WebSocketURL, 0, nil)
}

// With an address of its own, the HTTP representative listens there, and the WebSocket port does not
// serve it.
func TestWebappHTTPOwnListener(t *testing.T) {
	s := startTOML(t, `
[webapp.http]
address = "127.0.0.1:0"
loopback_without_credentials = true
`)
	base := s.WebappURL()
	if base == "" || base == "http://"+addr(s) {
		t.Fatalf("WebappURL %q", base)
	}
	resp, err := http.Get(base + "/api/v1/health")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if resp.StatusCode != 200 || m["status"] != "ok" {
		t.Errorf("health: %d %v", resp.StatusCode, m)
	}
	resp, err = http.Get("http://" + addr(s) + "/api/v1/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("the WebSocket port answered the web-app interface: %d", resp.StatusCode)
	}
}

// A publish retried with the same options.message_id is answered with the first publication and
// delivered once.
func TestWebappPublishMessageIDDeduplicates(t *testing.T) {
	s := startTOML(t, webappRealm)
	sub := connect(t, s.Endpoints()[0].WebSocketURL, 0, nil)
	events := subscribeChan(t, sub, "com.shop.news")
	body := `{"topic": "com.shop.news", "options": {"message_id": "order-42"}}`
	first, err := invoke(t, s, "publish", body)
	if err != nil {
		t.Fatal(err)
	}
	second, err := invoke(t, s, "publish", body)
	if err != nil {
		t.Fatal(err)
	}
	if first["publication"] != second["publication"] || second["duplicate"] != true || first["duplicate"] != nil {
		t.Errorf("first %v, retry %v", first, second)
	}
	nextEvent(t, events)
	noEvent(t, events)
	_, err = invoke(t, s, "publish", `{"topic": "com.shop.news", "options": {"message_id": 5}}`)
	wantOpError(t, err, webapp.ErrMalformed, "message_id")
}

// A web-app publish to a topic with a persistent subscription is answered once stored: the client
// that was away gets it when it comes back, with its sequence number.
func TestWebappPublishReachesAbsentPersistentSubscriber(t *testing.T) {
	s := startTOML(t, webappRealm)
	url := s.Endpoints()[0].WebSocketURL
	c := connect(t, url, 0, nil)
	extra, _ := c.Details()["authextra"].(map[string]any)
	token, _ := extra["client_token"].(string)
	if token == "" {
		t.Fatalf("no client token in WELCOME: %v", c.Details())
	}
	if _, err := c.Subscribe(ctx(t), "com.shop.orders", func(*wamp.Event) {}, wamp.Dict{"x_persistent": true}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	res, err := invoke(t, s, "publish", `{"topic": "com.shop.orders", "kwargs": {"order": 1}}`)
	if err != nil {
		t.Fatal(err)
	}
	back, err := connectAs(t, s, "realm1", "", nil, wamp.Dict{"authextra": map[string]any{"client_token": token}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	events := subscribeChan(t, back, "com.shop.orders")
	e := nextEvent(t, events)
	if id, _ := res["publication"].(float64); wamp.ID(id) != e.Publication || e.Kwargs["order"] != int64(1) || e.Details["x_seq"] == nil {
		t.Errorf("replayed %+v, published %v", e, res)
	}
}
