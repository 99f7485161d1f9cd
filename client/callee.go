package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gateway-dev/gateway/wamp"
)

// Handler runs one invocation of a registered procedure. ctx is canceled when the router
// interrupts the invocation (context.Cause is then ErrInterrupted), when the call's timeout
// forwarded by the router expires, or when the session ends.
//
// Returning a *Result (or nil) sends YIELD. Returning an *RPCError sends ERROR with its URI, args
// and kwargs; any other error sends ERROR wamp.error.canceled after an interrupt,
// wamp.error.timeout after the forwarded timeout, and otherwise ErrRuntime with the error's text as
// the only argument. A panic is logged and answered like an error.
type Handler func(ctx context.Context, inv *Invocation) (*Result, error)

// Result is what a Handler returns: the YIELD payload and options.
type Result struct {
	Args    wamp.List
	Kwargs  wamp.Dict
	Options wamp.Dict
}

// ErrInterrupted is the cause of a handler's context cancellation when the router sent INTERRUPT.
var ErrInterrupted = errors.New("wamp client: invocation interrupted by the router")

// errCallTimeout is the cause of a handler's context cancellation when the forwarded timeout expired.
var errCallTimeout = errors.New("wamp client: call timeout expired")

// maxFinished bounds the remembered progressive invocations that were answered before their final
// chunk arrived.
const maxFinished = 4096

// Registration is a procedure registered by this client.
type Registration struct {
	c         *Client
	id        wamp.ID
	procedure string
	handler   Handler
}

// ID returns the router's registration id.
func (r *Registration) ID() wamp.ID { return r.id }

// Procedure returns the procedure (or pattern) given to Register.
func (r *Registration) Procedure() string { return r.procedure }

// Register registers handler for procedure. opts are the REGISTER options, e.g.
// {"match": "prefix"}, {"invoke": "roundrobin"}, {"disclose_caller": true},
// {"forward_timeout": true}. Each invocation runs in its own goroutine. A router error is returned
// as *RPCError.
func (c *Client) Register(ctx context.Context, procedure string, handler Handler, opts wamp.Dict) (*Registration, error) {
	if handler == nil {
		return nil, errors.New("wamp client: Register: nil handler")
	}
	req := newRequest(wamp.REGISTER)
	req.reg = &Registration{c: c, procedure: procedure, handler: handler}
	id, err := c.send(ctx, &wamp.Register{Options: dictOrEmpty(opts), Procedure: wamp.URI(procedure)}, req, sendNormal)
	if err == nil {
		_, err = c.await(ctx, id, req)
	}
	if err != nil {
		return nil, wrapRequestError("register", procedure, err)
	}
	return req.reg, nil
}

// Unregister unregisters the procedure. Invocations already running continue. Unregistering twice
// is a no-op.
func (r *Registration) Unregister(ctx context.Context) error {
	c := r.c
	c.mu.Lock()
	registered := c.regs[r.id] == r
	c.mu.Unlock()
	if !registered {
		return nil
	}
	req := newRequest(wamp.UNREGISTER)
	id, err := c.send(ctx, &wamp.Unregister{Registration: r.id}, req, sendNormal)
	if err == nil {
		_, err = c.await(ctx, id, req)
	}
	c.mu.Lock()
	if c.regs[r.id] == r {
		delete(c.regs, r.id)
	}
	c.mu.Unlock()
	if err != nil && !IsError(err, wamp.ErrNoSuchRegistration) {
		return wrapRequestError("unregister", r.procedure, err)
	}
	return nil
}

// revokeRegistration handles UNREGISTERED with request 0: the router ended a registration.
func (c *Client) revokeRegistration(m *wamp.Unregistered) {
	id, ok := asID(m.Details["registration"])
	if !ok {
		return
	}
	c.mu.Lock()
	r := c.regs[id]
	delete(c.regs, id)
	c.mu.Unlock()
	if r != nil {
		c.log.Info("wamp client: router revoked registration", "registration", id, "procedure", r.procedure,
			"reason", m.Details["reason"])
	}
}

// Invocation is one call of a registered procedure, as seen by its Handler.
type Invocation struct {
	Request      wamp.ID
	Registration wamp.ID
	// Procedure is the procedure called: details.procedure for pattern-based registrations, else
	// the registered procedure.
	Procedure wamp.URI
	Args      wamp.List
	Kwargs    wamp.Dict
	Details   wamp.Dict

	c        *Client
	ctx      context.Context
	st       *invocation
	more     bool // more input chunks follow (progressive call invocations)
	returned atomic.Bool
}

// invocation is the reader's record of a running invocation.
type invocation struct {
	cancel context.CancelCauseFunc
	mode   string   // INTERRUPT mode, "" until interrupted; guarded by Client.mu
	reason wamp.URI // INTERRUPT reason; guarded by Client.mu

	mu     sync.Mutex
	chunks []*wamp.Invocation
	final  bool // the final chunk has arrived
	signal chan struct{}
}

func (st *invocation) push(m *wamp.Invocation) {
	st.mu.Lock()
	if st.final {
		st.mu.Unlock()
		return
	}
	st.chunks = append(st.chunks, m)
	st.final = !isProgress(m.Details)
	st.mu.Unlock()
	select {
	case st.signal <- struct{}{}:
	default:
	}
}

// ReceiveProgress reports whether the caller asked for progressive results.
func (inv *Invocation) ReceiveProgress() bool {
	p, _ := inv.Details["receive_progress"].(bool)
	return p
}

// SendProgress sends a progressive result (YIELD with options.progress = true). It returns
// ErrProgressNotRequested when the caller did not ask for progressive results, and fails once the
// handler has returned.
func (inv *Invocation) SendProgress(args wamp.List, kwargs wamp.Dict) error {
	if !inv.ReceiveProgress() {
		return ErrProgressNotRequested
	}
	if inv.returned.Load() {
		return errors.New("wamp client: SendProgress after the handler returned")
	}
	y := &wamp.Yield{Request: inv.Request, Options: progressOptions, Args: args, Kwargs: kwargs}
	if _, err := inv.c.send(inv.ctx, y, nil, sendNormal); err != nil {
		return fmt.Errorf("wamp client: progressive result for %q: %w", inv.Procedure, err)
	}
	return nil
}

// Progressive reports whether the caller sends more input chunks after this invocation's
// arguments (progressive call invocations); read them with Next.
func (inv *Invocation) Progressive() bool { return inv.more }

// Next waits for the caller's next input chunk and returns it. The chunk's Details["progress"] is
// true while more follow. After the final chunk (or when the call was not progressive) Next
// returns io.EOF. It returns the context's error when ctx or the invocation's context ends.
func (inv *Invocation) Next(ctx context.Context) (*wamp.Invocation, error) {
	if !inv.more {
		return nil, io.EOF
	}
	st := inv.st
	for {
		st.mu.Lock()
		if len(st.chunks) > 0 {
			m := st.chunks[0]
			st.chunks[0] = nil
			st.chunks = st.chunks[1:]
			st.mu.Unlock()
			inv.more = isProgress(m.Details)
			return m, nil
		}
		st.mu.Unlock()
		select {
		case <-st.signal:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-inv.ctx.Done():
			return nil, inv.ctx.Err()
		}
	}
}

// handleInvocation starts a handler for a new INVOCATION or queues a further input chunk.
func (c *Client) handleInvocation(m *wamp.Invocation) {
	c.mu.Lock()
	if st := c.invs[m.Request]; st != nil {
		c.mu.Unlock()
		st.push(m)
		return
	}
	if _, ok := c.finished[m.Request]; ok {
		// A chunk of a call already answered: ignore it (progressive call invocations).
		if !isProgress(m.Details) {
			delete(c.finished, m.Request)
		}
		c.mu.Unlock()
		return
	}
	reg := c.regs[m.Registration]
	if reg == nil {
		c.mu.Unlock()
		e := &wamp.Error{RequestType: wamp.INVOCATION, Request: m.Request, Details: emptyDict, Error: wamp.ErrNoSuchRegistration}
		if _, err := c.send(context.Background(), e, nil, sendForce); err != nil {
			c.log.Debug("wamp client: cannot answer INVOCATION", "error", err)
		}
		return
	}
	ctx, cancel := context.WithCancelCause(c.ctx)
	st := &invocation{cancel: cancel, final: !isProgress(m.Details), signal: make(chan struct{}, 1)}
	c.invs[m.Request] = st
	c.mu.Unlock()
	go c.runInvocation(ctx, reg, st, m)
}

// handleInterrupt cancels the context of the interrupted invocation.
func (c *Client) handleInterrupt(m *wamp.Interrupt) {
	mode, _ := m.Options["mode"].(string)
	if mode == "" {
		mode = string(CancelKill)
	}
	reason := wamp.ErrCanceled
	if r, ok := m.Options["reason"].(string); ok && r != "" {
		reason = wamp.URI(r)
	}
	c.mu.Lock()
	st := c.invs[m.Request]
	if st != nil && st.mode == "" {
		st.mode, st.reason = mode, reason
	}
	c.mu.Unlock()
	if st != nil {
		st.cancel(ErrInterrupted)
	}
}

// runInvocation runs the handler and sends its answer.
func (c *Client) runInvocation(ctx context.Context, reg *Registration, st *invocation, m *wamp.Invocation) {
	defer st.cancel(nil)
	if ms, ok := asInt64(m.Details["timeout"]); ok && ms > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, time.Duration(ms)*time.Millisecond, errCallTimeout)
		defer cancel()
	}
	inv := &Invocation{
		Request:      m.Request,
		Registration: m.Registration,
		Procedure:    wamp.URI(reg.procedure),
		Args:         m.Args,
		Kwargs:       m.Kwargs,
		Details:      m.Details,
		c:            c,
		ctx:          ctx,
		st:           st,
		more:         isProgress(m.Details),
	}
	if p, ok := m.Details["procedure"].(string); ok && p != "" {
		inv.Procedure = wamp.URI(p)
	}
	res, err := c.callHandler(ctx, reg, inv)
	inv.returned.Store(true)

	c.mu.Lock()
	delete(c.invs, m.Request)
	st.mu.Lock()
	final := st.final
	st.mu.Unlock()
	if !final {
		if len(c.finished) >= maxFinished {
			for id := range c.finished { // evict one; its remaining chunks, if any, get no_such_registration
				delete(c.finished, id)
				break
			}
		}
		c.finished[m.Request] = struct{}{}
	}
	mode, reason := st.mode, st.reason
	c.mu.Unlock()
	if mode == string(CancelKillNoWait) {
		return // the router discards any answer
	}

	var out wamp.Message
	var re *RPCError
	switch {
	case err == nil:
		if res == nil {
			res = &Result{}
		}
		out = &wamp.Yield{Request: m.Request, Options: dictOrEmpty(res.Options), Args: res.Args, Kwargs: res.Kwargs}
	case errors.As(err, &re):
		out = &wamp.Error{RequestType: wamp.INVOCATION, Request: m.Request, Details: dictOrEmpty(re.Details),
			Error: re.URI, Args: re.Args, Kwargs: re.Kwargs}
	case mode != "":
		out = &wamp.Error{RequestType: wamp.INVOCATION, Request: m.Request, Details: emptyDict, Error: reason}
	case context.Cause(ctx) == errCallTimeout:
		out = &wamp.Error{RequestType: wamp.INVOCATION, Request: m.Request, Details: emptyDict, Error: wamp.ErrTimeout}
	default:
		out = &wamp.Error{RequestType: wamp.INVOCATION, Request: m.Request, Details: emptyDict, Error: ErrRuntime,
			Args: wamp.List{err.Error()}}
	}
	if _, err := c.send(context.Background(), out, nil, sendNormal); err != nil && !errors.Is(err, ErrClosed) {
		// The answer cannot be encoded or is too big: tell the caller rather than leave it waiting.
		c.log.Warn("wamp client: cannot answer invocation", "procedure", inv.Procedure, "error", err)
		e := &wamp.Error{RequestType: wamp.INVOCATION, Request: m.Request, Details: emptyDict, Error: ErrRuntime,
			Args: wamp.List{"the result could not be sent"}}
		_, _ = c.send(context.Background(), e, nil, sendNormal)
	}
}

// callHandler runs the handler, turning a panic into an error.
func (c *Client) callHandler(ctx context.Context, reg *Registration, inv *Invocation) (res *Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("wamp client: invocation handler panicked", "procedure", inv.Procedure, "panic", r,
				"stack", string(debug.Stack()))
			res, err = nil, errors.New("handler panicked")
		}
	}()
	return reg.handler(ctx, inv)
}
