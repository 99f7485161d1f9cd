package router

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/query"
	"github.com/gateway-dev/gateway/internal/store"
	"github.com/gateway-dev/gateway/wamp"
)

// Persistent subscriptions (docs/PERSISTENCE.md).
//
// A persistent subscription belongs to a client (the client id of its identity token) and is
// identified by (client, realm, topic, match policy, canonical filter). Its record lives in the
// store with the last sequence number delivered to the client. Publications matching it are
// appended to an event log before they are delivered and before PUBLISHED is sent.
//
// One log per distinct (topic, match, filter) of persistent subscriptions ("plog"), shared by
// every client persisting that same subscription: a publication is appended once per matching
// pattern, whatever the number of clients, and each client's position is one sequence number in
// its pattern's log, so one EVENT.Details.x_seq orders everything a subscription receives (also
// across the topics a prefix subscription covers). The appends of one publication to several logs
// share one commit (store.AppendBatch). Ordinary subscriptions cost nothing on the publish path:
// the broker's delivery loop skips the sessions attached to a log only for subscriptions that have
// such sessions (subscription.durable).
//
// Delivery to an attached session goes through its log in sequence order (plog.pending and
// plog.next): the publisher that completes the next number delivers it and the ones queued behind
// it, under plog.mu, so concurrent publishers cannot reorder x_seq. A returning client replays
// its backlog from the store (persist_replay.go) and switches to live delivery under plog.mu at a
// sequence number, so nothing is lost or doubled at the switch.
//
// Lock order: broker.mu, then persistence.mu, then plog.mu, then persistence.ackMu.

// Procedures of persistent subscriptions, for clients that cannot add SUBSCRIBE options.
const (
	procSubPersist wamp.URI = "gateway.subscription.persist"
	procSubForget  wamp.URI = "gateway.subscription.forget"
	// topicOnGap carries [subscription, {from, to, lost}] to the one session whose persistent
	// subscription missed events that retention dropped.
	topicOnGap wamp.URI = "gateway.subscription.on_gap"
)

// optPersistent is the SUBSCRIBE option that makes a subscription persistent.
const optPersistent = "x_persistent"

// logID names a plog: a (topic pattern, match, canonical filter) of persistent subscriptions.
type logID struct {
	topic  wamp.URI
	match  string
	filter string
}

// persistence holds a realm's persistent subscriptions. It is nil when the realm has no store.
type persistence struct {
	b   *broker
	st  *store.Store
	log *slog.Logger

	mu      sync.RWMutex
	index   *patternIndex[*plogEntry] // active logs (with records), matched by publish
	logs    map[logID]*plog           // every log used since start; kept so a log's sequence stays in one object
	records map[store.SubKey]*record
	epoch   uint64       // incremented when a log becomes active
	active  atomic.Int64 // active logs: 0 keeps publishing free of any lookup

	ackMu    sync.Mutex
	dirty    []*record // positions not yet written to the store
	ackTimer *time.Timer

	replays sync.WaitGroup // running replay goroutines
}

// plogEntry holds the active logs of one (topic pattern, match): the unfiltered one and the
// filtered ones, found through a filter index as the broker's topicEntry does.
type plogEntry struct {
	plain    *plog
	filtered map[string]*plog
	filters  *query.Index
}

// plog is the event log of one persistent-subscription pattern.
type plog struct {
	id     logID
	key    string // the store's log name: realm, topic, match, filter separated by spaces
	filter *query.Filter
	handle query.Handle // in the entry's filter index while active

	// Guarded by persistence.mu.
	epoch   uint64 // persistence.epoch when it last became active
	records int    // records that use the log; the log is active while > 0

	mu      sync.Mutex
	next    uint64                  // the next sequence number to deliver live
	pending map[uint64]*publication // appended, waiting for a lower number
	atts    []*attachment           // sessions receiving from this log (live or replaying)
	// delivered is next-1, readable without mu (replay uses it to see how far it is behind).
	delivered atomic.Uint64
}

// record is one persistent subscription.
type record struct {
	key    store.SubKey
	log    *plog
	authid string        // the authid it belongs to ("" for anonymous clients); guarded by persistence.mu
	pos    atomic.Uint64 // last sequence number delivered to the client (authoritative)
	acked  atomic.Uint64 // last position written to the store
	dirty  atomic.Bool   // queued in persistence.dirty
	att    *attachment   // the session receiving it, if any; guarded by log.mu
}

// attachment is a session receiving a persistent subscription's events.
type attachment struct {
	rec   *record
	s     *Session
	sub   *subscription
	epoch uint64 // the log's epoch: publications matched at or after it are delivered through the log

	// Guarded by rec.log.mu.
	live     bool                // false while the backlog is replayed
	skip     map[uint64]struct{} // numbers the session received before it was attached
	gap      wamp.Dict           // x_gap for the next EVENT, when retention dropped events
	detached bool                // also guarded by sendMu
	stop     chan struct{}       // closed when detached

	// sendMu is held by the replay while it sends a batch without the log's lock; detach takes it
	// too, so no replayed EVENT follows the end of the attachment (an UNSUBSCRIBED, say).
	sendMu sync.Mutex
}

// logKey returns the store's name of the log of id in the realm: realm, topic, match and filter
// separated by spaces (no URI contains one; the filter comes last and may). History logs are
// "realm topic" (one space).
func (b *broker) logKey(id logID) string {
	return string(b.realm.cfg.Name) + " " + string(id.topic) + " " + id.match + " " + id.filter
}

// subKey is the store's key of client's persistent subscription to id in the realm.
func (b *broker) subKey(client string, id logID) store.SubKey {
	return store.SubKey{Owner: client, Topic: string(b.realm.cfg.Name) + " " + string(id.topic), Match: id.match, Filter: id.filter}
}

// newPersistence returns the persistence of b's realm, or nil when the realm has no store.
func newPersistence(b *broker) *persistence {
	st := b.realm.cfg.Store
	if st == nil {
		return nil
	}
	return &persistence{
		b: b, st: st, log: b.realm.router.log,
		index: newPatternIndex[*plogEntry](), logs: map[logID]*plog{}, records: map[store.SubKey]*record{},
	}
}

// loadPersistent reads the realm's persistent subscriptions from the store at start, so that
// their events are logged while their clients are away.
func (b *broker) loadPersistent() {
	pr := b.pers
	if pr == nil {
		return
	}
	prefix := string(b.realm.cfg.Name) + " "
	var subs []store.Subscription
	err := pr.st.EachSubscription(func(sub store.Subscription) bool {
		if strings.HasPrefix(sub.Key.Topic, prefix) { // else another realm's
			subs = append(subs, sub)
		}
		return true
	})
	if err != nil {
		pr.log.Warn("persistent subscriptions not loaded: their events are not kept until a client subscribes again", "realm", b.realm.cfg.Name, "err", err)
	}
	n := 0
	for _, sub := range subs {
		topic := sub.Key.Topic[len(prefix):]
		if err := pr.load(sub, wamp.URI(topic)); err != nil {
			pr.log.Warn("persistent subscription not loaded", "client", sub.Key.Owner, "topic", topic, "match", sub.Key.Match, "filter", sub.Key.Filter, "err", err)
			continue
		}
		n++
	}
	if n > 0 {
		pr.log.Info("persistent subscriptions loaded", "realm", b.realm.cfg.Name, "count", n)
	}
}

// load adds one stored subscription.
func (pr *persistence) load(sub store.Subscription, topic wamp.URI) error {
	var filter *query.Filter
	if sub.Key.Filter != "" {
		var err error
		if filter, err = compileFilter(sub.Key.Filter, pr.b.schemaFor(sub.Key.Match, topic)); err != nil {
			return err
		}
		if filter == nil || filter.String() != sub.Key.Filter {
			return errors.New("its filter no longer compiles to the same canonical form")
		}
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	l, err := pr.logLocked(logID{topic: topic, match: sub.Key.Match, filter: sub.Key.Filter}, filter)
	if err != nil {
		return err
	}
	rec := &record{key: sub.Key, log: l, authid: sub.AuthID}
	pos := min(sub.Delivered[l.key], l.delivered.Load())
	rec.pos.Store(pos)
	rec.acked.Store(pos)
	pr.addRecordLocked(rec)
	return nil
}

// schemaFor returns the schema filters of (match, topic) are checked against: the event class's
// for an exact topic of a class.
func (b *broker) schemaFor(match string, topic wamp.URI) *query.Schema {
	if match != matchExact {
		return nil
	}
	if c := b.realm.Events().ByTopic(string(topic)); c != nil {
		return c.Schema()
	}
	return nil
}

// logLocked returns the log of id, creating it (positioned after the store's last event) when
// needed. Callers hold pr.mu; a new log reads the store (see ensureLog).
func (pr *persistence) logLocked(id logID, filter *query.Filter) (*plog, error) {
	if l := pr.logs[id]; l != nil {
		return l, nil
	}
	newest, err := pr.st.Newest(pr.b.logKey(id))
	if err != nil {
		return nil, err
	}
	return pr.addLogLocked(id, filter, newest), nil
}

func (pr *persistence) addLogLocked(id logID, filter *query.Filter, newest uint64) *plog {
	l := &plog{id: id, key: pr.b.logKey(id), filter: filter, pending: map[uint64]*publication{}}
	l.next = newest + 1
	l.delivered.Store(newest)
	pr.logs[id] = l
	return l
}

// ensureLog creates the log of id unless it exists, reading the store without holding pr.mu, and
// returns its last sequence number.
func (pr *persistence) ensureLog(id logID, filter *query.Filter) (uint64, error) {
	pr.mu.RLock()
	l := pr.logs[id]
	pr.mu.RUnlock()
	if l != nil {
		return l.delivered.Load(), nil
	}
	// No appends to the log can happen before it exists: only an active log is appended to.
	newest, err := pr.st.Newest(pr.b.logKey(id))
	if err != nil {
		return 0, err
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if l := pr.logs[id]; l != nil {
		return l.delivered.Load(), nil
	}
	pr.addLogLocked(id, filter, newest)
	return newest, nil
}

// addRecordLocked registers rec and activates its log. Callers hold pr.mu.
func (pr *persistence) addRecordLocked(rec *record) {
	pr.records[rec.key] = rec
	l := rec.log
	l.records++
	if l.records > 1 {
		return
	}
	// The log becomes active: publications matched from now on are appended to it.
	pr.epoch++
	l.epoch = pr.epoch
	e, ok := pr.index.get(l.id.match, l.id.topic)
	if !ok {
		e = &plogEntry{}
		pr.index.put(l.id.match, l.id.topic, e)
	}
	if l.filter == nil {
		e.plain = l
	} else {
		if e.filters == nil {
			e.filters, e.filtered = query.NewIndex(), map[string]*plog{}
		}
		h, err := e.filters.Add(l.filter, l)
		if err != nil { // cannot happen: the same filter was indexed when it was subscribed
			pr.log.Error("persistent subscription filter not indexed", "filter", l.id.filter, "err", err)
		}
		l.handle = h
		e.filtered[l.id.filter] = l
	}
	pr.active.Add(1)
}

// removeRecordLocked forgets rec and deactivates its log when no record uses it any more; it
// reports whether it did. Callers hold pr.mu.
func (pr *persistence) removeRecordLocked(rec *record) bool {
	if pr.records[rec.key] != rec {
		return false
	}
	delete(pr.records, rec.key)
	l := rec.log
	l.records--
	if l.records > 0 {
		return false
	}
	if e, ok := pr.index.get(l.id.match, l.id.topic); ok {
		if l.filter == nil {
			e.plain = nil
		} else {
			e.filters.Remove(l.handle)
			delete(e.filtered, l.id.filter)
		}
		if e.plain == nil && len(e.filtered) == 0 {
			pr.index.del(l.id.match, l.id.topic)
		}
	}
	pr.active.Add(-1)
	return true
}

// StoreOptions returns the store options that the [store] settings imply: the sync policy, the
// limit of persistent subscriptions per client, and the retention of event logs — the first
// [[store.retention]] rule matching a log's topic (for the log of a prefix or wildcard persistent
// subscription: its pattern), with persistent-subscription logs further bounded by max_backlog.
func StoreOptions(cfg *config.Store, log *slog.Logger) store.Options {
	o := store.Options{Logger: log, MaxSubscriptionsPerClient: cfg.PersistentSubscriptionLimit()}
	if cfg.SyncMode() == config.SyncAlways {
		o.Sync.Mode = store.SyncAlways
	}
	rules := append([]config.RetentionRule(nil), cfg.Retention...)
	c := config.Store{Retention: rules}
	backlog := uint64(cfg.BacklogLimit())
	o.Retention = func(key string) store.Retention {
		parts := strings.SplitN(key, " ", 3)
		if len(parts) < 2 {
			return store.Retention{}
		}
		var r store.Retention
		if rule := c.RetentionFor(parts[1]); rule != nil {
			r = store.Retention{MaxCount: uint64(rule.MaxEvents), MaxAge: rule.MaxAge, MaxBytes: uint64(rule.MaxBytes)}
		}
		if len(parts) == 3 && (r.MaxCount == 0 || r.MaxCount > backlog) { // a persistent subscription's log
			r.MaxCount = backlog
		}
		return r
	}
	return o
}

// HistoryRetention returns RealmConfig.HistoryRetention for the [[store.retention]] rules of cfg:
// history is kept for the topics a rule matches, within its bounds; nil when there are no rules.
func HistoryRetention(cfg *config.Store) func(topic string) (store.Retention, bool) {
	if len(cfg.Retention) == 0 {
		return nil
	}
	c := config.Store{Retention: append([]config.RetentionRule(nil), cfg.Retention...)}
	return func(topic string) (store.Retention, bool) {
		rule := c.RetentionFor(topic)
		if rule == nil {
			return store.Retention{}, false
		}
		return store.Retention{MaxCount: uint64(rule.MaxEvents), MaxAge: rule.MaxAge, MaxBytes: uint64(rule.MaxBytes)}, true
	}
}
