package router

import (
	"fmt"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/events"
	"github.com/gateway-dev/gateway/internal/store"
	"github.com/gateway-dev/gateway/wamp"
)

const historyTOML = `
[[realms]]
name = "realm1"

[[realms.event_classes]]
name = "log"
topic = "com.example.log"
retention = { max_events = 5 }
[realms.event_classes.fields]
level = { type = "string", required = true }
n = { type = "int" }

[[realms.event_classes]]
name = "log.auth"
topic = "com.example.log.auth"
extends = "log"

[[realms.event_classes]]
name = "nohistory"
topic = "com.example.live"
`

func historyRouter(t *testing.T, dir string) *Router {
	t.Helper()
	cfg, err := config.Parse("test.toml", []byte(historyTOML))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := events.NewRegistry(cfg.Realms[0].EventClasses)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r, err := New(Config{Realms: []RealmConfig{{Name: "realm1", AllowDisclose: true, Events: reg, Store: st}},
		HelloTimeout: time.Second, GoodbyeTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEventHistory(t *testing.T) {
	r := historyRouter(t, t.TempDir())
	pub, sub := join(t, r), join(t, r)
	parent := sub.subscribe("com.example.log", nil)
	errorsOnly := sub.subscribe("com.example.log", wamp.Dict{"x_filter": `level == "error"`})
	live := sub.subscribe("com.example.live", nil)
	for i := 1; i <= 7; i++ {
		level := "info"
		if i%2 == 0 {
			level = "error"
		}
		topic := wamp.URI("com.example.log")
		if i == 7 {
			topic = "com.example.log.auth" // a subclass: the parent's subscribers get it too
		}
		pub.publish(topic, wamp.Dict{"acknowledge": true}, nil, wamp.Dict{"level": level, "n": int64(i)})
		recvAs[*wamp.Published](pub)
	}
	sub.drain()
	ns := func(res *wamp.Result) string {
		t.Helper()
		var out []any
		for _, e := range res.Args[0].([]any) {
			d := e.(map[string]any)
			out = append(out, d["kwargs"].(map[string]any)["n"])
		}
		return fmt.Sprint(out)
	}
	// The class's topic keeps its last 5 events (2..6; event 1 was trimmed); the subclass's log has 7.
	if got := ns(sub.callResult("wamp.subscription.get_events", wamp.List{parent}, nil)); got != "[2 3 4 5 6 7]" {
		t.Fatalf("history of the parent subscription: %s", got)
	}
	req := sub.nextReq()
	sub.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "wamp.subscription.get_events", Args: wamp.List{parent}, Kwargs: wamp.Dict{"reverse": true, "limit": int64(2)}})
	if got := ns(recvAs[*wamp.Result](sub)); got != "[7 6]" {
		t.Fatalf("reverse, limit 2: %s", got)
	}
	if got := ns(sub.callResult("wamp.subscription.get_events", wamp.List{errorsOnly}, nil)); got != "[2 4 6]" {
		t.Fatalf("history through a filter: %s", got)
	}
	sub.callError("wamp.subscription.get_events", nil, wamp.List{live}, wamp.ErrInvalidArgument)
	sub.callError("wamp.subscription.get_events", nil, wamp.List{int64(123)}, wamp.ErrNoSuchSubscription)
	one := sub.callResult("wamp.subscription.get_events", wamp.List{parent}, nil).Args[0].([]any)[0].(map[string]any)
	if one["topic"] == nil || one["publication"] == nil || one["timestamp"] == nil {
		t.Fatalf("history entry %v", one)
	}
}

func TestEventHistorySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	r := historyRouter(t, dir)
	pub := join(t, r)
	pub.publish("com.example.log", wamp.Dict{"acknowledge": true}, nil, wamp.Dict{"level": "info", "n": int64(1)})
	recvAs[*wamp.Published](pub)
	st := r.Realm("realm1").cfg.Store
	st.Close()

	r2 := historyRouter(t, dir)
	sub := join(t, r2)
	id := sub.subscribe("com.example.log", nil)
	if l := sub.callResult("wamp.subscription.get_events", wamp.List{id}, nil).Args[0].([]any); len(l) != 1 {
		t.Fatalf("history after restart: %v", l)
	}
}

// A [[store.retention]] rule keeps the history of topics without an event class, for exact, prefix
// and wildcard subscriptions, bounded by the rule.
func TestEventHistoryByRetentionRule(t *testing.T) {
	cfg, err := config.Parse("test.toml", []byte(`
[[store.retention]]
topic = "com.example.news."
match = "prefix"
max_events = 3
`))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r, err := New(Config{Realms: []RealmConfig{{Name: "realm1", Store: st, HistoryRetention: HistoryRetention(&cfg.Store)}},
		HelloTimeout: time.Second, GoodbyeTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	pub, sub := join(t, r), join(t, r)
	exact := sub.subscribe("com.example.news.sport", nil)
	prefix := sub.subscribe("com.example.news.", wamp.Dict{"match": "prefix"})
	wildcard := sub.subscribe("com.example..sport", wamp.Dict{"match": "wildcard"})
	other := sub.subscribe("com.example.weather", nil)
	for i := 1; i <= 7; i++ {
		topic := wamp.URI("com.example.news.sport")
		if i%2 == 0 {
			topic = "com.example.news.politics"
		}
		pub.publish(topic, wamp.Dict{"acknowledge": true}, nil, wamp.Dict{"n": int64(i)})
		recvAs[*wamp.Published](pub)
	}
	pub.publish("com.example.weather", wamp.Dict{"acknowledge": true}, nil, wamp.Dict{"n": int64(9)})
	recvAs[*wamp.Published](pub)
	sub.drain()
	ns := func(id wamp.ID) string {
		t.Helper()
		var out []any
		for _, e := range sub.callResult("wamp.subscription.get_events", wamp.List{id}, nil).Args[0].([]any) {
			out = append(out, e.(map[string]any)["kwargs"].(map[string]any)["n"])
		}
		return fmt.Sprint(out)
	}
	// Each topic's log keeps its last 3: sport 3 5 7 (1 was dropped), politics 2 4 6.
	if got := ns(exact); got != "[3 5 7]" {
		t.Errorf("exact: %s", got)
	}
	if got := ns(prefix); got != "[2 3 4 5 6 7]" {
		t.Errorf("prefix: %s", got)
	}
	if got := ns(wildcard); got != "[3 5 7]" {
		t.Errorf("wildcard: %s", got)
	}
	sub.callError("wamp.subscription.get_events", nil, wamp.List{other}, wamp.ErrInvalidArgument)
}
