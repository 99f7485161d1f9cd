package router

import (
	"errors"
	"sync"
	"time"

	"github.com/gateway-dev/gateway/internal/auth"
	"github.com/gateway-dev/gateway/internal/events"
	"github.com/gateway-dev/gateway/internal/peer"
	"github.com/gateway-dev/gateway/internal/query"
	"github.com/gateway-dev/gateway/wamp"
)

// subscription is a (topic pattern, match policy, filter) with its subscribed sessions. Its ID is
// shared by all subscribers, so an EVENT for it is encoded once per serializer.
type subscription struct {
	id      wamp.ID
	topic   wamp.URI
	match   string
	created time.Time
	subs    []*Session       // subscribers, in no particular order
	pos     map[*Session]int // index of each subscriber in subs

	entry  *topicEntry
	filter *query.Filter // nil: every event of the topic
	handle query.Handle  // in entry.filters

	// durable holds the subscribers that receive this subscription persistently, through its
	// log (persist*.go); nil when none, so ordinary subscriptions pay nothing for it.
	durable map[*Session]*attachment
}

// topicEntry holds the subscriptions of one (topic pattern, match policy): the unfiltered one and
// the filtered ones, which an index matches against each event's fields.
type topicEntry struct {
	topic    wamp.URI
	match    string
	plain    *subscription
	filtered map[string]*subscription // by canonical filter
	filters  *query.Index
}

func (e *topicEntry) empty() bool { return e.plain == nil && len(e.filtered) == 0 }

func (sub *subscription) add(s *Session) bool {
	if _, ok := sub.pos[s]; ok {
		return false
	}
	sub.pos[s] = len(sub.subs)
	sub.subs = append(sub.subs, s)
	return true
}

func (sub *subscription) remove(s *Session) {
	i, ok := sub.pos[s]
	if !ok {
		return
	}
	last := len(sub.subs) - 1
	sub.subs[i] = sub.subs[last]
	sub.pos[sub.subs[i]] = i
	sub.subs[last] = nil
	sub.subs = sub.subs[:last]
	delete(sub.pos, s)
}

func (sub *subscription) details() wamp.Dict {
	d := wamp.Dict{"id": sub.id, "created": sub.created.UTC().Format(time.RFC3339Nano), "uri": string(sub.topic), "match": sub.match}
	if sub.filter != nil {
		d["x_filter"] = sub.filter.String()
	}
	return d
}

// broker routes publications to subscriptions.
type broker struct {
	realm    *Realm
	mu       sync.RWMutex
	index    *patternIndex[*topicEntry]
	byID     map[wamp.ID]*subscription
	retained retainedEvents
	pers     *persistence // persistent subscriptions (persist*.go); nil without a store
}

func newBroker(rl *Realm) *broker {
	b := &broker{realm: rl, index: newPatternIndex[*topicEntry](), byID: map[wamp.ID]*subscription{}}
	b.pers = newPersistence(b)
	return b
}

// each calls fn for every subscription (filtered or not) whose pattern matches uri. Callers hold b.mu.
func (b *broker) each(uri wamp.URI, fn func(*subscription)) {
	b.index.each(uri, func(_ string, e *topicEntry) {
		if e.plain != nil {
			fn(e.plain)
		}
		for _, sub := range e.filtered {
			fn(sub)
		}
	})
}

// publication is one event to deliver.
type publication struct {
	id        wamp.ID
	topic     wamp.URI
	publisher *Session // nil for the router's own (meta) events
	excludeMe bool
	args      wamp.List
	kwargs    wamp.Dict
	details   wamp.Dict // publisher disclosure and passthru keys; nil when none
	filter    *deliveryFilter
	class     *events.Class // the event class of the topic; nil when none
	retain    bool          // PUBLISH.Options.retain
	// epoch is the persistence epoch the publication was matched against persistent logs at;
	// 0 when it was not (see attachment.epoch).
	epoch uint64
}

// deliveryFilter holds the subscriber black- and whitelists of a PUBLISH.
type deliveryFilter struct {
	exclude, eligible                 map[wamp.ID]struct{}
	excludeAuthID, eligibleAuthID     map[string]struct{}
	excludeAuthRole, eligibleAuthRole map[string]struct{}
}

func (f *deliveryFilter) allows(s *Session) bool {
	if f.eligible != nil {
		if _, ok := f.eligible[s.id]; !ok {
			return false
		}
	}
	if f.eligibleAuthID != nil {
		if _, ok := f.eligibleAuthID[s.authid]; !ok {
			return false
		}
	}
	if f.eligibleAuthRole != nil {
		if _, ok := f.eligibleAuthRole[s.authrole]; !ok {
			return false
		}
	}
	if _, ok := f.exclude[s.id]; ok {
		return false
	}
	if _, ok := f.excludeAuthID[s.authid]; ok {
		return false
	}
	if _, ok := f.excludeAuthRole[s.authrole]; ok {
		return false
	}
	return true
}

func parseDeliveryFilter(o wamp.Dict) (*deliveryFilter, error) {
	var f deliveryFilter
	var err error
	any := false
	ids := []struct {
		key string
		dst *map[wamp.ID]struct{}
	}{{"exclude", &f.exclude}, {"eligible", &f.eligible}}
	for _, x := range ids {
		if *x.dst, err = optIDSet(o, x.key); err != nil {
			return nil, err
		}
		any = any || *x.dst != nil
	}
	strs := []struct {
		key string
		dst *map[string]struct{}
	}{
		{"exclude_authid", &f.excludeAuthID}, {"eligible_authid", &f.eligibleAuthID},
		{"exclude_authrole", &f.excludeAuthRole}, {"eligible_authrole", &f.eligibleAuthRole},
	}
	for _, x := range strs {
		if *x.dst, err = optStringSet(o, x.key); err != nil {
			return nil, err
		}
		any = any || *x.dst != nil
	}
	if !any {
		return nil, nil
	}
	return &f, nil
}

// publish handles PUBLISH.
func (b *broker) publish(s *Session, m *wamp.Publish) {
	rl := b.realm
	if !rl.uri.valid(m.Topic, false, false) {
		s.sendError(wamp.PUBLISH, m.Request, wamp.ErrInvalidURI, "invalid topic URI \""+string(m.Topic)+"\"")
		return
	}
	if reserved(m.Topic) {
		s.sendError(wamp.PUBLISH, m.Request, wamp.ErrInvalidURI, "topic \""+string(m.Topic)+"\" is in a namespace reserved for the router")
		return
	}
	if !s.authorize(auth.Publish, wamp.PUBLISH, m.Request, m.Topic) {
		return
	}
	if m.Options["ppt_scheme"] != nil && !s.features.publisherPassthru {
		s.protocolViolation("PUBLISH in payload passthru mode, but the publisher did not announce payload_passthru_mode")
		return
	}
	class := b.realm.Events().ByTopic(string(m.Topic))
	if class != nil {
		if err := class.Validate(m.Args, m.Kwargs); err != nil {
			s.sendError(wamp.PUBLISH, m.Request, wamp.ErrInvalidArgument, "event class \""+class.Name()+"\": "+err.Error())
			return
		}
	}
	p, ack, err := b.parsePublish(s, m)
	if err != nil {
		var oe *optionError
		uri := wamp.ErrInvalidArgument
		if errors.As(err, &oe) && oe == errDiscloseDisallowed {
			uri = wamp.ErrOptionDisallowedDisclose
		}
		s.sendError(wamp.PUBLISH, m.Request, uri, err.Error())
		return
	}
	p.class = class
	// Durable hook (persist_publish.go): the event history and the logs of persistent
	// subscriptions are written before delivery; what persistent subscriptions need and the
	// store cannot keep is refused when the publisher asked for an acknowledgement.
	logged, err := b.storeDurably(p)
	if err != nil && ack {
		s.sendError(wamp.PUBLISH, m.Request, wamp.ErrUnavailable, err.Error())
		return
	}
	if p.retain {
		b.retain(p)
	}
	b.deliverLogged(p, logged)
	if ack {
		s.send(&wamp.Published{Request: m.Request, Publication: p.id})
	}
}

var errDiscloseDisallowed = &optionError{msg: "this realm does not allow disclose_me"}

func (b *broker) parsePublish(s *Session, m *wamp.Publish) (*publication, bool, error) {
	o := m.Options
	ack, err := optBool(o, "acknowledge", false)
	if err != nil {
		return nil, false, err
	}
	excludeMe, err := optBool(o, "exclude_me", true)
	if err != nil {
		return nil, false, err
	}
	disclose, err := optBool(o, "disclose_me", false)
	if err != nil {
		return nil, false, err
	}
	retain, err := optBool(o, "retain", false)
	if err != nil {
		return nil, false, err
	}
	cfg := b.realm.cfg
	if disclose && !cfg.AllowDisclose {
		return nil, false, errDiscloseDisallowed
	}
	filter, err := parseDeliveryFilter(o)
	if err != nil {
		return nil, false, err
	}
	var details wamp.Dict
	if details, err = pptOptions(o, details); err != nil {
		return nil, false, err
	}
	if disclose || cfg.AlwaysDisclosePublisher || s.disclosedByRole(auth.Publish, m.Topic) {
		if details == nil {
			details = wamp.Dict{}
		}
		details["publisher"] = s.id
		details["publisher_authid"] = s.authid
		details["publisher_authrole"] = s.authrole
	}
	return &publication{
		id: randomID(), topic: m.Topic, publisher: s, excludeMe: excludeMe,
		args: m.Args, kwargs: m.Kwargs, details: details, filter: filter, retain: retain,
	}, ack, nil
}

// deliver sends p to every matching subscriber. Each subscription's EVENT is encoded at most once per
// serializer; the encoded bytes are shared by all its subscribers' queues. Filtered subscriptions are
// found through each topic entry's filter index, with the event's fields extracted once.
func (b *broker) deliver(p *publication) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	b.deliverLocked(p)
}

// deliverLocked is deliver for callers that hold b.mu.
func (b *broker) deliverLocked(p *publication) {
	var ev *query.Event
	entry := func(match string, e *topicEntry, check *events.Class) {
		if e.plain != nil {
			b.deliverTo(p, match, e.plain, check)
		}
		if len(e.filtered) > 0 {
			if ev == nil {
				ev = query.NewEvent(p.kwargs, p.meta())
			}
			e.filters.Match(ev, func(sub any) { b.deliverTo(p, match, sub.(*subscription), check) })
		}
	}
	// A class that is not public is checked per subscriber: on pattern subscriptions, and on
	// exact ones too, which were checked at SUBSCRIBE against the class as it was then (a class
	// redefined at run time, Realm.DefineEventClass, may have narrowed its visibility since).
	var check *events.Class
	if p.class != nil && !p.class.Visible("", false) {
		check = p.class
	}
	b.index.each(p.topic, func(match string, e *topicEntry) { entry(match, e, check) })
	if p.class != nil {
		// Subscribers to a class receive the events of its subclasses.
		for _, a := range p.class.Ancestors() {
			if e, ok := b.index.get(matchExact, wamp.URI(a.Topic())); ok {
				entry(matchAncestor, e, check)
			}
		}
	}
	if ev != nil {
		ev.Release()
	}
}

// matchAncestor marks a delivery to the subscribers of a parent class: EVENT.Details carries the
// concrete topic as for pattern subscriptions.
const matchAncestor = "ancestor"

// meta is what filters can address besides the kwargs.
func (p *publication) meta() query.Meta {
	m := query.Meta{Topic: string(p.topic)}
	if p.class != nil {
		m.Class = p.class.Name()
	}
	if id, ok := p.details["publisher_authid"].(string); ok {
		m.Publisher = id // only when the publisher is disclosed
	}
	return m
}

// deliverTo queues p's EVENT for sub on every subscriber it is eligible for; with class set, only on
// subscribers that may see that class.
func (b *broker) deliverTo(p *publication, match string, sub *subscription, class *events.Class) {
	var enc [4][]byte
	var ev *wamp.Event
	durable := sub.durable
	for _, s := range sub.subs {
		if s == p.publisher && p.excludeMe {
			continue
		}
		if durable != nil {
			if a := durable[s]; a != nil && p.epoch >= a.epoch {
				continue // delivered through the subscription's log (persist_publish.go)
			}
		}
		if p.filter != nil && !p.filter.allows(s) {
			continue
		}
		if class != nil && !s.sees(class) {
			continue
		}
		if ev == nil {
			ev = &wamp.Event{Subscription: sub.id, Publication: p.id, Details: eventDetails(p, match), Args: p.args, Kwargs: p.kwargs}
		}
		buf := enc[s.serIdx]
		if buf == nil {
			var err error
			if buf, err = s.ser.Encode(nil, ev); err != nil {
				b.realm.router.log.Error("cannot encode EVENT", "topic", p.topic, "err", err)
				return
			}
			enc[s.serIdx] = buf
		}
		if err := s.conn.Send(buf); err == peer.ErrTooBig {
			b.realm.router.log.Debug("EVENT larger than the subscriber accepts; not delivered", "session", s.id, "topic", p.topic)
		}
	}
}

// eventDetails builds EVENT.Details for a subscription with the given match policy.
func eventDetails(p *publication, match string) wamp.Dict {
	if match == matchExact {
		if p.details == nil {
			return wamp.Dict{}
		}
		return p.details
	}
	d := make(wamp.Dict, len(p.details)+1)
	for k, v := range p.details {
		d[k] = v
	}
	d["topic"] = string(p.topic)
	return d
}

// publishMeta publishes a router-originated event (meta API) on topic.
func (b *broker) publishMeta(topic wamp.URI, args wamp.List, kwargs wamp.Dict) {
	b.deliver(&publication{id: randomID(), topic: topic, args: args, kwargs: kwargs})
}

// subscribe handles SUBSCRIBE, including filtered subscriptions (option x_filter, or a topic derived by
// gateway.query.topic).
func (b *broker) subscribe(s *Session, m *wamp.Subscribe) {
	match, err := parseMatch(m.Options)
	var getRetained bool
	if err == nil {
		getRetained, err = optBool(m.Options, "get_retained", false)
	}
	if err != nil {
		s.sendError(wamp.SUBSCRIBE, m.Request, wamp.ErrInvalidArgument, err.Error())
		return
	}
	topic := m.Topic
	filterOpt, hasFilter := m.Options[optFilter]
	if derived, src, ok := decodeQueryTopic(topic); ok {
		if hasFilter || match != matchExact {
			s.sendError(wamp.SUBSCRIBE, m.Request, wamp.ErrInvalidArgument, "a topic from gateway.query.topic takes neither x_filter nor a match policy")
			return
		}
		topic, filterOpt, hasFilter = derived, src, true
	}
	if !b.realm.uri.validMatch(topic, match) {
		s.sendError(wamp.SUBSCRIBE, m.Request, wamp.ErrInvalidURI, "invalid topic URI \""+string(topic)+"\" for match \""+match+"\"")
		return
	}
	if !s.authorize(auth.Subscribe, wamp.SUBSCRIBE, m.Request, topic) {
		return
	}
	var schema *query.Schema
	if match == matchExact {
		if c := b.realm.Events().ByTopic(string(topic)); c != nil {
			if !s.sees(c) {
				s.sendError(wamp.SUBSCRIBE, m.Request, wamp.ErrNotAuthorized, "the events of class \""+c.Name()+"\" are not visible to role \""+s.authrole+"\"")
				return
			}
			schema = c.Schema()
		}
	}
	var filter *query.Filter
	if hasFilter {
		if filter, err = compileFilter(filterOpt, schema); err != nil {
			s.sendError(wamp.SUBSCRIBE, m.Request, wamp.ErrInvalidArgument, err.Error())
			return
		}
	}
	// Persistence hook (persist_subscribe.go): x_persistent, or a returning client's record.
	persist, ie := b.persistIntent(s, m.Options, match, topic, filter)
	if ie != nil {
		s.sendError(wamp.SUBSCRIBE, m.Request, ie.uri, ie.msg)
		return
	}
	b.mu.Lock()
	if !s.live() {
		b.mu.Unlock()
		return
	}
	sub, created, err := b.subscriptionLocked(match, topic, filter)
	if err != nil {
		b.mu.Unlock()
		s.sendError(wamp.SUBSCRIBE, m.Request, wamp.ErrInvalidArgument, err.Error())
		return
	}
	added := sub.add(s)
	if added {
		if s.subs == nil {
			s.subs = map[wamp.ID]*subscription{}
		}
		s.subs[sub.id] = sub
	}
	attached := b.attachLocked(s, sub, added, persist)
	// SUBSCRIBED (and the retained events) are queued under the lock so that no live EVENT for the
	// subscription can overtake them.
	s.send(&wamp.Subscribed{Request: m.Request, Subscription: sub.id})
	if getRetained {
		b.sendRetained(s, sub)
	}
	b.mu.Unlock()
	b.attached(attached) // starts the replay of a returning client
	if created {
		b.publishMeta(metaSubOnCreate, wamp.List{s.id, sub.details()}, nil)
	}
	if added {
		b.publishMeta(metaSubOnSubscribe, wamp.List{s.id, sub.id}, nil)
	}
}

// subscriptionLocked returns the subscription for (match, topic, filter), creating it when needed.
// Callers hold b.mu.
func (b *broker) subscriptionLocked(match string, topic wamp.URI, filter *query.Filter) (*subscription, bool, error) {
	e, ok := b.index.get(match, topic)
	if !ok {
		e = &topicEntry{topic: topic, match: match}
		b.index.put(match, topic, e)
	}
	if filter == nil {
		if e.plain == nil {
			e.plain = b.newSubscriptionLocked(e, nil)
			return e.plain, true, nil
		}
		return e.plain, false, nil
	}
	key := filter.String()
	if sub := e.filtered[key]; sub != nil {
		return sub, false, nil
	}
	if e.filters == nil {
		e.filters = query.NewIndex()
		e.filtered = map[string]*subscription{}
	}
	sub := b.newSubscriptionLocked(e, filter)
	h, err := e.filters.Add(filter, sub)
	if err != nil {
		delete(b.byID, sub.id)
		if e.empty() {
			b.index.del(match, topic)
		}
		return nil, false, err
	}
	sub.handle = h
	e.filtered[key] = sub
	return sub, true, nil
}

func (b *broker) newSubscriptionLocked(e *topicEntry, f *query.Filter) *subscription {
	sub := &subscription{id: unusedID(b.byID), topic: e.topic, match: e.match, created: time.Now(), pos: map[*Session]int{}, entry: e, filter: f}
	b.byID[sub.id] = sub
	return sub
}

// unsubscribe handles UNSUBSCRIBE.
func (b *broker) unsubscribe(s *Session, m *wamp.Unsubscribe) {
	b.mu.Lock()
	sub := s.subs[m.Subscription]
	if sub == nil {
		b.mu.Unlock()
		s.sendError(wamp.UNSUBSCRIBE, m.Request, wamp.ErrNoSuchSubscription, "no subscription with that ID in this session")
		return
	}
	deleted := b.removeLocked(s, sub)
	s.send(&wamp.Unsubscribed{Request: m.Request})
	b.mu.Unlock()
	b.publishUnsubscribe(s, sub.id, deleted)
}

// publishUnsubscribe publishes the meta events of s leaving subscription id (and of its deletion).
func (b *broker) publishUnsubscribe(s *Session, id wamp.ID, deleted bool) {
	b.publishMeta(metaSubOnUnsubscribe, wamp.List{s.id, id}, nil)
	if deleted {
		b.publishMeta(metaSubOnDelete, wamp.List{s.id, id}, nil)
	}
}

// removeLocked removes s from sub and deletes sub when it has no subscribers left.
func (b *broker) removeLocked(s *Session, sub *subscription) (deleted bool) {
	b.persistRemoveLocked(s, sub) // persist_subscribe.go
	sub.remove(s)
	delete(s.subs, sub.id)
	if len(sub.subs) > 0 {
		return false
	}
	e := sub.entry
	if sub.filter == nil {
		e.plain = nil
	} else {
		e.filters.Remove(sub.handle)
		delete(e.filtered, sub.filter.String())
	}
	if e.empty() {
		b.index.del(sub.match, sub.topic)
	}
	delete(b.byID, sub.id)
	return true
}

// detach removes all of s's subscriptions.
func (b *broker) detach(s *Session) {
	type change struct {
		id      wamp.ID
		deleted bool
	}
	b.mu.Lock()
	changes := make([]change, 0, len(s.subs))
	durable := false
	for _, sub := range s.subs {
		durable = durable || sub.durable[s] != nil
		changes = append(changes, change{sub.id, b.removeLocked(s, sub)})
	}
	b.mu.Unlock()
	b.persistFlush(durable) // the positions of its persistent subscriptions (persist_ack.go)
	for _, c := range changes {
		b.publishUnsubscribe(s, c.id, c.deleted)
	}
}
