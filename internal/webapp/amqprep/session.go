package amqprep

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// dialTimeout bounds the TCP connection and the AMQP handshake.
const dialTimeout = 10 * time.Second

// session is one connection: a channel that consumes, acknowledges and answers, and a channel in
// confirm mode for dead letters.
type session struct {
	conn *amqp.Connection
	ch   *amqp.Channel
	dl   *amqp.Channel
	tag  string
}

// connect dials the broker, declares the topology and opens the session's channels.
func (r *Rep) connect() (*session, error) {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName("gateway webapp " + r.cfg.Queue)
	conn, err := amqp.DialConfig(r.cfg.URL, amqp.Config{
		Properties: props,
		Locale:     "en_US",
		Dial:       r.dial,
	})
	if err != nil {
		return nil, fmt.Errorf("dialing: %w", err)
	}
	s := &session{conn: conn, tag: consumerTag()}
	if err := r.declare(conn); err != nil {
		_ = conn.Close()
		return nil, err
	}
	if s.ch, err = conn.Channel(); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("opening the consumer channel: %w", err)
	}
	if err := s.ch.Qos(r.cfg.Prefetch, 0, false); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("setting prefetch: %w", err)
	}
	if s.dl, err = conn.Channel(); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("opening the dead-letter channel: %w", err)
	}
	if err := s.dl.Confirm(false); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("enabling publisher confirms: %w", err)
	}
	return s, nil
}

// dial opens the TCP connection; stopping the representative abandons it.
func (r *Rep) dial(network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(r.stopCtx, dialTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	// The handshake must not stall on a dead server; the library clears the deadline afterwards.
	if err := c.SetDeadline(time.Now().Add(dialTimeout)); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// declare makes sure the consumed queue, its binding, the dead-letter exchange and the dead queue
// exist. Existing queues are used as they are.
func (r *Rep) declare(conn *amqp.Connection) error {
	cfg := r.cfg
	ch, err := ensureQueue(conn, cfg.Queue)
	if err != nil {
		return err
	}
	defer func() { _ = ch.Close() }()
	if cfg.Exchange != "" {
		if err := ch.ExchangeDeclare(cfg.Exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declaring exchange %q: %w", cfg.Exchange, err)
		}
		if err := ch.QueueBind(cfg.Queue, cfg.BindingKey, cfg.Exchange, false, nil); err != nil {
			return fmt.Errorf("binding queue %q to %q: %w", cfg.Queue, cfg.Exchange, err)
		}
	}
	if err := ch.ExchangeDeclare(cfg.DeadLetterExchange, amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declaring dead-letter exchange %q: %w", cfg.DeadLetterExchange, err)
	}
	dch, err := ensureQueue(conn, cfg.deadQueue())
	if err != nil {
		return err
	}
	defer func() { _ = dch.Close() }()
	if err := dch.QueueBind(cfg.deadQueue(), "", cfg.DeadLetterExchange, false, nil); err != nil {
		return fmt.Errorf("binding queue %q to %q: %w", cfg.deadQueue(), cfg.DeadLetterExchange, err)
	}
	return nil
}

// ensureQueue declares a durable queue named name unless it exists, and returns an open channel.
// (A passive declaration of a missing queue closes its channel, hence the new channel.)
func ensureQueue(conn *amqp.Connection, name string) (*amqp.Channel, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("opening a channel: %w", err)
	}
	_, err = ch.QueueDeclarePassive(name, true, false, false, false, nil)
	if err == nil {
		return ch, nil
	}
	var aerr *amqp.Error
	if !errors.As(err, &aerr) || aerr.Code != amqp.NotFound {
		_ = ch.Close()
		return nil, fmt.Errorf("inspecting queue %q: %w", name, err)
	}
	if ch, err = conn.Channel(); err != nil {
		return nil, fmt.Errorf("opening a channel: %w", err)
	}
	if _, err := ch.QueueDeclare(name, true, false, false, false, nil); err != nil {
		_ = ch.Close()
		return nil, fmt.Errorf("declaring queue %q: %w", name, err)
	}
	return ch, nil
}

// serve consumes until the connection or a channel closes, the broker cancels the consumer, or the
// representative stops. On stop it cancels the consumer and waits for the messages in progress
// before closing the connection.
func (r *Rep) serve(s *session) error {
	connClosed := s.conn.NotifyClose(make(chan *amqp.Error, 1))
	chClosed := s.ch.NotifyClose(make(chan *amqp.Error, 1))
	dlClosed := s.dl.NotifyClose(make(chan *amqp.Error, 1))
	canceled := s.ch.NotifyCancel(make(chan string, 1))
	defer func() { _ = s.conn.Close() }()

	deliveries, err := s.ch.Consume(r.cfg.Queue, s.tag, false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consuming %q: %w", r.cfg.Queue, err)
	}
	for {
		select {
		case <-r.stopCtx.Done():
			_ = s.ch.Cancel(s.tag, false)
			r.workers.Wait() // let the messages in progress be acknowledged on this connection
			return errStopped
		case e := <-connClosed:
			return closeErr("connection", e)
		case e := <-chClosed:
			return closeErr("consumer channel", e)
		case e := <-dlClosed:
			return closeErr("dead-letter channel", e)
		case <-canceled:
			return fmt.Errorf("the broker canceled the consumer of %q", r.cfg.Queue)
		case d, ok := <-deliveries:
			if !ok {
				return errors.New("the delivery stream ended")
			}
			select {
			case r.sem <- struct{}{}:
			case <-r.stopCtx.Done():
				continue // not started: the broker requeues it when the channel closes
			}
			r.workers.Add(1)
			go func() {
				defer r.workers.Done()
				defer func() { <-r.sem }()
				r.handle(s, d)
			}()
		}
	}
}

// closeErr describes a close notification (nil when closed by this side).
func closeErr(what string, e *amqp.Error) error {
	if e == nil {
		return fmt.Errorf("%s closed", what)
	}
	return fmt.Errorf("%s closed: %w", what, e)
}

// consumerTag returns a unique consumer tag.
func consumerTag() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "gateway-webapp-" + hex.EncodeToString(b[:])
}
