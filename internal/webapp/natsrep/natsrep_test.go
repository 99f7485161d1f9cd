package natsrep

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/wamp"
)

func TestEveryOperationRoundTrip(t *testing.T) {
	s := runServer(t, nil)
	inv := &fakeInvoker{}
	startRep(t, s, inv, Config{})
	nc := client(t, s)
	for i, op := range webapp.Operations {
		body := fmt.Sprintf(`{"n":%d}`, i)
		raw, _ := request(t, nc, "gateway.api."+op.Name, body)
		if want := fmt.Sprintf(`{"result":{"op":%q}}`, op.Name); !jsonEqual(raw, want) {
			t.Errorf("%s: reply %s, want %s", op.Name, raw, want)
		}
		calls := inv.Calls()
		if last := calls[len(calls)-1]; last.op != op.Name || last.body != body {
			t.Errorf("%s: invoked with %+v", op.Name, last)
		}
	}
	if n := len(inv.Calls()); n != len(webapp.Operations) {
		t.Errorf("%d invocations for %d requests", n, len(webapp.Operations))
	}
}

func TestUnknownOperation(t *testing.T) {
	s := runServer(t, nil)
	inv := &fakeInvoker{}
	startRep(t, s, inv, Config{})
	nc := client(t, s)
	for _, subject := range []string{"gateway.api.launch_rockets", "gateway.api.publish.extra"} {
		raw, env := request(t, nc, subject, `{}`)
		if env["error"] != string(webapp.ErrNoSuchOperation) || env["status"] != float64(404) {
			t.Errorf("%s: reply %s, want no_such_operation 404", subject, raw)
		}
	}
	if calls := inv.Calls(); len(calls) != 0 {
		t.Errorf("unknown operations reached the Invoker: %+v", calls)
	}
}

func TestTokensBeforeTheOperationAreIgnored(t *testing.T) {
	s := runServer(t, nil)
	inv := &fakeInvoker{}
	startRep(t, s, inv, Config{})
	nc := client(t, s)
	raw, _ := request(t, nc, "gateway.api.tenant1.health", ``)
	if !jsonEqual(raw, `{"result":{"op":"health"}}`) {
		t.Errorf("reply %s", raw)
	}
}

func TestMalformedBody(t *testing.T) {
	s := runServer(t, nil)
	inv := &fakeInvoker{}
	startRep(t, s, inv, Config{})
	nc := client(t, s)
	for _, body := range []string{`not json`, `[1,2]`, `"publish"`, `{"topic":`, `{"a":1} {"b":2}`, "\xff"} {
		raw, env := request(t, nc, "gateway.api.publish", body)
		if env["error"] != string(webapp.ErrMalformed) || env["status"] != float64(400) {
			t.Errorf("body %q: reply %s, want malformed_request 400", body, raw)
		}
		if _, ok := env["message"].(string); !ok {
			t.Errorf("body %q: reply %s has no message", body, raw)
		}
	}
	if calls := inv.Calls(); len(calls) != 0 {
		t.Errorf("malformed bodies reached the Invoker: %+v", calls)
	}
	// An empty body is an empty request.
	raw, _ := request(t, nc, "gateway.api.health", "")
	if !jsonEqual(raw, `{"result":{"op":"health"}}`) || len(inv.Calls()) != 1 || inv.Calls()[0].body != "" {
		t.Errorf("empty body: reply %s, calls %+v", raw, inv.Calls())
	}
}

func TestOperationErrors(t *testing.T) {
	s := runServer(t, nil)
	inv := &fakeInvoker{fn: func(op string, _ []byte) (any, error) {
		switch op {
		case "publish":
			return nil, &webapp.Error{URI: "wamp.error.invalid_uri", Message: "bad topic",
				Details: map[string]any{"field": "topic"}}
		case "call":
			return nil, &webapp.Error{URI: "com.example.error.out_of_stock", Message: "callee error",
				Args: wamp.List{"sku-1"}}
		case "revoke":
			return nil, webapp.Errorf(wamp.ErrNotAuthorized, "no")
		}
		return nil, errors.New("database exploded")
	}}
	startRep(t, s, inv, Config{})
	nc := client(t, s)
	cases := map[string]string{
		"publish": `{"error":"wamp.error.invalid_uri","message":"bad topic","details":{"field":"topic"},"status":422}`,
		"call":    `{"error":"com.example.error.out_of_stock","message":"callee error","details":{},"args":["sku-1"],"status":422}`,
		"revoke":  `{"error":"wamp.error.not_authorized","message":"no","details":{},"status":403}`,
		"stats":   `{"error":"gateway.error.internal","message":"database exploded","details":{},"status":500}`,
	}
	for op, want := range cases {
		if raw, _ := request(t, nc, "gateway.api."+op, `{}`); !jsonEqual(raw, want) {
			t.Errorf("%s: reply %s, want %s", op, raw, want)
		}
	}
}

func TestSlowCallDoesNotDelayPublish(t *testing.T) {
	s := runServer(t, nil)
	release := make(chan struct{})
	inv := &fakeInvoker{fn: func(op string, _ []byte) (any, error) {
		if op == "call" {
			<-release
		}
		return map[string]any{"op": op}, nil
	}}
	startRep(t, s, inv, Config{})
	nc := client(t, s)
	callDone := make(chan error, 1)
	go func() {
		_, err := nc.Request("gateway.api.call", []byte(`{"procedure":"slow"}`), 10*time.Second)
		callDone <- err
	}()
	waitFor(t, 5*time.Second, "the call to start", func() bool { return len(inv.Calls()) == 1 })

	start := time.Now()
	raw, _ := request(t, nc, "gateway.api.publish", `{"topic":"a.b"}`)
	if d := time.Since(start); d > time.Second || !jsonEqual(raw, `{"result":{"op":"publish"}}`) {
		t.Errorf("publish answered %s after %v while a call was in progress", raw, d)
	}
	close(release)
	if err := <-callDone; err != nil {
		t.Errorf("the slow call failed: %v", err)
	}
}

func TestRequestWithoutReplyIsProcessed(t *testing.T) {
	s := runServer(t, nil)
	inv := &fakeInvoker{fn: func(op string, _ []byte) (any, error) {
		if op == "revoke" {
			return nil, webapp.Errorf(wamp.ErrNotAuthorized, "not allowed to revoke")
		}
		return map[string]any{}, nil
	}}
	var logs syncBuffer
	startRep(t, s, inv, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	nc := client(t, s)
	if err := nc.Publish("gateway.api.publish", []byte(`{"topic":"fire.and.forget"}`)); err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("gateway.api.revoke", []byte(`{"authid":"x"}`)); err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("gateway.api.nope", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the fire-and-forget publish", func() bool { return len(inv.Calls()) == 2 })
	waitFor(t, 5*time.Second, "the failures to be logged", func() bool {
		l := logs.String()
		return strings.Contains(l, "not allowed to revoke") && strings.Contains(l, "gateway.error.no_such_operation")
	})
}

func TestQueueGroupSharesRequests(t *testing.T) {
	s := runServer(t, nil)
	a, b := &fakeInvoker{}, &fakeInvoker{}
	startRep(t, s, a, Config{})
	startRep(t, s, b, Config{})
	nc := client(t, s)
	const n = 40
	for i := range n {
		request(t, nc, "gateway.api.health", fmt.Sprintf(`{"i":%d}`, i))
	}
	if got := len(a.Calls()) + len(b.Calls()); got != n {
		t.Errorf("%d invocations for %d requests: the queue group must deliver each once", got, n)
	}
}

func TestCredentialsAndPrefix(t *testing.T) {
	s := runServer(t, &server.Options{Username: "gw", Password: "s3cret"})
	inv := &fakeInvoker{}
	startRep(t, s, inv, Config{SubjectPrefix: "shop.rpc", QueueGroup: "shops", User: "gw", Password: "s3cret"})
	nc := client(t, s, nats.UserInfo("gw", "s3cret"))
	if raw, _ := request(t, nc, "shop.rpc.health", ""); !jsonEqual(raw, `{"result":{"op":"health"}}`) {
		t.Errorf("reply %s", raw)
	}
}

func TestReconnectsAfterServerRestart(t *testing.T) {
	s := runServer(t, nil)
	port := s.Addr().(*net.TCPAddr).Port
	inv := &fakeInvoker{}
	r := startRep(t, s, inv, Config{ReconnectWait: 20 * time.Millisecond})
	s.Shutdown()
	s.WaitForShutdown()
	waitFor(t, 5*time.Second, "the disconnection", func() bool { return !r.nc.IsConnected() })

	s2 := runServer(t, &server.Options{Port: port})
	waitFor(t, 10*time.Second, "the reconnection", func() bool { return r.nc.IsConnected() })
	if err := r.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	nc := client(t, s2)
	if raw, _ := request(t, nc, "gateway.api.health", ""); !jsonEqual(raw, `{"result":{"op":"health"}}`) {
		t.Errorf("reply after reconnect %s", raw)
	}
}

func TestCloseAnswersRequestsInProgress(t *testing.T) {
	s := runServer(t, nil)
	release := make(chan struct{})
	var started atomic.Bool
	inv := &fakeInvoker{fn: func(string, []byte) (any, error) {
		started.Store(true)
		<-release
		return map[string]any{"done": true}, nil
	}}
	r := startRep(t, s, inv, Config{})
	nc := client(t, s)
	answer := make(chan *nats.Msg, 1)
	go func() {
		m, _ := nc.Request("gateway.api.stats", nil, 10*time.Second)
		answer <- m
	}()
	waitFor(t, 5*time.Second, "the request to start", started.Load)
	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while a request was in progress")
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	if m := <-answer; m == nil || !jsonEqual(string(m.Data), `{"result":{"done":true}}`) {
		t.Errorf("the request in progress was not answered: %v", m)
	}
}

func TestStartRejectsInvalidConfig(t *testing.T) {
	cases := map[string]Config{
		"no URL":          {},
		"wildcard prefix": {URL: "nats://127.0.0.1:1", SubjectPrefix: "gateway.*"},
		"empty token":     {URL: "nats://127.0.0.1:1", SubjectPrefix: "gateway..api"},
		"token and user":  {URL: "nats://127.0.0.1:1", Token: "t", User: "u"},
		"negative":        {URL: "nats://127.0.0.1:1", MaxInFlight: -1},
	}
	for name, cfg := range cases {
		if r, err := Start(&fakeInvoker{}, cfg); err == nil {
			_ = r.Close()
			t.Errorf("%s: Start accepted %+v", name, cfg)
		}
	}
	if _, err := Start(nil, Config{URL: "nats://127.0.0.1:1"}); err == nil {
		t.Error("Start accepted a nil Invoker")
	}
}

func TestFirstConnectionIsRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	inv := &fakeInvoker{}
	r, err := Start(inv, Config{URL: fmt.Sprintf("nats://127.0.0.1:%d", port), ReconnectWait: 20 * time.Millisecond,
		Logger: quiet()})
	if err != nil {
		t.Fatalf("Start failed while the server is not up yet: %v", err)
	}
	defer func() { _ = r.Close() }()
	time.Sleep(100 * time.Millisecond)
	s := runServer(t, &server.Options{Port: port})
	waitFor(t, 10*time.Second, "the first connection", r.nc.IsConnected)
	if err := r.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if raw, _ := request(t, client(t, s), "gateway.api.health", ""); !jsonEqual(raw, `{"result":{"op":"health"}}`) {
		t.Errorf("reply %s", raw)
	}
}

func TestCloseWithoutServerIsPrompt(t *testing.T) {
	r, err := Start(&fakeInvoker{}, Config{URL: "nats://127.0.0.1:1", ReconnectWait: 20 * time.Millisecond,
		Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = r.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v without a server", d)
	}
}
