package router

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gateway-dev/gateway/internal/auth"
	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/events"
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
	authn  *auth.Authenticator             // nil: anonymous sessions only
	authz  *auth.Authorizer                // nil: everything allowed
	events atomic.Pointer[events.Registry] // nil: no event classes; swapped by DefineEventClass
	open   bool                            // no roles configured: every session may do everything

	mu       sync.RWMutex
	sessions map[wamp.ID]*Session

	classMu   sync.Mutex          // serializes DefineEventClass
	classDefs []config.EventClass // the definitions events was built from
}

func newRealm(r *Router, cfg RealmConfig) *Realm {
	rl := &Realm{router: r, cfg: cfg, uri: uriRule{strict: cfg.StrictURIs}, sessions: map[wamp.ID]*Session{},
		authn: cfg.Authenticator, authz: cfg.Authorizer, open: cfg.Authorizer == nil || cfg.Authorizer.Open(),
		classDefs: slices.Clone(cfg.EventClasses)}
	rl.events.Store(cfg.Events)
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

// hello handles HELLO: it checks the request and authenticates the client, which either joins at
// once (WELCOME) or is challenged (CHALLENGE, then AUTHENTICATE).
func (s *Session) hello(h *wamp.Hello) {
	r := s.router
	features, ok := parseRoles(h.Details["roles"])
	if !ok {
		s.protocolViolation("HELLO.Details.roles must be a dictionary announcing at least one of publisher, subscriber, caller, callee")
		return
	}
	req, err := auth.ParseHello(h.Realm, h.Details, s.conn.Info())
	if err != nil {
		s.authAbort(err)
		return
	}
	realm := r.realms[h.Realm]
	if realm == nil {
		s.abort(wamp.ErrNoSuchRealm, "no realm named \""+string(h.Realm)+"\" exists on this router", peer.CloseNormal)
		return
	}
	s.features = features
	s.realm = realm
	s.id = r.allocSessionID(s)
	req.Session = s.id
	if r.cfg.Tokens != nil {
		var fromUpgrade string
		if ct, isToken := s.conn.Info().Upgrade.(*auth.ClientToken); isToken {
			fromUpgrade = ct.Value
		}
		ct, err := r.cfg.Tokens.Resolve(auth.FromHello(h.Details), fromUpgrade)
		if err != nil {
			r.log.Warn("client tokens unavailable", "err", err)
		} else {
			s.clientToken, req.ClientToken = ct, ct
		}
	}
	if realm.authn == nil {
		if len(req.AuthMethods) > 0 && !contains(req.AuthMethods, "anonymous") {
			s.abort(wamp.ErrNoAuthMethod, "none of the offered authmethods is enabled on realm \""+string(h.Realm)+"\" (enabled: anonymous)", peer.CloseNormal)
			return
		}
		s.welcome(&auth.Identity{AuthID: anonymousAuthID(), AuthRole: "anonymous", AuthMethod: "anonymous", AuthProvider: "static"})
		return
	}
	id, ch, err := realm.authn.Authenticate(context.Background(), req)
	switch {
	case err != nil:
		s.authAbort(err)
	case ch != nil:
		s.challenge = ch
		s.state.Store(stateChallenging)
		s.send(ch.Message())
	default:
		s.welcome(id)
	}
}

// authenticate handles AUTHENTICATE after a CHALLENGE.
func (s *Session) authenticate(a *wamp.Authenticate) {
	ch := s.challenge
	s.challenge = nil
	id, err := ch.Verify(context.Background(), a.Signature, a.Extra)
	if err != nil {
		s.authAbort(err)
		return
	}
	s.welcome(id)
}

// authAbort ends a session whose authentication failed, with the error's ABORT reason.
func (s *Session) authAbort(err error) {
	var ae *auth.Error
	if errors.As(err, &ae) {
		if ae.Unwrap() != nil {
			s.router.log.Info("authentication refused", "remote", s.conn.Info().RemoteAddr, "reason", ae.URI, "cause", ae.Unwrap())
		}
		code := peer.CloseNormal
		if ae.URI == wamp.ErrProtocolViolation {
			code = peer.CloseProtocolError
		}
		s.abort(ae.URI, ae.Message, code)
		return
	}
	s.router.log.Error("authentication failed", "remote", s.conn.Info().RemoteAddr, "err", err)
	s.abort(wamp.ErrAuthenticationFailed, "authentication failed", peer.CloseNormal)
}

// welcome joins an authenticated session to its realm and sends WELCOME.
func (s *Session) welcome(id *auth.Identity) {
	realm := s.realm
	s.authid, s.authrole, s.authmethod, s.authprovider = id.AuthID, id.AuthRole, id.AuthMethod, id.AuthProvider
	if !realm.open {
		if s.role = realm.authz.Role(id.AuthRole); s.role == nil {
			s.abort(wamp.ErrNotAuthorized, "role \""+id.AuthRole+"\" is not defined on realm \""+string(realm.cfg.Name)+"\"", peer.CloseNormal)
			return
		}
	}
	// The client token goes to this client only: session meta procedures show authextra without it.
	s.authextra = id.AuthExtra
	extra := make(wamp.Dict, len(id.AuthExtra)+2)
	for k, v := range id.AuthExtra {
		extra[k] = v
	}
	if ct := s.clientToken; ct != nil {
		extra["client_token"] = ct.Value
		extra["client_id"] = ct.ClientID
	}
	s.joined = time.Now()
	if !realm.join(s) {
		s.abort(ErrLimitReached, "the realm has reached its maximum number of sessions", peer.CloseNormal)
		return
	}
	s.stopHelloTimer()
	s.state.Store(stateEstablished)
	s.send(&wamp.Welcome{Session: s.id, Details: wamp.Dict{
		"realm":        string(realm.cfg.Name),
		"authid":       s.authid,
		"authrole":     s.authrole,
		"authmethod":   s.authmethod,
		"authprovider": s.authprovider,
		"authextra":    extra,
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
	if s.clientToken != nil {
		d["client_id"] = s.clientToken.ClientID
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

// Events returns the realm's event classes (nil when it has none): the registry current at the
// time of the call, which DefineEventClass may replace afterwards. Code that looks up several
// classes for one message reads it once.
func (rl *Realm) Events() *events.Registry { return rl.events.Load() }
