package service

import (
	"context"
	"github.com/gateway-dev/gateway/internal/webapp"
	"strings"
	"time"

	"github.com/gateway-dev/gateway/wamp"
)

func (s *Service) publishOp(_ context.Context, body []byte) (any, error) {
	req, err := decodePublish(body)
	if err != nil {
		return nil, err
	}
	id, dup, err := s.publishOnce(req)
	if err != nil {
		return nil, err
	}
	return &webapp.PublishResponse{Publication: id, Duplicate: dup}, nil
}

// publishOnce publishes req unless its options.message_id was published within the dedup window;
// then it answers the first publication's id and dup = true.
func (s *Service) publishOnce(req *webapp.PublishRequest) (id wamp.ID, dup bool, err error) {
	v, ok := req.Options["message_id"]
	if !ok {
		id, err = s.publish(req)
		return id, false, err
	}
	msgID, isText := v.(string)
	if !isText || msgID == "" || len(msgID) > 256 {
		return 0, false, webapp.Errorf(webapp.ErrMalformed, "options.message_id must be a non-empty string of at most 256 bytes")
	}
	delete(req.Options, "message_id")
	for {
		e := s.dedup.begin(msgID, time.Now())
		if e == nil {
			break
		}
		<-e.done
		if e.publication != 0 {
			return e.publication, true, nil
		}
		// The first attempt failed: this one publishes (or waits for a concurrent retry).
	}
	id, err = s.publish(req)
	s.dedup.finish(msgID, id)
	return id, false, err
}

func (s *Service) publishBatchOp(_ context.Context, body []byte) (any, error) {
	pubs, err := decodePublishBatch(body)
	if err != nil {
		return nil, err
	}
	if len(pubs) > MaxBatch {
		return nil, webapp.Errorf(wamp.ErrInvalidArgument, "a batch holds at most %d publications, got %d", MaxBatch, len(pubs))
	}
	out := &webapp.PublishBatchResponse{Results: make([]webapp.BatchResult, len(pubs))}
	for i, req := range pubs {
		id, dup, err := s.publishOnce(req)
		if err != nil {
			out.Results[i].Error = webapp.AsError(err)
			continue
		}
		out.Results[i].Publication, out.Results[i].Duplicate = id, dup
	}
	return out, nil
}

// publish runs one publication (decoded by decodePublish, so its values are WAMP's already); the
// event is accepted (validated, stored when its topic is durable, queued to every subscriber)
// when it returns.
func (s *Service) publish(req *webapp.PublishRequest) (wamp.ID, error) {
	opts := req.Options
	topic := req.Topic
	if v, ok := opts["class"]; ok {
		name, isText := v.(string)
		if !isText {
			return 0, webapp.Errorf(webapp.ErrMalformed, "options.class must be a string (an event class name)")
		}
		c := s.realm.Events().ByName(name)
		if c == nil {
			return 0, &webapp.Error{URI: wamp.ErrInvalidArgument, Message: "no event class \"" + name + "\"", Details: map[string]any{"class": name}}
		}
		if topic != "" && topic != c.Topic() {
			return 0, webapp.Errorf(wamp.ErrInvalidArgument, "topic %q is not the topic of event class %q (%q): give one or the other", topic, name, c.Topic())
		}
		topic = c.Topic()
		delete(opts, "class")
	}
	if topic == "" {
		return 0, webapp.Errorf(webapp.ErrMalformed, "topic (or options.class) is required")
	}
	if _, ok := opts["acknowledge"]; ok {
		delete(opts, "acknowledge") // a web-app publish is always answered
	}
	id, err := s.local.Publish(wamp.URI(topic), req.Args, req.Kwargs, opts)
	if err != nil {
		return 0, fromRouter(err)
	}
	s.publications.Add(1)
	return id, nil
}

func (s *Service) issueTicketOp(_ context.Context, body []byte) (any, error) {
	var req webapp.IssueTicketRequest
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	if req.AuthID == "" || req.AuthRole == "" {
		return nil, webapp.Errorf(webapp.ErrMalformed, "authid and authrole are required")
	}
	if req.TTL < 0 || req.TTL > 30*24*3600 {
		return nil, webapp.Errorf(wamp.ErrInvalidArgument, "ttl must be between 0 and 2592000 seconds (30 days), got %v", req.TTL)
	}
	ttl := DefaultTicketTTL
	if req.TTL > 0 {
		ttl = time.Duration(req.TTL * float64(time.Second))
	}
	if s.cfg.IssueTicket == nil {
		return nil, webapp.Errorf(wamp.ErrUnavailable, "one-time tickets need the store, which is not configured")
	}
	ticket, expires, err := s.cfg.IssueTicket(req.AuthID, req.AuthRole, ttl, normalizeDict(req.AuthExtra))
	if err != nil {
		return nil, webapp.Errorf(wamp.ErrInvalidArgument, "cannot issue a ticket: %v", err)
	}
	return &webapp.IssueTicketResponse{Ticket: ticket, Expires: expires.UTC(), AuthID: req.AuthID, AuthRole: req.AuthRole, Realm: string(s.cfg.Realm)}, nil
}

func (s *Service) revokeOp(ctx context.Context, body []byte) (any, error) {
	var req webapp.RevokeRequest
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	if req.AuthID == "" {
		return nil, webapp.Errorf(webapp.ErrMalformed, "authid is required")
	}
	var out webapp.RevokeResponse
	var err error
	// Credentials first, so that a killed session cannot come back with them.
	if f := s.cfg.RevokeTickets; f != nil {
		if out.Tickets, err = f(req.AuthID); err != nil {
			return nil, webapp.Errorf(wamp.ErrUnavailable, "cannot revoke tickets: %v", err)
		}
	}
	if f := s.cfg.RevokeTokens; f != nil {
		if out.Tokens, err = f(req.AuthID); err != nil {
			return nil, webapp.Errorf(wamp.ErrUnavailable, "cannot revoke client tokens: %v", err)
		}
	}
	res, err := s.call(ctx, "wamp.session.kill_by_authid", wamp.List{req.AuthID},
		wamp.Dict{"reason": "wamp.close.killed", "message": "credentials revoked by the web application"})
	if err != nil {
		return nil, err
	}
	if len(res.Args) > 0 {
		if ids, ok := res.Args[0].([]any); ok {
			out.Sessions = len(ids)
		}
	}
	return &out, nil
}

func (s *Service) sessionsOp(ctx context.Context, body []byte) (any, error) {
	var req webapp.SessionsRequest
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	var args wamp.List
	if req.AuthRole != "" {
		args = wamp.List{[]any{req.AuthRole}}
	}
	res, err := s.call(ctx, "wamp.session.list", args, nil)
	if err != nil {
		return nil, err
	}
	out := &webapp.SessionsResponse{Sessions: []wamp.Dict{}}
	if len(res.Args) == 0 {
		return out, nil
	}
	ids, _ := res.Args[0].([]any)
	for _, id := range ids {
		if toID(id) == s.local.ID() {
			continue
		}
		info, err := s.call(ctx, "wamp.session.get", wamp.List{id}, nil)
		if err != nil {
			continue // it left meanwhile
		}
		if len(info.Args) == 0 {
			continue
		}
		d, ok := info.Args[0].(map[string]any)
		if !ok || (req.AuthID != "" && d["authid"] != req.AuthID) {
			continue
		}
		out.Sessions = append(out.Sessions, d)
	}
	return out, nil
}

// toID reads a session ID as the router's meta procedures return it.
func toID(v any) wamp.ID {
	switch x := v.(type) {
	case wamp.ID:
		return x
	case int64:
		return wamp.ID(x)
	case uint64:
		return wamp.ID(x)
	}
	return 0
}

func (s *Service) killSessionOp(ctx context.Context, body []byte) (any, error) {
	var req webapp.KillSessionRequest
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	if req.Session == 0 {
		return nil, webapp.Errorf(webapp.ErrMalformed, "session (a session ID) is required")
	}
	if req.Session == s.local.ID() {
		return nil, webapp.Errorf(wamp.ErrInvalidArgument, "session %d is the web-app interface's own", req.Session)
	}
	kw := wamp.Dict{}
	if req.Reason != "" {
		kw["reason"] = req.Reason
	}
	if req.Message != "" {
		kw["message"] = req.Message
	}
	if _, err := s.call(ctx, "wamp.session.kill", wamp.List{int64(req.Session)}, kw); err != nil {
		return nil, err
	}
	return &webapp.KillSessionResponse{Killed: true}, nil
}

func (s *Service) callOp(ctx context.Context, body []byte) (any, error) {
	var req webapp.CallRequest
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	if req.Procedure == "" {
		return nil, webapp.Errorf(webapp.ErrMalformed, "procedure is required")
	}
	opts := normalizeDict(req.Options)
	timeout := s.cfg.CallTimeout
	if v, ok := opts["timeout"]; ok {
		ms, isInt := v.(int64)
		if !isInt || ms < 0 {
			return nil, webapp.Errorf(webapp.ErrMalformed, "options.timeout must be a non-negative integer (milliseconds)")
		}
		if ms > 0 {
			timeout = min(time.Duration(ms)*time.Millisecond, s.cfg.MaxCallTimeout)
		}
		delete(opts, "timeout")
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := s.local.Call(ctx, wamp.URI(req.Procedure), normalizeList(req.Args), normalizeDict(req.Kwargs), opts)
	if err != nil {
		return nil, fromRouter(err)
	}
	return &webapp.CallResponse{Args: res.Args, Kwargs: res.Kwargs}, nil
}

func (s *Service) eventClassesOp(ctx context.Context, body []byte) (any, error) {
	if err := decodeRequest(body, &struct{}{}); err != nil {
		return nil, err
	}
	res, err := s.call(ctx, "gateway.event.list", nil, nil)
	if err != nil {
		return nil, err
	}
	out := &webapp.EventClassesResponse{Classes: []wamp.Dict{}}
	if len(res.Args) > 0 {
		l, _ := res.Args[0].([]any)
		for _, c := range l {
			if d, ok := c.(map[string]any); ok {
				out.Classes = append(out.Classes, d)
			}
		}
	}
	return out, nil
}

func (s *Service) describeClassOp(ctx context.Context, body []byte) (any, error) {
	var req webapp.DescribeClassRequest
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	if req.Class == "" {
		return nil, webapp.Errorf(webapp.ErrMalformed, "class is required")
	}
	res, err := s.call(ctx, "gateway.event.describe", wamp.List{req.Class}, nil)
	if err != nil {
		return nil, err
	}
	var d wamp.Dict
	if len(res.Args) > 0 {
		d, _ = res.Args[0].(map[string]any)
	}
	return &webapp.DescribeClassResponse{Class: d}, nil
}

func (s *Service) healthOp(_ context.Context, body []byte) (any, error) {
	if err := decodeRequest(body, &struct{}{}); err != nil {
		return nil, err
	}
	out := &webapp.HealthResponse{Status: "ok", Store: "none", Realm: string(s.cfg.Realm)}
	if f := s.cfg.StoreHealth; f != nil {
		if err := f(); err != nil {
			out.Status, out.Store = "degraded", "unavailable: "+err.Error()
		} else {
			out.Store = "ok"
		}
	}
	return out, nil
}

func (s *Service) statsOp(ctx context.Context, body []byte) (any, error) {
	if err := decodeRequest(body, &struct{}{}); err != nil {
		return nil, err
	}
	out := &webapp.StatsResponse{Realm: string(s.cfg.Realm), Publications: s.publications.Load(), Uptime: time.Since(s.started).Seconds()}
	res, err := s.call(ctx, "wamp.session.count", nil, nil)
	if err != nil {
		return nil, err
	}
	if len(res.Args) > 0 {
		out.Sessions = int(toID(res.Args[0])) - 1 // not the web-app's own
	}
	if out.Subscriptions, err = s.countMatchLists(ctx, "wamp.subscription.list"); err != nil {
		return nil, err
	}
	if out.Registrations, err = s.countMatchLists(ctx, "wamp.registration.list"); err != nil {
		return nil, err
	}
	return out, nil
}

// countMatchLists counts the IDs a wamp.*.list procedure returns ({exact: [...], prefix: [...],
// wildcard: [...]}), leaving out the router's own registrations.
func (s *Service) countMatchLists(ctx context.Context, proc wamp.URI) (int, error) {
	res, err := s.call(ctx, proc, nil, nil)
	if err != nil {
		return 0, err
	}
	if len(res.Args) == 0 {
		return 0, nil
	}
	d, _ := res.Args[0].(map[string]any)
	n := 0
	for k, v := range d {
		if l, ok := v.([]any); ok && !strings.HasPrefix(k, "_") {
			n += len(l)
		}
	}
	return n, nil
}
