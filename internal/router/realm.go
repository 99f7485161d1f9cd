package router

import (
	"crypto/rand"
	"encoding/base32"
	"sync"
	"time"

	"github.com/gateway-dev/gateway/internal/peer"
	"github.com/gateway-dev/gateway/wamp"
)

// Realm is a routing domain: sessions in one realm only see each other's publications and procedures.
type Realm struct {
	router *Router
	cfg    RealmConfig
	uri    uriRule
	broker *broker
	dealer *dealer

	mu       sync.RWMutex
	sessions map[wamp.ID]*Session
}

func newRealm(r *Router, cfg RealmConfig) *Realm {
	rl := &Realm{router: r, cfg: cfg, uri: uriRule{strict: cfg.StrictURIs}, sessions: map[wamp.ID]*Session{}}
	rl.broker = newBroker(rl)
	rl.dealer = newDealer(rl)
	return rl
}

// Name returns the realm's URI.
func (rl *Realm) Name() wamp.URI { return rl.cfg.Name }

// SessionCount returns the number of sessions joined to the realm.
func (rl *Realm) SessionCount() int {
	rl.mu.RLock()
	defer rl.mu.RUnlock()
	return len(rl.sessions)
}

// hello handles HELLO: it checks the request, authenticates the client and, on success, sends WELCOME
// and joins the session to the realm.
func (s *Session) hello(h *wamp.Hello) {
	r := s.router
	features, ok := parseRoles(h.Details["roles"])
	if !ok {
		s.protocolViolation("HELLO.Details.roles must be a dictionary announcing at least one of publisher, subscriber, caller, callee")
		return
	}
	methods, ok := stringList(h.Details["authmethods"])
	if !ok {
		s.protocolViolation("HELLO.Details.authmethods must be a list of strings")
		return
	}
	if v, present := h.Details["authid"]; present && v != nil {
		if _, isStr := v.(string); !isStr {
			s.protocolViolation("HELLO.Details.authid must be a string")
			return
		}
	}
	if v, present := h.Details["authextra"]; present && v != nil {
		if _, isDict := v.(map[string]any); !isDict {
			s.protocolViolation("HELLO.Details.authextra must be a dictionary")
			return
		}
	}
	realm := r.realms[h.Realm]
	if realm == nil {
		s.abort(wamp.ErrNoSuchRealm, "no realm named \""+string(h.Realm)+"\" exists on this router", peer.CloseNormal)
		return
	}
	if len(methods) > 0 && !contains(methods, "anonymous") {
		s.abort(wamp.ErrNoAuthMethod, "none of the offered authmethods is enabled on realm \""+string(h.Realm)+"\" (enabled: anonymous)", peer.CloseNormal)
		return
	}
	s.features = features
	s.realm = realm
	s.authid = anonymousAuthID()
	s.authrole = "anonymous"
	s.authmethod = "anonymous"
	s.authprovider = "static"
	s.joined = time.Now()

	if !realm.join(s) {
		s.abort(ErrLimitReached, "the realm has reached its maximum number of sessions", peer.CloseNormal)
		return
	}
	s.state.Store(stateEstablished)
	s.send(&wamp.Welcome{Session: s.id, Details: wamp.Dict{
		"realm":        string(realm.cfg.Name),
		"authid":       s.authid,
		"authrole":     s.authrole,
		"authmethod":   s.authmethod,
		"authprovider": s.authprovider,
		"roles":        routerRoles(),
	}})
	realm.broker.publishMeta(metaSessionOnJoin, wamp.List{s.info()}, nil)
}

// ErrLimitReached is the ABORT reason when a realm's max_sessions is reached (no standard URI exists).
const ErrLimitReached wamp.URI = "gateway.error.limit_reached"

// join adds s to the realm, allocating its session ID; false when the realm is full.
func (rl *Realm) join(s *Session) bool {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.cfg.MaxSessions > 0 && len(rl.sessions) >= rl.cfg.MaxSessions {
		return false
	}
	s.id = rl.router.allocSessionID(s)
	rl.sessions[s.id] = s
	return true
}

// detach removes s from the realm (see Session.detach).
func (rl *Realm) detach(s *Session) {
	rl.mu.Lock()
	_, present := rl.sessions[s.id]
	delete(rl.sessions, s.id)
	rl.mu.Unlock()
	if !present {
		return
	}
	rl.dealer.detach(s)
	rl.broker.detach(s)
	rl.publishTestaments(s)
	rl.broker.publishMeta(metaSessionOnLeave, wamp.List{s.id, s.authid, s.authrole}, nil)
}

// session returns the joined session with the given ID.
func (rl *Realm) session(id wamp.ID) *Session {
	rl.mu.RLock()
	defer rl.mu.RUnlock()
	return rl.sessions[id]
}

// snapshot returns the joined sessions that satisfy keep (all when keep is nil).
func (rl *Realm) snapshot(keep func(*Session) bool) []*Session {
	rl.mu.RLock()
	defer rl.mu.RUnlock()
	out := make([]*Session, 0, len(rl.sessions))
	for _, s := range rl.sessions {
		if keep == nil || keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// info is the session's public description (wamp.session.get, wamp.session.on_join).
func (s *Session) info() wamp.Dict {
	ci := s.conn.Info()
	tr := wamp.Dict{"type": ci.Transport, "serializer": s.ser.Name(), "tls": ci.TLS}
	if ci.RemoteAddr != nil {
		tr["peer"] = ci.Network + ":" + ci.RemoteAddr.String()
	}
	if ci.Transport == "websocket" {
		tr["protocol"] = s.ser.Subprotocol()
	}
	d := wamp.Dict{
		"session":      s.id,
		"authid":       s.authid,
		"authrole":     s.authrole,
		"authmethod":   s.authmethod,
		"authprovider": s.authprovider,
		"transport":    tr,
	}
	if s.authextra != nil {
		d["authextra"] = s.authextra
	}
	return d
}

// anonymousAuthID returns a random authid for an anonymous session (never the client-claimed one, so
// that authid-based delivery cannot be spoofed).
func anonymousAuthID() string {
	var b [10]byte
	rand.Read(b[:])
	return base32.StdEncoding.EncodeToString(b[:])
}

func stringList(v any) ([]string, bool) {
	if v == nil {
		return nil, true
	}
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, ok := x.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
