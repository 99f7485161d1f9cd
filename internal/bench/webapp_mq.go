package bench

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gateway-dev/gateway/wamp"
)

// natsPublisher publishes with NATS requests on <prefix>.publish over one connection; every
// worker's request is in flight at once.
type natsPublisher struct {
	nc             *nats.Conn
	subject        string
	prefix, suffix string
}

func dialNATSPublisher(o Options) (*natsPublisher, error) {
	nc, err := nats.Connect(o.NATSURL, nats.Name("gateway bench"), nats.Timeout(o.ConnectTimeout))
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %w", o.NATSURL, err)
	}
	return &natsPublisher{nc: nc, subject: o.NATSPrefix + ".publish",
		prefix: `{"topic":"` + o.Topic + `","args":["`, suffix: `"]}`}, nil
}

func (p *natsPublisher) target() string { return "nats " + p.subject }

func (p *natsPublisher) close() { p.nc.Close() }

func (p *natsPublisher) publish(ctx context.Context, w *webappWorker, marker []byte) (wamp.ID, error) {
	w.body = append(append(append(w.body[:0], p.prefix...), marker...), p.suffix...)
	m, err := p.nc.RequestWithContext(ctx, p.subject, w.body)
	if err != nil {
		return 0, err
	}
	return parseEnvelope(m.Data)
}

// amqpPublisher sends {"op": "publish", ...} messages to the gateway's queue over one channel
// (publisher confirms off) and matches the replies, which arrive on an exclusive reply queue, to
// the waiting workers by correlation id: every worker's request is in flight at once.
type amqpPublisher struct {
	conn           *amqp.Connection
	ch             *amqp.Channel
	queue, replyTo string
	prefix, suffix string
	idBase         string
	next           atomic.Uint64

	mu      sync.Mutex
	waiting map[string]chan []byte
	lost    chan struct{} // closed when the reply consumer ends (connection or channel lost)
	done    chan struct{} // closed when the dispatcher has returned
	name    string
}

func dialAMQPPublisher(ctx context.Context, o Options) (*amqpPublisher, error) {
	cfg := amqp.Config{Dial: amqp.DefaultDial(o.ConnectTimeout), Properties: amqp.Table{"connection_name": "gateway bench"}}
	conn, err := amqp.DialConfig(o.AMQPURL, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to AMQP at %s: %w", redactedURL(o.AMQPURL), err)
	}
	p := &amqpPublisher{conn: conn, queue: o.AMQPQueue, idBase: "gwb-" + runID() + "-",
		prefix: `{"op":"publish","topic":"` + o.Topic + `","args":["`, suffix: `"]}`,
		waiting: map[string]chan []byte{}, lost: make(chan struct{}), done: make(chan struct{}),
		name: "amqp " + redactedURL(o.AMQPURL) + " queue " + o.AMQPQueue}
	fail := func(err error) (*amqpPublisher, error) {
		conn.Close()
		return nil, err
	}
	if p.ch, err = waitForQueue(ctx, conn, o.AMQPQueue, o.ConnectTimeout); err != nil {
		return fail(err)
	}
	q, err := p.ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		return fail(fmt.Errorf("declaring the reply queue: %w", err))
	}
	p.replyTo = q.Name
	deliveries, err := p.ch.ConsumeWithContext(ctx, q.Name, "", true, true, false, false, nil)
	if err != nil {
		return fail(fmt.Errorf("consuming the reply queue: %w", err))
	}
	go p.dispatch(deliveries)
	return p, nil
}

// waitForQueue waits up to timeout for the gateway to declare its queue (it connects in the
// background) and returns a channel to publish on. Publishing to a missing queue through the
// default exchange drops the message silently: every request would time out instead.
func waitForQueue(ctx context.Context, conn *amqp.Connection, queue string, timeout time.Duration) (*amqp.Channel, error) {
	deadline := time.Now().Add(timeout)
	for {
		ch, err := conn.Channel()
		if err != nil {
			return nil, fmt.Errorf("opening an AMQP channel: %w", err)
		}
		_, err = ch.QueueDeclarePassive(queue, true, false, false, false, nil)
		if err == nil {
			return ch, nil
		}
		// A failed passive declaration closes the channel: the next attempt opens another.
		if time.Now().After(deadline) || !sleepUntil(ctx, time.Now().Add(100*time.Millisecond)) {
			return nil, fmt.Errorf("the gateway's queue %q does not exist (is [webapp.amqp] configured and the gateway connected?): %w", queue, err)
		}
	}
}

// dispatch hands each reply to the worker waiting for its correlation id; replies nobody waits
// for any more (the request was given up) are dropped.
func (p *amqpPublisher) dispatch(deliveries <-chan amqp.Delivery) {
	defer close(p.done)
	defer close(p.lost)
	for d := range deliveries {
		p.mu.Lock()
		c, ok := p.waiting[d.CorrelationId]
		delete(p.waiting, d.CorrelationId)
		p.mu.Unlock()
		if ok {
			c <- d.Body // buffered: never blocks
		}
	}
}

func (p *amqpPublisher) target() string { return p.name }

func (p *amqpPublisher) close() {
	p.conn.Close()
	<-p.done
}

func (p *amqpPublisher) publish(ctx context.Context, w *webappWorker, marker []byte) (wamp.ID, error) {
	w.body = append(append(append(w.body[:0], p.prefix...), marker...), p.suffix...)
	id := p.idBase + strconv.FormatUint(p.next.Add(1), 36)
	reply := make(chan []byte, 1)
	p.mu.Lock()
	p.waiting[id] = reply
	p.mu.Unlock()
	forget := func() {
		p.mu.Lock()
		delete(p.waiting, id)
		p.mu.Unlock()
	}
	// The message's id is the correlation id: the gateway deduplicates by it, as a web-app that
	// follows docs/WEBAPP.md would have it do.
	err := p.ch.PublishWithContext(ctx, "", p.queue, false, false, amqp.Publishing{
		ContentType: "application/json", DeliveryMode: amqp.Persistent,
		MessageId: id, CorrelationId: id, ReplyTo: p.replyTo, Body: w.body,
	})
	if err != nil {
		forget()
		return 0, fmt.Errorf("publishing to %q: %w", p.queue, err)
	}
	select {
	case b := <-reply:
		return parseEnvelope(b)
	case <-p.lost:
		forget()
		return 0, errors.New("the AMQP connection was lost")
	case <-ctx.Done():
		forget()
		return 0, ctx.Err()
	}
}

// redactedURL hides the password of a URL.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}
