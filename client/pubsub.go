package client

import (
	"context"
	"errors"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/gateway-dev/gateway/wamp"
)

// Subscription is a handler subscribed to a topic. Several Subscriptions of one Client to the same
// topic (and match policy) share the router's subscription id; the router is told to unsubscribe
// when the last of them unsubscribes.
type Subscription struct {
	c       *Client
	id      wamp.ID
	topic   string
	handler func(*wamp.Event)
	active  atomic.Bool
}

// ID returns the router's subscription id.
func (s *Subscription) ID() wamp.ID { return s.id }

// Topic returns the topic (or pattern) given to Subscribe.
func (s *Subscription) Topic() string { return s.topic }

// Subscribe subscribes handler to topic. opts are the SUBSCRIBE options, e.g. {"match": "prefix"}.
//
// Handlers are called one at a time, in the order events arrive, from the client's event goroutine
// (never from the reader), so they may call back into the client. A handler that blocks delays all
// later events of this client; events wait in an unbounded queue meanwhile. Handlers must not
// modify the event. A router error is returned as *RPCError.
func (c *Client) Subscribe(ctx context.Context, topic string, handler func(*wamp.Event), opts wamp.Dict) (*Subscription, error) {
	if handler == nil {
		return nil, errors.New("wamp client: Subscribe: nil handler")
	}
	req := newRequest(wamp.SUBSCRIBE)
	req.sub = &Subscription{c: c, topic: topic, handler: handler}
	m := &wamp.Subscribe{Options: dictOrEmpty(opts), Topic: wamp.URI(topic)}
	id, err := c.send(ctx, m, req, sendNormal)
	if err == nil {
		_, err = c.await(ctx, id, req)
	}
	if err != nil {
		return nil, wrapRequestError("subscribe", topic, err)
	}
	return req.sub, nil
}

// Unsubscribe stops the handler; it is not called again once Unsubscribe has started. The router is
// told when this was the client's last handler for the subscription. Unsubscribing twice is a no-op.
func (s *Subscription) Unsubscribe(ctx context.Context) error {
	c := s.c
	if !s.active.Swap(false) {
		return nil
	}
	c.mu.Lock()
	old := c.subs[s.id]
	subs := make([]*Subscription, 0, len(old))
	for _, o := range old {
		if o != s {
			subs = append(subs, o)
		}
	}
	if len(subs) > 0 {
		c.subs[s.id] = subs
	} else {
		delete(c.subs, s.id)
	}
	c.mu.Unlock()
	if len(subs) > 0 {
		return nil
	}
	req := newRequest(wamp.UNSUBSCRIBE)
	id, err := c.send(ctx, &wamp.Unsubscribe{Subscription: s.id}, req, sendNormal)
	if err == nil {
		_, err = c.await(ctx, id, req)
	}
	if err != nil {
		return wrapRequestError("unsubscribe", s.topic, err)
	}
	return nil
}

// revokeSubscription handles UNSUBSCRIBED with request 0: the router ended a subscription.
func (c *Client) revokeSubscription(m *wamp.Unsubscribed) {
	id, ok := asID(m.Details["subscription"])
	if !ok {
		return
	}
	c.mu.Lock()
	subs := c.subs[id]
	delete(c.subs, id)
	c.mu.Unlock()
	for _, s := range subs {
		s.active.Store(false)
	}
	if len(subs) > 0 {
		c.log.Info("wamp client: router revoked subscription", "subscription", id, "topic", subs[0].topic,
			"reason", m.Details["reason"])
	}
}

// Publish publishes an event to topic. opts are the PUBLISH options. With opts["acknowledge"] ==
// true, Publish waits for the router's acknowledgement and returns the publication id (a router
// error is returned as *RPCError); otherwise it returns 0 as soon as the message is queued.
func (c *Client) Publish(ctx context.Context, topic string, args wamp.List, kwargs wamp.Dict, opts wamp.Dict) (wamp.ID, error) {
	ack, _ := opts["acknowledge"].(bool)
	var req *request
	if ack {
		req = newRequest(wamp.PUBLISH)
	}
	m := publishPool.Get().(*wamp.Publish)
	*m = wamp.Publish{Options: dictOrEmpty(opts), Topic: wamp.URI(topic), Args: args, Kwargs: kwargs}
	id, err := c.send(ctx, m, req, sendNormal)
	*m = wamp.Publish{} // send has encoded it
	publishPool.Put(m)
	if err == nil && ack {
		var r wamp.Message
		if r, err = c.await(ctx, id, req); err == nil {
			return r.(*wamp.Published).Publication, nil
		}
	}
	if err != nil {
		return 0, wrapRequestError("publish", topic, err)
	}
	return 0, nil
}

// publishPool recycles PUBLISH messages, which are only needed until they are encoded.
var publishPool = sync.Pool{New: func() any { return new(wamp.Publish) }}

// handleEvent queues an EVENT for the subscription's handlers.
func (c *Client) handleEvent(m *wamp.Event) {
	c.mu.Lock()
	subs := c.subs[m.Subscription]
	c.mu.Unlock()
	if len(subs) > 0 {
		c.events.push(eventItem{ev: m, subs: subs})
	}
}

// eventItem is one event and the handlers to call with it.
type eventItem struct {
	ev   *wamp.Event
	subs []*Subscription
}

// eventQueue feeds the client's event goroutine.
type eventQueue struct {
	mu      sync.Mutex
	items   []eventItem
	signal  chan struct{}
	started bool
}

func (q *eventQueue) init() { q.signal = make(chan struct{}, 1) }

func (q *eventQueue) push(it eventItem) {
	q.mu.Lock()
	q.items = append(q.items, it)
	first := len(q.items) == 1
	q.mu.Unlock()
	if first {
		select {
		case q.signal <- struct{}{}:
		default:
		}
	}
}

// start starts the event goroutine once.
func (q *eventQueue) start(c *Client) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.started {
		q.started = true
		go c.dispatchEvents()
	}
}

// dispatchEvents calls event handlers until the session ends; events still queued then are dropped.
func (c *Client) dispatchEvents() {
	q := &c.events
	var batch []eventItem
	for {
		select {
		case <-q.signal:
		case <-c.ctx.Done():
			return
		}
		q.mu.Lock()
		batch, q.items = q.items, batch[:0]
		q.mu.Unlock()
		for i := range batch {
			if c.ctx.Err() != nil {
				return
			}
			for _, s := range batch[i].subs {
				if s.active.Load() {
					c.callEventHandler(s, batch[i].ev)
				}
			}
			batch[i] = eventItem{}
		}
	}
}

// callEventHandler runs one handler, logging a panic instead of crashing the event goroutine.
func (c *Client) callEventHandler(s *Subscription, ev *wamp.Event) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("wamp client: event handler panicked", "topic", s.topic, "panic", r,
				"stack", string(debug.Stack()))
		}
	}()
	s.handler(ev)
}

// asID converts a decoded number into an ID.
func asID(v any) (wamp.ID, bool) {
	n, ok := asInt64(v)
	if !ok || n < 1 || wamp.ID(n) > wamp.MaxID {
		return 0, false
	}
	return wamp.ID(n), true
}

// asInt64 converts a decoded number into an int64.
func asInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case uint64:
		if n <= 1<<63-1 {
			return int64(n), true
		}
	case float64:
		if n == float64(int64(n)) {
			return int64(n), true
		}
	case int:
		return int64(n), true
	}
	return 0, false
}
