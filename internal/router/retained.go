package router

import (
	"sync"
	"time"

	"github.com/gateway-dev/gateway/internal/store"

	"github.com/gateway-dev/gateway/wamp"
)

// Event retention (WAMP event_retention): a PUBLISH with retain=true becomes its topic's retained
// event, and a SUBSCRIBE with get_retained=true receives the retained event of every topic it covers
// that it would have been eligible for, marked with Details.retained = true, right after SUBSCRIBED.
// Retained events are kept in memory, one per topic, and written to the realm's store (when it has
// one) so that they survive restarts; a retained publication restricted by black/white lists is kept
// in memory only, since those lists name sessions of the past.

// retainedEvents holds the last retained publication per topic.
type retainedEvents struct {
	mu sync.Mutex
	m  map[wamp.URI]*publication
}

func (r *retainedEvents) set(p *publication) {
	r.mu.Lock()
	if r.m == nil {
		r.m = map[wamp.URI]*publication{}
	}
	r.m[p.topic] = p
	r.mu.Unlock()
}

// retain makes p its topic's retained event.
func (b *broker) retain(p *publication) {
	b.retained.set(p)
	st := b.realm.cfg.Store
	if st == nil || p.filter != nil {
		return
	}
	payload, err := encodeStored(p)
	if err == nil {
		err = st.Retain(b.retainedKey(p.topic), store.StoredEvent{Event: store.Event{PublicationID: uint64(p.id), Codec: "msgpack", Payload: payload, Time: time.Now()}})
	}
	if err != nil {
		b.realm.router.log.Warn("retained event kept in memory only", "topic", p.topic, "err", err)
	}
}

// retainedKey is a topic's key in the store: realm name, a space (no URI contains one), topic.
func (b *broker) retainedKey(topic wamp.URI) string {
	return string(b.realm.cfg.Name) + " " + string(topic)
}

// loadRetained reads the realm's retained events back from the store. It runs once, when the
// router starts and the realm's broker and dealer exist; it loads the persistent subscriptions
// too (persist.go).
func (b *broker) loadRetained() {
	b.loadPersistent()
	st := b.realm.cfg.Store
	if st == nil {
		return
	}
	prefix := b.retainedKey("")
	err := st.RetainedPrefix(prefix, func(key string, se store.StoredEvent) bool {
		ev, err := decodeStored(se)
		if err != nil {
			b.realm.router.log.Warn("unreadable retained event skipped", "key", key, "err", err)
			return true
		}
		topic := wamp.URI(key[len(prefix):])
		p := &publication{id: ev.Publication, topic: topic, args: ev.Args, kwargs: ev.Kwargs, class: b.realm.Events().ByTopic(string(topic))}
		if len(ev.Details) > 0 {
			p.details = ev.Details
		}
		b.retained.set(p)
		return true
	})
	if err != nil {
		b.realm.router.log.Warn("retained events not loaded", "realm", b.realm.cfg.Name, "err", err)
	}
}

// matching returns the retained publications on topics that (match, pattern) covers.
func (r *retainedEvents) matching(match string, pattern wamp.URI) []*publication {
	r.mu.Lock()
	defer r.mu.Unlock()
	if match == matchExact {
		if p := r.m[pattern]; p != nil {
			return []*publication{p}
		}
		return nil
	}
	var out []*publication
	for topic, p := range r.m {
		if patternMatches(match, pattern, topic) {
			out = append(out, p)
		}
	}
	return out
}

// patternMatches reports whether a subscription (match, pattern) covers topic.
func patternMatches(match string, pattern, topic wamp.URI) bool {
	return wamp.Matches(match, pattern, topic)
}

// sendRetained sends s the retained events sub is eligible for. Callers hold b.mu, so that no live
// EVENT for sub can overtake them.
func (b *broker) sendRetained(s *Session, sub *subscription) {
	for _, p := range b.retained.matching(sub.match, sub.topic) {
		if p.publisher == s && p.excludeMe {
			continue
		}
		if p.filter != nil && !p.filter.allows(s) {
			continue
		}
		if p.class != nil && !s.sees(p.class) {
			continue
		}
		if sub.filter != nil && !sub.filter.Eval(p.kwargs, p.meta()) {
			continue
		}
		d := eventDetails(p, sub.match)
		details := make(wamp.Dict, len(d)+1)
		for k, v := range d {
			details[k] = v
		}
		details["retained"] = true
		s.send(&wamp.Event{Subscription: sub.id, Publication: p.id, Details: details, Args: p.args, Kwargs: p.kwargs})
	}
}
