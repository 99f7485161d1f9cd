package interop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/transport/serialize"
	"github.com/gammazero/nexus/v3/wamp"
)

// step bounds one expected message in the nexus client tests.
const step = 5 * time.Second

var nexusSerializers = map[string]serialize.Serialization{
	"json":    serialize.JSON,
	"msgpack": serialize.MSGPACK,
	"cbor":    serialize.CBOR,
}

// TestNexusClient drives the nexus Go client (github.com/gammazero/nexus/v3 v3.3.0) against the router
// over WebSocket and RawSocket with each serializer.
func TestNexusClient(t *testing.T) {
	r := needRouter(t)
	for _, transport := range []string{"websocket", "rawsocket"} {
		url := r.wsURL
		if transport == "rawsocket" {
			url = "tcp://" + r.rsAddr
		}
		for _, ser := range serializers {
			t.Run(transport+"/"+ser, func(t *testing.T) {
				n := &nexusEnv{url: url, ser: nexusSerializers[ser], prefix: "com.interop.nexus." + transport + "." + ser}
				t.Run("pubsub_args_kwargs", n.pubsubArgsKwargs)
				t.Run("exclude_me_eligible", n.excludeMeEligible)
				t.Run("pattern_subscriptions", n.patternSubscriptions)
				t.Run("register_call", n.registerCall)
				t.Run("application_error", n.applicationError)
				t.Run("no_such_procedure", n.noSuchProcedure)
				t.Run("procedure_already_exists", n.procedureAlreadyExists)
				t.Run("progressive_results", n.progressiveResults)
				t.Run("cancel", n.cancel)
				t.Run("large_payload", n.largePayload)
				t.Run("meta_session_get", n.metaSessionGet)
			})
		}
	}
}

type nexusEnv struct {
	url    string
	ser    serialize.Serialization
	prefix string
	n      atomic.Int64
}

func (n *nexusEnv) uri(name string) string {
	return fmt.Sprintf("%s.%s.%d", n.prefix, name, n.n.Add(1))
}

// connect joins the realm; the session is closed when the test ends.
func (n *nexusEnv) connect(t *testing.T) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), step)
	defer cancel()
	c, err := client.ConnectNet(ctx, n.url, client.Config{
		Realm:           realm,
		Serialization:   n.ser,
		ResponseTimeout: step,
		Logger:          log.New(io.Discard, "", 0),
	})
	if err != nil {
		t.Fatalf("connecting to %s: %v", n.url, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// subscribe subscribes c to topic and returns a channel of its events.
func subscribe(t *testing.T, c *client.Client, topic string, options wamp.Dict) <-chan *wamp.Event {
	t.Helper()
	events := make(chan *wamp.Event, 64)
	if err := c.Subscribe(topic, func(ev *wamp.Event) { events <- ev }, options); err != nil {
		t.Fatalf("subscribing to %s: %v", topic, err)
	}
	return events
}

func publish(t *testing.T, c *client.Client, topic string, options wamp.Dict, args wamp.List, kwargs wamp.Dict) {
	t.Helper()
	if options == nil {
		options = wamp.Dict{}
	}
	options[wamp.OptAcknowledge] = true
	if err := c.Publish(topic, options, args, kwargs); err != nil {
		t.Fatalf("publishing to %s: %v", topic, err)
	}
}

func nextEvent(t *testing.T, events <-chan *wamp.Event, what string) *wamp.Event {
	t.Helper()
	select {
	case ev := <-events:
		return ev
	case <-time.After(step):
		t.Fatalf("timed out waiting for %s", what)
		return nil
	}
}

// onlyMarker publishes a marker that events must receive, then checks that nothing arrived before it.
// Events of one publisher to one subscriber arrive in order.
func onlyMarker(t *testing.T, events <-chan *wamp.Event, pub *client.Client, topic string, options wamp.Dict) {
	t.Helper()
	publish(t, pub, topic, options, wamp.List{"marker"}, nil)
	ev := nextEvent(t, events, "marker event")
	if got := normalize(ev.Arguments); !reflect.DeepEqual(got, []any{"marker"}) {
		t.Fatalf("got event %v before the marker", got)
	}
}

func call(t *testing.T, c *client.Client, proc string, options wamp.Dict, args wamp.List, kwargs wamp.Dict,
	progress client.ProgressHandler) (*wamp.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*step)
	defer cancel()
	return c.Call(ctx, proc, options, args, kwargs, progress)
}

func register(t *testing.T, c *client.Client, proc string, fn client.InvocationHandler) {
	t.Helper()
	if err := c.Register(proc, fn, nil); err != nil {
		t.Fatalf("registering %s: %v", proc, err)
	}
}

// wampErrorURI returns the error URI of a failed call, or "" when err is no WAMP error.
func wampErrorURI(err error) (wamp.URI, wamp.List, wamp.Dict) {
	var rpcErr client.RPCError
	if errors.As(err, &rpcErr) {
		return rpcErr.Err.Error, rpcErr.Err.Arguments, rpcErr.Err.ArgumentsKw
	}
	return "", nil, nil
}

// normalize turns decoded WAMP values into comparable Go values: integers (and integral floats) become
// int64, other floats float64, lists []any, dicts map[string]any. Serializers differ in the integer
// and container types they decode to.
func normalize(v any) any {
	switch x := v.(type) {
	case wamp.List:
		return normalize([]any(x))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case wamp.Dict:
		return normalize(map[string]any(x))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = normalize(e)
		}
		return out
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case float32:
		return normalize(float64(x))
	case wamp.ID:
		return int64(x)
	case wamp.URI:
		return string(x)
	}
	if i, ok := wamp.AsInt64(v); ok {
		return i
	}
	return v
}

func checkEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if g, w := normalize(got), normalize(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s: got %#v, want %#v", what, g, w)
	}
}

func (n *nexusEnv) pubsubArgsKwargs(t *testing.T) {
	sub, pub := n.connect(t), n.connect(t)
	topic := n.uri("pubsub")
	events := subscribe(t, sub, topic, nil)
	args := wamp.List{1, "two", 3.5, true, nil, wamp.List{1, 2}, wamp.Dict{"k": "v"}}
	kwargs := wamp.Dict{"a": 1, "b": "text", "nested": wamp.Dict{"list": wamp.List{1, "x"}, "n": -7}, "unicode": "grüße ✓"}
	publish(t, pub, topic, nil, args, kwargs)
	ev := nextEvent(t, events, "event")
	checkEqual(t, "args", ev.Arguments, args)
	checkEqual(t, "kwargs", ev.ArgumentsKw, kwargs)
}

func (n *nexusEnv) excludeMeEligible(t *testing.T) {
	pub, a, b := n.connect(t), n.connect(t), n.connect(t)
	topic := n.uri("blackwhite")
	own := subscribe(t, pub, topic, nil)
	ea := subscribe(t, a, topic, nil)
	eb := subscribe(t, b, topic, nil)

	publish(t, pub, topic, nil, wamp.List{"all"}, nil) // exclude_me defaults to true
	checkEqual(t, "A's event", nextEvent(t, ea, "event at A").Arguments, wamp.List{"all"})
	checkEqual(t, "B's event", nextEvent(t, eb, "event at B").Arguments, wamp.List{"all"})
	onlyMarker(t, own, pub, topic, wamp.Dict{wamp.OptExcludeMe: false, "eligible": wamp.List{pub.ID()}})

	publish(t, pub, topic, wamp.Dict{"eligible": wamp.List{a.ID()}}, wamp.List{"for A"}, nil)
	checkEqual(t, "eligible event", nextEvent(t, ea, "eligible event at A").Arguments, wamp.List{"for A"})
	onlyMarker(t, eb, pub, topic, wamp.Dict{"eligible": wamp.List{b.ID()}})

	publish(t, pub, topic, wamp.Dict{"exclude": wamp.List{a.ID()}}, wamp.List{"not A"}, nil)
	checkEqual(t, "event at B", nextEvent(t, eb, "event at B").Arguments, wamp.List{"not A"})
	onlyMarker(t, ea, pub, topic, wamp.Dict{"eligible": wamp.List{a.ID()}})
}

func (n *nexusEnv) patternSubscriptions(t *testing.T) {
	sub, pub := n.connect(t), n.connect(t)
	prefix := n.uri("prefix")
	pevents := subscribe(t, sub, prefix, wamp.Dict{wamp.OptMatch: wamp.MatchPrefix})
	base := n.uri("wildcard")
	wevents := subscribe(t, sub, base+"..end", wamp.Dict{wamp.OptMatch: wamp.MatchWildcard})

	for _, topic := range []string{prefix + ".a.b", prefix} {
		publish(t, pub, topic, nil, wamp.List{topic}, nil)
		ev := nextEvent(t, pevents, "event for "+topic)
		if got, _ := wamp.AsString(ev.Details["topic"]); got != topic {
			t.Errorf("prefix match: details.topic = %q, want %q", got, topic)
		}
	}
	topic := base + ".mid.end"
	publish(t, pub, topic, nil, wamp.List{topic}, nil)
	ev := nextEvent(t, wevents, "event for "+topic)
	if got, _ := wamp.AsString(ev.Details["topic"]); got != topic {
		t.Errorf("wildcard match: details.topic = %q, want %q", got, topic)
	}
	publish(t, pub, base+".mid.other", nil, wamp.List{"no"}, nil)
	publish(t, pub, base+".a.b.end", nil, wamp.List{"no"}, nil)
	onlyMarker(t, wevents, pub, base+".marker.end", nil)
}

func (n *nexusEnv) registerCall(t *testing.T) {
	callee, caller := n.connect(t), n.connect(t)
	proc := n.uri("add")
	register(t, callee, proc, func(_ context.Context, inv *wamp.Invocation) client.InvokeResult {
		a, _ := wamp.AsInt64(inv.Arguments[0])
		b, _ := wamp.AsInt64(inv.Arguments[1])
		return client.InvokeResult{Args: wamp.List{a + b}, Kwargs: wamp.Dict{"echo": inv.ArgumentsKw["note"]}}
	})
	res, err := call(t, caller, proc, nil, wamp.List{20, 22}, wamp.Dict{"note": "x"}, nil)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	checkEqual(t, "result args", res.Arguments, wamp.List{42})
	checkEqual(t, "result kwargs", res.ArgumentsKw, wamp.Dict{"echo": "x"})
}

func (n *nexusEnv) applicationError(t *testing.T) {
	callee, caller := n.connect(t), n.connect(t)
	proc := n.uri("fails")
	register(t, callee, proc, func(context.Context, *wamp.Invocation) client.InvokeResult {
		return client.InvokeResult{Err: "com.example.error.custom", Args: wamp.List{"bad input", 42},
			Kwargs: wamp.Dict{"reason": "because"}}
	})
	_, err := call(t, caller, proc, nil, wamp.List{1}, nil, nil)
	uri, args, kwargs := wampErrorURI(err)
	if uri != "com.example.error.custom" {
		t.Fatalf("call: got %v, want error com.example.error.custom", err)
	}
	checkEqual(t, "error args", args, wamp.List{"bad input", 42})
	checkEqual(t, "error kwargs", kwargs, wamp.Dict{"reason": "because"})
}

func (n *nexusEnv) noSuchProcedure(t *testing.T) {
	caller := n.connect(t)
	_, err := call(t, caller, n.uri("missing"), nil, nil, nil, nil)
	if uri, _, _ := wampErrorURI(err); uri != wamp.ErrNoSuchProcedure {
		t.Fatalf("call to an unregistered procedure: got %v, want %s", err, wamp.ErrNoSuchProcedure)
	}
}

func (n *nexusEnv) procedureAlreadyExists(t *testing.T) {
	first, second := n.connect(t), n.connect(t)
	proc := n.uri("dup")
	handler := func(context.Context, *wamp.Invocation) client.InvokeResult { return client.InvokeResult{} }
	register(t, first, proc, handler)
	err := second.Register(proc, handler, nil)
	if err == nil || !strings.Contains(err.Error(), string(wamp.ErrProcedureAlreadyExists)) {
		t.Fatalf("second registration: got %v, want %s", err, wamp.ErrProcedureAlreadyExists)
	}
}

func (n *nexusEnv) progressiveResults(t *testing.T) {
	callee, caller := n.connect(t), n.connect(t)
	proc := n.uri("progress")
	register(t, callee, proc, func(ctx context.Context, inv *wamp.Invocation) client.InvokeResult {
		for i := 1; i <= 3; i++ {
			if err := callee.SendProgress(ctx, wamp.List{i}, wamp.Dict{"step": fmt.Sprint("s", i)}); err != nil {
				return client.InvokeResult{Err: "com.interop.progress_failed", Args: wamp.List{err.Error()}}
			}
		}
		return client.InvokeResult{Args: wamp.List{"done"}}
	})
	var progress []any
	res, err := call(t, caller, proc, nil, nil, nil, func(r *wamp.Result) {
		progress = append(progress, []any{r.Arguments, r.ArgumentsKw})
	})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	checkEqual(t, "final result", res.Arguments, wamp.List{"done"})
	checkEqual(t, "progress", progress, []any{
		[]any{wamp.List{1}, wamp.Dict{"step": "s1"}},
		[]any{wamp.List{2}, wamp.Dict{"step": "s2"}},
		[]any{wamp.List{3}, wamp.Dict{"step": "s3"}},
	})
}

func (n *nexusEnv) cancel(t *testing.T) {
	callee, caller := n.connect(t), n.connect(t)
	proc := n.uri("cancel")
	invoked, interrupted := make(chan struct{}), make(chan struct{})
	register(t, callee, proc, func(ctx context.Context, _ *wamp.Invocation) client.InvokeResult {
		close(invoked)
		<-ctx.Done() // the nexus client cancels ctx on INTERRUPT
		close(interrupted)
		return client.InvokeResult{Err: wamp.ErrCanceled}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := caller.Call(ctx, proc, nil, nil, nil, nil)
		errc <- err
	}()
	select {
	case <-invoked:
	case <-time.After(step):
		t.Fatal("timed out waiting for the INVOCATION")
	}
	cancel() // the nexus client sends CANCEL (mode killnowait) and waits for the router's ERROR
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("canceled call: got %v, want context.Canceled after the router's ERROR", err)
		}
	case <-time.After(2 * step):
		t.Fatal("canceled call did not return")
	}
	select {
	case <-interrupted:
	case <-time.After(step):
		t.Fatal("the callee got no INTERRUPT")
	}
}

func (n *nexusEnv) largePayload(t *testing.T) {
	callee, caller := n.connect(t), n.connect(t)
	buf := make([]byte, 512*1024)
	for i := range buf {
		buf[i] = byte(0x21 + (i*7919)%90)
	}
	payload := string(buf)
	proc, topic := n.uri("echo"), n.uri("large")
	register(t, callee, proc, func(_ context.Context, inv *wamp.Invocation) client.InvokeResult {
		return client.InvokeResult{Args: inv.Arguments}
	})
	res, err := call(t, caller, proc, nil, wamp.List{payload}, nil, nil)
	if err != nil {
		t.Fatalf("call with 512 KiB: %v", err)
	}
	if got, _ := wamp.AsString(res.Arguments[0]); got != payload {
		t.Errorf("call round trip: got %d bytes back, want the %d sent", len(got), len(payload))
	}
	events := subscribe(t, callee, topic, nil)
	publish(t, caller, topic, nil, wamp.List{payload}, nil)
	ev := nextEvent(t, events, "512 KiB event")
	if got, _ := wamp.AsString(ev.Arguments[0]); got != payload {
		t.Errorf("event: got %d bytes, want %d", len(got), len(payload))
	}
}

func (n *nexusEnv) metaSessionGet(t *testing.T) {
	a, b := n.connect(t), n.connect(t)
	res, err := call(t, a, string(wamp.MetaProcSessionGet), nil, wamp.List{b.ID()}, nil, nil)
	if err != nil {
		t.Fatalf("wamp.session.get: %v", err)
	}
	info, ok := wamp.AsDict(res.Arguments[0])
	if !ok {
		t.Fatalf("wamp.session.get: want a dict, got %#v", res.Arguments)
	}
	checkEqual(t, "session", info["session"], b.ID())
	checkEqual(t, "authid", info["authid"], b.RealmDetails()["authid"])
	checkEqual(t, "authrole", info["authrole"], b.RealmDetails()["authrole"])
	res, err = call(t, a, string(wamp.MetaProcSessionCount), nil, nil, nil, nil)
	if err != nil {
		t.Fatalf("wamp.session.count: %v", err)
	}
	if count, _ := wamp.AsInt64(res.Arguments[0]); count < 2 {
		t.Errorf("wamp.session.count = %v with two sessions joined", res.Arguments[0])
	}
}
