package router

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gateway-dev/gateway/internal/auth"
	"github.com/gateway-dev/gateway/internal/events"
	"github.com/gateway-dev/gateway/internal/peer"
	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

// Session states.
const (
	stateNew         int32 = iota // waiting for HELLO
	stateChallenging              // CHALLENGE sent, waiting for AUTHENTICATE
	stateEstablished              // joined a realm
	stateClosing                  // router sent GOODBYE, waiting for the reply
	stateClosed                   // left the realm (connection may still be flushing)
)

// Session is one client connection and, after HELLO, its WAMP session. It implements peer.Session.
type Session struct {
	router *Router
	conn   peer.Conn
	ser    codec.Serializer
	serIdx int // index into per-serializer encoding caches

	state atomic.Int32

	// Set once in HELLO handling, read-only afterwards.
	id           wamp.ID
	realm        *Realm
	authid       string
	authrole     string
	authmethod   string
	authprovider string
	authextra    wamp.Dict
	features     clientFeatures
	joined       time.Time
	role         *auth.Role        // compiled permissions; nil when the realm allows everything
	clientToken  *auth.ClientToken // nil without client tokens
	challenge    *auth.Challenge   // pending authentication (stateChallenging)
	trusted      bool              // the gateway's own in-process session (Local): no role applies

	nextInvocation atomic.Uint64 // router-to-callee request IDs (session scope)

	// Protected by realm.broker.mu.
	subs map[wamp.ID]*subscription
	// Protected by realm.dealer.mu.
	regs            map[wamp.ID]*registration
	doneProgressive recentIDs // progressive-invocation calls that already completed

	mu         sync.Mutex // guards the fields below
	helloTimer *time.Timer
	byeTimer   *time.Timer
	testaments map[string][]testament // by scope
	leaveOnce  sync.Once
}

func newSession(r *Router, c peer.Conn) *Session {
	ser := c.Serializer()
	return &Session{router: r, conn: c, ser: ser, serIdx: int(ser.ID()) & 3}
}

// ID returns the WAMP session ID (0 before WELCOME).
func (s *Session) ID() wamp.ID { return s.id }

func (s *Session) startHelloTimer(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.helloTimer = time.AfterFunc(d, func() {
		// The timeout covers the whole opening: HELLO and, when challenged, AUTHENTICATE.
		if st := s.state.Load(); st == stateNew || st == stateChallenging {
			s.router.log.Debug("closing connection: session not established in time", "remote", s.conn.Info().RemoteAddr)
			s.conn.Close(peer.ClosePolicy, "session not established within the hello timeout")
		}
	})
}

// Receive implements peer.Session.
func (s *Session) Receive(b []byte) {
	m, err := s.ser.Decode(b)
	if err != nil {
		s.protocolViolation(err.Error())
		return
	}
	switch s.state.Load() {
	case stateNew:
		h, ok := m.(*wamp.Hello)
		if !ok {
			s.protocolViolation(fmt.Sprintf("expected HELLO, got %s", m.MessageType()))
			return
		}
		s.hello(h)
	case stateChallenging:
		a, ok := m.(*wamp.Authenticate)
		if !ok {
			s.protocolViolation(fmt.Sprintf("expected AUTHENTICATE, got %s", m.MessageType()))
			return
		}
		s.authenticate(a)
	case stateEstablished:
		s.dispatch(m)
	case stateClosing:
		// Waiting for the client's GOODBYE; everything else is ignored (spec).
		if _, ok := m.(*wamp.Goodbye); ok {
			s.conn.Close(peer.CloseNormal, "")
		}
	default:
		// Closed: drop late messages.
	}
}

// Closed implements peer.Session.
func (s *Session) Closed(error) {
	s.stopHelloTimer()
	s.mu.Lock()
	if s.byeTimer != nil {
		s.byeTimer.Stop()
	}
	s.mu.Unlock()
	s.leave()
	s.router.forget(s)
}

func (s *Session) stopHelloTimer() {
	s.mu.Lock()
	if s.helloTimer != nil {
		s.helloTimer.Stop()
	}
	s.mu.Unlock()
}

// dispatch handles a message of an established session.
func (s *Session) dispatch(m wamp.Message) {
	r := s.realm
	switch m := m.(type) {
	case *wamp.Publish:
		r.broker.publish(s, m)
	case *wamp.Subscribe:
		r.broker.subscribe(s, m)
	case *wamp.Unsubscribe:
		r.broker.unsubscribe(s, m)
	case *wamp.Call:
		r.dealer.call(s, m)
	case *wamp.Cancel:
		r.dealer.cancel(s, m)
	case *wamp.Register:
		r.dealer.register(s, m)
	case *wamp.Unregister:
		r.dealer.unregister(s, m)
	case *wamp.Yield:
		r.dealer.yield(s, m)
	case *wamp.Error:
		if m.RequestType != wamp.INVOCATION {
			s.protocolViolation(fmt.Sprintf("ERROR for %s: a client may only send ERROR for INVOCATION", m.RequestType))
			return
		}
		r.dealer.calleeError(s, m)
	case *wamp.Goodbye:
		s.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut})
		s.leave()
		s.conn.Close(peer.CloseNormal, "")
	case *wamp.Abort:
		s.leave()
		s.conn.Close(peer.CloseNormal, "")
	case *wamp.Hello:
		s.protocolViolation("HELLO received in an established session")
	default:
		s.protocolViolation(fmt.Sprintf("%s is not a message a client may send", m.MessageType()))
	}
}

// allowed reports whether the session's role may perform action on uri.
func (s *Session) allowed(action auth.Action, uri wamp.URI) bool {
	if s.trusted {
		return true
	}
	if s.role == nil {
		return s.realm.open
	}
	return s.role.Allowed(action, uri)
}

// actionVerbs phrase the denial messages.
var actionVerbs = map[auth.Action]string{auth.Publish: "publish to", auth.Subscribe: "subscribe to", auth.Call: "call", auth.Register: "register"}

// authorize reports whether the session's role may perform action on uri; if not, it answers the
// request with ERROR wamp.error.not_authorized.
func (s *Session) authorize(action auth.Action, reqType wamp.MessageType, req wamp.ID, uri wamp.URI) bool {
	if s.allowed(action, uri) {
		return true
	}
	s.sendError(reqType, req, wamp.ErrNotAuthorized, "role \""+s.authrole+"\" may not "+actionVerbs[action]+" \""+string(uri)+"\"")
	return false
}

// disclosedByRole reports whether the role's permission for uri forces disclosure of the publisher
// (Publish) or caller (Call).
func (s *Session) disclosedByRole(action auth.Action, uri wamp.URI) bool {
	if s.role == nil {
		return false
	}
	g, ok := s.role.Lookup(uri)
	if !ok {
		return false
	}
	if action == auth.Call {
		return g.DiscloseCaller
	}
	return g.DisclosePublisher
}

// sees reports whether the session may see the events of class c (its visibility setting).
func (s *Session) sees(c *events.Class) bool {
	return s.trusted || c.Visible(s.authrole, s.authmethod != "anonymous")
}

// live reports whether the session is still joined. The broker and dealer check it under their locks
// before they add state for s, so that nothing is added after detach removed s's state.
func (s *Session) live() bool { return s.state.Load() == stateEstablished }

// send encodes m in the session's serializer and queues it. It reports whether it was queued.
func (s *Session) send(m wamp.Message) error {
	b, err := s.ser.Encode(nil, m)
	if err != nil {
		s.router.log.Error("cannot encode message", "type", m.MessageType(), "session", s.id, "err", err)
		return err
	}
	return s.conn.Send(b)
}

// sendError answers a request with ERROR.
func (s *Session) sendError(reqType wamp.MessageType, req wamp.ID, uri wamp.URI, msg string) {
	e := &wamp.Error{RequestType: reqType, Request: req, Details: wamp.Dict{}, Error: uri}
	if msg != "" {
		e.Args = wamp.List{msg}
	}
	s.send(e)
}

// abort sends ABORT and closes the connection; the session leaves its realm at once.
func (s *Session) abort(reason wamp.URI, msg string, code peer.CloseCode) {
	s.stopHelloTimer()
	s.send(&wamp.Abort{Details: wamp.Dict{"message": msg}, Reason: reason})
	s.leave()
	s.conn.Close(code, string(reason))
}

func (s *Session) protocolViolation(msg string) {
	s.router.log.Debug("protocol violation", "session", s.id, "remote", s.conn.Info().RemoteAddr, "msg", msg)
	s.abort(wamp.ErrProtocolViolation, msg, peer.CloseProtocolError)
}

// goodbye ends an established session from the router side: GOODBYE with reason, then the connection is
// closed when the client answers or after the goodbye timeout.
func (s *Session) goodbye(reason wamp.URI, msg string) bool {
	if !s.state.CompareAndSwap(stateEstablished, stateClosing) {
		return false
	}
	d := wamp.Dict{}
	if msg != "" {
		d["message"] = msg
	}
	s.send(&wamp.Goodbye{Details: d, Reason: reason})
	s.mu.Lock()
	s.byeTimer = time.AfterFunc(s.router.cfg.GoodbyeTimeout, func() {
		s.conn.Close(peer.CloseNormal, "no GOODBYE reply")
	})
	s.mu.Unlock()
	s.detach()
	return true
}

// shutdown ends the session for a router shutdown.
func (s *Session) shutdown(reason wamp.URI, msg string) {
	if !s.goodbye(reason, msg) && s.state.Load() == stateNew {
		s.conn.Close(peer.CloseGoingAway, msg)
	}
}

// leave marks the session closed and detaches it from its realm (once).
func (s *Session) leave() {
	prev := s.state.Swap(stateClosed)
	if prev == stateEstablished {
		s.detach()
	}
}

// detach removes the session from its realm: subscriptions, registrations and pending calls go, the
// testaments are published and wamp.session.on_leave is sent. It runs once.
func (s *Session) detach() {
	s.leaveOnce.Do(func() {
		if s.realm == nil {
			return
		}
		s.realm.detach(s)
	})
}

// recentIDs remembers a few request IDs (progressive-invocation calls that completed), so that late
// continuations are ignored as the spec requires.
type recentIDs struct {
	ids  [8]wamp.ID
	next int
}

func (r *recentIDs) add(id wamp.ID) {
	r.ids[r.next] = id
	r.next = (r.next + 1) % len(r.ids)
}

func (r *recentIDs) has(id wamp.ID) bool {
	for _, x := range r.ids {
		if x == id {
			return true
		}
	}
	return false
}
