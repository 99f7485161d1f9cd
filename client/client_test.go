package client

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/router/auth"

	"github.com/gateway-dev/gateway/wamp"
)

// TestNexus runs the basic pub/sub and RPC behaviour over WebSocket and RawSocket with each
// serializer against a nexus router.
func TestNexus(t *testing.T) {
	nr := startRouter(t, routerOptions{})
	for _, tr := range []struct{ name, url string }{{"websocket", nr.ws}, {"rawsocket", nr.rs}} {
		for _, s := range serializers {
			t.Run(tr.name+"/"+s.name, func(t *testing.T) {
				cfg := Config{Serializer: s.id}
				t.Run("connect", func(t *testing.T) { testConnect(t, tr.url, cfg) })
				t.Run("pubsub", func(t *testing.T) { testPubSub(t, tr.url, cfg) })
				t.Run("exclude_me", func(t *testing.T) { testExcludeMe(t, tr.url, cfg) })
				t.Run("rpc", func(t *testing.T) { testRPC(t, tr.url, cfg) })
				t.Run("progressive_results", func(t *testing.T) { testProgressiveResults(t, tr.url, cfg) })
				t.Run("progressive_invocations", func(t *testing.T) { testProgressiveInvocations(t, tr.url, cfg) })
			})
		}
	}
}

func testConnect(t *testing.T, url string, cfg Config) {
	c := connect(t, url, cfg)
	if !c.SessionID().Valid() {
		t.Fatalf("SessionID() = %d, want a valid id", c.SessionID())
	}
	if !c.routerHas("broker", "publisher_exclusion") || !c.routerHas("dealer", "call_canceling") {
		t.Fatalf("WELCOME details lack the router's roles: %v", c.Details())
	}
	if err := c.Err(); err != nil {
		t.Fatalf("Err() on an open session = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	if !errors.Is(c.Err(), ErrClosed) {
		t.Fatalf("Err() after Close = %v, want ErrClosed", c.Err())
	}
	if _, err := c.Publish(testCtx(t), "t", nil, nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close = %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func testPubSub(t *testing.T, url string, cfg Config) {
	ctx := testCtx(t)
	sub := connect(t, url, cfg)
	pub := connect(t, url, cfg)
	events := make(chan *wamp.Event, 10)
	s, err := sub.Subscribe(ctx, "com.example.topic", func(ev *wamp.Event) { events <- ev }, nil)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if !s.ID().Valid() {
		t.Fatalf("subscription id %d", s.ID())
	}
	args := wamp.List{"hello", int64(42), true, wamp.List{int64(1), "x"}}
	kwargs := wamp.Dict{"k": "v", "n": int64(-7), "d": wamp.Dict{"x": 1.5}}
	pubID, err := pub.Publish(ctx, "com.example.topic", args, kwargs, wamp.Dict{"acknowledge": true})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if !pubID.Valid() {
		t.Fatalf("acknowledged Publish returned id %d", pubID)
	}
	ev := recv(t, events, "event")
	if ev.Publication != pubID || ev.Subscription != s.ID() {
		t.Errorf("event ids (pub %d, sub %d), want (%d, %d)", ev.Publication, ev.Subscription, pubID, s.ID())
	}
	if !reflect.DeepEqual(ev.Args, args) || !reflect.DeepEqual(ev.Kwargs, kwargs) {
		t.Errorf("event payload %#v %#v, want %#v %#v", ev.Args, ev.Kwargs, args, kwargs)
	}

	// Without acknowledge, Publish returns 0 and the events arrive in order.
	for i := range 5 {
		id, err := pub.Publish(ctx, "com.example.topic", wamp.List{int64(i)}, nil, nil)
		if err != nil || id != 0 {
			t.Fatalf("Publish without acknowledge = %d, %v; want 0, nil", id, err)
		}
	}
	for i := range 5 {
		ev := recv(t, events, "event")
		if !reflect.DeepEqual(ev.Args, wamp.List{int64(i)}) {
			t.Fatalf("event %d has args %v", i, ev.Args)
		}
	}

	if err := s.Unsubscribe(ctx); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	if _, err := pub.Publish(ctx, "com.example.topic", nil, nil, wamp.Dict{"acknowledge": true}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	noRecv(t, events, "event after Unsubscribe")
	if err := s.Unsubscribe(ctx); err != nil {
		t.Fatalf("second Unsubscribe: %v", err)
	}
}

func testExcludeMe(t *testing.T, url string, cfg Config) {
	ctx := testCtx(t)
	c := connect(t, url, cfg)
	events := make(chan *wamp.Event, 10)
	if _, err := c.Subscribe(ctx, "com.example.self", func(ev *wamp.Event) { events <- ev }, nil); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if _, err := c.Publish(ctx, "com.example.self", wamp.List{"mine"}, nil, wamp.Dict{"acknowledge": true}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	noRecv(t, events, "own event with the default exclude_me")
	opts := wamp.Dict{"acknowledge": true, "exclude_me": false}
	if _, err := c.Publish(ctx, "com.example.self", wamp.List{"mine"}, nil, opts); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	recv(t, events, "own event with exclude_me=false")
}

func testRPC(t *testing.T, url string, cfg Config) {
	ctx := testCtx(t)
	callee := connect(t, url, cfg)
	caller := connect(t, url, cfg)
	reg, err := callee.Register(ctx, "com.example.echo", func(ctx context.Context, inv *Invocation) (*Result, error) {
		return &Result{Args: inv.Args, Kwargs: inv.Kwargs}, nil
	}, nil)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	_, err = callee.Register(ctx, "com.example.fail", func(ctx context.Context, inv *Invocation) (*Result, error) {
		return nil, &RPCError{URI: "com.example.error.bad_input", Args: wamp.List{"bad", int64(3)}, Kwargs: wamp.Dict{"field": "x"}}
	}, nil)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	_, err = callee.Register(ctx, "com.example.plain_error", func(ctx context.Context, inv *Invocation) (*Result, error) {
		return nil, errors.New("disk on fire")
	}, nil)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	_, err = callee.Register(ctx, "com.example.panic", func(ctx context.Context, inv *Invocation) (*Result, error) {
		panic("boom")
	}, nil)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}

	args := wamp.List{"a", int64(1), []byte{0, 1, 2}}
	kwargs := wamp.Dict{"x": wamp.List{}, "y": nil}
	res, err := caller.Call(ctx, "com.example.echo", args, kwargs, nil)
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if !reflect.DeepEqual(res.Args, args) || !reflect.DeepEqual(res.Kwargs, kwargs) {
		t.Errorf("result %#v %#v, want %#v %#v", res.Args, res.Kwargs, args, kwargs)
	}

	_, err = caller.Call(ctx, "com.example.fail", nil, nil, nil)
	var re *RPCError
	if !errors.As(err, &re) {
		t.Fatalf("Call of a failing procedure: %v, want *RPCError", err)
	}
	if re.URI != "com.example.error.bad_input" || !reflect.DeepEqual(re.Args, wamp.List{"bad", int64(3)}) ||
		!reflect.DeepEqual(re.Kwargs, wamp.Dict{"field": "x"}) {
		t.Errorf("error %+v", re)
	}
	if !errors.Is(err, &RPCError{URI: "com.example.error.bad_input"}) {
		t.Errorf("errors.Is with the same URI is false")
	}

	_, err = caller.Call(ctx, "com.example.plain_error", nil, nil, nil)
	if !IsError(err, ErrRuntime) || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("plain handler error reached the caller as %v", err)
	}
	_, err = caller.Call(ctx, "com.example.panic", nil, nil, nil)
	if !IsError(err, ErrRuntime) {
		t.Errorf("panicking handler reached the caller as %v", err)
	}

	_, err = caller.Call(ctx, "com.example.nothing_here", nil, nil, nil)
	if !IsError(err, wamp.ErrNoSuchProcedure) {
		t.Errorf("call of an unknown procedure: %v, want %s", err, wamp.ErrNoSuchProcedure)
	}

	if err := reg.Unregister(ctx); err != nil {
		t.Fatalf("Unregister: %v", err)
	}
	if _, err = caller.Call(ctx, "com.example.echo", nil, nil, nil); !IsError(err, wamp.ErrNoSuchProcedure) {
		t.Errorf("call after Unregister: %v", err)
	}
	if err := reg.Unregister(ctx); err != nil {
		t.Fatalf("second Unregister: %v", err)
	}
}

func testProgressiveResults(t *testing.T, url string, cfg Config) {
	ctx := testCtx(t)
	callee := connect(t, url, cfg)
	caller := connect(t, url, cfg)
	_, err := callee.Register(ctx, "com.example.count", func(ctx context.Context, inv *Invocation) (*Result, error) {
		if !inv.ReceiveProgress() {
			return &Result{Args: wamp.List{"no progress"}}, nil
		}
		for i := range 3 {
			if err := inv.SendProgress(wamp.List{int64(i)}, nil); err != nil {
				return nil, err
			}
		}
		return &Result{Args: wamp.List{"done"}}, nil
	}, nil)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	var got []int64
	res, err := caller.Call(ctx, "com.example.count", nil, nil, nil, WithProgress(func(r *wamp.Result) {
		got = append(got, r.Args[0].(int64))
	}))
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if !reflect.DeepEqual(got, []int64{0, 1, 2}) || !reflect.DeepEqual(res.Args, wamp.List{"done"}) {
		t.Errorf("progress %v, final %v", got, res.Args)
	}
	// Without WithProgress the callee sees no receive_progress.
	res, err = caller.Call(ctx, "com.example.count", nil, nil, nil)
	if err != nil || !reflect.DeepEqual(res.Args, wamp.List{"no progress"}) {
		t.Errorf("plain call: %v, %v", res, err)
	}
}

func testProgressiveInvocations(t *testing.T, url string, cfg Config) {
	ctx := testCtx(t)
	callee := connect(t, url, cfg)
	caller := connect(t, url, cfg)
	_, err := callee.Register(ctx, "com.example.sum", func(ctx context.Context, inv *Invocation) (*Result, error) {
		sum := inv.Args[0].(int64)
		chunks := 1
		for inv.Progressive() {
			m, err := inv.Next(ctx)
			if err != nil {
				return nil, err
			}
			sum += m.Args[0].(int64)
			chunks++
			if inv.ReceiveProgress() {
				_ = inv.SendProgress(wamp.List{sum}, nil)
			}
		}
		return &Result{Args: wamp.List{sum, int64(chunks)}}, nil
	}, nil)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	s, err := caller.CallStream(ctx, "com.example.sum", nil)
	if err != nil {
		t.Fatalf("CallStream: %v", err)
	}
	for i := 1; i <= 3; i++ {
		if err := s.Send(wamp.List{int64(i)}, nil); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	res, err := s.Finish(wamp.List{int64(10)}, nil)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if !reflect.DeepEqual(res.Args, wamp.List{int64(16), int64(4)}) {
		t.Errorf("result %v, want [16 4]", res.Args)
	}
	if _, err := s.Finish(nil, nil); err == nil {
		t.Error("second Finish succeeded")
	}

	// A stream finished at once is a plain call.
	s, err = caller.CallStream(ctx, "com.example.sum", nil)
	if err != nil {
		t.Fatalf("CallStream: %v", err)
	}
	res, err = s.Finish(wamp.List{int64(5)}, nil)
	if err != nil || !reflect.DeepEqual(res.Args, wamp.List{int64(5), int64(1)}) {
		t.Errorf("single-chunk stream: %v, %v", res, err)
	}

	// Progressive results on a stream come from within Send and Finish.
	var progress []int64
	s, err = caller.CallStream(ctx, "com.example.sum", nil, WithProgress(func(r *wamp.Result) {
		progress = append(progress, r.Args[0].(int64))
	}))
	if err != nil {
		t.Fatalf("CallStream: %v", err)
	}
	for i := 1; i <= 2; i++ {
		if err := s.Send(wamp.List{int64(i)}, nil); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	res, err = s.Finish(wamp.List{int64(3)}, nil)
	if err != nil || !reflect.DeepEqual(res.Args, wamp.List{int64(6), int64(3)}) {
		t.Fatalf("stream with progress: %v, %v", res, err)
	}
	if !reflect.DeepEqual(progress, []int64{3, 6}) {
		t.Errorf("progressive results %v, want [3 6]", progress)
	}

	// An error from the callee ends the stream early.
	_, err = callee.Register(ctx, "com.example.reject", func(ctx context.Context, inv *Invocation) (*Result, error) {
		return nil, &RPCError{URI: "com.example.error.rejected"}
	}, nil)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	s, err = caller.CallStream(ctx, "com.example.reject", nil)
	if err != nil {
		t.Fatalf("CallStream: %v", err)
	}
	if err := s.Send(wamp.List{int64(1)}, nil); err != nil {
		t.Fatalf("first Send: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for err == nil && time.Now().Before(deadline) {
		err = s.Send(wamp.List{int64(2)}, nil)
		time.Sleep(10 * time.Millisecond)
	}
	if !IsError(err, "com.example.error.rejected") {
		t.Fatalf("Send after the callee failed: %v", err)
	}
	if _, err := s.Finish(nil, nil); !IsError(err, "com.example.error.rejected") {
		t.Fatalf("Finish after the callee failed: %v", err)
	}
}

// TestCancel checks that ending a call's context sends CANCEL and interrupts the callee.
func TestCancel(t *testing.T) {
	nr := startRouter(t, routerOptions{})
	for _, mode := range []CancelMode{CancelKillNoWait, CancelKill, CancelSkip} {
		t.Run(string(mode), func(t *testing.T) {
			ctx := testCtx(t)
			callee := connect(t, nr.ws, Config{})
			caller := connect(t, nr.rs, Config{})
			started := make(chan struct{}, 1)
			causes := make(chan error, 1)
			release := make(chan struct{})
			_, err := callee.Register(ctx, "com.example.slow", func(ctx context.Context, inv *Invocation) (*Result, error) {
				started <- struct{}{}
				select {
				case <-ctx.Done():
					causes <- context.Cause(ctx)
					return nil, ctx.Err()
				case <-release:
					causes <- nil
					return &Result{}, nil
				}
			}, nil)
			if err != nil {
				t.Fatalf("Register: %v", err)
			}
			callCtx, cancel := context.WithCancel(ctx)
			errc := make(chan error, 1)
			go func() {
				_, err := caller.Call(callCtx, "com.example.slow", nil, nil, nil, WithCancelMode(mode))
				errc <- err
			}()
			recv(t, started, "invocation")
			cancel()
			err = recv(t, errc, "Call to return")
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("canceled Call returned %v", err)
			}
			if mode == CancelSkip {
				noRecv(t, causes, "interrupt in skip mode")
				close(release)
			}
			cause := recv(t, causes, "handler to end")
			if mode == CancelSkip {
				if cause != nil {
					t.Fatalf("skip mode interrupted the callee: %v", cause)
				}
			} else if !errors.Is(cause, ErrInterrupted) {
				t.Fatalf("handler context cause %v, want ErrInterrupted", cause)
			}
			// The session is still usable.
			if _, err := caller.Call(ctx, "com.example.none", nil, nil, nil); !IsError(err, wamp.ErrNoSuchProcedure) {
				t.Fatalf("call after cancel: %v", err)
			}
		})
	}
}

// TestCallTimeout checks CALL.Options.timeout, handled by the router (dealer-initiated) and by the
// callee (forward_timeout).
func TestCallTimeout(t *testing.T) {
	nr := startRouter(t, routerOptions{})
	ctx := testCtx(t)
	callee := connect(t, nr.rs, Config{})
	caller := connect(t, nr.ws, Config{Serializer: 2})
	causes := make(chan error, 2)
	slow := func(ctx context.Context, inv *Invocation) (*Result, error) {
		select {
		case <-ctx.Done():
			causes <- context.Cause(ctx)
			return nil, ctx.Err()
		case <-time.After(3 * time.Second):
			causes <- nil
			return &Result{}, nil
		}
	}
	if _, err := callee.Register(ctx, "com.example.slow", slow, nil); err != nil {
		t.Fatalf("Register: %v", err)
	}
	if _, err := callee.Register(ctx, "com.example.slow_fwd", slow, wamp.Dict{"forward_timeout": true}); err != nil {
		t.Fatalf("Register: %v", err)
	}
	for _, tc := range []struct {
		proc  string
		cause error
	}{
		{"com.example.slow", ErrInterrupted},     // the router interrupts the callee
		{"com.example.slow_fwd", errCallTimeout}, // the callee times out itself
	} {
		start := time.Now()
		_, err := caller.Call(ctx, tc.proc, nil, nil, wamp.Dict{"timeout": 100})
		if !IsError(err, wamp.ErrTimeout) {
			t.Errorf("%s: call with timeout returned %v, want %s", tc.proc, err, wamp.ErrTimeout)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: timeout took %v", tc.proc, d)
		}
		if cause := recv(t, causes, "handler to end"); !errors.Is(cause, tc.cause) {
			t.Errorf("%s: handler context cause %v, want %v", tc.proc, cause, tc.cause)
		}
	}
}

// TestClose checks that Close fails pending calls and cancels running handlers' contexts.
func TestClose(t *testing.T) {
	nr := startRouter(t, routerOptions{})
	ctx := testCtx(t)
	callee := connect(t, nr.ws, Config{})
	caller := connect(t, nr.ws, Config{})
	started := make(chan struct{}, 2)
	causes := make(chan error, 2)
	_, err := callee.Register(ctx, "com.example.block", func(ctx context.Context, inv *Invocation) (*Result, error) {
		started <- struct{}{}
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return nil, ctx.Err()
	}, nil)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	errc := make(chan error, 2)
	go func() {
		_, err := caller.Call(ctx, "com.example.block", nil, nil, nil)
		errc <- err
	}()
	recv(t, started, "invocation")
	if err := caller.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := recv(t, errc, "pending call"); !errors.Is(err, ErrClosed) {
		t.Fatalf("pending call after Close: %v, want ErrClosed", err)
	}
	// (nexus does not INTERRUPT the callee when the caller leaves, so that is not checked here.)

	caller2 := connect(t, nr.rs, Config{})
	go func() {
		_, err := caller2.Call(ctx, "com.example.block", nil, nil, nil)
		errc <- err
	}()
	recv(t, started, "second invocation")
	if err := callee.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range 2 {
		if cause := recv(t, causes, "handler canceled by Close"); !errors.Is(cause, ErrClosed) {
			t.Fatalf("handler context cause after Close: %v, want ErrClosed", cause)
		}
	}
	if err := recv(t, errc, "call to a callee that left"); !IsError(err, wamp.ErrCanceled) {
		t.Fatalf("call to a callee that left: %v, want %s", err, wamp.ErrCanceled)
	}
}

// TestRouterEndsSession checks sessions ended by the router: killed through the meta API and by
// router shutdown.
func TestRouterEndsSession(t *testing.T) {
	nr := startRouter(t, routerOptions{})
	ctx := testCtx(t)
	victim := connect(t, nr.ws, Config{})
	admin := connect(t, nr.rs, Config{})
	_, err := admin.Call(ctx, "wamp.session.kill", wamp.List{victim.SessionID()},
		wamp.Dict{"reason": "com.example.kicked", "message": "bye"}, nil)
	if err != nil {
		t.Fatalf("wamp.session.kill: %v", err)
	}
	recv(t, victim.Done(), "killed session to end")
	// When nexus dropped its GOODBYE (see nexusDroppedIt) the client can only say the router closed
	// the connection; when the GOODBYE arrives, it must report its reason.
	var ce *CloseError
	if err := victim.Err(); !nexusDroppedIt(err) && (!errors.As(err, &ce) || ce.Reason != "com.example.kicked" || ce.Abort) {
		t.Fatalf("Err() of a killed session = %v", err)
	}
	if _, err := victim.Call(ctx, "x", nil, nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Call on a killed session: %v", err)
	}

	// Router shutdown: GOODBYE wamp.close.system_shutdown; pending calls fail.
	callee := connect(t, nr.rs, Config{})
	_, err = callee.Register(ctx, "com.example.block", func(ctx context.Context, inv *Invocation) (*Result, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}, nil)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := admin.Call(ctx, "com.example.block", nil, nil, nil)
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	nr.r.Close()
	for _, c := range []*Client{admin, callee} {
		recv(t, c.Done(), "session end on router shutdown")
		if !IsError(c.Err(), wamp.ErrSystemShutdown) {
			t.Errorf("Err() after router shutdown = %v", c.Err())
		}
	}
	err = recv(t, errc, "pending call")
	if !errors.Is(err, ErrClosed) || !IsError(err, wamp.ErrSystemShutdown) {
		t.Errorf("pending call on router shutdown: %v", err)
	}
}

// TestUnixSockets connects over WebSocket and RawSocket on Unix sockets.
func TestUnixSockets(t *testing.T) {
	nr := startRouter(t, routerOptions{})
	ctx := testCtx(t)
	callee := connect(t, nr.wsUnix, Config{Serializer: 3})
	caller := connect(t, nr.rsUnix, Config{Serializer: 2})
	_, err := callee.Register(ctx, "com.example.add", func(ctx context.Context, inv *Invocation) (*Result, error) {
		return &Result{Args: wamp.List{inv.Args[0].(int64) + inv.Args[1].(int64)}}, nil
	}, nil)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	res, err := caller.Call(ctx, "com.example.add", wamp.List{2, 3}, nil, nil)
	if err != nil || !reflect.DeepEqual(res.Args, wamp.List{int64(5)}) {
		t.Fatalf("Call over unix sockets: %v, %v", res, err)
	}
}

// TestSharedSubscription checks two handlers of one client on one topic.
func TestSharedSubscription(t *testing.T) {
	nr := startRouter(t, routerOptions{})
	ctx := testCtx(t)
	c := connect(t, nr.ws, Config{})
	pub := connect(t, nr.ws, Config{})
	a, b := make(chan *wamp.Event, 4), make(chan *wamp.Event, 4)
	sa, err := c.Subscribe(ctx, "com.example.shared", func(ev *wamp.Event) { a <- ev }, nil)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := c.Subscribe(ctx, "com.example.shared", func(ev *wamp.Event) { b <- ev }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sa.ID() != sb.ID() {
		t.Fatalf("router gave different ids %d %d", sa.ID(), sb.ID())
	}
	if _, err := pub.Publish(ctx, "com.example.shared", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	recv(t, a, "event for a")
	recv(t, b, "event for b")
	if err := sa.Unsubscribe(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx, "com.example.shared", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	recv(t, b, "event for b after a unsubscribed")
	noRecv(t, a, "event for a after it unsubscribed")
}

// TestHandlerCallsBack checks that event and invocation handlers may call into the client.
func TestHandlerCallsBack(t *testing.T) {
	nr := startRouter(t, routerOptions{})
	ctx := testCtx(t)
	c := connect(t, nr.ws, Config{})
	pub := connect(t, nr.ws, Config{})
	_, err := c.Register(ctx, "com.example.double", func(ctx context.Context, inv *Invocation) (*Result, error) {
		return &Result{Args: wamp.List{inv.Args[0].(int64) * 2}}, nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Register(ctx, "com.example.quadruple", func(ctx context.Context, inv *Invocation) (*Result, error) {
		r, err := c.Call(ctx, "com.example.double", inv.Args, nil, nil)
		if err != nil {
			return nil, err
		}
		r, err = c.Call(ctx, "com.example.double", r.Args, nil, nil)
		if err != nil {
			return nil, err
		}
		return &Result{Args: r.Args}, nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan any, 1)
	_, err = c.Subscribe(ctx, "com.example.trigger", func(ev *wamp.Event) {
		r, err := c.Call(ctx, "com.example.quadruple", ev.Args, nil, nil)
		if err != nil {
			results <- err
			return
		}
		results <- r.Args[0]
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx, "com.example.trigger", wamp.List{int64(5)}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, results, "result"); got != int64(20) {
		t.Fatalf("got %v, want 20", got)
	}
}

// TestConcurrentCalls runs many calls at once over one session.
func TestConcurrentCalls(t *testing.T) {
	nr := startRouter(t, routerOptions{})
	ctx := testCtx(t)
	callee := connect(t, nr.rs, Config{Serializer: 2})
	caller := connect(t, nr.ws, Config{Serializer: 3})
	_, err := callee.Register(ctx, "com.example.id", func(ctx context.Context, inv *Invocation) (*Result, error) {
		return &Result{Args: inv.Args}, nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				n := int64(g*1000 + i)
				res, err := caller.Call(ctx, "com.example.id", wamp.List{n}, nil, nil)
				if err != nil {
					errs <- err
					return
				}
				if res.Args[0] != n {
					errs <- errors.New("result for another call")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestAuthentication answers a ticket CHALLENGE and sends HTTP headers on the upgrade.
func TestAuthentication(t *testing.T) {
	nr := startRouter(t, routerOptions{realm: &router.RealmConfig{
		URI:            testRealm,
		Authenticators: []auth.Authenticator{auth.NewTicketAuthenticator(ticketKeyStore{ticket: "s3cret"}, time.Second)},
	}})
	var challenges []string
	cfg := Config{
		HelloDetails: wamp.Dict{"authid": "alice", "authmethods": wamp.List{"ticket"}},
		Authenticate: func(ch *wamp.Challenge) (*wamp.Authenticate, error) {
			challenges = append(challenges, ch.AuthMethod)
			return &wamp.Authenticate{Signature: "s3cret"}, nil
		},
		HTTPHeader: http.Header{"X-Test": {"yes"}},
	}
	c := connect(t, nr.ws, cfg)
	if c.Details()["authid"] != "alice" || c.Details()["authrole"] != "user" {
		t.Errorf("WELCOME details %v", c.Details())
	}
	if !reflect.DeepEqual(challenges, []string{"ticket"}) {
		t.Errorf("challenges %v", challenges)
	}
	if h := nr.headers(); len(h) == 0 || h[len(h)-1].Get("X-Test") != "yes" {
		t.Errorf("upgrade request headers %v", h)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cfg.Realm = testRealm
	cfg.Authenticate = func(*wamp.Challenge) (*wamp.Authenticate, error) {
		return &wamp.Authenticate{Signature: "wrong"}, nil
	}
	var err error
	for range 10 { // see nexusDroppedIt
		if _, err = Connect(ctx, nr.rs, cfg); !nexusDroppedIt(err) {
			break
		}
	}
	var ce *CloseError
	if !errors.As(err, &ce) || !ce.Abort {
		t.Fatalf("Connect with a wrong ticket: %v, want ABORT", err)
	}

	cfg.Authenticate = nil
	if _, err := Connect(ctx, nr.rs, cfg); err == nil || !strings.Contains(err.Error(), "Authenticate is nil") {
		t.Fatalf("Connect without Authenticate: %v", err)
	}
	cfg.Authenticate = func(*wamp.Challenge) (*wamp.Authenticate, error) { return nil, errors.New("no key") }
	if _, err := Connect(ctx, nr.rs, cfg); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Fatalf("Connect with a failing Authenticate: %v", err)
	}
}

// nexusDroppedIt reports whether a join failed because the connection ended without the router's
// answer. nexus queues an ABORT (or GOODBYE) and then closes the connection discarding its send
// queue (its peers' Close), so now and then the answer is never written; tests that check how the
// client reports the answer try again then.
func nexusDroppedIt(err error) bool {
	var ce *CloseError
	return err != nil && !errors.As(err, &ce) && (strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "closed by the router"))
}

// TestNoSuchRealm checks that ABORT on HELLO is returned by Connect.
func TestNoSuchRealm(t *testing.T) {
	nr := startRouter(t, routerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, url := range []string{nr.ws, nr.rs} {
		// nexus may close before its queued ABORT is written (it discards its send queue on close);
		// try again then, so that the client is checked on an ABORT that arrives.
		var err error
		for range 10 {
			if _, err = Connect(ctx, url, Config{Realm: "nope"}); !nexusDroppedIt(err) {
				break
			}
		}
		if !IsError(err, wamp.ErrNoSuchRealm) {
			t.Errorf("Connect(%s) to an unknown realm: %v", url, err)
		}
	}
}

// TestMessageTooBig checks the RawSocket length limit announced by the router.
func TestMessageTooBig(t *testing.T) {
	nr := startRouter(t, routerOptions{rsRecvMax: 1024})
	ctx := testCtx(t)
	c := connect(t, nr.rs, Config{})
	if got := c.t.maxSend(); got != 1024 {
		t.Fatalf("maxSend = %d, want 1024", got)
	}
	big := strings.Repeat("x", 2000)
	if _, err := c.Publish(ctx, "com.example.big", wamp.List{big}, nil, nil); !errors.Is(err, ErrMessageTooBig) {
		t.Fatalf("Publish of 2000 bytes: %v, want ErrMessageTooBig", err)
	}
	// The session stays usable, and the next request id follows on.
	if _, err := c.Publish(ctx, "com.example.big", wamp.List{"small"}, nil, wamp.Dict{"acknowledge": true}); err != nil {
		t.Fatalf("Publish after a refused one: %v", err)
	}
}

// TestTLS connects with wss:// and rss://.
func TestTLS(t *testing.T) {
	nr := startRouter(t, routerOptions{})
	cert, pool := selfSigned(t)
	wssURL, rssURL := nr.startTLS(t, cert)
	ctx := testCtx(t)
	tlsCfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	callee := connect(t, wssURL, Config{TLSConfig: tlsCfg})
	caller := connect(t, rssURL, Config{TLSConfig: tlsCfg, Serializer: 3})
	_, err := callee.Register(ctx, "com.example.ping", func(ctx context.Context, inv *Invocation) (*Result, error) {
		return &Result{Args: wamp.List{"pong"}}, nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := caller.Call(ctx, "com.example.ping", nil, nil, nil)
	if err != nil || !reflect.DeepEqual(res.Args, wamp.List{"pong"}) {
		t.Fatalf("Call over TLS: %v, %v", res, err)
	}
	// Without trusting the certificate, connecting fails.
	for _, url := range []string{wssURL, rssURL} {
		var certErr *tls.CertificateVerificationError
		if _, err := Connect(ctx, url, Config{Realm: testRealm}); !errors.As(err, &certErr) {
			t.Errorf("Connect(%s) with an untrusted certificate: %v", url, err)
		}
	}
}

// TestStreamCancel checks that ending a stream's context cancels the call.
func TestStreamCancel(t *testing.T) {
	nr := startRouter(t, routerOptions{})
	ctx := testCtx(t)
	callee := connect(t, nr.rs, Config{})
	caller := connect(t, nr.ws, Config{})
	causes := make(chan error, 1)
	got := make(chan struct{}, 1)
	_, err := callee.Register(ctx, "com.example.sink", func(ctx context.Context, inv *Invocation) (*Result, error) {
		got <- struct{}{}
		for inv.Progressive() {
			if _, err := inv.Next(ctx); err != nil {
				causes <- context.Cause(ctx)
				return nil, err
			}
		}
		causes <- nil
		return &Result{}, nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	s, err := caller.CallStream(sctx, "com.example.sink", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(wamp.List{"a"}, nil); err != nil {
		t.Fatal(err)
	}
	recv(t, got, "first chunk")
	cancel()
	if cause := recv(t, causes, "callee interrupted"); !errors.Is(cause, ErrInterrupted) {
		t.Fatalf("callee's context cause %v, want ErrInterrupted", cause)
	}
	if err := s.Send(wamp.List{"b"}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send after cancel: %v", err)
	}
	if _, err := s.Finish(nil, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Finish after cancel: %v", err)
	}
}

// TestPatternBased checks prefix registrations and subscriptions: the handler sees the concrete
// procedure and topic.
func TestPatternBased(t *testing.T) {
	nr := startRouter(t, routerOptions{})
	ctx := testCtx(t)
	c := connect(t, nr.ws, Config{})
	other := connect(t, nr.rs, Config{})
	_, err := c.Register(ctx, "com.example.api", func(ctx context.Context, inv *Invocation) (*Result, error) {
		return &Result{Args: wamp.List{string(inv.Procedure)}}, nil
	}, wamp.Dict{"match": "prefix"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := other.Call(ctx, "com.example.api.users.list", nil, nil, nil)
	if err != nil || !reflect.DeepEqual(res.Args, wamp.List{"com.example.api.users.list"}) {
		t.Fatalf("prefix call: %v, %v", res, err)
	}
	topics := make(chan any, 1)
	_, err = c.Subscribe(ctx, "com.example.feed", func(ev *wamp.Event) { topics <- ev.Details["topic"] }, wamp.Dict{"match": "prefix"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Publish(ctx, "com.example.feed.sports", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, topics, "event"); got != "com.example.feed.sports" {
		t.Fatalf("event details.topic = %v", got)
	}
}
