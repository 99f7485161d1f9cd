package amqprep

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/wamp"
)

func TestPublishRoundTrip(t *testing.T) {
	b := newBroker(t)
	inv := newFake(func(int, string, []byte) (any, error) {
		return webapp.PublishResponse{Publication: 4242}, nil
	})
	r := b.start(inv, b.config())
	replyTo, replies := b.replies()

	b.publish(amqp.Publishing{ReplyTo: replyTo, CorrelationId: "corr-1", ContentType: "application/json",
		Body: []byte(`{"op":"publish","topic":"com.example.news","args":[1,"two"],"kwargs":{"big":12345678901234567890}}`)})

	d, _ := nextReply(t, replies)
	if d.CorrelationId != "corr-1" {
		t.Errorf("reply correlation_id = %q, want corr-1", d.CorrelationId)
	}
	if !jsonEqual(string(d.Body), `{"result":{"publication":4242}}`) {
		t.Errorf("reply = %s, want the result envelope", d.Body)
	}
	calls := inv.Calls()
	if len(calls) != 1 || calls[0].op != "publish" {
		t.Fatalf("calls = %+v, want one publish", calls)
	}
	// "op" is removed; the other fields pass unchanged (big numbers keep their digits).
	if !jsonEqual(calls[0].body, `{"topic":"com.example.news","args":[1,"two"],"kwargs":{"big":12345678901234567890}}`) ||
		!strings.Contains(calls[0].body, "12345678901234567890") {
		t.Errorf("request body = %s", calls[0].body)
	}
	waitFor(t, 5*time.Second, "processed=1", func() bool { return r.Stats().Processed == 1 })
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// Acknowledged: nothing returns to the queue once the consumer is gone.
	if n := b.ready(b.queue); n != 0 {
		t.Errorf("%d messages back in the queue after Close, want 0", n)
	}
}

func TestRefusedMessagesAreDeadLettered(t *testing.T) {
	refusal := wamp.URI("wamp.error.invalid_argument")
	cases := []struct {
		name       string
		body       string
		wantURI    wamp.URI
		wantStatus int
		invoked    bool
	}{
		{"invalid JSON", `{"op":"publish",`, webapp.ErrMalformed, 400, false},
		{"not an object", `["publish"]`, webapp.ErrMalformed, 400, false},
		{"missing op", `{"topic":"a.b"}`, webapp.ErrMalformed, 400, false},
		{"unknown op", `{"op":"launch_rockets"}`, webapp.ErrNoSuchOperation, 404, false},
		{"refused by the operation", `{"op":"publish","topic":"bad topic"}`, refusal, 422, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBroker(t)
			inv := newFake(func(int, string, []byte) (any, error) {
				return nil, &webapp.Error{URI: refusal, Message: "invalid topic", Details: map[string]any{"field": "topic"}}
			})
			r := b.start(inv, b.config())
			replyTo, replies := b.replies()
			b.publish(amqp.Publishing{ReplyTo: replyTo, CorrelationId: "c", MessageId: "m1",
				Headers: amqp.Table{"x-app": "shop"}, Body: []byte(tc.body)})

			d, env := nextReply(t, replies)
			if d.CorrelationId != "c" || env["error"] != string(tc.wantURI) || env["status"] != float64(tc.wantStatus) {
				t.Errorf("reply = %s, want error %s status %d", d.Body, tc.wantURI, tc.wantStatus)
			}
			if _, ok := env["message"].(string); !ok {
				t.Errorf("reply %s has no message", d.Body)
			}
			if _, ok := env["details"].(map[string]any); !ok {
				t.Errorf("reply %s has no details object", d.Body)
			}

			dead := b.getDead()
			if string(dead.Body) != tc.body {
				t.Errorf("dead letter body = %q, want the original %q", dead.Body, tc.body)
			}
			h := dead.Headers
			if h[HeaderError] != string(tc.wantURI) || h[HeaderMessage] == "" || h[HeaderStatus] != int32(tc.wantStatus) {
				t.Errorf("dead letter headers = %v", h)
			}
			if h[HeaderOriginalRoutingKey] != b.queue || h[HeaderOriginalExchange] != "" || h["x-app"] != "shop" {
				t.Errorf("dead letter origin headers = %v", h)
			}
			if dead.MessageId != "m1" || dead.DeliveryMode != amqp.Persistent {
				t.Errorf("dead letter message_id %q delivery mode %d", dead.MessageId, dead.DeliveryMode)
			}
			if got := len(inv.Calls()) > 0; got != tc.invoked {
				t.Errorf("invoked = %v, want %v", got, tc.invoked)
			}
			waitFor(t, 5*time.Second, "dead-lettered=1", func() bool { return r.Stats().DeadLettered == 1 })
			_ = r.Close()
			if n := b.ready(b.queue); n != 0 {
				t.Errorf("the refused message is back in the queue (%d ready)", n)
			}
		})
	}
}

func TestTransientFailureIsRequeuedAndRetried(t *testing.T) {
	b := newBroker(t)
	inv := newFake(func(n int, _ string, _ []byte) (any, error) {
		switch n {
		case 1:
			return nil, webapp.Errorf(wamp.ErrUnavailable, "store down")
		case 2:
			return nil, errors.New("disk on fire") // any other error is internal: transient too
		}
		return webapp.PublishResponse{Publication: 7}, nil
	})
	cfg := b.config()
	cfg.MinBackoff = 100 * time.Millisecond
	r := b.start(inv, cfg)
	replyTo, replies := b.replies()
	b.publish(amqp.Publishing{ReplyTo: replyTo, CorrelationId: "x", Body: []byte(`{"op":"publish","topic":"a.b"}`)})

	d, _ := nextReply(t, replies)
	if !jsonEqual(string(d.Body), `{"result":{"publication":7}}`) {
		t.Fatalf("reply = %s, want the eventual success (no reply for transient failures)", d.Body)
	}
	calls := inv.Calls()
	if len(calls) != 3 {
		t.Fatalf("invoked %d times, want 3", len(calls))
	}
	// The retries wait for the backoff instead of spinning (MinBackoff 100ms, -20% jitter).
	if gap := calls[1].at.Sub(calls[0].at); gap < 80*time.Millisecond {
		t.Errorf("retried after %v, want a backoff of about 100ms", gap)
	}
	waitFor(t, 5*time.Second, "processed=1", func() bool { return r.Stats().Processed == 1 })
	if s := r.Stats(); s.Failed != 2 || s.DeadLettered != 0 {
		t.Errorf("stats = %+v", s)
	}
	select {
	case extra := <-replies:
		t.Errorf("unexpected extra reply %s", extra.Body)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestDuplicateMessageIDRunsOnce(t *testing.T) {
	b := newBroker(t)
	inv := newFake(func(n int, _ string, _ []byte) (any, error) {
		return webapp.PublishResponse{Publication: wamp.ID(100 + n)}, nil
	})
	r := b.start(inv, b.config())
	replyTo, replies := b.replies()
	body := []byte(`{"op":"publish","topic":"a.b"}`)
	b.publish(amqp.Publishing{MessageId: "order-17", ReplyTo: replyTo, CorrelationId: "first", Body: body})
	b.publish(amqp.Publishing{MessageId: "order-17", ReplyTo: replyTo, CorrelationId: "second", Body: body})

	d1, _ := nextReply(t, replies)
	d2, _ := nextReply(t, replies)
	if d1.CorrelationId != "first" || d2.CorrelationId != "second" {
		t.Errorf("correlation ids %q, %q", d1.CorrelationId, d2.CorrelationId)
	}
	if !jsonEqual(string(d1.Body), `{"result":{"publication":101}}`) || string(d2.Body) != string(d1.Body) {
		t.Errorf("replies %s and %s, want the first reply twice", d1.Body, d2.Body)
	}
	if n := len(inv.Calls()); n != 1 {
		t.Errorf("invoked %d times, want once", n)
	}

	// Messages without message_id are not deduplicated.
	b.publish(amqp.Publishing{Body: body})
	b.publish(amqp.Publishing{Body: body})
	waitFor(t, 5*time.Second, "both messages without id", func() bool { return len(inv.Calls()) == 3 })
	waitFor(t, 5*time.Second, "stats", func() bool { return r.Stats().Processed == 3 })
	if s := r.Stats(); s.Duplicates != 1 {
		t.Errorf("duplicates = %d, want 1", s.Duplicates)
	}
}

func TestExchangeBinding(t *testing.T) {
	b := newBroker(t)
	inv := newFake(nil)
	cfg := b.config()
	cfg.Exchange, cfg.BindingKey = b.queue+".x", "orders.*"
	b.start(inv, cfg)
	for _, key := range []string{"orders.created", "invoices.created"} {
		err := b.ch.PublishWithContext(context.Background(), cfg.Exchange, key, false, false,
			amqp.Publishing{Body: []byte(`{"op":"health","key":"` + key + `"}`)})
		if err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "the bound message", func() bool { return len(inv.Calls()) == 1 })
	time.Sleep(100 * time.Millisecond)
	calls := inv.Calls()
	if len(calls) != 1 || !jsonEqual(calls[0].body, `{"key":"orders.created"}`) {
		t.Errorf("calls = %+v, want only the orders.created message", calls)
	}
}

func TestCloseWaitsForMessagesInProgress(t *testing.T) {
	b := newBroker(t)
	release := make(chan struct{})
	inv := newFake(func(int, string, []byte) (any, error) {
		<-release
		return map[string]any{}, nil
	})
	r := b.start(inv, b.config())
	b.publish(amqp.Publishing{Body: []byte(`{"op":"stats"}`)})
	waitFor(t, 5*time.Second, "the call to start", func() bool { return len(inv.Calls()) == 1 })

	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while a message was in progress")
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return after the message finished")
	}
	if s := r.Stats(); s.Processed != 1 || s.Connected {
		t.Errorf("stats after Close = %+v", s)
	}
	if n := b.ready(b.queue); n != 0 {
		t.Errorf("the finished message was not acknowledged (%d back in the queue)", n)
	}
}

func TestStartRejectsInvalidConfig(t *testing.T) {
	ok := Config{URL: "amqp://guest:guest@127.0.0.1:5672/", Queue: "q"}
	cases := map[string]func(*Config){
		"no URL":          func(c *Config) { c.URL = "" },
		"bad URL":         func(c *Config) { c.URL = "http://example/" },
		"no queue":        func(c *Config) { c.Queue = "" },
		"key without x":   func(c *Config) { c.BindingKey = "a.*" },
		"negative":        func(c *Config) { c.Prefetch = -1 },
		"min above max":   func(c *Config) { c.MinBackoff, c.MaxBackoff = time.Second, time.Millisecond },
		"concurrency":     func(c *Config) { c.Prefetch, c.Concurrency = 2, 3 },
		"dlx is exchange": func(c *Config) { c.Exchange, c.DeadLetterExchange = "x", "x" },
	}
	for name, mutate := range cases {
		cfg := ok
		mutate(&cfg)
		if r, err := Start(context.Background(), newFake(nil), cfg); err == nil {
			_ = r.Close()
			t.Errorf("%s: Start accepted %+v", name, cfg)
		}
	}
	if _, err := Start(context.Background(), nil, ok); err == nil {
		t.Error("Start accepted a nil Invoker")
	}
}

func TestUnreachableBrokerIsRetriedInBackground(t *testing.T) {
	// A port with nothing listening: take a free one and release it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	r, err := Start(context.Background(), newFake(nil), Config{URL: "amqp://guest:guest@" + addr + "/", Queue: "q",
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatalf("Start failed for an unreachable broker: %v", err)
	}
	time.Sleep(150 * time.Millisecond)
	if r.Stats().Connected {
		t.Error("connected to nothing")
	}
	start := time.Now()
	_ = r.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v while retrying", d)
	}
}

func TestConcurrentProcessing(t *testing.T) {
	b := newBroker(t)
	release := make(chan struct{})
	inv := newFake(func(n int, _ string, _ []byte) (any, error) {
		if n == 1 {
			<-release // a slow first message
		}
		return map[string]any{}, nil
	})
	cfg := b.config()
	cfg.Concurrency = 4
	b.start(inv, cfg)
	for range 3 {
		b.publish(amqp.Publishing{Body: []byte(`{"op":"health"}`)})
	}
	// With Concurrency 4 the others run while the first waits.
	waitFor(t, 5*time.Second, "the messages behind the slow one", func() bool { return len(inv.Calls()) == 3 })
	close(release)
}

func TestDeletedQueueIsRedeclared(t *testing.T) {
	b := newBroker(t)
	inv := newFake(nil)
	r := b.start(inv, b.config())
	if _, err := b.ch.QueueDelete(b.queue, false, false, false); err != nil {
		t.Fatal(err)
	}
	// The broker cancels the consumer; the representative reconnects and declares the queue again.
	waitFor(t, 10*time.Second, "the reconnection", func() bool { return r.Stats().Reconnects == 1 && r.Stats().Connected })
	b.publish(amqp.Publishing{Body: []byte(`{"op":"health"}`)})
	waitFor(t, 5*time.Second, "the message on the new queue", func() bool { return len(inv.Calls()) == 1 })
}

func TestCanceledContextStops(t *testing.T) {
	b := newBroker(t)
	ctx, cancel := context.WithCancel(context.Background())
	r, err := Start(ctx, newFake(nil), b.config())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the connection", func() bool { return r.Stats().Connected })
	cancel()
	waitFor(t, 5*time.Second, "the representative to stop", func() bool { return !r.Stats().Connected })
	b.publish(amqp.Publishing{Body: []byte(`{"op":"health"}`)})
	time.Sleep(100 * time.Millisecond)
	if n := b.ready(b.queue); n != 1 {
		t.Errorf("%d messages ready, want the new one left in the queue", n)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}
