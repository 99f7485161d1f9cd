package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

// Session states.
const (
	stateOpen    int32 = iota
	stateClosing       // Close sent GOODBYE and waits for the router's
	stateEnded
)

// lingerTimeout bounds how long the connection is kept after the session ended, to flush the last
// messages and read the router's side of the close.
const lingerTimeout = time.Second

// emptyDict is sent for absent options and details. It is never modified.
var emptyDict = wamp.Dict{}

// Client is one WAMP session with a router. Its methods are safe for concurrent use.
//
// A Client runs one reader and one writer goroutine, plus one goroutine that calls event handlers
// (started with the first subscription) and one goroutine per running invocation handler.
type Client struct {
	cfg  Config
	ser  codec.Serializer
	conn net.Conn
	t    transport
	log  *slog.Logger

	id      wamp.ID
	details wamp.Dict

	out outQueue

	state atomic.Int32 // written under mu

	mu       sync.Mutex
	err      error
	cause    error // the router's reason for ending the session, noted before the connection closes
	pending  map[wamp.ID]*request
	subs     map[wamp.ID][]*Subscription // copy-on-write slices
	regs     map[wamp.ID]*Registration
	invs     map[wamp.ID]*invocation
	finished map[wamp.ID]struct{} // progressive invocations answered before their final chunk

	events eventQueue

	ctx        context.Context // canceled when the session ends
	cancel     context.CancelCauseFunc
	goodbye    chan struct{} // closed when the router answers our GOODBYE
	writerDone chan struct{}
	done       chan struct{}
}

// Connect opens a connection to the router at url, joins cfg.Realm and returns the session.
// ctx bounds connecting and joining; it does not affect the session afterwards.
//
// Accepted URLs:
//
//	ws://host[:port]/path, wss://host[:port]/path   WebSocket, WebSocket over TLS
//	rs://host:port, rss://host:port                 RawSocket over TCP, over TLS
//	tcp://host:port, tcps://host:port               the same as rs:// and rss://
//	ws+unix:///path/to/socket[#/http/path]          WebSocket over a Unix socket; the HTTP request
//	                                                path is the fragment, "/ws" when absent
//	rs+unix:///path/to/socket                       RawSocket over a Unix socket
//
// When the router refuses the session, the error is a *CloseError with the ABORT reason.
func Connect(ctx context.Context, url string, cfg Config) (*Client, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	ser, err := cfg.serializer()
	if err != nil {
		return nil, err
	}
	ep, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:        cfg,
		ser:        ser,
		log:        cfg.Logger,
		pending:    make(map[wamp.ID]*request),
		subs:       make(map[wamp.ID][]*Subscription),
		regs:       make(map[wamp.ID]*Registration),
		invs:       make(map[wamp.ID]*invocation),
		finished:   make(map[wamp.ID]struct{}),
		goodbye:    make(chan struct{}),
		writerDone: make(chan struct{}),
		done:       make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancelCause(context.Background())
	c.out.init(cfg.WriteQueueSize)
	c.events.init()
	c.conn, c.t, err = dial(ctx, ep, &c.cfg, ser, c.queuePong)
	if err != nil {
		c.cancel(err)
		return nil, err
	}
	go c.writeLoop()
	if err := c.join(ctx); err != nil {
		c.end(err)
		<-c.writerDone
		_ = c.conn.Close()
		return nil, err
	}
	go c.readLoop()
	return c, nil
}

// join sends HELLO and reads until WELCOME, answering CHALLENGEs.
func (c *Client) join(ctx context.Context) (err error) {
	stop := watchContext(ctx, c.conn)
	defer func() {
		if stop() {
			err = fmt.Errorf("wamp client: joining realm %q: %w", c.cfg.Realm, ctx.Err())
		}
	}()
	hello := &wamp.Hello{Realm: wamp.URI(c.cfg.Realm), Details: c.cfg.helloDetails()}
	if _, err := c.send(ctx, hello, nil, sendNormal); err != nil {
		return err
	}
	for {
		b, err := c.t.readMessage()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("wamp client: joining realm %q: %w", c.cfg.Realm, err)
		}
		m, err := c.ser.Decode(b)
		if err != nil {
			err = fmt.Errorf("wamp client: joining realm %q: %w", c.cfg.Realm, err)
			c.abort(wamp.ErrProtocolViolation, err)
			return err
		}
		switch m := m.(type) {
		case *wamp.Welcome:
			c.id, c.details = m.Session, m.Details
			return nil
		case *wamp.Abort:
			return &CloseError{Abort: true, Reason: m.Reason, Details: m.Details}
		case *wamp.Challenge:
			if c.cfg.Authenticate == nil {
				err := fmt.Errorf("wamp client: router sent CHALLENGE %q but Config.Authenticate is nil", m.AuthMethod)
				c.abort(wamp.ErrAuthenticationFailed, err)
				return err
			}
			a, err := c.cfg.Authenticate(m)
			if err == nil && a == nil {
				err = errors.New("Authenticate returned nil")
			}
			if err != nil {
				err = fmt.Errorf("wamp client: answering CHALLENGE %q: %w", m.AuthMethod, err)
				c.abort(wamp.ErrAuthenticationFailed, err)
				return err
			}
			if a.Extra == nil {
				a = &wamp.Authenticate{Signature: a.Signature, Extra: emptyDict}
			}
			if _, err := c.send(ctx, a, nil, sendNormal); err != nil {
				return err
			}
		default:
			err := fmt.Errorf("wamp client: unexpected %s while joining realm %q", m.MessageType(), c.cfg.Realm)
			c.abort(wamp.ErrProtocolViolation, err)
			return err
		}
	}
}

// SessionID returns the session id the router assigned in WELCOME.
func (c *Client) SessionID() wamp.ID { return c.id }

// Details returns the WELCOME details (roles, authid, authrole, ...). Do not modify them.
func (c *Client) Details() wamp.Dict { return c.details }

// Done returns a channel that is closed when the session has ended and the connection is closed.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns nil while the session is open. Once it has ended it says why: ErrClosed after Close,
// a *CloseError when the router sent GOODBYE or ABORT, or the transport or protocol error that
// ended the connection.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close ends the session: it sends GOODBYE (wamp.close.normal), waits up to Config.CloseTimeout
// for the router's GOODBYE, then closes the connection. Pending requests fail with ErrClosed.
// Close does not wait for running handlers; their contexts are canceled. Closing an ended
// session returns nil.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.state.Load() != stateOpen {
		c.mu.Unlock()
		<-c.done
		return nil
	}
	c.state.Store(stateClosing)
	c.mu.Unlock()

	var err error
	bye := &wamp.Goodbye{Details: emptyDict, Reason: wamp.CloseNormal}
	if _, serr := c.send(context.Background(), bye, nil, sendGoodbye); serr == nil {
		t := time.NewTimer(c.cfg.CloseTimeout)
		select {
		case <-c.goodbye:
		case <-c.done:
		case <-t.C:
			err = fmt.Errorf("wamp client: no GOODBYE from the router within %v", c.cfg.CloseTimeout)
		}
		t.Stop()
	}
	c.end(ErrClosed)
	if err != nil {
		_ = c.conn.SetReadDeadline(time.Now()) // the router does not answer: do not linger
	}
	<-c.done
	return err
}

// end ends the session with cause (the first cause wins): it stops accepting messages, fails the
// pending requests, cancels handler contexts and lets the writer flush and close.
func (c *Client) end(cause error) {
	c.mu.Lock()
	if c.state.Load() == stateEnded {
		c.mu.Unlock()
		return
	}
	c.state.Store(stateEnded)
	if c.cause != nil {
		cause = c.cause
	}
	c.err = cause
	c.mu.Unlock()

	c.out.close()

	// No request can be added to pending now: send adds them only while the queue is open.
	c.mu.Lock()
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, req := range pending {
		req.done <- nil
	}
	c.cancel(cause)
	_ = c.conn.SetDeadline(time.Now().Add(lingerTimeout))
}

// ended reports whether the session has ended.
func (c *Client) ended() bool { return c.state.Load() == stateEnded }

// abort sends ABORT with reason and err's text; the caller ends the session.
func (c *Client) abort(reason wamp.URI, err error) {
	m := &wamp.Abort{Details: wamp.Dict{"message": err.Error()}, Reason: reason}
	if _, serr := c.send(context.Background(), m, nil, sendForce); serr != nil {
		c.log.Debug("wamp client: cannot send ABORT", "error", serr)
	}
}

// violation ends the session because the router broke the protocol.
func (c *Client) violation(err error) {
	c.log.Warn("wamp client: protocol violation by the router", "error", err)
	c.abort(wamp.ErrProtocolViolation, err)
	c.end(err)
	_ = c.conn.SetReadDeadline(time.Now()) // stop reading now; the writer still flushes the ABORT
}

// readLoop reads and handles messages until the connection fails, then tears the connection down.
func (c *Client) readLoop() {
	for {
		b, err := c.t.readMessage()
		if err != nil {
			c.end(c.readError(err))
			break
		}
		if c.ended() {
			continue // drain until the router closes or the linger deadline passes
		}
		m, err := c.ser.Decode(b)
		if err != nil {
			c.violation(fmt.Errorf("wamp client: bad message from router: %w", err))
			continue
		}
		c.handle(m)
	}
	<-c.writerDone
	_ = c.conn.Close()
	close(c.done)
}

// readError maps the error that ended reading to the session's end reason.
func (c *Client) readError(err error) error {
	if c.state.Load() == stateClosing {
		return ErrClosed
	}
	var pe *protocolError
	if errors.As(err, &pe) {
		return err
	}
	return fmt.Errorf("wamp client: connection lost: %w", err)
}

// handle dispatches one message from the router.
func (c *Client) handle(m wamp.Message) {
	switch m := m.(type) {
	case *wamp.Event:
		c.handleEvent(m)
	case *wamp.Result:
		c.handleResult(m)
	case *wamp.Invocation:
		c.handleInvocation(m)
	case *wamp.Interrupt:
		c.handleInterrupt(m)
	case *wamp.Published:
		c.complete(m.Request, wamp.PUBLISH, m)
	case *wamp.Subscribed:
		c.complete(m.Request, wamp.SUBSCRIBE, m)
	case *wamp.Unsubscribed:
		if m.Request == 0 {
			c.revokeSubscription(m)
			return
		}
		c.complete(m.Request, wamp.UNSUBSCRIBE, m)
	case *wamp.Registered:
		c.complete(m.Request, wamp.REGISTER, m)
	case *wamp.Unregistered:
		if m.Request == 0 {
			c.revokeRegistration(m)
			return
		}
		c.complete(m.Request, wamp.UNREGISTER, m)
	case *wamp.Error:
		c.complete(m.Request, m.RequestType, m)
	case *wamp.Goodbye:
		if c.state.Load() == stateClosing {
			close(c.goodbye)
			c.end(ErrClosed)
			return
		}
		cause := &CloseError{Reason: m.Reason, Details: m.Details}
		// The router closes the connection once it has our answer; the reason must not be lost to
		// the writer or reader seeing that close first.
		c.mu.Lock()
		if c.cause == nil {
			c.cause = cause
		}
		c.mu.Unlock()
		bye := &wamp.Goodbye{Details: emptyDict, Reason: wamp.ErrGoodbyeAndOut}
		if _, err := c.send(context.Background(), bye, nil, sendForce); err != nil {
			c.log.Debug("wamp client: cannot answer GOODBYE", "error", err)
		}
		c.end(cause)
	case *wamp.Abort:
		c.end(&CloseError{Abort: true, Reason: m.Reason, Details: m.Details})
	default:
		c.violation(fmt.Errorf("wamp client: unexpected %s from router", m.MessageType()))
	}
}

// request is a request waiting for the router's answer.
type request struct {
	typ  wamp.MessageType  // the request's type (CALL, SUBSCRIBE, ...)
	done chan wamp.Message // the final answer; nil when the session ended; ctxEnded when canceled
	// For CALL with progressive results.
	progress *resultQueue
	// For SUBSCRIBE and REGISTER: registered by the reader when the router acknowledges, so that
	// an EVENT or INVOCATION right behind the acknowledgement finds its handler.
	sub       *Subscription
	reg       *Registration
	abandoned bool // the caller gave up (guarded by Client.mu); the reader undoes a late success
}

func newRequest(typ wamp.MessageType) *request {
	return &request{typ: typ, done: make(chan wamp.Message, 1)}
}

// ctxEnded is put into request.done when a stream's context ended.
type ctxEnded struct{}

func (ctxEnded) MessageType() wamp.MessageType { return 0 }

// complete hands the final answer m to the request id of type typ.
func (c *Client) complete(id wamp.ID, typ wamp.MessageType, m wamp.Message) {
	c.mu.Lock()
	req := c.pending[id]
	if req == nil || req.typ != typ {
		c.mu.Unlock()
		return // an answer to a request the caller gave up on
	}
	delete(c.pending, id)
	var undo wamp.Message
	startEvents := false
	switch r := m.(type) {
	case *wamp.Subscribed:
		switch {
		case !req.abandoned:
			req.sub.id = r.Subscription
			req.sub.active.Store(true)
			old := c.subs[r.Subscription]
			subs := make([]*Subscription, len(old), len(old)+1)
			copy(subs, old)
			c.subs[r.Subscription] = append(subs, req.sub)
			startEvents = true
		case len(c.subs[r.Subscription]) == 0:
			undo = &wamp.Unsubscribe{Subscription: r.Subscription}
		}
	case *wamp.Registered:
		if req.abandoned {
			undo = &wamp.Unregister{Registration: r.Registration}
		} else {
			req.reg.id = r.Registration
			c.regs[r.Registration] = req.reg
		}
	}
	c.mu.Unlock()
	if undo != nil {
		if _, err := c.send(context.Background(), undo, nil, sendForce); err != nil {
			c.log.Debug("wamp client: cannot undo abandoned request", "error", err)
		}
	}
	if startEvents {
		c.events.start(c)
	}
	req.done <- m
}

// forget withdraws the pending request id after its caller gave up. It reports false when the
// answer has already been handed over (it is then in req.done).
func (c *Client) forget(id wamp.ID, req *request) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending[id] != req {
		return false
	}
	if req.sub != nil || req.reg != nil {
		req.abandoned = true // keep it, so the reader can undo a late acknowledgement
	} else {
		delete(c.pending, id)
	}
	return true
}

// await waits for the final answer to request id. An ERROR becomes an *RPCError.
func (c *Client) await(ctx context.Context, id wamp.ID, req *request) (wamp.Message, error) {
	select {
	case m := <-req.done:
		return c.answer(ctx, m)
	case <-ctx.Done():
		if c.forget(id, req) {
			return nil, ctx.Err()
		}
		return c.answer(ctx, <-req.done)
	}
}

// answer converts what a request received into its result or error.
func (c *Client) answer(ctx context.Context, m wamp.Message) (wamp.Message, error) {
	switch m := m.(type) {
	case nil:
		return nil, endedError(c.Err())
	case ctxEnded:
		return nil, ctx.Err()
	case *wamp.Error:
		return nil, errorFromMessage(m)
	}
	return m, nil
}

// routerHas reports whether the router announced feature for role in WELCOME.
func (c *Client) routerHas(role, feature string) bool {
	roles, _ := c.details["roles"].(map[string]any)
	r, _ := roles[role].(map[string]any)
	f, _ := r["features"].(map[string]any)
	v, _ := f[feature].(bool)
	return v
}

// isProgress reports whether d["progress"] is true.
func isProgress(d wamp.Dict) bool {
	p, _ := d["progress"].(bool)
	return p
}

// dictOrEmpty returns d, or the shared empty dictionary when d is nil.
func dictOrEmpty(d wamp.Dict) wamp.Dict {
	if d == nil {
		return emptyDict
	}
	return d
}
