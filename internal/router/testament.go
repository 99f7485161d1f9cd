package router

import (
	"github.com/gateway-dev/gateway/internal/auth"
	"github.com/gateway-dev/gateway/wamp"
)

// Testament scopes (wamp.session.add_testament).
const (
	scopeDetached  = "detached"
	scopeDestroyed = "destroyed"
)

// testament is an event published on the session's behalf when it ends.
type testament struct {
	topic   wamp.URI
	args    wamp.List
	kwargs  wamp.Dict
	options wamp.Dict
}

func testamentScope(kwargs wamp.Dict) (string, *metaResult) {
	scope, err := optString(kwargs, "scope", scopeDestroyed)
	if err != nil || (scope != scopeDetached && scope != scopeDestroyed) {
		r := fail(wamp.ErrInvalidArgument, "scope must be \"detached\" or \"destroyed\"")
		return "", &r
	}
	return scope, nil
}

// addTestament implements wamp.session.add_testament(topic, args, kwargs; publish_options, scope).
func addTestament(rl *Realm, caller *Session, args wamp.List, kwargs wamp.Dict) metaResult {
	topic, bad := argString(args, 0, "topic")
	if bad != nil {
		return *bad
	}
	if !rl.uri.valid(wamp.URI(topic), false, false) || reserved(wamp.URI(topic)) {
		return fail(wamp.ErrInvalidURI, "invalid testament topic %q", topic)
	}
	if !caller.allowed(auth.Publish, wamp.URI(topic)) {
		return fail(wamp.ErrNotAuthorized, "role %q may not publish to %q", caller.authrole, topic)
	}
	t := testament{topic: wamp.URI(topic)}
	if len(args) > 1 && args[1] != nil {
		l, isList := args[1].([]any)
		if !isList {
			return fail(wamp.ErrInvalidArgument, "argument 2 (args) must be a list")
		}
		t.args = l
	}
	if len(args) > 2 && args[2] != nil {
		d, isDict := args[2].(map[string]any)
		if !isDict {
			return fail(wamp.ErrInvalidArgument, "argument 3 (kwargs) must be a dictionary")
		}
		t.kwargs = d
	}
	if v, present := kwargs["publish_options"]; present && v != nil {
		d, isDict := v.(map[string]any)
		if !isDict {
			return fail(wamp.ErrInvalidArgument, "publish_options must be a dictionary")
		}
		t.options = d
	}
	scope, bad := testamentScope(kwargs)
	if bad != nil {
		return *bad
	}
	caller.mu.Lock()
	if caller.testaments == nil {
		caller.testaments = map[string][]testament{}
	}
	caller.testaments[scope] = append(caller.testaments[scope], t)
	caller.mu.Unlock()
	return ok()
}

// flushTestaments implements wamp.session.flush_testaments(; scope): it returns how many were removed.
func flushTestaments(_ *Realm, caller *Session, _ wamp.List, kwargs wamp.Dict) metaResult {
	scope, bad := testamentScope(kwargs)
	if bad != nil {
		return *bad
	}
	caller.mu.Lock()
	n := len(caller.testaments[scope])
	delete(caller.testaments, scope)
	caller.mu.Unlock()
	return ok(int64(n))
}

// publishTestaments publishes s's testaments: detached scope first, then destroyed (the router has no
// session resumption, so a session is detached and destroyed at once).
func (rl *Realm) publishTestaments(s *Session) {
	s.mu.Lock()
	ts := s.testaments
	s.testaments = nil
	s.mu.Unlock()
	for _, scope := range [...]string{scopeDetached, scopeDestroyed} {
		for _, t := range ts[scope] {
			p, _, err := rl.broker.parsePublish(s, &wamp.Publish{Options: t.options, Topic: t.topic, Args: t.args, Kwargs: t.kwargs})
			if err != nil {
				rl.router.log.Warn("testament not published: bad publish options", "session", s.id, "topic", t.topic, "err", err)
				continue
			}
			p.excludeMe = false
			rl.broker.deliver(p)
		}
	}
}
