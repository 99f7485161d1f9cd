package router

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/internal/auth"
	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/events"
	"github.com/gateway-dev/gateway/internal/peer"
	"github.com/gateway-dev/gateway/internal/store"
	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

var persistent = wamp.Dict{"x_persistent": true}

func TestPersistentSubscriptionReplaysMissedEventsThenLive(t *testing.T) {
	e := newPersistEnv(t, config.Store{})
	pub, sub := e.join(""), e.join("")
	token := sub.token()
	id := sub.subscribe("com.p", persistent)
	for n := 1; n <= 3; n++ {
		pub.publishAcked("com.p", wamp.Dict{"n": int64(n)})
	}
	checkRun(t, sub.events(id, 3), 1, 1)
	sub.leave()

	for n := 4; n <= 13; n++ {
		pub.publishAcked("com.p", wamp.Dict{"n": int64(n)})
	}
	back := e.join(token)
	if back.token() != token {
		t.Fatalf("the router did not recognise the token")
	}
	id2 := back.subscribe("com.p", nil) // without the option, as a client's on-join handler does
	checkRun(t, back.events(id2, 10), 4, 4)
	pub.publishAcked("com.p", wamp.Dict{"n": int64(14)})
	checkRun(t, back.events(id2, 1), 14, 14)
	back.expectNothing()

	// An ordinary subscriber of the same topic gets no x_seq and no replay.
	other := e.join("")
	oid := other.subscribe("com.p", nil)
	pub.publishAcked("com.p", wamp.Dict{"n": int64(15)})
	if ev := other.events(oid, 1)[0]; seqOf(ev) != 0 || nOf(ev) != 15 {
		t.Errorf("ordinary subscriber got %+v", ev)
	}
	checkRun(t, back.events(id2, 1), 15, 15)
}

func TestPersistentSubscriptionNoGapNoDuplicateUnderConcurrentPublishing(t *testing.T) {
	e := newPersistEnv(t, config.Store{})
	sub := e.join("")
	token := sub.token()
	sub.subscribe("com.race", persistent)
	sub.leave()
	const publishers, each, backlog = 4, 400, 1500
	pubs := make([]*testClient, publishers)
	for i := range pubs {
		pubs[i] = e.join("")
	}
	var n int64
	for range backlog {
		n++
		pubs[0].publishAcked("com.race", wamp.Dict{"n": n, "p": int64(0)})
	}
	back := e.join(token)
	var wg sync.WaitGroup
	for i, p := range pubs {
		wg.Go(func() {
			for j := range each {
				req := p.publish("com.race", wamp.Dict{"acknowledge": true}, nil, wamp.Dict{"n": int64(backlog + i*each + j + 1), "p": int64(i)})
				if pd, ok := (<-p.conn.out).(*wamp.Published); !ok || pd.Request != req {
					t.Errorf("publisher %d: no PUBLISHED for %d", i, req)
					return
				}
			}
		})
	}
	id := back.subscribe("com.race", nil)
	total := backlog + publishers*each
	evs := back.events(id, total)
	wg.Wait()
	seen := map[int64]bool{}
	last := map[int64]int64{} // per publisher: events of one publisher arrive in its order
	for i, ev := range evs {
		if seqOf(ev) != uint64(i+1) {
			t.Fatalf("event %d has x_seq %d: a gap or a duplicate", i, seqOf(ev))
		}
		if seen[nOf(ev)] {
			t.Fatalf("publication n=%d delivered twice", nOf(ev))
		}
		seen[nOf(ev)] = true
		p, _ := asInt(ev.Kwargs["p"])
		if nOf(ev) <= last[p] {
			t.Fatalf("publisher %d's events out of order: %d after %d", p, nOf(ev), last[p])
		}
		last[p] = nOf(ev)
	}
	back.expectNothing()
}

func TestPersistentSubscriptionSurvivesRestart(t *testing.T) {
	e := newPersistEnv(t, config.Store{})
	sub := e.join("")
	token := sub.token()
	id := sub.subscribe("com.restart", persistent)
	pub := e.join("")
	pub.publishAcked("com.restart", wamp.Dict{"n": int64(1)})
	checkRun(t, sub.events(id, 1), 1, 1)
	sub.leave()
	for n := 2; n <= 6; n++ {
		pub.publishAcked("com.restart", wamp.Dict{"n": int64(n)})
	}
	e.restart()
	pub = e.join("")
	for n := 7; n <= 9; n++ { // kept while the client is away: the router loaded the record at start
		pub.publishAcked("com.restart", wamp.Dict{"n": int64(n)})
	}
	back := e.join(token)
	id = back.subscribe("com.restart", nil)
	checkRun(t, back.events(id, 8), 2, 2)
	pub.publishAcked("com.restart", wamp.Dict{"n": int64(10)})
	checkRun(t, back.events(id, 1), 10, 10)

	// The position delivered before a restart is not delivered again after it.
	e.restart()
	back = e.join(token)
	id = back.subscribe("com.restart", nil)
	back.expectNothing()
	pub = e.join("")
	pub.publishAcked("com.restart", wamp.Dict{"n": int64(11)})
	checkRun(t, back.events(id, 1), 11, 11)
}

func TestPersistentGapIsSignalled(t *testing.T) {
	e := newPersistEnv(t, config.Store{MaxBacklog: 5})
	sub, pub := e.join(""), e.join("")
	token := sub.token()
	sub.subscribe("com.gap", persistent)
	sub.leave()
	for n := 1; n <= 12; n++ {
		pub.publishAcked("com.gap", wamp.Dict{"n": int64(n)})
	}
	back := e.join(token)
	gaps := back.subscribe(topicOnGap, nil)
	id := back.subscribe("com.gap", nil)
	// on_gap comes first, then the 5 events that were kept, the first with x_gap.
	g := recvAs[*wamp.Event](back)
	if g.Subscription != gaps || len(g.Args) != 2 {
		t.Fatalf("on_gap event: %+v", g)
	}
	want := wamp.Dict{"from": int64(1), "to": int64(7), "lost": int64(7)}
	if fmt.Sprint(g.Args[1]) != fmt.Sprint(want) {
		t.Errorf("on_gap details %v, want %v", g.Args[1], want)
	}
	if s, _ := asID(g.Args[0]); s != id {
		t.Errorf("on_gap names subscription %v, want %d", g.Args[0], id)
	}
	evs := back.events(id, 5)
	checkRun(t, evs, 8, 8)
	if fmt.Sprint(evs[0].Details["x_gap"]) != fmt.Sprint(want) {
		t.Errorf("first replayed event's x_gap = %v, want %v", evs[0].Details["x_gap"], want)
	}
	for _, ev := range evs[1:] {
		if _, ok := ev.Details["x_gap"]; ok {
			t.Errorf("x_gap on a later event: %v", ev.Details)
		}
	}
}

func TestPersistentGapWithNothingLeftGoesOnTheNextLiveEvent(t *testing.T) {
	e := newPersistEnv(t, config.Store{Retention: []config.RetentionRule{{Topic: "com.aged.", Match: "prefix", MaxAge: 50 * time.Millisecond}}})
	sub, pub := e.join(""), e.join("")
	token := sub.token()
	sub.subscribe("com.aged.x", persistent)
	sub.leave()
	for n := 1; n <= 3; n++ {
		pub.publishAcked("com.aged.x", wamp.Dict{"n": int64(n)})
	}
	time.Sleep(100 * time.Millisecond) // all three are older than max_age now
	back := e.join(token)
	gaps := back.subscribe(topicOnGap, nil)
	id := back.subscribe("com.aged.x", nil)
	if g := back.events(gaps, 1)[0]; fmt.Sprint(g.Args[1]) != fmt.Sprint(wamp.Dict{"from": int64(1), "to": int64(3), "lost": int64(3)}) {
		t.Errorf("on_gap %v", g.Args)
	}
	pub.publishAcked("com.aged.x", wamp.Dict{"n": int64(4)})
	ev := back.events(id, 1)[0]
	if seqOf(ev) != 4 || ev.Details["x_gap"] == nil {
		t.Errorf("first live event after an emptied backlog: %v", ev.Details)
	}
}

func TestPersistentSubscriptionRefusals(t *testing.T) {
	e := newPersistEnv(t, config.Store{MaxPersistentSubscriptions: 2})
	c := e.join("")
	c.subscribe("com.a", persistent)
	c.subscribe("com.b", wamp.Dict{"x_persistent": true, "x_filter": "n > 1"})
	err := c.subscribeError("com.c", persistent, ErrLimitReached)
	if msg := fmt.Sprint(err.Args); !strings.Contains(msg, "max_persistent_subscriptions") {
		t.Errorf("limit message %q does not name the setting", msg)
	}
	c.subscribe("com.c", nil) // an ordinary subscription is still fine
	c.subscribe("com.a", persistent)
	c.subscribeError("com.d", wamp.Dict{"x_persistent": "yes"}, wamp.ErrInvalidArgument)
	c.subscribeError("wamp.session.on_join", persistent, wamp.ErrInvalidArgument)

	// Without client tokens there is no identity to come back with.
	r := newRouter(t)
	anon := join(t, r)
	err = anon.subscribeError("com.a", persistent, wamp.ErrUnavailable)
	if msg := fmt.Sprint(err.Args); !strings.Contains(msg, "store") {
		t.Errorf("no-store message %q", msg)
	}
	st := e.st
	notoken, errNew := New(Config{Realms: []RealmConfig{{Name: "realm1", Store: st}}, HelloTimeout: time.Second})
	if errNew != nil {
		t.Fatal(errNew)
	}
	nt := join(t, notoken)
	err = nt.subscribeError("com.a", persistent, wamp.ErrInvalidArgument)
	if msg := fmt.Sprint(err.Args); !strings.Contains(msg, "client identity token") {
		t.Errorf("no-token message %q", msg)
	}
}

func TestPersistAndForgetProcedures(t *testing.T) {
	e := newPersistEnv(t, config.Store{})
	c, pub := e.join(""), e.join("")
	token := c.token()
	id := c.subscribe("com.proc", nil)
	pub.publishAcked("com.proc", wamp.Dict{"n": int64(1)})
	if ev := c.events(id, 1)[0]; seqOf(ev) != 0 {
		t.Fatalf("ordinary event carries x_seq: %v", ev.Details)
	}
	res := c.callResult(procSubPersist, wamp.List{id}, nil)
	if d, _ := res.Args[0].(map[string]any); d["seq"] != int64(0) {
		t.Errorf("persist answered %v, want seq 0 (nothing logged yet)", res.Args)
	}
	c.callResult(procSubPersist, wamp.List{id}, nil) // again: no change
	pub.publishAcked("com.proc", wamp.Dict{"n": int64(2)})
	checkRun(t, c.events(id, 1), 1, 2)
	c.leave()
	pub.publishAcked("com.proc", wamp.Dict{"n": int64(3)})
	c = e.join(token)
	id = c.subscribe("com.proc", nil)
	checkRun(t, c.events(id, 1), 2, 3)

	c.callResult(procSubForget, wamp.List{id}, nil)
	pub.publishAcked("com.proc", wamp.Dict{"n": int64(4)})
	if ev := c.events(id, 1)[0]; seqOf(ev) != 0 || nOf(ev) != 4 {
		t.Errorf("after forget: %+v", ev)
	}
	c.callError(procSubForget, nil, wamp.List{id}, wamp.ErrInvalidArgument)
	c.callError(procSubPersist, nil, wamp.List{int64(12345)}, wamp.ErrNoSuchSubscription)
	c.leave()
	pub.publishAcked("com.proc", wamp.Dict{"n": int64(5)})
	c = e.join(token)
	c.subscribe("com.proc", nil)
	c.expectNothing() // forgotten: nothing was kept
	e.restart()
	c = e.join(token)
	c.subscribe("com.proc", nil)
	c.expectNothing()
}

func TestPersistentSubscriptionWithFilter(t *testing.T) {
	e := newPersistEnv(t, config.Store{})
	hi, lo, pub := e.join(""), e.join(""), e.join("")
	hiTok, loTok := hi.token(), lo.token()
	hi.subscribe("com.f", wamp.Dict{"x_persistent": true, "x_filter": "n > 2"})
	lo.subscribe("com.f", wamp.Dict{"x_persistent": true, "x_filter": "n <= 2"})
	hi.leave()
	lo.leave()
	for n := 1; n <= 4; n++ {
		pub.publishAcked("com.f", wamp.Dict{"n": int64(n)})
	}
	hi = e.join(hiTok)
	id := hi.subscribe("com.f", wamp.Dict{"x_filter": "n > 2"})
	checkRun(t, hi.events(id, 2), 1, 3) // the filtered log holds only n > 2: sequence 1, 2
	lo = e.join(loTok)
	id = lo.subscribe("com.f", wamp.Dict{"x_filter": "2 >= n"}) // the same filter, written differently
	checkRun(t, lo.events(id, 2), 1, 1)
	// The same topic without the filter is another subscription: nothing kept for it.
	other := lo.subscribe("com.f", nil)
	lo.expectNothing()
	pub.publishAcked("com.f", wamp.Dict{"n": int64(1)})
	if ev := lo.recv().(*wamp.Event); ev.Subscription == other && seqOf(ev) != 0 {
		t.Errorf("unfiltered subscription's event carries x_seq: %v", ev.Details)
	}
}

func TestPersistentPrefixSubscriptionOrdersAcrossTopics(t *testing.T) {
	e := newPersistEnv(t, config.Store{})
	sub, pub := e.join(""), e.join("")
	token := sub.token()
	sub.subscribe("com.pre.", wamp.Dict{"x_persistent": true, "match": "prefix"})
	sub.leave()
	topics := []wamp.URI{"com.pre.a", "com.pre.b", "com.other", "com.pre.a.b"}
	for n, tp := range topics {
		pub.publishAcked(tp, wamp.Dict{"n": int64(n + 1)})
	}
	back := e.join(token)
	id := back.subscribe("com.pre.", wamp.Dict{"match": "prefix"})
	evs := back.events(id, 3)
	for i, want := range []wamp.URI{"com.pre.a", "com.pre.b", "com.pre.a.b"} {
		if evs[i].Details["topic"] != string(want) || seqOf(evs[i]) != uint64(i+1) {
			t.Errorf("event %d: %v, want topic %s x_seq %d", i, evs[i].Details, want, i+1)
		}
	}
	back.expectNothing()
}

func TestNewestSessionOfAClientTakesOverItsPersistentSubscription(t *testing.T) {
	e := newPersistEnv(t, config.Store{})
	first, pub := e.join(""), e.join("")
	token := first.token()
	id := first.subscribe("com.take", persistent)
	pub.publishAcked("com.take", wamp.Dict{"n": int64(1)})
	checkRun(t, first.events(id, 1), 1, 1)
	second := e.join(token) // e.g. a reconnect before the old connection was seen to be gone
	id2 := second.subscribe("com.take", nil)
	pub.publishAcked("com.take", wamp.Dict{"n": int64(2)})
	checkRun(t, second.events(id2, 1), 2, 2)
	first.expectNothing()
	res := pub.callResult("wamp.subscription.list_subscribers", wamp.List{id2}, nil)
	if list, _ := res.Args[0].([]any); len(list) != 1 || fmt.Sprint(list[0]) != fmt.Sprint(second.id) {
		t.Errorf("subscribers after the takeover: %v, want only the new session %d", res.Args, second.id)
	}
}

func TestPersistentPublishRefusedWhenTheStoreFails(t *testing.T) {
	e := newPersistEnv(t, config.Store{})
	sub, pub := e.join(""), e.join("")
	id := sub.subscribe("com.durable", persistent)
	plain := sub.subscribe("com.live", nil)
	e.st.Close() // the store is gone (as after a fatal disk error)
	req := pub.publish("com.durable", wamp.Dict{"acknowledge": true}, nil, wamp.Dict{"n": int64(1)})
	errMsg := recvAs[*wamp.Error](pub)
	if errMsg.Request != req || errMsg.Error != wamp.ErrUnavailable {
		t.Fatalf("PUBLISH on a persistent topic with a failed store: %+v", errMsg)
	}
	sub.expectNothing() // refused: delivered to no one
	pub.publishAcked("com.live", wamp.Dict{"n": int64(2)})
	if ev := sub.events(plain, 1)[0]; nOf(ev) != 2 {
		t.Errorf("live traffic: %+v", ev)
	}
	// Without acknowledge the publisher cannot be told: the event goes live, without x_seq.
	pub.publish("com.durable", nil, nil, wamp.Dict{"n": int64(3)})
	if ev := sub.events(id, 1)[0]; nOf(ev) != 3 || seqOf(ev) != 0 {
		t.Errorf("unacknowledged publish with a failed store: %+v", ev)
	}
}

// Switching a live session between ordinary and persistent delivery (persist, then forget) while
// others publish must neither lose nor double an event.
func TestPersistAndForgetWhilePublishing(t *testing.T) {
	e := newPersistEnv(t, config.Store{})
	c := e.join("")
	id := c.subscribe("com.switch", nil)
	keep := e.join("") // another client's persistent subscription keeps the log busy throughout
	keep.subscribe("com.switch", persistent)
	const publishers, each = 4, 300
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range publishers {
		p := e.join("")
		wg.Go(func() {
			<-start
			for j := range each {
				req := p.publish("com.switch", wamp.Dict{"acknowledge": true}, nil, wamp.Dict{"n": int64(i*each + j + 1)})
				if pd, ok := (<-p.conn.out).(*wamp.Published); !ok || pd.Request != req {
					t.Errorf("publisher %d: no PUBLISHED for %d", i, req)
					return
				}
			}
		})
	}
	got := map[int64]int{}
	var persisted []*wamp.Event
	read := func(n int) {
		for range n {
			ev := recvAs[*wamp.Event](c)
			got[nOf(ev)]++
			if seqOf(ev) != 0 {
				persisted = append(persisted, ev)
			}
		}
	}
	close(start)
	read(100)
	// The RESULT arrives among the events; collect both.
	call := func(proc wamp.URI) {
		req := c.call(proc, nil, wamp.List{id}, nil)
		for {
			switch m := c.recv().(type) {
			case *wamp.Event:
				got[nOf(m)]++
				if seqOf(m) != 0 {
					persisted = append(persisted, m)
				}
				continue
			case *wamp.Result:
				if m.Request != req {
					t.Fatalf("RESULT for %d", m.Request)
				}
			default:
				t.Fatalf("unexpected %s", m.MessageType())
			}
			return
		}
	}
	call(procSubPersist)
	read(100)
	call(procSubForget)
	wg.Wait()
	total := publishers * each
	for len(got) < total {
		read(1)
	}
	c.expectNothing()
	for n := int64(1); n <= int64(total); n++ {
		if got[n] != 1 {
			t.Fatalf("publication %d delivered %d times", n, got[n])
		}
	}
	if len(persisted) == 0 {
		t.Fatal("no event was delivered persistently between persist and forget")
	}
	for i := 1; i < len(persisted); i++ {
		if seqOf(persisted[i]) <= seqOf(persisted[i-1]) {
			t.Fatalf("persistent events out of order: x_seq %d after %d", seqOf(persisted[i]), seqOf(persisted[i-1]))
		}
	}
}

// A persistent subscription made by an authenticated client resumes only for that authid: the
// same device coming back anonymously (logged out) gets an ordinary subscription and none of
// the kept events.
func TestPersistentSubscriptionBelongsToItsAuthID(t *testing.T) {
	cfg, err := config.Parse("test.toml", []byte(authRealmTOML))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir(), StoreOptions(&cfg.Store, nil))
	if err != nil {
		t.Fatal(err)
	}
	tokens := auth.NewTokens(st, config.ClientToken{Enabled: true})
	rc := &cfg.Realms[0]
	authz, err := auth.NewAuthorizer(rc.Roles, rc.StrictURIs)
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.NewAuthenticator(rc, authz, auth.Deps{Store: st, Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{Realms: []RealmConfig{{Name: "realm1", Authenticator: authn, Authorizer: authz, Store: st}},
		HelloTimeout: time.Second, GoodbyeTimeout: 200 * time.Millisecond, Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		r.Shutdown(ctx)
		r.Realm("realm1").broker.pers.replays.Wait()
		st.Close()
	})
	hello := func(token string, ticket bool) *testClient {
		c := dial(t, r, codec.JSON)
		d := wamp.Dict{"roles": allClientRoles, "authextra": wamp.Dict{"client_token": token}}
		if ticket {
			d["authmethods"], d["authid"] = []any{"ticket"}, "alice"
		}
		c.send(&wamp.Hello{Realm: "realm1", Details: d})
		if ticket {
			recvAs[*wamp.Challenge](c)
			c.send(&wamp.Authenticate{Signature: "alice-secret", Extra: wamp.Dict{}})
		}
		w := recvAs[*wamp.Welcome](c)
		c.id, c.welc = w.Session, w
		return c
	}
	alice := hello("", true)
	token := alice.token()
	alice.subscribe("com.example.public.news", persistent)
	alice.leave()
	svc := login(t, r, "svc", "svc-secret")
	svc.publishAcked("com.example.public.news", wamp.Dict{"n": int64(1)})

	anon := hello(token, false)
	if anon.welc.Details["authrole"] != "anonymous" || anon.token() != token {
		t.Fatalf("expected an anonymous session with the same token: %v", anon.welc.Details)
	}
	anon.subscribe("com.example.public.news", nil)
	anon.expectNothing()
	anon.leave()

	alice = hello(token, true)
	id := alice.subscribe("com.example.public.news", nil)
	checkRun(t, alice.events(id, 1), 1, 1)
}

// [[store.retention]] rules bound event history too, taking precedence over the class's retention.
func TestStoreRetentionRuleBoundsEventHistory(t *testing.T) {
	cfg, err := config.Parse("test.toml", []byte(historyTOML+`
[store]
data_dir = "data"
[[store.retention]]
topic = "com.example.log"
max_events = 2
`))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := events.NewRegistry(cfg.Realms[0].EventClasses)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir(), StoreOptions(&cfg.Store, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r, err := New(Config{Realms: []RealmConfig{{Name: "realm1", Events: reg, Store: st}}, HelloTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c := join(t, r)
	for n := 1; n <= 4; n++ {
		c.publishAcked("com.example.log", wamp.Dict{"level": "info", "n": int64(n)})
		c.publishAcked("com.example.log.auth", wamp.Dict{"level": "info", "n": int64(n)})
	}
	count := func(topic wamp.URI) int {
		id := c.subscribe(topic, nil)
		l, _ := c.callResult("wamp.subscription.get_events", wamp.List{id}, wamp.Dict{"topic": string(topic)}).Args[0].([]any)
		return len(l)
	}
	if n := count("com.example.log"); n != 2 {
		t.Errorf("history of a topic with a [[store.retention]] rule of 2 events holds %d", n)
	}
	if n := count("com.example.log.auth"); n != 4 {
		t.Errorf("history of a topic without a rule (class retention 5) holds %d, want 4", n)
	}
}

// stallConn is a fakeConn that reports the queued bytes the test sets, to hold a replay.
type stallConn struct {
	*fakeConn
	queued atomic.Int64
}

func (c *stallConn) QueuedBytes() int { return int(c.queued.Load()) }

// joinStalled joins like persistEnv.join, over a stallConn.
func (e *persistEnv) joinStalled(token string) (*testClient, *stallConn) {
	e.t.Helper()
	sc := &stallConn{fakeConn: &fakeConn{ser: serializer(e.t, codec.JSON), out: make(chan wamp.Message, 10000), raw: make(chan []byte, 10000),
		info: peer.Info{Transport: "websocket", Network: "tcp", RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5555}}}}
	tc := &testClient{t: e.t, conn: sc.fakeConn, sess: e.r.Accept(sc)}
	sc.session = tc.sess
	tc.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": allClientRoles, "authextra": wamp.Dict{"client_token": token}}})
	w := recvAs[*wamp.Welcome](tc)
	tc.id, tc.welc = w.Session, w
	return tc, sc
}

// A replay waits while the connection's queue is long, and UNSUBSCRIBE in the middle of it stops
// it at once (no EVENT after UNSUBSCRIBED); the position reached is kept, so subscribing again
// delivers the rest, exactly once.
func TestReplayPacingAndUnsubscribeDuringReplay(t *testing.T) {
	e := newPersistEnv(t, config.Store{})
	sub, pub := e.join(""), e.join("")
	token := sub.token()
	sub.subscribe("com.stop", persistent)
	sub.leave()
	const backlog = 1500
	for n := 1; n <= backlog; n++ {
		pub.publish("com.stop", nil, nil, wamp.Dict{"n": int64(n)})
	}
	pub.publishAcked("com.stop", wamp.Dict{"n": int64(backlog + 1)})
	back, conn := e.joinStalled(token)
	conn.queued.Store(replayQueueTarget + 1) // a client that does not read
	id := back.subscribe("com.stop", nil)
	got := make([]int64, 0, backlog+1)
	for _, ev := range back.events(id, replayBatch) {
		got = append(got, nOf(ev))
	}
	back.expectNothing() // the replay waits for the queue
	req := back.nextReq()
	back.send(&wamp.Unsubscribe{Request: req, Subscription: id})
	if u := recvAs[*wamp.Unsubscribed](back); u.Request != req {
		t.Fatalf("UNSUBSCRIBED for %d", u.Request)
	}
	conn.queued.Store(0)
	back.expectNothing() // the replay ended with the subscription
	id = back.subscribe("com.stop", nil)
	for _, ev := range back.events(id, backlog+1-len(got)) {
		got = append(got, nOf(ev))
	}
	for i, n := range got {
		if n != int64(i+1) {
			t.Fatalf("event %d has n=%d: the two replays overlap or leave a gap", i, n)
		}
	}
	back.expectNothing()
}
