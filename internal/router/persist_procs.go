package router

import (
	"errors"
	"slices"

	"github.com/gateway-dev/gateway/internal/store"
	"github.com/gateway-dev/gateway/wamp"
)

// subscriptionPersist implements gateway.subscription.persist(subscription) → {"seq"}: the
// caller's subscription becomes persistent, as if it had been made with x_persistent, from now
// on (for clients that cannot add SUBSCRIBE options). seq is the log position it starts after.
func subscriptionPersist(rl *Realm, caller *Session, args wamp.List, _ wamp.Dict) metaResult {
	b := rl.broker
	id, bad := argID(args, 0, "subscription")
	if bad != nil {
		return *bad
	}
	b.mu.RLock()
	sub := caller.subs[id]
	b.mu.RUnlock()
	if sub == nil {
		return fail(wamp.ErrNoSuchSubscription, "no subscription %d in this session", id)
	}
	in, ie := b.persistIntent(caller, wamp.Dict{optPersistent: true}, sub.match, sub.topic, sub.filter)
	if ie != nil {
		return fail(ie.uri, "%s", ie.msg)
	}
	b.mu.Lock()
	if caller.subs[id] != sub || !caller.live() {
		b.mu.Unlock()
		return fail(wamp.ErrNoSuchSubscription, "subscription %d ended while it was being made persistent", id)
	}
	res := b.attachLocked(caller, sub, false, in)
	b.mu.Unlock()
	b.attached(res)
	b.pers.mu.RLock()
	rec := b.pers.records[in.key]
	b.pers.mu.RUnlock()
	if rec == nil {
		return fail(wamp.ErrUnavailable, "subscription %d was forgotten while it was being made persistent", id)
	}
	return ok(wamp.Dict{"seq": int64(rec.pos.Load())})
}

// subscriptionForget implements gateway.subscription.forget(subscription): the caller's client no
// longer has a persistent subscription for it; the subscription goes on as an ordinary one, and
// events are no longer kept for it.
func subscriptionForget(rl *Realm, caller *Session, args wamp.List, _ wamp.Dict) metaResult {
	b := rl.broker
	id, bad := argID(args, 0, "subscription")
	if bad != nil {
		return *bad
	}
	b.mu.RLock()
	sub := caller.subs[id]
	b.mu.RUnlock()
	if sub == nil {
		return fail(wamp.ErrNoSuchSubscription, "no subscription %d in this session", id)
	}
	pr := b.pers
	if pr == nil || caller.clientToken == nil {
		return fail(wamp.ErrInvalidArgument, "subscription %d is not persistent", id)
	}
	lid := logID{topic: sub.topic, match: sub.match}
	if sub.filter != nil {
		lid.filter = sub.filter.String()
	}
	key := b.subKey(caller.clientToken.ClientID, lid)
	pr.mu.RLock()
	rec := pr.records[key]
	pr.mu.RUnlock()
	if rec == nil {
		return fail(wamp.ErrInvalidArgument, "subscription %d is not persistent", id)
	}
	if err := pr.st.DeleteSubscription(key); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fail(wamp.ErrUnavailable, "cannot forget the persistent subscription: %v", err)
	}
	b.mu.Lock()
	b.forgetLocked(rec)
	pr.mu.Lock()
	deactivated := pr.removeRecordLocked(rec)
	pr.mu.Unlock()
	b.mu.Unlock()
	if deactivated {
		if err := pr.st.Truncate(rec.log.key); err != nil {
			pr.log.Warn("log of a forgotten persistent subscription not emptied", "log", rec.log.key, "err", err)
		}
	}
	return ok()
}

// forgetLocked turns the session attached to rec, if any, into an ordinary subscriber. The
// publications waiting in the log (their ordinary delivery skipped the session) are sent to it
// now, so the switch loses nothing. Callers hold b.mu for writing.
func (b *broker) forgetLocked(rec *record) {
	l := rec.log
	l.mu.Lock()
	a := rec.att
	if a == nil {
		l.mu.Unlock()
		return
	}
	seqs := make([]uint64, 0, len(l.pending))
	for seq := range l.pending {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	waiting := make([]*publication, len(seqs))
	for i, seq := range seqs {
		waiting[i] = l.pending[seq]
	}
	a.detach(b.pers)
	l.mu.Unlock()
	delete(a.sub.durable, a.s)
	if len(a.sub.durable) == 0 {
		a.sub.durable = nil
	}
	for _, p := range waiting {
		if !a.eligible(p) {
			continue
		}
		match := a.sub.match
		if match == matchExact && p.topic != a.sub.topic {
			match = matchAncestor
		}
		a.s.send(&wamp.Event{Subscription: a.sub.id, Publication: p.id, Details: eventDetails(p, match), Args: p.args, Kwargs: p.kwargs})
	}
}
