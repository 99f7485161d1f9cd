package proxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/internal/webapp/amqprep"
)

// brokerURL is the RabbitMQ of the tests: GATEWAY_TEST_AMQP_URL, or the local broker.
func brokerURL() string {
	if u := os.Getenv("GATEWAY_TEST_AMQP_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

// needBroker returns a queue name unique to t and deletes the queue and its companions at the end.
// Without a broker it skips t, or fails it when GATEWAY_INTEROP=required.
func needBroker(t *testing.T) string {
	t.Helper()
	conn, err := amqp.Dial(brokerURL())
	if err != nil {
		msg := "RabbitMQ is needed at " + brokerURL() + " (start it with `rabbitmq-server -detached`): " + err.Error()
		if os.Getenv("GATEWAY_INTEROP") == "required" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	queue := "gwtest.proxy." + strings.ReplaceAll(t.Name(), "/", ".") + "." + hex.EncodeToString(r[:])
	t.Cleanup(func() {
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			return
		}
		for _, q := range []string{queue, queue + ".dead"} {
			_, _ = ch.QueueDelete(q, false, false, false)
		}
		for _, x := range []string{queue + ".dlx", queue + ".x"} {
			_ = ch.ExchangeDelete(x, false, false)
		}
	})
	return queue
}

// startAMQPGateway runs the gateway's real AMQP representative of inv and waits until it consumes.
func startAMQPGateway(t *testing.T, inv webapp.Invoker, cfg amqprep.Config) {
	t.Helper()
	cfg.URL = brokerURL()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.MinBackoff, cfg.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
	rep, err := amqprep.Start(context.Background(), inv, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rep.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for !rep.Stats().Connected {
		if time.Now().After(deadline) {
			t.Fatal("the AMQP representative did not connect")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAMQPConformance(t *testing.T) {
	queue := needBroker(t)
	gw := newGateway()
	startAMQPGateway(t, gw, amqprep.Config{Queue: queue})
	conformance(t, newProxy(t, Config{Transport: TransportAMQP, URL: brokerURL(), Queue: queue}), gw)
}

func TestAMQPExchange(t *testing.T) {
	queue := needBroker(t)
	gw := newGateway()
	startAMQPGateway(t, gw, amqprep.Config{Queue: queue, Exchange: queue + ".x", BindingKey: "gw.*"})
	p := newProxy(t, Config{Transport: TransportAMQP, URL: brokerURL(), Exchange: queue + ".x", BindingKey: "gw.*"})
	if _, err := p.Health(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if c := gw.last(t); c.op != "health" {
		t.Errorf("the gateway ran %s", c.op)
	}
}

// TestAMQPMessageID checks at-least-once publishing: a repeated MessageID is answered with the
// first publication's id and not published again.
func TestAMQPMessageID(t *testing.T) {
	queue := needBroker(t)
	gw := newGateway()
	startAMQPGateway(t, gw, amqprep.Config{Queue: queue})
	p := newProxy(t, Config{Transport: TransportAMQP, URL: brokerURL(), Queue: queue})
	opts := &PublishOptions{MessageID: "order-42"}
	first, err := p.Publish(ctx(t), "com.example.t", nil, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	again, err := p.Publish(ctx(t), "com.example.t", nil, nil, opts)
	if err != nil || again != first {
		t.Fatalf("repeated publish = %d, %v; want %d", again, err, first)
	}
	if n := gw.count(); n != 1 {
		t.Errorf("the gateway ran %d operations, want 1", n)
	}
	if c := gw.last(t); !sameJSON(t, c.body, `{"topic":"com.example.t","options":{"message_id":"order-42"}}`) {
		t.Errorf("request %s", c.body)
	}
}

func TestAMQPNoQueue(t *testing.T) {
	queue := needBroker(t)
	_, err := newProxy(t, Config{Transport: TransportAMQP, URL: brokerURL(), Queue: queue}).Health(ctx(t))
	if err == nil || !strings.Contains(err.Error(), "no queue took the request") {
		t.Fatalf("got %v, want an unroutable-request error", err)
	}
}

func TestAMQPUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	_, err = newProxy(t, Config{Transport: TransportAMQP, URL: "amqp://guest:secretpw@127.0.0.1:" + strconv.Itoa(port) + "/", Queue: "q"}).Health(ctx(t))
	if err == nil || !strings.Contains(err.Error(), "connecting to") || strings.Contains(err.Error(), "secretpw") {
		t.Fatalf("got %v, want a connection error without the password", err)
	}
}

// TestAMQPReconnects checks that a proxy whose connection was lost connects again.
func TestAMQPReconnects(t *testing.T) {
	queue := needBroker(t)
	gw := newGateway()
	startAMQPGateway(t, gw, amqprep.Config{Queue: queue})
	p := newProxy(t, Config{Transport: TransportAMQP, URL: brokerURL(), Queue: queue})
	if _, err := p.Health(ctx(t)); err != nil {
		t.Fatal(err)
	}
	tr := p.t.(*amqpTransport)
	tr.mu.Lock()
	s := tr.s
	tr.mu.Unlock()
	_ = s.conn.Close()
	<-s.done
	if _, err := p.Health(ctx(t)); err != nil {
		t.Fatalf("after the connection was lost: %v", err)
	}
}

// TestAMQPConcurrent runs requests from many goroutines on one proxy.
func TestAMQPConcurrent(t *testing.T) {
	queue := needBroker(t)
	gw := newGateway()
	startAMQPGateway(t, gw, amqprep.Config{Queue: queue, Prefetch: 16, Concurrency: 8})
	p := newProxy(t, Config{Transport: TransportAMQP, URL: brokerURL(), Queue: queue})
	errs := make(chan error, 40)
	for range 40 {
		go func() {
			_, err := p.Revoke(ctx(t), "alice")
			errs <- err
		}()
	}
	for range 40 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
