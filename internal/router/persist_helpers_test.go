package router

import (
	"context"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/internal/auth"
	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/store"
	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
	"go.uber.org/goleak"
)

// persistEnv is a router with a store and client tokens in a data directory that outlives it, so
// a test can restart the router on the same data.
type persistEnv struct {
	t   *testing.T
	dir string
	cfg config.Store
	st  *store.Store
	r   *Router
}

func newPersistEnv(t *testing.T, cfg config.Store) *persistEnv {
	t.Helper()
	e := &persistEnv{t: t, dir: t.TempDir(), cfg: cfg}
	e.start()
	t.Cleanup(e.stop)
	return e
}

// start opens the store and starts a router on it.
func (e *persistEnv) start() {
	e.t.Helper()
	st, err := store.Open(e.dir, StoreOptions(&e.cfg, nil))
	if err != nil {
		e.t.Fatal(err)
	}
	tokens := auth.NewTokens(st, config.ClientToken{Enabled: true})
	r, err := New(Config{Realms: []RealmConfig{{Name: "realm1", AllowDisclose: true, Store: st}},
		HelloTimeout: time.Second, GoodbyeTimeout: 200 * time.Millisecond, Tokens: tokens})
	if err != nil {
		e.t.Fatal(err)
	}
	e.st, e.r = st, r
}

// stop shuts the router down (sessions end, positions are written), waits for replays, and
// closes the store.
func (e *persistEnv) stop() {
	if e.r == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	e.r.Shutdown(ctx)
	if pr := e.r.Realm("realm1").broker.pers; pr != nil {
		pr.replays.Wait()
	}
	e.st.Close()
	e.r, e.st = nil, nil
}

// restart stops the router and the store and starts both again on the same directory.
func (e *persistEnv) restart() {
	e.stop()
	e.start()
}

// join opens a session presenting token (a new client when "").
func (e *persistEnv) join(token string) *testClient {
	e.t.Helper()
	d := wamp.Dict{"roles": allClientRoles}
	if token != "" {
		d["authextra"] = wamp.Dict{"client_token": token}
	}
	return joinWith(e.t, e.r, codec.JSON, d)
}

// token returns the client token the router gave c.
func (c *testClient) token() string {
	c.t.Helper()
	extra, _ := c.welc.Details["authextra"].(map[string]any)
	tok, _ := extra["client_token"].(string)
	if tok == "" {
		c.t.Fatal("no client token in WELCOME")
	}
	return tok
}

// leave ends the session with GOODBYE and waits for the router's answer.
func (c *testClient) leave() {
	c.t.Helper()
	c.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrCloseRealm})
	for {
		if _, ok := c.recv().(*wamp.Goodbye); ok {
			return
		}
	}
}

// publishAcked publishes with acknowledge and expects PUBLISHED.
func (c *testClient) publishAcked(topic wamp.URI, kwargs wamp.Dict) {
	c.t.Helper()
	req := c.publish(topic, wamp.Dict{"acknowledge": true}, nil, kwargs)
	p := recvAs[*wamp.Published](c)
	if p.Request != req {
		c.t.Fatalf("PUBLISHED for %d, want %d", p.Request, req)
	}
}

// subscribeError sends SUBSCRIBE and expects ERROR with uri.
func (c *testClient) subscribeError(topic wamp.URI, opts wamp.Dict, uri wamp.URI) *wamp.Error {
	c.t.Helper()
	req := c.nextReq()
	c.send(&wamp.Subscribe{Request: req, Options: opts, Topic: topic})
	e := recvAs[*wamp.Error](c)
	if e.Request != req || e.RequestType != wamp.SUBSCRIBE || e.Error != uri {
		c.t.Fatalf("got ERROR %s for %s %d (%v), want %s for SUBSCRIBE %d", e.Error, e.RequestType, e.Request, e.Args, uri, req)
	}
	return e
}

// events receives n EVENTs of subscription sub (other messages fail the test).
func (c *testClient) events(sub wamp.ID, n int) []*wamp.Event {
	c.t.Helper()
	out := make([]*wamp.Event, 0, n)
	for len(out) < n {
		ev := recvAs[*wamp.Event](c)
		if ev.Subscription != sub {
			c.t.Fatalf("EVENT for subscription %d, want %d: %+v", ev.Subscription, sub, ev)
		}
		out = append(out, ev)
	}
	return out
}

// seqOf returns EVENT.Details.x_seq (0 when absent).
func seqOf(ev *wamp.Event) uint64 {
	n, _ := asInt(ev.Details["x_seq"])
	return uint64(n)
}

// nOf returns the "n" keyword argument of an event (the test's publication counter).
func nOf(ev *wamp.Event) int64 {
	n, _ := asInt(ev.Kwargs["n"])
	return n
}

// checkRun asserts that evs carry x_seq first, first+1, ... and n values nFirst, nFirst+1, ...
func checkRun(t *testing.T, evs []*wamp.Event, first uint64, nFirst int64) {
	t.Helper()
	for i, ev := range evs {
		if seqOf(ev) != first+uint64(i) || nOf(ev) != nFirst+int64(i) {
			t.Fatalf("event %d: x_seq %d n %d, want x_seq %d n %d (details %v)", i, seqOf(ev), nOf(ev), first+uint64(i), nFirst+int64(i), ev.Details)
		}
	}
}

// TestMain checks that the package's tests leave no goroutine behind (replays, timers, sessions).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
