package router

import (
	"fmt"
	"sort"

	"github.com/gateway-dev/gateway/wamp"
)

// Meta API topics (published by the router).
const (
	metaSessionOnJoin    wamp.URI = "wamp.session.on_join"
	metaSessionOnLeave   wamp.URI = "wamp.session.on_leave"
	metaSubOnCreate      wamp.URI = "wamp.subscription.on_create"
	metaSubOnSubscribe   wamp.URI = "wamp.subscription.on_subscribe"
	metaSubOnUnsubscribe wamp.URI = "wamp.subscription.on_unsubscribe"
	metaSubOnDelete      wamp.URI = "wamp.subscription.on_delete"
	metaRegOnCreate      wamp.URI = "wamp.registration.on_create"
	metaRegOnRegister    wamp.URI = "wamp.registration.on_register"
	metaRegOnUnregister  wamp.URI = "wamp.registration.on_unregister"
	metaRegOnDelete      wamp.URI = "wamp.registration.on_delete"
)

// metaResult is what a meta procedure returns: a result or an error.
type metaResult struct {
	args   wamp.List
	kwargs wamp.Dict
	err    wamp.URI
	msg    string
}

func ok(args ...any) metaResult { return metaResult{args: args} }

func fail(uri wamp.URI, format string, a ...any) metaResult {
	return metaResult{err: uri, msg: fmt.Sprintf(format, a...)}
}

// metaProcedure implements one router-provided procedure.
type metaProcedure func(rl *Realm, caller *Session, args wamp.List, kwargs wamp.Dict) metaResult

func metaProcedures() map[wamp.URI]metaProcedure {
	procs := map[wamp.URI]metaProcedure{
		"wamp.session.count":            sessionCount,
		"wamp.session.list":             sessionList,
		"wamp.session.get":              sessionGet,
		"wamp.session.kill":             sessionKill,
		"wamp.session.kill_by_authid":   sessionKillByAuthID,
		"wamp.session.kill_by_authrole": sessionKillByAuthRole,
		"wamp.session.kill_all":         sessionKillAll,
		"wamp.session.add_testament":    addTestament,
		"wamp.session.flush_testaments": flushTestaments,
		"wamp.subscription.match":       subscriptionMatch,
		"wamp.subscription.get_events":  getEvents,
		"wamp.registration.match":       registrationMatch,
		procTokenRevoke:                 tokenRevoke,
		"gateway.query.topic":           queryTopic,
		"gateway.event.list":            eventList,
		"gateway.event.describe":        eventDescribe,
		procTokenRevokeAuthID:           tokenRevokeAuthID,
		procSubPersist:                  subscriptionPersist,
		procSubForget:                   subscriptionForget,
	}
	tableProcedures(procs, "wamp.subscription.", "subscribers", brokerTable)
	tableProcedures(procs, "wamp.registration.", "callees", dealerTable)
	return procs
}

// callMeta runs a meta procedure and answers the caller.
func (d *dealer) callMeta(s *Session, m *wamp.Call, proc metaProcedure) {
	res := proc(d.realm, s, m.Args, m.Kwargs)
	if res.err != "" {
		e := &wamp.Error{RequestType: wamp.CALL, Request: m.Request, Details: wamp.Dict{}, Error: res.err}
		if res.msg != "" {
			e.Args = wamp.List{res.msg}
		}
		s.send(e)
		return
	}
	s.send(&wamp.Result{Request: m.Request, Details: wamp.Dict{}, Args: res.args, Kwargs: res.kwargs})
}

// argument helpers

func argID(args wamp.List, i int, name string) (wamp.ID, *metaResult) {
	if i >= len(args) {
		r := fail(wamp.ErrInvalidArgument, "missing argument %d (%s)", i+1, name)
		return 0, &r
	}
	id, ok := asID(args[i])
	if !ok {
		r := fail(wamp.ErrInvalidArgument, "argument %d (%s) must be an ID", i+1, name)
		return 0, &r
	}
	return id, nil
}

func argString(args wamp.List, i int, name string) (string, *metaResult) {
	if i >= len(args) {
		r := fail(wamp.ErrInvalidArgument, "missing argument %d (%s)", i+1, name)
		return "", &r
	}
	s, ok := args[i].(string)
	if !ok {
		r := fail(wamp.ErrInvalidArgument, "argument %d (%s) must be a string", i+1, name)
		return "", &r
	}
	return s, nil
}

// roleFilter reads the optional filter_authroles argument.
func roleFilter(args wamp.List) (func(*Session) bool, *metaResult) {
	if len(args) == 0 || args[0] == nil {
		return nil, nil
	}
	roles, ok := stringList(args[0])
	if !ok {
		r := fail(wamp.ErrInvalidArgument, "filter_authroles must be a list of strings")
		return nil, &r
	}
	return func(s *Session) bool { return contains(roles, s.authrole) }, nil
}

// session meta procedures

func sessionCount(rl *Realm, _ *Session, args wamp.List, _ wamp.Dict) metaResult {
	keep, bad := roleFilter(args)
	if bad != nil {
		return *bad
	}
	return ok(int64(len(rl.snapshot(keep))))
}

func sessionList(rl *Realm, _ *Session, args wamp.List, _ wamp.Dict) metaResult {
	keep, bad := roleFilter(args)
	if bad != nil {
		return *bad
	}
	ss := rl.snapshot(keep)
	ids := make([]any, len(ss))
	for i, s := range ss {
		ids[i] = s.id
	}
	return ok(ids)
}

func sessionGet(rl *Realm, _ *Session, args wamp.List, _ wamp.Dict) metaResult {
	id, bad := argID(args, 0, "session")
	if bad != nil {
		return *bad
	}
	s := rl.session(id)
	if s == nil {
		return fail(wamp.ErrNoSuchSession, "no session %d in this realm", id)
	}
	return ok(s.info())
}

// killReason reads the optional reason and message keyword arguments of the kill procedures.
func killReason(rl *Realm, kwargs wamp.Dict) (wamp.URI, string, *metaResult) {
	reason := wamp.ErrKilled
	if v, present := kwargs["reason"]; present && v != nil {
		s, isStr := v.(string)
		if !isStr || !rl.uri.valid(wamp.URI(s), false, false) {
			r := fail(wamp.ErrInvalidURI, "reason must be a valid, non-empty URI")
			return "", "", &r
		}
		reason = wamp.URI(s)
	}
	msg := ""
	if v, present := kwargs["message"]; present && v != nil {
		s, isStr := v.(string)
		if !isStr {
			r := fail(wamp.ErrInvalidArgument, "message must be a string")
			return "", "", &r
		}
		msg = s
	}
	return reason, msg, nil
}

func sessionKill(rl *Realm, caller *Session, args wamp.List, kwargs wamp.Dict) metaResult {
	id, bad := argID(args, 0, "session")
	if bad != nil {
		return *bad
	}
	reason, msg, bad := killReason(rl, kwargs)
	if bad != nil {
		return *bad
	}
	s := rl.session(id)
	if s == nil || s == caller {
		return fail(wamp.ErrNoSuchSession, "no other session %d in this realm", id)
	}
	s.goodbye(reason, msg)
	return ok()
}

func killMatching(rl *Realm, caller *Session, kwargs wamp.Dict, keep func(*Session) bool) ([]*Session, *metaResult) {
	reason, msg, bad := killReason(rl, kwargs)
	if bad != nil {
		return nil, bad
	}
	victims := rl.snapshot(func(s *Session) bool { return s != caller && keep(s) })
	for _, s := range victims {
		s.goodbye(reason, msg)
	}
	return victims, nil
}

func sessionKillByAuthID(rl *Realm, caller *Session, args wamp.List, kwargs wamp.Dict) metaResult {
	authid, bad := argString(args, 0, "authid")
	if bad != nil {
		return *bad
	}
	killed, bad := killMatching(rl, caller, kwargs, func(s *Session) bool { return s.authid == authid })
	if bad != nil {
		return *bad
	}
	ids := make([]any, len(killed))
	for i, s := range killed {
		ids[i] = s.id
	}
	return ok(ids)
}

func sessionKillByAuthRole(rl *Realm, caller *Session, args wamp.List, kwargs wamp.Dict) metaResult {
	authrole, bad := argString(args, 0, "authrole")
	if bad != nil {
		return *bad
	}
	killed, bad := killMatching(rl, caller, kwargs, func(s *Session) bool { return s.authrole == authrole })
	if bad != nil {
		return *bad
	}
	return ok(int64(len(killed)))
}

func sessionKillAll(rl *Realm, caller *Session, _ wamp.List, kwargs wamp.Dict) metaResult {
	killed, bad := killMatching(rl, caller, kwargs, func(*Session) bool { return true })
	if bad != nil {
		return *bad
	}
	return ok(int64(len(killed)))
}

// subscription and registration meta procedures share one implementation over a metaTable.

// metaTable exposes the broker's subscriptions or the dealer's registrations to the meta procedures.
type metaTable[T any] struct {
	lock     func() (unlock func())
	lists    func() map[string][]wamp.ID                      // IDs by match policy
	lookupID func(match string, uri wamp.URI) (wamp.ID, bool) // the unfiltered entry for a pattern
	byID     func(wamp.ID) (T, bool)
	details  func(T) wamp.Dict
	members  func(T) []*Session
	notFound wamp.URI
	what     string // "subscription" or "registration"
}

func brokerTable(rl *Realm) metaTable[*subscription] {
	b := rl.broker
	return metaTable[*subscription]{
		lock: func() func() { b.mu.RLock(); return b.mu.RUnlock },
		lists: func() map[string][]wamp.ID {
			out := map[string][]wamp.ID{}
			for _, sub := range b.byID {
				out[sub.match] = append(out[sub.match], sub.id)
			}
			return out
		},
		lookupID: func(match string, uri wamp.URI) (wamp.ID, bool) {
			if e, ok := b.index.get(match, uri); ok && e.plain != nil {
				return e.plain.id, true
			}
			return 0, false
		},
		byID:     func(id wamp.ID) (*subscription, bool) { s, ok := b.byID[id]; return s, ok },
		details:  (*subscription).details,
		members:  func(s *subscription) []*Session { return s.subs },
		notFound: wamp.ErrNoSuchSubscription,
		what:     "subscription",
	}
}

func dealerTable(rl *Realm) metaTable[*registration] {
	d := rl.dealer
	return metaTable[*registration]{
		lock: func() func() { d.mu.Lock(); return d.mu.Unlock },
		lists: func() map[string][]wamp.ID {
			out := map[string][]wamp.ID{}
			for _, reg := range d.byID {
				out[reg.match] = append(out[reg.match], reg.id)
			}
			return out
		},
		lookupID: func(match string, uri wamp.URI) (wamp.ID, bool) {
			if r, ok := d.index.get(match, uri); ok {
				return r.id, true
			}
			return 0, false
		},
		byID:     func(id wamp.ID) (*registration, bool) { r, ok := d.byID[id]; return r, ok },
		details:  (*registration).details,
		members:  func(r *registration) []*Session { return r.callees },
		notFound: wamp.ErrNoSuchRegistration,
		what:     "registration",
	}
}

func matchOption(v any) (string, bool) {
	if v == nil {
		return matchExact, true
	}
	d, isDict := v.(map[string]any)
	if !isDict {
		return "", false
	}
	m, err := parseMatch(d)
	return m, err == nil
}

// list implements wamp.*.list: the IDs by match policy.
func (mt metaTable[T]) list() metaResult {
	defer mt.lock()()
	lists := mt.lists()
	out := wamp.Dict{}
	for _, m := range [...]string{matchExact, matchPrefix, matchWildcard} {
		ids := lists[m]
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		l := make([]any, len(ids))
		for i, id := range ids {
			l[i] = id
		}
		out[m] = l
	}
	return ok(out)
}

// lookup implements wamp.*.lookup(uri, [options]): the ID for exactly that pattern, or null.
func (mt metaTable[T]) lookup(args wamp.List) metaResult {
	uri, bad := argString(args, 0, "uri")
	if bad != nil {
		return *bad
	}
	var opt any
	if len(args) > 1 {
		opt = args[1]
	}
	match, valid := matchOption(opt)
	if !valid {
		return fail(wamp.ErrInvalidArgument, "options must be a dictionary with match exact, prefix or wildcard")
	}
	defer mt.lock()()
	if id, found := mt.lookupID(match, wamp.URI(uri)); found {
		return ok(id)
	}
	return ok(nil)
}

// withID runs fn on the entry whose ID is the first argument.
func (mt metaTable[T]) withID(args wamp.List, fn func(T) metaResult) metaResult {
	id, bad := argID(args, 0, mt.what)
	if bad != nil {
		return *bad
	}
	defer mt.lock()()
	v, found := mt.byID(id)
	if !found {
		return fail(mt.notFound, "no %s %d", mt.what, id)
	}
	return fn(v)
}

func (mt metaTable[T]) get(args wamp.List) metaResult {
	return mt.withID(args, func(v T) metaResult { return ok(mt.details(v)) })
}

func (mt metaTable[T]) listMembers(args wamp.List) metaResult {
	return mt.withID(args, func(v T) metaResult {
		m := mt.members(v)
		ids := make([]any, len(m))
		for i, s := range m {
			ids[i] = s.id
		}
		return ok(ids)
	})
}

func (mt metaTable[T]) countMembers(args wamp.List) metaResult {
	return mt.withID(args, func(v T) metaResult { return ok(int64(len(mt.members(v)))) })
}

// subscriptionMatch implements wamp.subscription.match(topic): every matching subscription, or null.
func subscriptionMatch(rl *Realm, _ *Session, args wamp.List, _ wamp.Dict) metaResult {
	topic, bad := argString(args, 0, "topic")
	if bad != nil {
		return *bad
	}
	b := rl.broker
	b.mu.RLock()
	defer b.mu.RUnlock()
	var ids []any
	b.each(wamp.URI(topic), func(sub *subscription) { ids = append(ids, sub.id) })
	if len(ids) == 0 {
		return ok(nil)
	}
	return ok(ids)
}

// registrationMatch implements wamp.registration.match(procedure): the registration a call would use.
func registrationMatch(rl *Realm, _ *Session, args wamp.List, _ wamp.Dict) metaResult {
	proc, bad := argString(args, 0, "procedure")
	if bad != nil {
		return *bad
	}
	d := rl.dealer
	d.mu.Lock()
	defer d.mu.Unlock()
	if reg, _, found := d.index.best(wamp.URI(proc)); found {
		return ok(reg.id)
	}
	return ok(nil)
}

// tableProcedures adds the list, lookup, get and member procedures of one table under prefix.
func tableProcedures[T any](procs map[wamp.URI]metaProcedure, prefix, members string, table func(*Realm) metaTable[T]) {
	procs[wamp.URI(prefix+"list")] = func(rl *Realm, _ *Session, _ wamp.List, _ wamp.Dict) metaResult { return table(rl).list() }
	procs[wamp.URI(prefix+"lookup")] = func(rl *Realm, _ *Session, a wamp.List, _ wamp.Dict) metaResult { return table(rl).lookup(a) }
	procs[wamp.URI(prefix+"get")] = func(rl *Realm, _ *Session, a wamp.List, _ wamp.Dict) metaResult { return table(rl).get(a) }
	procs[wamp.URI(prefix+"list_"+members)] = func(rl *Realm, _ *Session, a wamp.List, _ wamp.Dict) metaResult {
		return table(rl).listMembers(a)
	}
	procs[wamp.URI(prefix+"count_"+members)] = func(rl *Realm, _ *Session, a wamp.List, _ wamp.Dict) metaResult {
		return table(rl).countMembers(a)
	}
}
