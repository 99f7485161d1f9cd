package proxy

import (
	"context"
	"errors"
	"math"
	"time"
)

// Ticket is a one-time ticket for a WAMP client to authenticate with (authmethods ["ticket"]).
type Ticket struct {
	Ticket   string    `json:"ticket"`
	Expires  time.Time `json:"expires"`
	AuthID   string    `json:"authid"`
	AuthRole string    `json:"authrole"`
	Realm    string    `json:"realm"`
}

// IssueTicket issues a one-time ticket for authid with authrole, valid for ttl (0: the gateway's
// default, 60s), with authextra handed to the session.
func (p *Proxy) IssueTicket(ctx context.Context, authid, authrole string, ttl time.Duration, authextra map[string]any) (*Ticket, error) {
	if ttl < 0 {
		return nil, errors.New("proxy: issue_ticket: ttl must not be negative")
	}
	r := newRequest("issue_ticket").set("authid", authid).set("authrole", authrole).set("authextra", authextra)
	if ttl > 0 {
		r.set("ttl", ttl.Seconds())
	}
	var t Ticket
	if err := p.do(ctx, r, 0, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// Revoked counts what Revoke invalidated.
type Revoked struct {
	Sessions int `json:"sessions"`
	Tickets  int `json:"tickets"`
	Tokens   int `json:"tokens"`
}

// Revoke closes authid's sessions and invalidates its tickets and client tokens.
func (p *Proxy) Revoke(ctx context.Context, authid string) (*Revoked, error) {
	var res Revoked
	if err := p.do(ctx, newRequest("revoke").set("authid", authid), 0, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// SessionFilter selects sessions; empty fields match everything.
type SessionFilter struct {
	AuthID   string
	AuthRole string
}

// Sessions lists the realm's sessions matching filter, each as wamp.session.get describes it
// (session, authid, authrole, authmethod, transport, ...).
func (p *Proxy) Sessions(ctx context.Context, filter SessionFilter) ([]map[string]any, error) {
	r := newRequest("sessions").set("authid", filter.AuthID).set("authrole", filter.AuthRole)
	var res struct {
		Sessions []map[string]any `json:"sessions"`
	}
	if err := p.do(ctx, r, 0, &res); err != nil {
		return nil, err
	}
	return dicts(res.Sessions), nil
}

// KillSession closes session with the GOODBYE reason URI (default wamp.close.killed) and message,
// and reports whether it was closed. A session that does not exist is an *Error with URI
// wamp.error.no_such_session.
func (p *Proxy) KillSession(ctx context.Context, session uint64, reason, message string) (bool, error) {
	r := newRequest("kill_session").set("session", session).set("reason", reason).set("message", message)
	var res struct {
		Killed bool `json:"killed"`
	}
	if err := p.do(ctx, r, 0, &res); err != nil {
		return false, err
	}
	return res.Killed, nil
}

// CallResult is the RESULT of a call.
type CallResult struct {
	Args   []any
	Kwargs map[string]any
}

// Call calls procedure, registered by a WAMP client, and returns its result. timeout bounds the
// call at the gateway (0: its call_timeout); the request's own deadline is extended by it. A
// callee's ERROR is an *Error with the callee's URI, Args and Kwargs.
func (p *Proxy) Call(ctx context.Context, procedure string, args []any, kwargs map[string]any, timeout time.Duration) (*CallResult, error) {
	if timeout < 0 {
		return nil, errors.New("proxy: call: timeout must not be negative")
	}
	r := newRequest("call").set("procedure", procedure).set("args", args).set("kwargs", kwargs)
	if timeout > 0 {
		ms := int64(math.Ceil(float64(timeout) / float64(time.Millisecond)))
		r.set("options", map[string]any{"timeout": ms})
	}
	var res struct {
		Args   []any          `json:"args"`
		Kwargs map[string]any `json:"kwargs"`
	}
	if err := p.do(ctx, r, timeout, &res); err != nil {
		return nil, err
	}
	out := &CallResult{}
	out.Args, _ = fromNumbers(res.Args).([]any)
	out.Kwargs, _ = fromNumbers(res.Kwargs).(map[string]any)
	return out, nil
}

// EventClasses lists the event classes of the realm, each as gateway.event.describe describes it.
func (p *Proxy) EventClasses(ctx context.Context) ([]map[string]any, error) {
	var res struct {
		Classes []map[string]any `json:"classes"`
	}
	if err := p.do(ctx, newRequest("event_classes"), 0, &res); err != nil {
		return nil, err
	}
	return dicts(res.Classes), nil
}

// DescribeClass describes one event class (name, topic, fields, ...).
func (p *Proxy) DescribeClass(ctx context.Context, class string) (map[string]any, error) {
	var res struct {
		Class map[string]any `json:"class"`
	}
	if err := p.do(ctx, newRequest("describe_class").set("class", class), 0, &res); err != nil {
		return nil, err
	}
	m, _ := fromNumbers(res.Class).(map[string]any)
	return m, nil
}

// DefineClass defines or replaces an event class of the realm at run time: def has the keys of a
// [[realms.event_classes]] table (name, topic, extends, description, strict, visibility,
// retention, fields). It answers the class as DescribeClass describes it and whether it replaced a
// class of the same name. A definition the gateway refuses is an *Error with URI
// wamp.error.invalid_argument whose message names the offending key ("class.fields.amount: ...").
// The class lasts until the gateway restarts: put it in the configuration file to keep it.
func (p *Proxy) DefineClass(ctx context.Context, def map[string]any) (map[string]any, bool, error) {
	if len(def) == 0 {
		return nil, false, errors.New("proxy: define_class: the definition is empty")
	}
	var res struct {
		Class    map[string]any `json:"class"`
		Replaced bool           `json:"replaced"`
	}
	if err := p.do(ctx, newRequest("define_class").set("class", def), 0, &res); err != nil {
		return nil, false, err
	}
	m, _ := fromNumbers(res.Class).(map[string]any)
	return m, res.Replaced, nil
}

// Health is the gateway's liveness.
type Health struct {
	// Status is "ok", or "degraded" when the store refuses durable writes.
	Status string `json:"status"`
	// Store is "ok", "unavailable: <reason>" or "none".
	Store string `json:"store"`
	Realm string `json:"realm"`
}

// Health returns the gateway's liveness and the state of its store.
func (p *Proxy) Health(ctx context.Context) (*Health, error) {
	var h Health
	if err := p.do(ctx, newRequest("health"), 0, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

// Stats are the realm's counters.
type Stats struct {
	Realm         string
	Sessions      int
	Subscriptions int
	Registrations int
	// Publications counts the publish operations accepted since the gateway started.
	Publications uint64
	Uptime       time.Duration
}

// Stats returns the realm's sessions, subscriptions, registrations and counters.
func (p *Proxy) Stats(ctx context.Context) (*Stats, error) {
	var res struct {
		Realm         string  `json:"realm"`
		Sessions      int     `json:"sessions"`
		Subscriptions int     `json:"subscriptions"`
		Registrations int     `json:"registrations"`
		Publications  uint64  `json:"publications"`
		Uptime        float64 `json:"uptime"`
	}
	if err := p.do(ctx, newRequest("stats"), 0, &res); err != nil {
		return nil, err
	}
	return &Stats{Realm: res.Realm, Sessions: res.Sessions, Subscriptions: res.Subscriptions,
		Registrations: res.Registrations, Publications: res.Publications,
		Uptime: time.Duration(res.Uptime * float64(time.Second))}, nil
}
