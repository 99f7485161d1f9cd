package amqprep

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gateway-dev/gateway/internal/webapp"
)

// Rep is a running AMQP representative. Create it with Start and stop it with Close.
type Rep struct {
	inv webapp.Invoker
	cfg Config

	// ctx is the context of the invocations (Start's ctx); stopCtx is also canceled by Close.
	ctx     context.Context
	stopCtx context.Context
	stop    context.CancelFunc

	dedup   *dedup
	retry   *backoff      // before requeueing a transient failure
	sem     chan struct{} // bounds the messages in progress to Concurrency
	workers sync.WaitGroup
	done    chan struct{} // closed when the connection loop has returned

	processed, failed, deadLettered, duplicates, reconnects atomic.Uint64
	connected                                               atomic.Bool
}

// Stats are the representative's counters since Start.
type Stats struct {
	// Processed counts messages whose operation succeeded (acknowledged).
	Processed uint64
	// Failed counts transient failures (5xx): each was requeued to run again.
	Failed uint64
	// DeadLettered counts invalid or refused messages copied to the dead-letter exchange.
	DeadLettered uint64
	// Duplicates counts deliveries acknowledged without running because their message_id was processed.
	Duplicates uint64
	// Reconnects counts the connections established after a lost one.
	Reconnects uint64
	// Connected is true while the representative is consuming.
	Connected bool
}

// Start checks cfg, then connects to the broker, declares the queues and exchanges and consumes in
// the background. A broker that cannot be reached is retried with backoff (and logged) rather than
// reported: Start fails only for an invalid configuration. Operations run with ctx; canceling it stops
// the representative as Close does, except that the operations in progress are canceled too.
func Start(ctx context.Context, inv webapp.Invoker, cfg Config) (*Rep, error) {
	if inv == nil {
		return nil, errors.New("amqprep: nil Invoker")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	stopCtx, stop := context.WithCancel(ctx)
	r := &Rep{
		inv: inv, cfg: cfg, ctx: ctx, stopCtx: stopCtx, stop: stop,
		dedup: newDedup(cfg.DedupWindow, dedupMaxEntries, dedupMaxBytes),
		retry: newBackoff(cfg.MinBackoff, cfg.MaxBackoff),
		sem:   make(chan struct{}, cfg.Concurrency),
		done:  make(chan struct{}),
	}
	go r.run()
	return r, nil
}

// Close stops consuming, waits for the messages in progress to be processed and acknowledged, then
// closes the connection. Deliveries received but not started are returned to the queue by the broker.
func (r *Rep) Close() error {
	r.stop()
	<-r.done
	return nil
}

// Stats returns the current counters.
func (r *Rep) Stats() Stats {
	return Stats{
		Processed:    r.processed.Load(),
		Failed:       r.failed.Load(),
		DeadLettered: r.deadLettered.Load(),
		Duplicates:   r.duplicates.Load(),
		Reconnects:   r.reconnects.Load(),
		Connected:    r.connected.Load(),
	}
}

// run connects, consumes until the connection is lost, and reconnects with backoff until stopped.
func (r *Rep) run() {
	defer close(r.done)
	defer r.workers.Wait()
	log := r.cfg.Logger.With("queue", r.cfg.Queue)
	wait := newBackoff(r.cfg.MinBackoff, r.cfg.MaxBackoff)
	everConnected := false
	for r.stopCtx.Err() == nil {
		s, err := r.connect()
		if err != nil {
			d := wait.next()
			log.Warn("amqp: cannot connect; retrying", "err", err, "in", d)
			r.sleep(d)
			continue
		}
		if everConnected {
			r.reconnects.Add(1)
		}
		everConnected = true
		wait.reset()
		r.connected.Store(true)
		log.Info("amqp: consuming", "url", redactURL(r.cfg.URL))
		err = r.serve(s)
		r.connected.Store(false)
		if r.stopCtx.Err() != nil {
			return
		}
		d := wait.next()
		log.Warn("amqp: connection lost; reconnecting", "err", err, "in", d)
		r.sleep(d)
	}
}

// sleep waits d or until the representative stops.
func (r *Rep) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.stopCtx.Done():
	}
}

// redactURL hides the password of an AMQP URL for logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}

// errStopped ends a session because the representative is stopping.
var errStopped = errors.New("amqprep: stopped")
