package router

import (
	"errors"
	"fmt"

	"github.com/gateway-dev/gateway/internal/peer"
	"github.com/gateway-dev/gateway/internal/query"
	"github.com/gateway-dev/gateway/internal/store"
	"github.com/gateway-dev/gateway/wamp"
)

// logged is one publication's place in a persistent-subscription log.
type logged struct {
	log *plog
	seq uint64
}

// errNotStored refuses a publication that persistent subscriptions need kept when the store
// cannot keep it.
var errNotStored = errors.New("the event was not published: persistent subscriptions need it stored, and the store is unavailable")

// storeDurably writes what must be durable before p is delivered: its event history entry
// (history.go) and its place in the log of every persistent subscription pattern it matches, all
// in one commit. It sets p.epoch (see attachment.epoch). A history entry that cannot be written is lost
// with a warning; a publication that persistent subscriptions need and that cannot be stored is
// refused with an error (the caller answers wamp.error.unavailable, or delivers it live only when
// no acknowledgement was asked for).
func (b *broker) storeDurably(p *publication) ([]logged, error) {
	hist := b.historyAppend(p)
	var logs []*plog
	if pr := b.pers; pr != nil && pr.active.Load() > 0 {
		logs = pr.match(p)
	}
	if len(logs) == 0 {
		if hist != nil {
			if _, err := b.realm.cfg.Store.AppendBatch([]store.LogAppend{*hist}); err != nil {
				b.realm.router.log.Warn("event not recorded in the history", "topic", p.topic, "err", err)
			}
		}
		return nil, nil
	}
	payload, err := encodePersisted(p)
	if err != nil {
		p.epoch = 0
		return nil, fmt.Errorf("the event cannot be stored: %w", err)
	}
	entries := make([]store.LogAppend, 0, len(logs)+1)
	for _, l := range logs {
		entries = append(entries, store.LogAppend{Topic: l.key, Event: store.Event{PublicationID: uint64(p.id), Codec: persistCodec, Payload: payload}})
	}
	if hist != nil {
		entries = append(entries, *hist)
	}
	seqs, err := b.pers.st.AppendBatch(entries)
	if err != nil {
		p.epoch = 0 // delivered live, if at all, to every subscriber
		b.realm.router.log.Warn("publication not stored for persistent subscriptions", "topic", p.topic, "err", err)
		return nil, fmt.Errorf("%w: %v", errNotStored, err)
	}
	out := make([]logged, len(logs))
	for i, l := range logs {
		out[i] = logged{log: l, seq: seqs[i]}
	}
	return out, nil
}

// match returns the active logs whose pattern p matches (as the broker's deliver does: topic
// pattern, ancestors of p's class for exact subscriptions, filter) and sets p.epoch.
func (pr *persistence) match(p *publication) []*plog {
	pr.mu.RLock()
	defer pr.mu.RUnlock()
	p.epoch = pr.epoch
	var out []*plog
	var ev *query.Event
	entry := func(e *plogEntry) {
		if e.plain != nil {
			out = append(out, e.plain)
		}
		if len(e.filtered) > 0 {
			if ev == nil {
				ev = query.NewEvent(p.kwargs, p.meta())
			}
			e.filters.Match(ev, func(l any) { out = append(out, l.(*plog)) })
		}
	}
	pr.index.each(p.topic, func(_ string, e *plogEntry) { entry(e) })
	if p.class != nil {
		for _, a := range p.class.Ancestors() {
			if e, ok := pr.index.get(matchExact, wamp.URI(a.Topic())); ok {
				entry(e)
			}
		}
	}
	if ev != nil {
		ev.Release()
	}
	return out
}

// deliverLogged delivers p to the ordinary subscribers and, through the logs it was appended to,
// to the attached sessions, in one read-locked section: a session switching between ordinary and
// persistent delivery (under the write lock) sees each publication either before both or after
// both (see attachLocked).
func (b *broker) deliverLogged(p *publication, in []logged) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	b.deliverLocked(p)
	for _, lg := range in {
		lg.log.push(b, lg.seq, p)
	}
}

// push queues p under seq and delivers, in order, every publication from the log's next number
// on that is there.
func (l *plog) push(b *broker, seq uint64, p *publication) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if seq < l.next {
		return // appended by a publisher that matched the log before a restart of its numbering; cannot happen
	}
	l.pending[seq] = p
	for {
		q := l.pending[l.next]
		if q == nil {
			return
		}
		delete(l.pending, l.next)
		l.sendLive(b, l.next, q)
		l.next++
		l.delivered.Store(l.next - 1)
	}
}

// sendLive sends the EVENT of seq to every live attached session that may receive it. Callers
// hold l.mu.
func (l *plog) sendLive(b *broker, seq uint64, p *publication) {
	var enc [4][]byte
	var encID [4]wamp.ID
	for _, a := range l.atts {
		if !a.live {
			continue
		}
		if _, ok := a.skip[seq]; ok {
			delete(a.skip, seq)
			a.advance(b.pers, seq)
			continue
		}
		if !a.eligible(p) {
			a.advance(b.pers, seq)
			continue
		}
		s := a.s
		var buf []byte
		if a.gap == nil && encID[s.serIdx] == a.sub.id {
			buf = enc[s.serIdx]
		}
		if buf == nil {
			var err error
			buf, err = s.ser.Encode(nil, a.event(p, seq, a.gap))
			if err != nil {
				b.realm.router.log.Error("cannot encode EVENT", "topic", p.topic, "err", err)
				continue
			}
			if a.gap == nil {
				enc[s.serIdx], encID[s.serIdx] = buf, a.sub.id
			}
			a.gap = nil
		}
		if a.sendBytes(b, buf, p) {
			a.advance(b.pers, seq)
		}
	}
}

// eligible reports whether a's session may receive p: the publication's black/white lists,
// publisher exclusion, and its event class's visibility.
func (a *attachment) eligible(p *publication) bool {
	s := a.s
	if p.publisher == s && p.excludeMe {
		return false
	}
	if p.filter != nil && !p.filter.allows(s) {
		return false
	}
	return p.class == nil || s.sees(p.class)
}

// event builds the EVENT of p with sequence number seq for a, with the gap notice gap (x_gap)
// when it is not nil.
func (a *attachment) event(p *publication, seq uint64, gap wamp.Dict) *wamp.Event {
	match := a.sub.match
	if match == matchExact && p.topic != a.sub.topic {
		match = matchAncestor // a subclass's event for a subscription to its class
	}
	d := eventDetails(p, match)
	details := make(wamp.Dict, len(d)+2)
	for k, v := range d {
		details[k] = v
	}
	details["x_seq"] = int64(seq)
	if gap != nil {
		details["x_gap"] = gap
	}
	return &wamp.Event{Subscription: a.sub.id, Publication: p.id, Details: details, Args: p.args, Kwargs: p.kwargs}
}

// sendBytes queues an encoded EVENT on a's session; it reports whether the event counts as
// delivered (queued, or too large for the client ever to receive it).
func (a *attachment) sendBytes(b *broker, buf []byte, p *publication) bool {
	switch err := a.s.conn.Send(buf); err {
	case nil:
		return true
	case peer.ErrTooBig:
		b.realm.router.log.Debug("EVENT larger than the subscriber accepts; not delivered", "session", a.s.id, "topic", p.topic)
		return true
	default:
		return false
	}
}

// advance records seq as delivered to a's subscription. Callers hold the log's mu.
func (a *attachment) advance(pr *persistence, seq uint64) {
	if a.rec.att != a || seq <= a.rec.pos.Load() {
		return
	}
	a.rec.pos.Store(seq)
	pr.markDirty(a.rec)
}
