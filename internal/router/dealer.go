package router

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gateway-dev/gateway/internal/auth"
	"github.com/gateway-dev/gateway/internal/peer"
	"github.com/gateway-dev/gateway/wamp"
)

// Invocation policies (REGISTER.Options.invoke).
const (
	invokeSingle     = "single"
	invokeRoundRobin = "roundrobin"
	invokeRandom     = "random"
	invokeFirst      = "first"
	invokeLast       = "last"
)

// ErrProcedureExistsWithDifferentPolicy is the ERROR for a shared registration whose invocation policy
// differs from the existing one (the URI Autobahn and Crossbar use).
const ErrProcedureExistsWithDifferentPolicy wamp.URI = "wamp.error.procedure_exists_with_different_invocation_policy"

// registration is a procedure pattern with its callees (more than one only for shared registrations).
type registration struct {
	id        wamp.ID
	procedure wamp.URI
	match     string
	invoke    string
	created   time.Time
	callees   []*Session // in registration order
	next      int        // round-robin position
}

func (reg *registration) details() wamp.Dict {
	return wamp.Dict{"id": reg.id, "created": reg.created.UTC().Format(time.RFC3339Nano), "uri": string(reg.procedure), "match": reg.match, "invoke": reg.invoke}
}

func (reg *registration) pick() *Session {
	switch reg.invoke {
	case invokeRoundRobin:
		reg.next %= len(reg.callees)
		c := reg.callees[reg.next]
		reg.next++
		return c
	case invokeRandom:
		return reg.callees[rand.IntN(len(reg.callees))]
	case invokeLast:
		return reg.callees[len(reg.callees)-1]
	default:
		return reg.callees[0]
	}
}

func (reg *registration) removeCallee(s *Session) {
	for i, c := range reg.callees {
		if c == s {
			reg.callees = append(reg.callees[:i], reg.callees[i+1:]...)
			return
		}
	}
}

// Cancel modes (CANCEL.Options.mode).
const (
	cancelSkip       = "skip"
	cancelKill       = "kill"
	cancelKillNoWait = "killnowait"
)

// invocation is a call in flight.
type invocation struct {
	id              wamp.ID // INVOCATION request ID, in the callee's session scope
	callRequest     wamp.ID // CALL request ID, in the caller's session scope
	registration    wamp.ID
	caller, callee  *Session
	receiveProgress bool // caller asked for progressive results
	streaming       bool // caller is still sending progressive CALL chunks
	progressiveCall bool // the call used progressive invocations
	killed          bool // CANCEL mode kill sent; waiting for the callee's answer
	timer           *time.Timer
}

type callKey struct {
	caller *Session
	req    wamp.ID
}

type invKey struct {
	callee *Session
	id     wamp.ID
}

// dealer routes calls to callees.
type dealer struct {
	realm *Realm
	mu    sync.Mutex
	index *patternIndex[*registration]
	byID  map[wamp.ID]*registration
	calls map[callKey]*invocation
	invs  map[invKey]*invocation
	meta  map[wamp.URI]metaProcedure
}

func newDealer(rl *Realm) *dealer {
	d := &dealer{
		realm: rl, index: newPatternIndex[*registration](), byID: map[wamp.ID]*registration{},
		calls: map[callKey]*invocation{}, invs: map[invKey]*invocation{},
	}
	d.meta = metaProcedures()
	return d
}

// register handles REGISTER.
func (d *dealer) register(s *Session, m *wamp.Register) {
	match, err := parseMatch(m.Options)
	var invoke string
	if err == nil {
		invoke, err = optString(m.Options, "invoke", invokeSingle)
	}
	if err == nil {
		switch invoke {
		case invokeSingle, invokeRoundRobin, invokeRandom, invokeFirst, invokeLast:
		default:
			err = &optionError{msg: "option \"invoke\" must be single, roundrobin, random, first or last, got \"" + invoke + "\""}
		}
	}
	if err != nil {
		s.sendError(wamp.REGISTER, m.Request, wamp.ErrInvalidArgument, err.Error())
		return
	}
	if !d.realm.uri.validMatch(m.Procedure, match) {
		s.sendError(wamp.REGISTER, m.Request, wamp.ErrInvalidURI, "invalid procedure URI \""+string(m.Procedure)+"\" for match \""+match+"\"")
		return
	}
	if reserved(m.Procedure) {
		s.sendError(wamp.REGISTER, m.Request, wamp.ErrInvalidURI, "procedure \""+string(m.Procedure)+"\" is in a namespace reserved for the router")
		return
	}
	if !s.authorize(auth.Register, wamp.REGISTER, m.Request, m.Procedure) {
		return
	}
	d.mu.Lock()
	if !s.live() {
		d.mu.Unlock()
		return
	}
	reg, exists := d.index.get(match, m.Procedure)
	switch {
	case exists && (reg.invoke == invokeSingle || invoke == invokeSingle):
		d.mu.Unlock()
		s.sendError(wamp.REGISTER, m.Request, wamp.ErrProcedureAlreadyExists, "procedure \""+string(m.Procedure)+"\" is already registered")
		return
	case exists && reg.invoke != invoke:
		d.mu.Unlock()
		s.sendError(wamp.REGISTER, m.Request, ErrProcedureExistsWithDifferentPolicy,
			fmt.Sprintf("procedure %q is registered with invocation policy %q", m.Procedure, reg.invoke))
		return
	case exists && s.regs[reg.id] != nil:
		d.mu.Unlock()
		s.sendError(wamp.REGISTER, m.Request, wamp.ErrProcedureAlreadyExists, "this session already registered \""+string(m.Procedure)+"\"")
		return
	}
	created := !exists
	if created {
		reg = &registration{id: unusedID(d.byID), procedure: m.Procedure, match: match, invoke: invoke, created: time.Now()}
		d.index.put(match, m.Procedure, reg)
		d.byID[reg.id] = reg
	}
	reg.callees = append(reg.callees, s)
	if s.regs == nil {
		s.regs = map[wamp.ID]*registration{}
	}
	s.regs[reg.id] = reg
	// REGISTERED is queued under the lock so that no INVOCATION can overtake it.
	s.send(&wamp.Registered{Request: m.Request, Registration: reg.id})
	d.mu.Unlock()
	if created {
		d.realm.broker.publishMeta(metaRegOnCreate, wamp.List{s.id, reg.details()}, nil)
	}
	d.realm.broker.publishMeta(metaRegOnRegister, wamp.List{s.id, reg.id}, nil)
}

// unregister handles UNREGISTER.
func (d *dealer) unregister(s *Session, m *wamp.Unregister) {
	d.mu.Lock()
	reg := s.regs[m.Registration]
	if reg == nil {
		d.mu.Unlock()
		s.sendError(wamp.UNREGISTER, m.Request, wamp.ErrNoSuchRegistration, "no registration with that ID in this session")
		return
	}
	deleted := d.removeLocked(s, reg)
	s.send(&wamp.Unregistered{Request: m.Request})
	d.mu.Unlock()
	d.publishUnregister(s, reg.id, deleted)
}

func (d *dealer) publishUnregister(s *Session, id wamp.ID, deleted bool) {
	d.realm.broker.publishMeta(metaRegOnUnregister, wamp.List{s.id, id}, nil)
	if deleted {
		d.realm.broker.publishMeta(metaRegOnDelete, wamp.List{s.id, id}, nil)
	}
}

func (d *dealer) removeLocked(s *Session, reg *registration) (deleted bool) {
	reg.removeCallee(s)
	delete(s.regs, reg.id)
	if len(reg.callees) == 0 {
		d.index.del(reg.match, reg.procedure)
		delete(d.byID, reg.id)
		return true
	}
	return false
}

// callOptions are the parsed CALL options.
type callOptions struct {
	timeout         int64
	receiveProgress bool
	progress        bool
	disclose        bool
	ppt             wamp.Dict
}

func parseCallOptions(o wamp.Dict) (c callOptions, err error) {
	if c.timeout, err = optInt(o, "timeout", 0); err != nil {
		return
	}
	if c.timeout < 0 {
		return c, &optionError{msg: "option \"timeout\" must not be negative"}
	}
	if c.receiveProgress, err = optBool(o, "receive_progress", false); err != nil {
		return
	}
	if c.progress, err = optBool(o, "progress", false); err != nil {
		return
	}
	if c.disclose, err = optBool(o, "disclose_me", false); err != nil {
		return
	}
	c.ppt, err = pptOptions(o, nil)
	return
}

// call handles CALL.
func (d *dealer) call(s *Session, m *wamp.Call) {
	if !s.authorize(auth.Call, wamp.CALL, m.Request, m.Procedure) {
		return
	}
	if proc, ok := d.meta[m.Procedure]; ok {
		d.callMeta(s, m, proc)
		return
	}
	if !d.realm.uri.valid(m.Procedure, false, false) {
		s.sendError(wamp.CALL, m.Request, wamp.ErrInvalidURI, "invalid procedure URI \""+string(m.Procedure)+"\"")
		return
	}
	opts, err := parseCallOptions(m.Options)
	if err != nil {
		s.sendError(wamp.CALL, m.Request, wamp.ErrInvalidArgument, err.Error())
		return
	}
	if opts.progress && !s.features.callerProgressiveInvocations {
		s.protocolViolation("CALL with progress=true, but the caller did not announce progressive_call_invocations")
		return
	}
	if opts.ppt != nil && !s.features.callerPassthru {
		s.protocolViolation("CALL in payload passthru mode, but the caller did not announce payload_passthru_mode")
		return
	}
	if opts.disclose && !d.realm.cfg.AllowDisclose {
		s.sendError(wamp.CALL, m.Request, wamp.ErrOptionDisallowedDisclose, "this realm does not allow disclose_me")
		return
	}

	d.mu.Lock()
	if !s.live() {
		d.mu.Unlock()
		return
	}
	key := callKey{s, m.Request}
	if inv := d.calls[key]; inv != nil {
		if !inv.streaming {
			d.mu.Unlock()
			s.protocolViolation(fmt.Sprintf("CALL request ID %d is already in flight", m.Request))
			return
		}
		d.continueCall(inv, m, opts)
		d.mu.Unlock()
		return
	}
	if s.doneProgressive.has(m.Request) {
		// A late continuation of a progressive call that already completed: ignored (spec).
		d.mu.Unlock()
		return
	}
	reg, match, ok := d.index.best(m.Procedure)
	if !ok {
		d.mu.Unlock()
		s.sendError(wamp.CALL, m.Request, wamp.ErrNoSuchProcedure, "no callee registered procedure \""+string(m.Procedure)+"\"")
		return
	}
	callee := reg.pick()
	if opts.progress && !(callee.features.calleeProgressiveInvocations && callee.features.calleeCanceling) {
		d.mu.Unlock()
		s.sendError(wamp.CALL, m.Request, wamp.ErrFeatureNotSupported, "the callee does not support progressive call invocations")
		return
	}
	if opts.ppt != nil && !callee.features.calleePassthru {
		d.mu.Unlock()
		s.sendError(wamp.CALL, m.Request, wamp.ErrFeatureNotSupported, "the callee does not support payload passthru mode")
		return
	}
	inv := &invocation{
		id: wamp.ID(callee.nextInvocation.Add(1)), callRequest: m.Request, registration: reg.id, caller: s, callee: callee,
		receiveProgress: opts.receiveProgress && callee.features.calleeProgressiveResults,
		streaming:       opts.progress, progressiveCall: opts.progress,
	}
	details := opts.ppt
	if details == nil {
		details = wamp.Dict{}
	}
	if opts.disclose || d.realm.cfg.AlwaysDiscloseCaller || s.disclosedByRole(auth.Call, m.Procedure) {
		details["caller"] = s.id
		details["caller_authid"] = s.authid
		details["caller_authrole"] = s.authrole
	}
	if match != matchExact {
		details["procedure"] = string(m.Procedure)
	}
	if inv.receiveProgress {
		details["receive_progress"] = true
	}
	if opts.progress {
		details["progress"] = true
	}
	err = callee.send(&wamp.Invocation{Request: inv.id, Registration: reg.id, Details: details, Args: m.Args, Kwargs: m.Kwargs})
	if err != nil {
		d.mu.Unlock()
		d.failSend(s, m.Request, err)
		return
	}
	d.calls[key] = inv
	d.invs[invKey{callee, inv.id}] = inv
	if opts.timeout > 0 {
		inv.timer = time.AfterFunc(time.Duration(opts.timeout)*time.Millisecond, func() { d.timeout(inv, opts.timeout) })
	}
	d.mu.Unlock()
}

// failSend answers a caller whose INVOCATION could not be queued to the callee.
func (d *dealer) failSend(caller *Session, req wamp.ID, err error) {
	if err == peer.ErrTooBig {
		caller.sendError(wamp.CALL, req, wamp.ErrPayloadSizeExceeded, "the call is larger than the callee accepts")
		return
	}
	caller.sendError(wamp.CALL, req, wamp.ErrCanceled, "the callee is gone")
}

// continueCall forwards a progressive CALL chunk to the callee already chosen. Callers hold d.mu.
func (d *dealer) continueCall(inv *invocation, m *wamp.Call, opts callOptions) {
	details := wamp.Dict{}
	if opts.progress {
		details["progress"] = true
	} else {
		inv.streaming = false
	}
	inv.callee.send(&wamp.Invocation{Request: inv.id, Registration: inv.registration, Details: details, Args: m.Args, Kwargs: m.Kwargs})
}

// removeInvLocked forgets inv. Callers hold d.mu.
func (d *dealer) removeInvLocked(inv *invocation) {
	delete(d.calls, callKey{inv.caller, inv.callRequest})
	delete(d.invs, invKey{inv.callee, inv.id})
	if inv.timer != nil {
		inv.timer.Stop()
	}
	if inv.progressiveCall {
		inv.caller.doneProgressive.add(inv.callRequest)
	}
}

// yield handles YIELD from a callee.
func (d *dealer) yield(s *Session, m *wamp.Yield) {
	progress, err := optBool(m.Options, "progress", false)
	if err != nil {
		s.protocolViolation("YIELD: " + err.Error())
		return
	}
	details, err := pptOptions(m.Options, nil)
	if err != nil {
		s.protocolViolation("YIELD: " + err.Error())
		return
	}
	if details != nil && !s.features.calleePassthru {
		s.protocolViolation("YIELD in payload passthru mode, but the callee did not announce payload_passthru_mode")
		return
	}
	d.mu.Lock()
	inv := d.invs[invKey{s, m.Request}]
	if inv == nil {
		d.mu.Unlock() // canceled, timed out or unknown: ignored
		return
	}
	if details != nil && !inv.caller.features.callerPassthru {
		d.removeInvLocked(inv)
		d.mu.Unlock()
		inv.caller.sendError(wamp.CALL, inv.callRequest, wamp.ErrFeatureNotSupported, "the callee answered in payload passthru mode, which the caller did not announce")
		return
	}
	if details == nil {
		details = wamp.Dict{}
	}
	if progress {
		if inv.receiveProgress {
			details["progress"] = true
			d.sendResult(inv, &wamp.Result{Request: inv.callRequest, Details: details, Args: m.Args, Kwargs: m.Kwargs})
		}
		d.mu.Unlock()
		return
	}
	d.removeInvLocked(inv)
	d.mu.Unlock()
	d.sendResult(inv, &wamp.Result{Request: inv.callRequest, Details: details, Args: m.Args, Kwargs: m.Kwargs})
}

func (d *dealer) sendResult(inv *invocation, r *wamp.Result) {
	if err := inv.caller.send(r); err == peer.ErrTooBig {
		inv.caller.sendError(wamp.CALL, inv.callRequest, wamp.ErrPayloadSizeExceeded, "the result is larger than the caller accepts")
	}
}

// calleeError handles ERROR for an INVOCATION.
func (d *dealer) calleeError(s *Session, m *wamp.Error) {
	d.mu.Lock()
	inv := d.invs[invKey{s, m.Request}]
	if inv == nil {
		d.mu.Unlock()
		return
	}
	d.removeInvLocked(inv)
	d.mu.Unlock()
	details, _ := pptOptions(m.Details, nil)
	if details == nil {
		details = wamp.Dict{}
	}
	e := &wamp.Error{RequestType: wamp.CALL, Request: inv.callRequest, Details: details, Error: m.Error, Args: m.Args, Kwargs: m.Kwargs}
	if err := inv.caller.send(e); err == peer.ErrTooBig {
		inv.caller.sendError(wamp.CALL, inv.callRequest, m.Error, "")
	}
}

// cancel handles CANCEL.
func (d *dealer) cancel(s *Session, m *wamp.Cancel) {
	mode, err := optString(m.Options, "mode", cancelKillNoWait)
	if err == nil && mode != cancelSkip && mode != cancelKill && mode != cancelKillNoWait {
		err = &optionError{msg: "option \"mode\" must be skip, kill or killnowait, got \"" + mode + "\""}
	}
	if err != nil {
		s.sendError(wamp.CANCEL, m.Request, wamp.ErrInvalidArgument, err.Error())
		return
	}
	d.mu.Lock()
	inv := d.calls[callKey{s, m.Request}]
	if inv == nil || inv.killed {
		d.mu.Unlock() // already answered: nothing to cancel
		return
	}
	if !inv.callee.features.calleeCanceling {
		mode = cancelSkip
	}
	if mode == cancelKill {
		inv.killed = true
		d.mu.Unlock()
		inv.callee.send(&wamp.Interrupt{Request: inv.id, Options: wamp.Dict{"mode": cancelKill}})
		return
	}
	d.removeInvLocked(inv)
	d.mu.Unlock()
	s.sendError(wamp.CALL, inv.callRequest, wamp.ErrCanceled, "the call was canceled")
	if mode == cancelKillNoWait {
		inv.callee.send(&wamp.Interrupt{Request: inv.id, Options: wamp.Dict{"mode": cancelKillNoWait}})
	}
}

// timeout ends a call whose CALL.Options.timeout expired: the caller gets ERROR wamp.error.canceled and
// the callee, when it supports call canceling, an INTERRUPT (mode killnowait, reason wamp.error.timeout).
func (d *dealer) timeout(inv *invocation, ms int64) {
	d.mu.Lock()
	if d.invs[invKey{inv.callee, inv.id}] != inv {
		d.mu.Unlock()
		return
	}
	d.removeInvLocked(inv)
	d.mu.Unlock()
	inv.caller.send(&wamp.Error{
		RequestType: wamp.CALL, Request: inv.callRequest, Details: wamp.Dict{"reason": string(wamp.ErrTimeout)},
		Error: wamp.ErrCanceled, Args: wamp.List{fmt.Sprintf("the call timed out after %d ms", ms)},
	})
	if inv.callee.features.calleeCanceling {
		inv.callee.send(&wamp.Interrupt{Request: inv.id, Options: wamp.Dict{"mode": cancelKillNoWait, "reason": string(wamp.ErrTimeout)}})
	}
}

// detach removes s's registrations and ends the calls it is part of: its callers get ERROR
// wamp.error.canceled, its callees an INTERRUPT (killnowait) when they support canceling.
func (d *dealer) detach(s *Session) {
	type regChange struct {
		id      wamp.ID
		deleted bool
	}
	d.mu.Lock()
	changes := make([]regChange, 0, len(s.regs))
	for _, reg := range s.regs {
		changes = append(changes, regChange{reg.id, d.removeLocked(s, reg)})
	}
	var orphaned, abandoned []*invocation
	for _, inv := range d.invs {
		switch {
		case inv.callee == s:
			orphaned = append(orphaned, inv)
		case inv.caller == s:
			abandoned = append(abandoned, inv)
		}
	}
	for _, inv := range orphaned {
		d.removeInvLocked(inv)
	}
	for _, inv := range abandoned {
		d.removeInvLocked(inv)
	}
	d.mu.Unlock()
	for _, inv := range orphaned {
		inv.caller.sendError(wamp.CALL, inv.callRequest, wamp.ErrCanceled, "the callee left before answering")
	}
	for _, inv := range abandoned {
		if inv.callee.features.calleeCanceling {
			inv.callee.send(&wamp.Interrupt{Request: inv.id, Options: wamp.Dict{"mode": cancelKillNoWait}})
		}
	}
	for _, c := range changes {
		d.publishUnregister(s, c.id, c.deleted)
	}
}
