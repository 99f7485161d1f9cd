package router

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gateway-dev/gateway/internal/auth"
	"github.com/gateway-dev/gateway/internal/events"
	"github.com/gateway-dev/gateway/internal/store"
	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

// Event history (WAMP event_history): the events of an event class with a retention setting are
// appended to the realm's store before they are delivered, and wamp.subscription.get_events returns
// what a subscription would have received of them (its topic pattern, the subclasses of a class it
// subscribes to, its filter), within the class's retention.

// maxHistory bounds one get_events answer.
const maxHistory = 10000

// historyKey is a topic's log in the store: realm name, a space (no URI contains one), topic.
func (b *broker) historyKey(topic string) string { return string(b.realm.cfg.Name) + " " + topic }

// historyAppend returns the append that records p in its topic's event history (written before p
// is delivered, see broker.storeDurably), or nil when none is kept: history is kept for the topics
// a [[store.retention]] rule matches, bounded by that rule, and for the events of classes with a
// retention setting, bounded by the class's retention.
func (b *broker) historyAppend(p *publication) *store.LogAppend {
	st := b.realm.cfg.Store
	if st == nil {
		return nil
	}
	var r store.Retention
	ruled := false
	if f := b.realm.cfg.HistoryRetention; f != nil {
		r, ruled = f(string(p.topic))
	}
	if !ruled {
		if p.class == nil || !p.class.Retention().Retained() {
			return nil
		}
		cr := p.class.Retention()
		r = store.Retention{MaxCount: uint64(cr.MaxEvents), MaxAge: cr.MaxAge}
	}
	payload, err := encodeStored(p)
	if err != nil {
		b.realm.router.log.Warn("event not recorded in the history", "topic", p.topic, "err", err)
		return nil
	}
	key := b.historyKey(string(p.topic))
	a := &store.LogAppend{Topic: key, Event: store.Event{PublicationID: uint64(p.id), Codec: "msgpack", Payload: payload}}
	if st.RetentionFor(key).IsZero() {
		a.Retention = &r
	}
	return a
}

// ruledHistoryTopics lists the topics whose history a [[store.retention]] rule keeps and whose
// events sub receives: the logs in the store named "<realm> <topic>" that its pattern matches.
func (b *broker) ruledHistoryTopics(sub *subscription) ([]string, error) {
	if b.realm.cfg.HistoryRetention == nil {
		return nil, nil
	}
	realm := string(b.realm.cfg.Name) + " "
	prefix := realm
	if sub.match != matchWildcard {
		prefix += string(sub.topic)
	}
	var out []string
	err := b.realm.cfg.Store.Topics(prefix, func(key string) bool {
		topic := key[len(realm):]
		if strings.IndexByte(topic, ' ') >= 0 {
			return true // a persistent subscription's log, not a topic's history
		}
		if _, ruled := b.realm.cfg.HistoryRetention(topic); ruled && patternMatches(sub.match, sub.topic, wamp.URI(topic)) {
			out = append(out, topic)
		}
		return true
	})
	return out, err
}

// encodeStored encodes what the store keeps of a publication (as an EVENT in MessagePack).
func encodeStored(p *publication) ([]byte, error) {
	return codec.MsgPackSerializer.Encode(nil, &wamp.Event{Subscription: 1, Publication: p.id, Details: p.details, Args: p.args, Kwargs: p.kwargs})
}

// decodeStored reads back what encodeStored wrote.
func decodeStored(se store.StoredEvent) (*wamp.Event, error) {
	if se.Codec != "msgpack" {
		return nil, fmt.Errorf("stored event in unknown codec %q", se.Codec)
	}
	m, err := codec.MsgPackSerializer.Decode(se.Payload)
	if err != nil {
		return nil, err
	}
	ev, ok := m.(*wamp.Event)
	if !ok {
		return nil, fmt.Errorf("stored %s is not an EVENT", m.MessageType())
	}
	return ev, nil
}

// historyEvent is one event of a history answer before it is turned into a dictionary.
type historyEvent struct {
	at    time.Time
	seq   uint64
	topic string
	ev    *wamp.Event
}

// getEvents implements wamp.subscription.get_events(subscription; reverse, limit, topic, from_time,
// after_time, before_time, until_time).
func getEvents(rl *Realm, caller *Session, args wamp.List, kwargs wamp.Dict) metaResult {
	b := rl.broker
	st := rl.cfg.Store
	id, bad := argID(args, 0, "subscription")
	if bad != nil {
		return *bad
	}
	o, err := parseHistoryOptions(kwargs)
	if err != nil {
		return fail(wamp.ErrInvalidArgument, "%v", err)
	}
	b.mu.RLock()
	sub := b.byID[id]
	b.mu.RUnlock()
	if sub == nil {
		return fail(wamp.ErrNoSuchSubscription, "no subscription %d", id)
	}
	if !caller.allowed(auth.Subscribe, sub.topic) {
		return fail(wamp.ErrNotAuthorized, "role %q may not subscribe to %q", caller.authrole, sub.topic)
	}
	classes := historyClasses(rl.Events(), sub)
	if st == nil {
		return fail(wamp.ErrInvalidArgument, "no event history for subscription %d: the gateway has no store", id)
	}
	type source struct {
		topic string
		class *events.Class // nil for a topic without class
	}
	var sources []source
	seen := map[string]bool{}
	for _, c := range classes {
		sources, seen[c.Topic()] = append(sources, source{c.Topic(), c}), true
	}
	ruled, err := b.ruledHistoryTopics(sub)
	if err != nil {
		return fail(wamp.ErrUnavailable, "event history unavailable: %v", err)
	}
	for _, t := range ruled {
		if !seen[t] {
			sources, seen[t] = append(sources, source{t, b.realm.Events().ByTopic(t)}), true
		}
	}
	if len(sources) == 0 {
		return fail(wamp.ErrInvalidArgument, "no event history for subscription %d: history is kept for event classes with a retention setting and for topics a [[store.retention]] rule matches", id)
	}
	var all []historyEvent
	for _, src := range sources {
		if (src.class != nil && !caller.sees(src.class)) || (o.topic != "" && src.topic != o.topic) {
			continue
		}
		stored, err := st.Range(b.historyKey(src.topic), 0, 0)
		if err != nil {
			return fail(wamp.ErrUnavailable, "event history unavailable: %v", err)
		}
		for _, se := range stored {
			ev, err := decodeStored(se)
			if err != nil || !o.inTime(se.Time) {
				continue
			}
			p := &publication{topic: wamp.URI(src.topic), kwargs: ev.Kwargs, details: ev.Details, class: src.class}
			if sub.filter != nil && !sub.filter.Eval(ev.Kwargs, p.meta()) {
				continue
			}
			all = append(all, historyEvent{at: se.Time, seq: se.Seq, topic: src.topic, ev: ev})
		}
	}
	slices.SortStableFunc(all, func(a, b historyEvent) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	if o.reverse {
		slices.Reverse(all)
	}
	limit := int(min(o.limit, maxHistory))
	if limit <= 0 {
		limit = maxHistory
	}
	out := make([]any, 0, min(len(all), limit))
	for _, h := range all {
		if len(out) == limit {
			break
		}
		d := wamp.Dict{
			"timestamp": h.at.UTC().Format(time.RFC3339Nano), "subscription": sub.id,
			"publication": h.ev.Publication, "topic": h.topic,
		}
		if h.ev.Args != nil {
			d["args"] = h.ev.Args
		}
		if h.ev.Kwargs != nil {
			d["kwargs"] = h.ev.Kwargs
		}
		for k, v := range h.ev.Details {
			d[k] = v // publisher disclosure and passthru keys, as the EVENT carried them
		}
		out = append(out, d)
	}
	return ok(out)
}

// historyClasses lists the classes with history whose events sub receives: those whose topic its
// pattern covers and, for an exact subscription to a class, the subclasses.
func historyClasses(reg *events.Registry, sub *subscription) []*events.Class {
	var out []*events.Class
	base := reg.ByTopic(string(sub.topic))
	for _, c := range reg.List() {
		if !c.Retention().Retained() {
			continue
		}
		if patternMatches(sub.match, sub.topic, wamp.URI(c.Topic())) || (sub.match == matchExact && base != nil && c.IsA(base)) {
			out = append(out, c)
		}
	}
	return out
}

// historyOptions are the keyword arguments of get_events.
type historyOptions struct {
	reverse                    bool
	limit                      int64
	topic                      string
	from, after, before, until time.Time
}

func parseHistoryOptions(kw wamp.Dict) (o historyOptions, err error) {
	if o.reverse, err = optBool(kw, "reverse", false); err != nil {
		return
	}
	if o.limit, err = optInt(kw, "limit", 0); err != nil {
		return
	}
	if o.limit < 0 {
		return o, fmt.Errorf("limit must be positive")
	}
	if o.topic, err = optString(kw, "topic", ""); err != nil {
		return
	}
	for _, x := range []struct {
		key string
		dst *time.Time
	}{{"from_time", &o.from}, {"after_time", &o.after}, {"before_time", &o.before}, {"until_time", &o.until}} {
		s, err := optString(kw, x.key, "")
		if err != nil {
			return o, err
		}
		if s == "" {
			continue
		}
		if *x.dst, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return o, fmt.Errorf("%s must be an RFC 3339 timestamp: %v", x.key, err)
		}
	}
	return o, nil
}

func (o *historyOptions) inTime(t time.Time) bool {
	return (o.from.IsZero() || !t.Before(o.from)) && (o.after.IsZero() || t.After(o.after)) &&
		(o.before.IsZero() || t.Before(o.before)) && (o.until.IsZero() || !t.After(o.until))
}
