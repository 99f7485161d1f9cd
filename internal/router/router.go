// Package router implements the WAMP v2 router: realms, sessions, the broker (publish/subscribe), the
// dealer (routed RPC) and the session, subscription, registration and testament meta APIs.
//
// Transports hand connections to Router.Accept (see internal/peer); every inbound message is handled on
// the connection's reader goroutine. Shared state lives in the realm's broker and dealer behind their
// own locks; outbound messages are queued on connections without blocking, so no lock is ever held while
// writing to a socket. An EVENT is encoded once per subscription and serializer and the same bytes are
// queued to every subscriber.
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gateway-dev/gateway/internal/auth"
	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/events"
	"github.com/gateway-dev/gateway/internal/peer"
	"github.com/gateway-dev/gateway/internal/store"
	"github.com/gateway-dev/gateway/wamp"
)

// RealmConfig configures one realm.
type RealmConfig struct {
	// Name is the realm's URI, e.g. "realm1".
	Name wamp.URI
	// StrictURIs applies the spec's strict URI rules ([0-9a-z_] components) instead of the loose ones.
	StrictURIs bool
	// MaxSessions limits concurrent sessions in the realm; 0 means unlimited.
	MaxSessions int
	// AllowDisclose honours disclose_me from publishers and callers; when false such a request gets
	// ERROR wamp.error.option_disallowed.disclose_me.
	AllowDisclose bool
	// AlwaysDisclosePublisher and AlwaysDiscloseCaller disclose identities whatever the client asks.
	AlwaysDisclosePublisher bool
	AlwaysDiscloseCaller    bool
	// Authenticator authenticates HELLOs; nil admits anonymous sessions only.
	Authenticator *auth.Authenticator
	// Authorizer decides what each role may do; nil (or one without roles) allows everything.
	Authorizer *auth.Authorizer
	// Events holds the realm's event classes; nil means none.
	Events *events.Registry
	// EventClasses are the definitions Events was built from, which Realm.DefineEventClass
	// rebuilds the registry from (with the new class); Roles names the realm's configured roles,
	// which a defined class's visibility may list (nil: no roles configured, any role may be
	// listed). When Events is nil and EventClasses is not, New builds the registry.
	EventClasses []config.EventClass
	Roles        []string
	// Store keeps durable state (retained events); nil keeps them in memory only.
	Store *store.Store
	// HistoryRetention, when set, says whether event history is kept for topic (beyond the event
	// classes with retention) and within which bounds: the [[store.retention]] rules.
	HistoryRetention func(topic string) (store.Retention, bool)
}

// Config configures a Router.
type Config struct {
	Realms []RealmConfig
	// HelloTimeout is how long a new connection may take to send HELLO (default 10s).
	HelloTimeout time.Duration
	// GoodbyeTimeout is how long the router waits for a client to answer the router's GOODBYE before it
	// closes the connection (default 5s).
	GoodbyeTimeout time.Duration
	// Tokens issues and recognises client identity tokens; nil disables them.
	Tokens *auth.Tokens
	// Logger receives the router's log records (default slog.Default()).
	Logger *slog.Logger
}

// Router routes WAMP messages between sessions of its realms. It implements peer.Acceptor.
type Router struct {
	cfg    Config
	log    *slog.Logger
	realms map[wamp.URI]*Realm

	mu       sync.Mutex
	sessions map[*Session]struct{} // every connection that has not closed yet
	ids      map[wamp.ID]*Session  // session IDs in use (global scope)
	closing  bool
	drained  chan struct{} // closed when closing and sessions is empty
}

// New creates a router with the given realms.
func New(cfg Config) (*Router, error) {
	if cfg.HelloTimeout <= 0 {
		cfg.HelloTimeout = 10 * time.Second
	}
	if cfg.GoodbyeTimeout <= 0 {
		cfg.GoodbyeTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &Router{
		cfg:      cfg,
		log:      cfg.Logger,
		realms:   map[wamp.URI]*Realm{},
		sessions: map[*Session]struct{}{},
		ids:      map[wamp.ID]*Session{},
		drained:  make(chan struct{}),
	}
	for _, rc := range cfg.Realms {
		if !(uriRule{}).valid(rc.Name, false, false) {
			return nil, fmt.Errorf("router: realm name %q is not a valid URI", rc.Name)
		}
		if _, dup := r.realms[rc.Name]; dup {
			return nil, fmt.Errorf("router: realm %q configured twice", rc.Name)
		}
		if rc.Events == nil && len(rc.EventClasses) > 0 {
			reg, err := events.NewRegistry(rc.EventClasses)
			if err != nil {
				return nil, fmt.Errorf("router: realm %q: %w", rc.Name, err)
			}
			rc.Events = reg
		}
		rl := newRealm(r, rc)
		rl.broker.loadRetained()
		r.realms[rc.Name] = rl
	}
	return r, nil
}

// Accept implements peer.Acceptor: it starts a session that waits for HELLO.
func (r *Router) Accept(c peer.Conn) peer.Session {
	s := newSession(r, c)
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		c.Close(peer.CloseGoingAway, "router shutting down")
		return s
	}
	r.sessions[s] = struct{}{}
	r.mu.Unlock()
	s.startHelloTimer(r.cfg.HelloTimeout)
	return s
}

// Realm returns the realm with the given name, or nil.
func (r *Router) Realm(name wamp.URI) *Realm { return r.realms[name] }

// allocSessionID reserves a new random session ID (global scope) for s.
func (r *Router) allocSessionID(s *Session) wamp.ID {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		id := randomID()
		if _, taken := r.ids[id]; !taken {
			r.ids[id] = s
			return id
		}
	}
}

// forget removes a closed connection's session from the router.
func (r *Router) forget(s *Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.sessions, s)
	if s.id != 0 && r.ids[s.id] == s {
		delete(r.ids, s.id)
	}
	if r.closing && len(r.sessions) == 0 {
		select {
		case <-r.drained:
		default:
			close(r.drained)
		}
	}
}

// ErrShutdownTimeout is returned by Shutdown when sessions were still open when its context ended.
var ErrShutdownTimeout = errors.New("router: sessions still open at the end of the shutdown grace period")

// Shutdown sends GOODBYE wamp.close.system_shutdown to every session, refuses new connections, and waits
// until every connection has closed or ctx is done; then it force-closes what is left. Call it before
// shutting down the transports, so that queued messages are flushed.
func (r *Router) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	r.closing = true
	all := make([]*Session, 0, len(r.sessions))
	for s := range r.sessions {
		all = append(all, s)
	}
	if len(r.sessions) == 0 {
		select {
		case <-r.drained:
		default:
			close(r.drained)
		}
	}
	r.mu.Unlock()
	for _, s := range all {
		s.shutdown(wamp.ErrSystemShutdown, "the router is shutting down")
	}
	select {
	case <-r.drained:
		return nil
	case <-ctx.Done():
		r.mu.Lock()
		left := make([]*Session, 0, len(r.sessions))
		for s := range r.sessions {
			left = append(left, s)
		}
		r.mu.Unlock()
		for _, s := range left {
			s.conn.Close(peer.CloseGoingAway, "router shut down")
		}
		return ErrShutdownTimeout
	}
}

// randomID returns a random ID in [1, 2^53].
func randomID() wamp.ID { return wamp.ID(rand.Uint64N(uint64(wamp.MaxID))) + 1 }

// unusedID returns a random ID that is not a key of m.
func unusedID[T any](m map[wamp.ID]T) wamp.ID {
	for {
		id := randomID()
		if _, taken := m[id]; !taken {
			return id
		}
	}
}
