package router

import (
	"strings"
	"sync"

	"github.com/gateway-dev/gateway/wamp"
)

// Event retention (WAMP event_retention): a PUBLISH with retain=true becomes its topic's retained
// event, and a SUBSCRIBE with get_retained=true receives the retained event of every topic it covers
// that it would have been eligible for, marked with Details.retained = true, right after SUBSCRIBED.
// Retained events are kept in memory (the spec asks for best effort), one per topic.

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
	switch match {
	case matchPrefix:
		return strings.HasPrefix(string(topic), string(pattern))
	case matchWildcard:
		pc, tc := strings.Split(string(pattern), "."), strings.Split(string(topic), ".")
		if len(pc) != len(tc) {
			return false
		}
		for i := range pc {
			if pc[i] != "" && pc[i] != tc[i] {
				return false
			}
		}
		return true
	default:
		return pattern == topic
	}
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
