package natsrep

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gateway-dev/gateway/internal/webapp"
)

// drainTimeout bounds how long Close waits for the subscription's buffered requests to be taken.
const drainTimeout = 10 * time.Second

// Rep is a running NATS representative. Create it with Start and stop it with Close.
type Rep struct {
	inv webapp.Invoker
	cfg Config
	nc  *nats.Conn
	sub *nats.Subscription

	jobs    chan *nats.Msg // requests, taken by MaxInFlight long-lived workers
	stop    chan struct{}  // closed by Close once the subscription has ended
	workers sync.WaitGroup
	once    sync.Once
}

// Start connects to the NATS server and subscribes to <SubjectPrefix>.> in QueueGroup. A server
// that cannot be reached yet is retried in the background (forever, every ReconnectWait), so Start
// fails only for an invalid configuration.
func Start(inv webapp.Invoker, cfg Config) (*Rep, error) {
	if inv == nil {
		return nil, errors.New("natsrep: nil Invoker")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Rep{inv: inv, cfg: cfg, jobs: make(chan *nats.Msg), stop: make(chan struct{})}
	log := cfg.Logger
	opts := []nats.Option{
		nats.Name("gateway webapp"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(cfg.ReconnectWait),
		nats.RetryOnFailedConnect(true),
		nats.ConnectHandler(func(c *nats.Conn) { log.Info("nats: connected", "server", c.ConnectedUrlRedacted()) }),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats: reconnected", "server", c.ConnectedUrlRedacted()) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats: disconnected; reconnecting", "err", err)
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Error("nats: asynchronous error", "err", err)
		}),
	}
	if cfg.User != "" || cfg.Password != "" {
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	}
	if cfg.Token != "" {
		opts = append(opts, nats.Token(cfg.Token))
	}
	if r.nc, err = nats.Connect(cfg.URL, opts...); err != nil {
		return nil, fmt.Errorf("natsrep: connecting to %s: %w", cfg.URL, err)
	}
	// Long-lived workers: a goroutine per request would grow a fresh stack for every operation.
	for range cfg.MaxInFlight {
		r.workers.Add(1)
		go r.work()
	}
	if r.sub, err = r.nc.QueueSubscribe(cfg.SubjectPrefix+".>", cfg.QueueGroup, r.onMsg); err != nil {
		close(r.stop)
		r.workers.Wait()
		r.nc.Close()
		return nil, fmt.Errorf("natsrep: subscribing to %s.>: %w", cfg.SubjectPrefix, err)
	}
	return r, nil
}

// Close stops taking requests, lets the ones already received finish and be answered, then closes
// the connection.
func (r *Rep) Close() error {
	var err error
	r.once.Do(func() {
		err = r.stopSubscription()
		close(r.stop)
		r.workers.Wait()
		if r.nc.IsConnected() {
			_ = r.nc.FlushTimeout(2 * time.Second) // the last replies
		}
		r.nc.Close()
	})
	return err
}

// stopSubscription ends the subscription once the requests it buffered have been handed to workers:
// by draining it when connected, and otherwise (a drain would wait for the server) by waiting for
// its buffer to empty.
func (r *Rep) stopSubscription() error {
	if r.nc.IsConnected() {
		closed := r.sub.StatusChanged(nats.SubscriptionClosed)
		if err := r.sub.Drain(); err == nil {
			select {
			case <-closed:
				return nil
			case <-time.After(drainTimeout):
			}
		}
	}
	deadline := time.Now().Add(drainTimeout)
	for {
		n, _, err := r.sub.Pending()
		if err != nil || n == 0 {
			break
		}
		if time.Now().After(deadline) {
			_ = r.sub.Unsubscribe()
			return fmt.Errorf("natsrep: %d buffered requests dropped at Close", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := r.sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrBadSubscription) && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("natsrep: unsubscribing: %w", err)
	}
	return nil
}

// onMsg is the subscription's callback: it hands the request to a worker, waiting while MaxInFlight
// requests are in progress.
func (r *Rep) onMsg(m *nats.Msg) {
	select {
	case r.jobs <- m:
	case <-r.stop: // only when Close gave up waiting for the subscription to drain
	}
}

// work runs requests until Close.
func (r *Rep) work() {
	defer r.workers.Done()
	for {
		select {
		case m := <-r.jobs:
			r.handle(m)
		case <-r.stop:
			return
		}
	}
}

// handle runs one request and answers it when it has a reply subject.
func (r *Rep) handle(m *nats.Msg) {
	op, reply, err := r.invoke(m.Subject, m.Data)
	if m.Reply == "" {
		if err != nil {
			r.cfg.Logger.Warn("nats: request without reply subject failed", "subject", m.Subject, "op", op,
				"err", err, "status", webapp.HTTPStatus(err))
		}
		return
	}
	if rErr := m.Respond(reply); rErr != nil {
		r.cfg.Logger.Warn("nats: cannot reply", "subject", m.Subject, "reply", m.Reply, "err", rErr)
	}
}

// invoke decodes the request and runs its operation; it returns the operation's name, the reply
// envelope and the operation's error (a panic in the Invoker is an internal error).
func (r *Rep) invoke(subject string, data []byte) (op string, reply []byte, err error) {
	op, err = operation(r.cfg.SubjectPrefix, subject)
	if err != nil {
		return op, webapp.EncodeError(err), err
	}
	body, err := requestBody(data)
	if err != nil {
		return op, webapp.EncodeError(err), err
	}
	defer func() {
		if p := recover(); p != nil {
			err = webapp.Errorf(webapp.ErrInternal, "operation %s panicked: %v", op, p)
			reply = webapp.EncodeError(err)
		}
	}()
	result, err := r.inv.Invoke(context.Background(), op, body)
	if err != nil {
		return op, webapp.EncodeError(err), err
	}
	return op, webapp.EncodeResult(result), nil
}
