package router

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gateway-dev/gateway/internal/peer"
	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

// Local is an in-process session of a realm for the gateway's own services (the web-app
// interface). It publishes and calls through the same code paths as a WAMP client — options,
// event classes, retention, disclosure, meta events — but is trusted: no role restricts it. It
// appears in wamp.session.list with authmethod "local". Its methods are safe for concurrent use.
//
// Payloads and options are handed to the router as they are, without serialization, so they must
// hold only the types a WAMP decoder produces: nil, bool, int64, uint64, float64, string, []byte,
// []any and map[string]any.
type Local struct {
	s    *Session
	conn *localConn
	next atomic.Uint64 // request IDs
}

// Error is a WAMP ERROR answered to a Local request.
type Error struct {
	URI    wamp.URI
	Args   wamp.List
	Kwargs wamp.Dict
}

// Error returns the URI and, when the first argument is a string, that message.
func (e *Error) Error() string {
	if len(e.Args) > 0 {
		if msg, ok := e.Args[0].(string); ok {
			return string(e.URI) + ": " + msg
		}
	}
	return string(e.URI)
}

// Message is the error's first argument when it is a string (the router's explanation), else "".
func (e *Error) Message() string {
	if len(e.Args) > 0 {
		if msg, ok := e.Args[0].(string); ok {
			return msg
		}
	}
	return ""
}

// ErrLocalClosed is returned by a Local whose session has ended (router shutdown, or killed).
var ErrLocalClosed = errors.New("router: local session closed")

// NewLocal joins a trusted in-process session to realm with the given authid and authrole.
func (r *Router) NewLocal(realm wamp.URI, authid, authrole string) (*Local, error) {
	rl := r.realms[realm]
	if rl == nil {
		return nil, fmt.Errorf("router: no realm %q", realm)
	}
	c := &localConn{waiting: map[wamp.ID]chan wamp.Message{}, done: make(chan struct{})}
	s := newSession(r, c)
	c.s = s
	s.trusted = true
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		return nil, ErrLocalClosed
	}
	r.sessions[s] = struct{}{}
	r.mu.Unlock()
	s.realm = rl
	s.id = r.allocSessionID(s)
	s.authid, s.authrole, s.authmethod, s.authprovider = authid, authrole, "local", "gateway"
	s.joined = time.Now()
	rl.mu.Lock()
	rl.sessions[s.id] = s // not counted against max_sessions: the gateway's own session
	rl.mu.Unlock()
	s.state.Store(stateEstablished)
	rl.broker.publishMeta(metaSessionOnJoin, wamp.List{s.info()}, nil)
	return &Local{s: s, conn: c}, nil
}

// ID returns the local session's ID.
func (l *Local) ID() wamp.ID { return l.s.id }

// Publish publishes an event as PUBLISH with the given options would (acknowledge is implied) and
// returns the publication ID once the event is accepted: validated, stored when it must be, and
// queued to every subscriber. A refusal is an *Error.
func (l *Local) Publish(topic wamp.URI, args wamp.List, kwargs wamp.Dict, options wamp.Dict) (wamp.ID, error) {
	opts := make(wamp.Dict, len(options)+1)
	for k, v := range options {
		opts[k] = v
	}
	opts["acknowledge"] = true
	req, ch := l.await()
	if ch == nil {
		return 0, ErrLocalClosed
	}
	l.s.dispatch(&wamp.Publish{Request: req, Options: opts, Topic: topic, Args: args, Kwargs: kwargs})
	// The broker answers synchronously, before dispatch returns.
	select {
	case m := <-ch:
		return publicationOf(m)
	default:
		l.conn.forget(req)
		return 0, ErrLocalClosed
	}
}

func publicationOf(m wamp.Message) (wamp.ID, error) {
	switch m := m.(type) {
	case *wamp.Published:
		return m.Publication, nil
	case *wamp.Error:
		return 0, &Error{URI: m.Error, Args: m.Args, Kwargs: m.Kwargs}
	}
	return 0, fmt.Errorf("router: unexpected answer to PUBLISH: %s", m.MessageType())
}

// Call calls procedure (a client's registration or one of the router's own procedures) and waits
// for its final RESULT. Options are CALL options (timeout in ms is honoured by the router). When ctx
// ends first, the call is canceled (mode killnowait) and ctx's error returned. A callee's ERROR is
// an *Error.
func (l *Local) Call(ctx context.Context, procedure wamp.URI, args wamp.List, kwargs wamp.Dict, options wamp.Dict) (*wamp.Result, error) {
	req, ch := l.await()
	if ch == nil {
		return nil, ErrLocalClosed
	}
	if options == nil {
		options = wamp.Dict{}
	}
	l.s.dispatch(&wamp.Call{Request: req, Options: options, Procedure: procedure, Args: args, Kwargs: kwargs})
	select {
	case m := <-ch:
		switch m := m.(type) {
		case *wamp.Result:
			return m, nil
		case *wamp.Error:
			return nil, &Error{URI: m.Error, Args: m.Args, Kwargs: m.Kwargs}
		}
		return nil, fmt.Errorf("router: unexpected answer to CALL: %s", m.MessageType())
	case <-ctx.Done():
		l.conn.forget(req)
		if l.s.live() {
			l.s.dispatch(&wamp.Cancel{Request: req, Options: wamp.Dict{"mode": "killnowait"}})
		}
		return nil, ctx.Err()
	case <-l.conn.done:
		return nil, ErrLocalClosed
	}
}

// Close leaves the realm. Pending calls fail with ErrLocalClosed.
func (l *Local) Close() {
	l.conn.Close(peer.CloseNormal, "")
	<-l.conn.closed()
}

// await allocates a request ID and registers a channel for its answer; nil when closed.
func (l *Local) await() (wamp.ID, chan wamp.Message) {
	req := wamp.ID(l.next.Add(1))
	ch := make(chan wamp.Message, 1)
	if !l.conn.expect(req, ch) {
		return 0, nil
	}
	return req, ch
}

// localConn is the peer.Conn of a Local session: messages the router sends are decoded and handed
// to the request waiting for them.
type localConn struct {
	s         *Session
	mu        sync.Mutex
	waiting   map[wamp.ID]chan wamp.Message
	done      chan struct{} // closed by Close
	closeOnce sync.Once
	ended     chan struct{} // closed once the session has left the router
}

var localInfo = &peer.Info{Transport: "local", Network: "local"}

func (c *localConn) Serializer() codec.Serializer { return codec.MsgPackSerializer }

func (c *localConn) Info() *peer.Info { return localInfo }

func (c *localConn) expect(req wamp.ID, ch chan wamp.Message) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.done:
		return false
	default:
	}
	c.waiting[req] = ch
	return true
}

func (c *localConn) forget(req wamp.ID) {
	c.mu.Lock()
	delete(c.waiting, req)
	c.mu.Unlock()
}

// Send implements peer.Conn: answers go to their waiting request; everything else (a GOODBYE from
// a shutting-down router, meta events) ends the session or is dropped.
func (c *localConn) Send(b []byte) error {
	select {
	case <-c.done:
		return peer.ErrClosed
	default:
	}
	m, err := codec.MsgPackSerializer.Decode(b)
	if err != nil {
		return fmt.Errorf("router: local session: %w", err)
	}
	var req wamp.ID
	switch m := m.(type) {
	case *wamp.Published:
		req = m.Request
	case *wamp.Result:
		if d := m.Details; d != nil && d["progress"] == true {
			return nil
		}
		req = m.Request
	case *wamp.Error:
		req = m.Request
	case *wamp.Goodbye:
		go c.Close(peer.CloseNormal, "")
		return nil
	default:
		return nil
	}
	c.mu.Lock()
	ch := c.waiting[req]
	delete(c.waiting, req)
	c.mu.Unlock()
	if ch != nil {
		ch <- m
	}
	return nil
}

// Close implements peer.Conn: the session leaves its realm and the router.
func (c *localConn) Close(peer.CloseCode, string) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		close(c.done)
		c.waiting = map[wamp.ID]chan wamp.Message{}
		c.ended = make(chan struct{})
		c.mu.Unlock()
		go func() {
			c.s.Closed(nil)
			close(c.ended)
		}()
	})
}

func (c *localConn) closed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended
}
