package amqprep

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// brokerURL is the RabbitMQ the tests use: GATEWAY_TEST_AMQP_URL, or the local broker.
func brokerURL() string {
	if u := os.Getenv("GATEWAY_TEST_AMQP_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

// quiet is a logger for tests (set GATEWAY_TEST_LOG=1 to see the representative's log).
func quiet() *slog.Logger {
	if os.Getenv("GATEWAY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// call is one recorded Invoke.
type call struct {
	op   string
	body string
	at   time.Time
}

// fakeInvoker records its calls and answers with fn (default: {"publication": 1}).
type fakeInvoker struct {
	mu    sync.Mutex
	calls []call
	fn    func(n int, op string, body []byte) (any, error) // n counts calls from 1
}

func newFake(fn func(n int, op string, body []byte) (any, error)) *fakeInvoker {
	return &fakeInvoker{fn: fn}
}

func (f *fakeInvoker) Invoke(_ context.Context, op string, body []byte) (any, error) {
	f.mu.Lock()
	f.calls = append(f.calls, call{op, string(body), time.Now()})
	n := len(f.calls)
	f.mu.Unlock()
	if f.fn == nil {
		return map[string]any{"publication": 1}, nil
	}
	return f.fn(n, op, body)
}

func (f *fakeInvoker) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// broker is a test's own connection and uniquely named queue and exchanges, deleted at the end.
type broker struct {
	t     *testing.T
	conn  *amqp.Connection
	ch    *amqp.Channel
	queue string
}

// newBroker connects to the test broker and names this test's queue.
func newBroker(t *testing.T) *broker {
	t.Helper()
	conn, err := amqp.Dial(brokerURL())
	if err != nil {
		t.Fatalf("RabbitMQ is needed at %s (start it with `rabbitmq-server -detached`): %v", brokerURL(), err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	b := &broker{t: t, conn: conn, ch: ch, queue: uniqueName(t)}
	t.Cleanup(func() {
		_ = conn.Close()
		// A fresh connection: the test may have broken the first one (channel errors, restarts).
		c, err := amqp.Dial(brokerURL())
		if err != nil {
			t.Errorf("cleanup: cannot delete the test's queues: %v", err)
			return
		}
		defer func() { _ = c.Close() }()
		ch, err := c.Channel()
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		for _, q := range []string{b.queue, b.queue + ".dead", b.queue + ".replies"} {
			_, _ = ch.QueueDelete(q, false, false, false)
		}
		for _, x := range []string{b.queue + ".dlx", b.queue + ".x"} {
			_ = ch.ExchangeDelete(x, false, false)
		}
	})
	return b
}

// uniqueName returns a queue name unique to this run of t.
func uniqueName(t *testing.T) string {
	name := strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
	return "gwtest." + name + "." + randomSuffix()
}

// randomSuffix returns 8 random hex digits.
func randomSuffix() string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	return hex.EncodeToString(r[:])
}

// config returns a representative configuration for this test's queue with quick backoffs.
func (b *broker) config() Config {
	return Config{URL: brokerURL(), Queue: b.queue, MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 500 * time.Millisecond, Logger: quiet()}
}

// start starts a representative and closes it at the end of the test.
func (b *broker) start(inv *fakeInvoker, cfg Config) *Rep {
	b.t.Helper()
	r, err := Start(context.Background(), inv, cfg)
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { _ = r.Close() })
	waitFor(b.t, 10*time.Second, "the representative to connect", func() bool { return r.Stats().Connected })
	return r
}

// publish sends a persistent message to the queue through the default exchange.
func (b *broker) publish(msg amqp.Publishing) {
	b.t.Helper()
	if msg.DeliveryMode == 0 {
		msg.DeliveryMode = amqp.Persistent
	}
	if err := b.ch.PublishWithContext(context.Background(), "", b.queue, false, false, msg); err != nil {
		b.t.Fatal(err)
	}
}

// replies declares the test's reply queue and returns its deliveries.
func (b *broker) replies() (string, <-chan amqp.Delivery) {
	b.t.Helper()
	name := b.queue + ".replies"
	if _, err := b.ch.QueueDeclare(name, false, false, false, false, nil); err != nil {
		b.t.Fatal(err)
	}
	d, err := b.ch.Consume(name, "", true, false, false, false, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return name, d
}

// nextReply waits for a reply and decodes its envelope.
func nextReply(t *testing.T, replies <-chan amqp.Delivery) (amqp.Delivery, map[string]any) {
	t.Helper()
	select {
	case d := <-replies:
		var env map[string]any
		if err := json.Unmarshal(d.Body, &env); err != nil {
			t.Fatalf("reply %q is not JSON: %v", d.Body, err)
		}
		return d, env
	case <-time.After(10 * time.Second):
		t.Fatal("no reply within 10s")
	}
	panic("unreachable")
}

// getDead waits for the next message of the dead-letter queue.
func (b *broker) getDead() amqp.Delivery {
	b.t.Helper()
	var msg amqp.Delivery
	waitFor(b.t, 10*time.Second, "a dead letter", func() bool {
		d, ok, err := b.ch.Get(b.queue+".dead", true)
		if err != nil {
			b.t.Fatal(err)
		}
		msg = d
		return ok
	})
	return msg
}

// ready returns the number of ready messages in queue.
func (b *broker) ready(queue string) int {
	b.t.Helper()
	q, err := b.ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return q.Messages
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// jsonEqual reports whether two JSON texts have the same value.
func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}
