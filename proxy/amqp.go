package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// amqpHandshakeTimeout bounds connecting to the broker when the request's context has no deadline.
const amqpHandshakeTimeout = 30 * time.Second

// amqpTransport is the AMQP 0-9-1 transport: each request is a persistent message {"op": ...,
// ...fields} with a message_id, published with publisher confirms (mandatory, so that a message no
// queue takes is an error), whose reply arrives on the connection's private reply queue.
type amqpTransport struct {
	cfg *Config

	mu     sync.Mutex // guards s and closed; held while connecting
	s      *amqpSession
	closed bool
}

// amqpSession is one connection with its channel, reply queue and the requests awaiting replies.
type amqpSession struct {
	conn       *amqp.Connection
	ch         *amqp.Channel
	replyQueue string
	done       chan struct{} // closed when route has returned

	mu      sync.Mutex
	pending map[string]chan amqpAnswer // by correlation id
	err     error                      // why the session ended; set once
}

// amqpAnswer is a reply body, or why none will come.
type amqpAnswer struct {
	body []byte
	err  error
}

func newAMQPTransport(cfg *Config) *amqpTransport { return &amqpTransport{cfg: cfg} }

func (t *amqpTransport) invoke(ctx context.Context, r *request) (json.RawMessage, error) {
	body, err := r.envelope()
	if err != nil {
		return nil, err
	}
	s, err := t.session(ctx)
	if err != nil {
		return nil, err
	}
	corr := newNonce()
	answer, err := s.await(corr)
	if err != nil {
		return nil, err
	}
	defer s.forget(corr)
	msgID := r.messageID
	if msgID == "" {
		msgID = newNonce()
	}
	exchange, key := t.cfg.Exchange, t.cfg.routingKey(r.op)
	dc, err := s.ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, true, false, amqp.Publishing{
		ContentType:   "application/json",
		DeliveryMode:  amqp.Persistent,
		MessageId:     msgID,
		CorrelationId: corr,
		ReplyTo:       s.replyQueue,
		Timestamp:     time.Now(),
		AppId:         "gateway-proxy-go",
		Body:          body,
	})
	if err != nil {
		t.drop(s)
		return nil, fmt.Errorf("publishing to %s: %w", describeRoute(exchange, key), err)
	}
	acked, err := dc.WaitContext(ctx)
	switch {
	case err != nil:
		return nil, fmt.Errorf("waiting for the broker's confirm of the request (it may still be processed): %w", err)
	case !acked:
		return nil, fmt.Errorf("the broker refused the request (basic.nack) published to %s", describeRoute(exchange, key))
	}
	select {
	case a := <-answer:
		if a.err != nil {
			return nil, a.err
		}
		return decodeEnvelope(a.body)
	case <-ctx.Done():
		return nil, fmt.Errorf("no reply from the gateway (the request stays in queue %q until a gateway takes it; "+
			"transient failures are retried by the gateway without a reply): %w", t.cfg.Queue, ctx.Err())
	}
}

// describeRoute names where a request was published.
func describeRoute(exchange, key string) string {
	if exchange == "" {
		return fmt.Sprintf("queue %q", key)
	}
	return fmt.Sprintf("exchange %q with routing key %q", exchange, key)
}

// session returns the live session, connecting first if there is none.
func (t *amqpTransport) session(ctx context.Context) (*amqpSession, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, errors.New("the proxy is closed")
	}
	if t.s != nil {
		select {
		case <-t.s.done:
			t.s = nil
		default:
			return t.s, nil
		}
	}
	s, err := dialAMQP(ctx, t.cfg)
	if err != nil {
		return nil, err
	}
	t.s = s
	return s, nil
}

// drop closes s after a channel failure, so that the next request reconnects.
func (t *amqpTransport) drop(s *amqpSession) {
	_ = s.conn.Close()
	<-s.done
}

func (t *amqpTransport) close() error {
	t.mu.Lock()
	s := t.s
	t.s, t.closed = nil, true
	t.mu.Unlock()
	if s == nil {
		return nil
	}
	err := s.conn.Close()
	<-s.done
	if errors.Is(err, amqp.ErrClosed) {
		err = nil
	}
	return err
}

// dialAMQP connects, opens a confirm-mode channel and consumes a private reply queue.
func dialAMQP(ctx context.Context, cfg *Config) (*amqpSession, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(amqpHandshakeTimeout)
	}
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName("gateway proxy")
	conn, err := amqp.DialConfig(cfg.URL, amqp.Config{
		Properties: props,
		Locale:     "en_US",
		Dial: func(network, addr string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// The handshake must not stall on a dead broker; the library clears the deadline.
			if err := c.SetDeadline(deadline); err != nil {
				_ = c.Close()
				return nil, err
			}
			return c, nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", redact(cfg.URL), err)
	}
	s, err := openAMQPSession(conn)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	return s, nil
}

// openAMQPSession sets up the channel and reply queue of conn and starts routing replies.
func openAMQPSession(conn *amqp.Connection) (*amqpSession, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("opening a channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		return nil, fmt.Errorf("enabling publisher confirms: %w", err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		return nil, fmt.Errorf("declaring the reply queue: %w", err)
	}
	deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		return nil, fmt.Errorf("consuming the reply queue: %w", err)
	}
	s := &amqpSession{conn: conn, ch: ch, replyQueue: q.Name, done: make(chan struct{}),
		pending: map[string]chan amqpAnswer{}}
	returns := ch.NotifyReturn(make(chan amqp.Return, 16))
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	go s.route(deliveries, returns, chClosed, connClosed)
	return s, nil
}

// route hands replies and returned requests to their waiters until the connection ends, then
// fails the requests still waiting. A channel closed by the broker closes the connection, so that
// the next request reconnects.
func (s *amqpSession) route(deliveries <-chan amqp.Delivery, returns <-chan amqp.Return, chClosed, connClosed <-chan *amqp.Error) {
	defer close(s.done)
	for {
		select {
		case d, ok := <-deliveries:
			if !ok {
				deliveries = nil
				continue
			}
			s.answer(d.CorrelationId, amqpAnswer{body: d.Body})
		case r, ok := <-returns:
			if !ok {
				returns = nil
				continue
			}
			s.answer(r.CorrelationId, amqpAnswer{err: fmt.Errorf("no queue took the request (%s: %s): "+
				"is the gateway's queue declared? (it is once the gateway has started with [webapp.amqp])",
				describeRoute(r.Exchange, r.RoutingKey), r.ReplyText)})
		case e, ok := <-chClosed:
			chClosed = nil
			if ok && e != nil {
				s.end(fmt.Errorf("the broker closed the channel: %w; the request may or may not have been processed", e))
				go func() { _ = s.conn.Close() }() // route keeps reading until the connection is gone
			}
		case e := <-connClosed:
			if e != nil {
				s.end(fmt.Errorf("the connection to the broker was lost: %w; the request may or may not have been processed", e))
			} else {
				s.end(errors.New("the connection to the broker was closed"))
			}
			return
		}
	}
}

// await registers a waiter for correlation id corr.
func (s *amqpSession) await(corr string) (chan amqpAnswer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	ch := make(chan amqpAnswer, 1)
	s.pending[corr] = ch
	return ch, nil
}

// forget removes the waiter of corr.
func (s *amqpSession) forget(corr string) {
	s.mu.Lock()
	delete(s.pending, corr)
	s.mu.Unlock()
}

// answer hands a to the waiter of corr, if any (a late reply to an abandoned request is dropped).
func (s *amqpSession) answer(corr string, a amqpAnswer) {
	s.mu.Lock()
	ch := s.pending[corr]
	delete(s.pending, corr)
	s.mu.Unlock()
	if ch != nil {
		ch <- a
	}
}

// end fails every waiter with err.
func (s *amqpSession) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
	for corr, ch := range s.pending {
		ch <- amqpAnswer{err: s.err}
		delete(s.pending, corr)
	}
}
