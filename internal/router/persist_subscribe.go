package router

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gateway-dev/gateway/internal/query"
	"github.com/gateway-dev/gateway/internal/store"
	"github.com/gateway-dev/gateway/wamp"
)

// persistIntent is what a SUBSCRIBE (or gateway.subscription.persist) asks of persistence. It is
// prepared before the broker lock is taken: the store is read and written here, never under a lock.
type persistIntent struct {
	key    store.SubKey
	id     logID
	filter *query.Filter
	authid string // "" for an anonymous session
	floor  uint64 // the position a new record starts from
	create bool   // a new record was stored (or the record of another identity replaced: reset)
	reset  bool
}

// intentError refuses a persistent subscription.
type intentError struct {
	uri wamp.URI
	msg string
}

// persistAuthID is the authid a persistent subscription of s belongs to: "" when s is anonymous
// (anonymous authids are random per session).
func (s *Session) persistAuthID() string {
	if s.authmethod == "anonymous" {
		return ""
	}
	return s.authid
}

// persistIntent reads the x_persistent option and finds or creates the client's record of the
// subscription (match, topic, filter). It returns nil when the subscription is an ordinary one: no
// option and no record of this client, or the router cannot persist and the client did not ask.
func (b *broker) persistIntent(s *Session, opts wamp.Dict, match string, topic wamp.URI, filter *query.Filter) (*persistIntent, *intentError) {
	want, err := optBool(opts, optPersistent, false)
	if err != nil {
		return nil, &intentError{wamp.ErrInvalidArgument, err.Error()}
	}
	pr := b.pers
	switch {
	case pr == nil:
		if want {
			return nil, &intentError{wamp.ErrUnavailable, "persistent subscriptions need the durable store ([store] data_dir), which is not available"}
		}
		return nil, nil
	case s.clientToken == nil:
		if want {
			return nil, &intentError{wamp.ErrInvalidArgument, "x_persistent needs a client identity token, which identifies the client when it comes back: " +
				"enable [client_token] and present the token again (cookie, or HELLO.Details.authextra.client_token)"}
		}
		return nil, nil
	case reserved(topic):
		if want {
			return nil, &intentError{wamp.ErrInvalidArgument, "the router's own topics (wamp.*, gateway.*) cannot be subscribed persistently"}
		}
		return nil, nil
	}
	in := &persistIntent{id: logID{topic: topic, match: match}, filter: filter, authid: s.persistAuthID()}
	if filter != nil {
		in.id.filter = filter.String()
	}
	in.key = b.subKey(s.clientToken.ClientID, in.id)
	pr.mu.RLock()
	rec := pr.records[in.key]
	owned := rec != nil && (rec.authid == "" || rec.authid == in.authid)
	pr.mu.RUnlock()
	switch {
	case owned:
		return in, nil // resume
	case !want:
		return nil, nil
	}
	if rec != nil {
		// The record belongs to another identity on this client: replaced, its backlog dropped.
		in.reset = true
		if err := pr.st.DeleteSubscription(in.key); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, &intentError{wamp.ErrUnavailable, "cannot store the persistent subscription: " + err.Error()}
		}
	}
	if in.floor, err = pr.ensureLog(in.id, filter); err == nil { // no store read under the broker lock later
		err = pr.st.PutSubscription(store.Subscription{Key: in.key, AuthID: in.authid, Delivered: map[string]uint64{b.logKey(in.id): in.floor}})
	}
	switch {
	case errors.Is(err, store.ErrLimit):
		return nil, &intentError{ErrLimitReached, fmt.Sprintf("this client has the most persistent subscriptions allowed ([store] max_persistent_subscriptions): %v", err)}
	case err != nil:
		return nil, &intentError{wamp.ErrUnavailable, "cannot store the persistent subscription: " + err.Error()}
	}
	in.create = true
	return in, nil
}

// attachResult is what attachLocked leaves for attached to do once the broker lock is released.
type attachResult struct {
	a       *attachment
	ackNow  bool     // write the starting position now
	replay  bool     // start replaying the backlog
	evicted *Session // another session of the client that held the subscription and was unsubscribed
	upgrade bool     // the record, anonymous so far, now belongs to an authid
}

// attachLocked makes s, subscribed to sub (added: just now), receive sub's persistent
// subscription in: a returning client replays its backlog first; a new record, or a session that
// was receiving sub ordinarily, goes live at once, skipping the publications it got already.
// Another session of the same client that held the subscription is unsubscribed from it (the
// newest connection wins). Callers hold b.mu for writing, which excludes every delivery.
func (b *broker) attachLocked(s *Session, sub *subscription, added bool, in *persistIntent) *attachResult {
	if in == nil {
		return nil
	}
	pr := b.pers
	res := &attachResult{}
	pr.mu.Lock()
	rec := pr.records[in.key]
	if rec == nil && !in.create {
		pr.mu.Unlock()
		return nil // forgotten meanwhile
	}
	if rec == nil {
		l, err := pr.logLocked(in.id, in.filter)
		if err != nil {
			pr.mu.Unlock()
			pr.log.Warn("persistent subscription not started: its log is unreadable", "topic", in.id.topic, "err", err)
			return nil
		}
		rec = &record{key: in.key, log: l, authid: in.authid}
		rec.pos.Store(in.floor)
		rec.acked.Store(in.floor)
		pr.addRecordLocked(rec)
	} else if in.reset || (rec.authid == "" && in.authid != "") {
		res.upgrade = !in.reset
		rec.authid = in.authid
	}
	l := rec.log
	epoch := l.epoch
	pr.mu.Unlock()

	l.mu.Lock()
	old := rec.att
	if old != nil && old.s == s {
		l.mu.Unlock()
		return nil // attached already
	}
	if old != nil {
		old.detach(pr)
		res.evicted = old.s
	}
	a := &attachment{rec: rec, s: s, sub: sub, epoch: epoch, stop: make(chan struct{})}
	if in.create || !added {
		// Live from the log's current end. A session that was receiving sub ordinarily got the
		// publications waiting in the log already (they were delivered ordinarily before they
		// could be delivered here): it skips them.
		a.live = true
		if !added && len(l.pending) > 0 {
			a.skip = make(map[uint64]struct{}, len(l.pending))
			for seq := range l.pending {
				a.skip[seq] = struct{}{}
			}
		}
		rec.pos.Store(l.next - 1)
		res.ackNow = true
	} else {
		res.replay = true
	}
	l.atts = append(l.atts, a)
	rec.att = a
	l.mu.Unlock()

	if sub.durable == nil {
		sub.durable = map[*Session]*attachment{}
	}
	sub.durable[s] = a
	if res.evicted != nil {
		if old.sub == sub {
			b.removeLocked(old.s, sub)
		} else if old.s.subs[old.sub.id] == old.sub {
			b.removeLocked(old.s, old.sub) // cannot happen: one subscription per pattern
		}
	}
	res.a = a
	return res
}

// attached finishes an attachment after the broker lock is released.
func (b *broker) attached(res *attachResult) {
	if res == nil {
		return
	}
	pr, a := b.pers, res.a
	if res.evicted != nil {
		b.publishUnsubscribe(res.evicted, a.sub.id, false)
	}
	if res.upgrade {
		if err := pr.st.PutSubscription(store.Subscription{Key: a.rec.key, AuthID: a.s.persistAuthID()}); err != nil {
			pr.log.Warn("persistent subscription's authid not stored", "err", err)
		}
	}
	if res.ackNow {
		pr.markDirty(a.rec)
		pr.flushAcks()
	}
	if res.replay {
		pr.replays.Add(1)
		go b.replay(a)
	}
}

// detach ends a's delivery: its session no longer receives the subscription persistently, and
// its position is written soon. Callers hold the log's mu.
func (a *attachment) detach(pr *persistence) {
	if a.detached {
		return
	}
	close(a.stop) // a replay waiting to send gives up
	a.sendMu.Lock()
	a.detached = true
	a.sendMu.Unlock()
	l := a.rec.log
	if i := slices.Index(l.atts, a); i >= 0 {
		l.atts = slices.Delete(l.atts, i, i+1)
	}
	if a.rec.att == a {
		a.rec.att = nil
	}
	pr.markDirty(a.rec)
}

// persistRemoveLocked detaches s from sub's persistent subscription when it is attached; the
// broker calls it whenever s leaves sub. Callers hold b.mu for writing.
func (b *broker) persistRemoveLocked(s *Session, sub *subscription) {
	a := sub.durable[s]
	if a == nil {
		return
	}
	delete(sub.durable, s)
	if len(sub.durable) == 0 {
		sub.durable = nil
	}
	l := a.rec.log
	l.mu.Lock()
	a.detach(b.pers)
	l.mu.Unlock()
}

// persistFlush writes the delivered positions now, when durable is true (a session that received
// persistent subscriptions ended).
func (b *broker) persistFlush(durable bool) {
	if durable && b.pers != nil {
		b.pers.flushAcks()
	}
}
