package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"

	"github.com/gateway-dev/gateway/wamp"
)

// CancelMode is the CANCEL mode sent when a call's context ends.
type CancelMode string

// Cancel modes (WAMP call canceling).
const (
	// CancelSkip: the router answers the caller at once and does not interrupt the callee.
	CancelSkip CancelMode = "skip"
	// CancelKill: the router interrupts the callee and answers once the callee has.
	CancelKill CancelMode = "kill"
	// CancelKillNoWait: the router answers the caller at once and interrupts the callee. The default.
	CancelKillNoWait CancelMode = "killnowait"
)

// CallOption configures the client side of one call (the CALL options proper are the opts
// dictionary).
type CallOption func(*callConfig)

type callConfig struct {
	cancelMode CancelMode
	onProgress func(*wamp.Result)
}

// WithCancelMode sets the mode of the CANCEL sent when the call's context ends before the result
// arrives. The call returns the context's error at once whatever the mode.
func WithCancelMode(mode CancelMode) CallOption {
	return func(cc *callConfig) { cc.cancelMode = mode }
}

// WithProgress asks for progressive call results (CALL.Options.receive_progress) and calls fn with
// each one, in order, before the call returns the final result. With Call, fn runs on the calling
// goroutine; with a Stream, from within Send and Finish.
func WithProgress(fn func(*wamp.Result)) CallOption {
	return func(cc *callConfig) { cc.onProgress = fn }
}

func newCallConfig(opts []CallOption) callConfig {
	cc := callConfig{cancelMode: CancelKillNoWait}
	for _, o := range opts {
		o(&cc)
	}
	return cc
}

// resultQueue holds progressive results until the caller takes them.
type resultQueue struct {
	mu     sync.Mutex
	items  []*wamp.Result
	signal chan struct{}
}

func (q *resultQueue) push(r *wamp.Result) {
	q.mu.Lock()
	q.items = append(q.items, r)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// deliver calls fn with every queued result.
func (q *resultQueue) deliver(fn func(*wamp.Result)) {
	for {
		q.mu.Lock()
		items := q.items
		q.items = nil
		q.mu.Unlock()
		if len(items) == 0 {
			return
		}
		for _, r := range items {
			fn(r)
		}
	}
}

// Call calls procedure and returns its result. opts are the CALL options (e.g. {"timeout": 1000}
// in milliseconds for a router-side timeout, {"disclose_me": true}).
//
// When ctx ends first, Call sends CANCEL (mode per WithCancelMode, default killnowait) and returns
// ctx's error at once. An ERROR from the router or the callee is returned as *RPCError.
func (c *Client) Call(ctx context.Context, procedure string, args wamp.List, kwargs wamp.Dict, opts wamp.Dict, callOpts ...CallOption) (*wamp.Result, error) {
	cc := newCallConfig(callOpts)
	req := newRequest(wamp.CALL)
	if cc.onProgress != nil {
		req.progress = &resultQueue{signal: make(chan struct{}, 1)}
		opts = withOption(opts, "receive_progress", true)
	}
	m := callPool.Get().(*wamp.Call)
	*m = wamp.Call{Options: dictOrEmpty(opts), Procedure: wamp.URI(procedure), Args: args, Kwargs: kwargs}
	id, err := c.send(ctx, m, req, sendNormal)
	*m = wamp.Call{} // send has encoded it
	callPool.Put(m)
	if err != nil {
		return nil, wrapRequestError("call", procedure, err)
	}
	return c.awaitCall(ctx, id, req, &cc, procedure)
}

// callPool recycles CALL messages, which are only needed until they are encoded.
var callPool = sync.Pool{New: func() any { return new(wamp.Call) }}

// awaitCall waits for the final answer to the call id, delivering progressive results meanwhile.
func (c *Client) awaitCall(ctx context.Context, id wamp.ID, req *request, cc *callConfig, procedure string) (*wamp.Result, error) {
	var progress chan struct{}
	if req.progress != nil {
		progress = req.progress.signal
	}
	for {
		select {
		case <-progress:
			req.progress.deliver(cc.onProgress)
		case m := <-req.done:
			return c.callAnswer(ctx, m, req, cc, procedure)
		case <-ctx.Done():
			if c.forget(id, req) {
				c.sendCancel(id, cc.cancelMode)
				return nil, wrapRequestError("call", procedure, ctx.Err())
			}
			return c.callAnswer(ctx, <-req.done, req, cc, procedure)
		}
	}
}

// callAnswer delivers the remaining progressive results and converts the final answer.
func (c *Client) callAnswer(ctx context.Context, m wamp.Message, req *request, cc *callConfig, procedure string) (*wamp.Result, error) {
	if req.progress != nil {
		req.progress.deliver(cc.onProgress)
	}
	r, err := c.answer(ctx, m)
	if err != nil {
		return nil, wrapRequestError("call", procedure, err)
	}
	res, ok := r.(*wamp.Result)
	if !ok {
		return nil, fmt.Errorf("wamp client: call %q: unexpected %s", procedure, r.MessageType())
	}
	return res, nil
}

// sendCancel asks the router to cancel the call id.
func (c *Client) sendCancel(id wamp.ID, mode CancelMode) {
	opts := emptyDict
	if mode != "" {
		opts = wamp.Dict{"mode": string(mode)}
	}
	if _, err := c.send(context.Background(), &wamp.Cancel{Request: id, Options: opts}, nil, sendForce); err != nil {
		c.log.Debug("wamp client: cannot send CANCEL", "request", id, "error", err)
	}
}

// handleResult routes a RESULT: progressive ones to the caller's queue, the final one to the call.
func (c *Client) handleResult(m *wamp.Result) {
	if !isProgress(m.Details) {
		c.complete(m.Request, wamp.CALL, m)
		return
	}
	c.mu.Lock()
	req := c.pending[m.Request]
	c.mu.Unlock()
	if req != nil && req.typ == wamp.CALL && req.progress != nil {
		req.progress.push(m)
	}
}

// withOption returns a copy of opts with key set to v.
func withOption(opts wamp.Dict, key string, v any) wamp.Dict {
	o := make(wamp.Dict, len(opts)+1)
	maps.Copy(o, opts)
	o[key] = v
	return o
}

// errStreamDone is returned by Stream.Send after the call has completed.
var errStreamDone = errors.New("wamp client: stream already finished")

// Stream is a call with progressive call invocations: the caller sends its input in several CALL
// messages (chunks) with the same request id. Send and Finish must not be called concurrently.
type Stream struct {
	c         *Client
	ctx       context.Context
	procedure string
	opts      wamp.Dict
	cc        callConfig
	req       *request
	id        wamp.ID
	stop      func() bool
	early     wamp.Message // the call's answer, received before Finish
	finished  bool
}

// CallStream starts a call whose arguments are sent in chunks: each Send sends one CALL with
// options.progress = true, and Finish sends the final chunk and waits for the result. opts are the
// options of the first CALL. Nothing is sent before the first Send or Finish.
//
// ctx governs the whole call: when it ends before the result arrives, CANCEL is sent and Send or
// Finish return its error. The router must announce progressive_call_invocations, otherwise
// CallStream returns ErrFeatureNotSupported.
func (c *Client) CallStream(ctx context.Context, procedure string, opts wamp.Dict, callOpts ...CallOption) (*Stream, error) {
	if !c.routerHas("dealer", featProgressiveCallInvocations) {
		return nil, fmt.Errorf("wamp client: call stream %q: %w: progressive_call_invocations", procedure, ErrFeatureNotSupported)
	}
	if c.ended() {
		return nil, wrapRequestError("call stream", procedure, endedError(c.Err()))
	}
	s := &Stream{c: c, ctx: ctx, procedure: procedure, opts: opts, cc: newCallConfig(callOpts)}
	s.req = newRequest(wamp.CALL)
	if s.cc.onProgress != nil {
		s.req.progress = &resultQueue{signal: make(chan struct{}, 1)}
	}
	return s, nil
}

// Send sends one chunk. It fails with the call's error when the call has already ended (for
// example the callee answered with an error), and with ctx's error when ctx has ended.
func (s *Stream) Send(args wamp.List, kwargs wamp.Dict) error {
	return s.send(args, kwargs, true)
}

// Finish sends the final chunk and returns the call's result. When the call ended before (see
// Send), Finish sends nothing and returns its outcome.
func (s *Stream) Finish(args wamp.List, kwargs wamp.Dict) (*wamp.Result, error) {
	if s.finished {
		return nil, errStreamDone
	}
	if s.early == nil {
		if err := s.send(args, kwargs, false); err != nil && s.early == nil {
			s.finish()
			return nil, err
		}
	}
	defer s.finish()
	if s.early != nil {
		return s.c.callAnswer(s.ctx, s.early, s.req, &s.cc, s.procedure)
	}
	return s.c.awaitCall(s.ctx, s.id, s.req, &s.cc, s.procedure)
}

func (s *Stream) finish() {
	s.finished = true
	if s.stop != nil {
		s.stop()
	}
}

func (s *Stream) send(args wamp.List, kwargs wamp.Dict, progress bool) error {
	if s.finished {
		return errStreamDone
	}
	if s.early != nil {
		return s.earlyError()
	}
	if s.id != 0 {
		if s.req.progress != nil {
			s.req.progress.deliver(s.cc.onProgress)
		}
		select {
		case m := <-s.req.done:
			s.early = m
			return s.earlyError()
		default:
		}
	}
	if err := s.ctx.Err(); err != nil {
		return wrapRequestError("call stream", s.procedure, err)
	}
	var opts wamp.Dict
	switch {
	case s.id == 0:
		opts = s.opts
		if progress {
			opts = withOption(opts, "progress", true)
		}
		if s.req.progress != nil {
			opts = withOption(opts, "receive_progress", true)
		}
	case progress:
		opts = progressOptions
	}
	m := &wamp.Call{Request: s.id, Options: dictOrEmpty(opts), Procedure: wamp.URI(s.procedure), Args: args, Kwargs: kwargs}
	var req *request
	if s.id == 0 {
		req = s.req
	}
	id, err := s.c.send(s.ctx, m, req, sendNormal)
	if err != nil {
		return wrapRequestError("call stream", s.procedure, err)
	}
	if s.id == 0 {
		s.id = id
		s.stop = context.AfterFunc(s.ctx, s.abort)
	}
	return nil
}

// earlyError is Send's error once the call has ended.
func (s *Stream) earlyError() error {
	if _, err := s.c.answer(s.ctx, s.early); err != nil {
		return wrapRequestError("call stream", s.procedure, err)
	}
	return errStreamDone
}

// abort cancels the call when the stream's context ends.
func (s *Stream) abort() {
	if s.c.forget(s.id, s.req) {
		s.req.done <- ctxEnded{}
		s.c.sendCancel(s.id, s.cc.cancelMode)
	}
}

// progressOptions are the options of a CALL or YIELD that more will follow. Never modified.
var progressOptions = wamp.Dict{"progress": true}
