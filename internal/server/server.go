// Package server assembles a running gateway from its configuration: the router, and one transport
// server (WebSocket and RawSocket on one port) per configured listener.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	_ "expvar" // /debug/vars for server.debug_address
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // profiling endpoints for server.debug_address
	"os"
	"sync"
	"time"

	"github.com/gateway-dev/gateway/internal/auth"
	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/events"
	"github.com/gateway-dev/gateway/internal/router"
	"github.com/gateway-dev/gateway/internal/store"
	"github.com/gateway-dev/gateway/internal/transport"
	"github.com/gateway-dev/gateway/internal/webapp/service"
	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

// Endpoint describes where one listener accepts clients.
type Endpoint struct {
	WebSocketURL string // e.g. ws://127.0.0.1:8080/ws, or ws+unix:///path#/ws
	RawSocketURL string // e.g. rs://127.0.0.1:8080, or rs+unix:///path
	Addr         net.Addr
}

// Server is a configured gateway: a router and its listeners.
type Server struct {
	cfg     *config.Config
	log     *slog.Logger
	router  *router.Router
	store   *store.Store // nil when the data directory could not be opened
	tokens  *auth.Tokens // nil when client tokens are disabled
	origins *auth.OriginChecker
	authn   map[string]*auth.Authenticator // by realm name
	stop    context.CancelFunc             // stops background work (store sweeps)
	webapp  *service.Service               // nil when no web-app representative is configured
	reps    webappReps

	mu        sync.Mutex
	listeners []*listener
	debug     *http.Server
	errs      chan error
	wg        sync.WaitGroup
}

type listener struct {
	spec      config.Listener
	ln        net.Listener
	transport *transport.Server
	endpoint  Endpoint
}

// New builds the router from cfg: it opens the durable store (a failure is logged and the gateway
// runs without durable state), the realms' authenticators and authorizers; Start opens the listeners.
func New(cfg *config.Config, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{cfg: cfg, log: log, errs: make(chan error, len(cfg.Listeners)), authn: map[string]*auth.Authenticator{}}
	st, err := store.Open(cfg.Store.DataDir, router.StoreOptions(&cfg.Store, log)) // sync policy, limits, retention
	if err != nil {
		log.Error("durable store unavailable: running without client tokens and one-time tickets", "err", err)
	} else {
		s.store = st
	}
	if cfg.ClientToken.Enabled {
		s.tokens = auth.NewTokens(s.store, cfg.ClientToken)
	}
	if s.origins, err = auth.NewOriginChecker(cfg.Auth.AllowedOrigins); err != nil {
		s.closeStore()
		return nil, err
	}
	limiter := auth.NewLimiter(cfg.Auth.MaxFailures, cfg.Auth.FailureWindow)
	realms := make([]router.RealmConfig, 0, len(cfg.Realms))
	for i := range cfg.Realms {
		r := &cfg.Realms[i]
		authz, err := auth.NewAuthorizer(r.Roles, r.StrictURIs)
		var classes *events.Registry
		if err == nil {
			classes, err = events.NewRegistry(r.EventClasses)
		}
		if err == nil {
			var authn *auth.Authenticator
			authn, err = auth.NewAuthenticator(r, authz, auth.Deps{Store: s.store, Tokens: s.tokens, Limiter: limiter, Logger: log})
			s.authn[r.Name] = authn
			realms = append(realms, router.RealmConfig{
				Name:                    wamp.URI(r.Name),
				StrictURIs:              r.StrictURIs,
				MaxSessions:             r.MaxSessions,
				AllowDisclose:           r.AllowDisclose,
				AlwaysDisclosePublisher: r.AlwaysDisclosePublisher,
				AlwaysDiscloseCaller:    r.AlwaysDiscloseCaller,
				Authenticator:           authn,
				Authorizer:              authz,
				Events:                  classes,
				EventClasses:            r.EventClasses,
				Roles:                   roleNames(r.Roles),
				Store:                   s.store,
				HistoryRetention:        router.HistoryRetention(&cfg.Store),
			})
		}
		if err != nil {
			s.closeStore()
			return nil, fmt.Errorf("realm %s: %w", r.Name, err)
		}
	}
	rt, err := router.New(router.Config{Realms: realms, HelloTimeout: cfg.Limits.HelloTimeout, Tokens: s.tokens, Logger: log})
	if err != nil {
		s.closeStore()
		return nil, err
	}
	s.router = rt
	if webappEnabled(&cfg.Webapp) {
		if s.webapp, err = s.newWebapp(); err != nil {
			s.closeStore()
			return nil, err
		}
		if h := cfg.Webapp.HTTP; h != nil {
			s.reps.handler = s.webappHandler(h)
		}
	}
	return s, nil
}

// onUpgrade checks a WebSocket upgrade's Origin and resolves or issues the client's identity token,
// which the 101 response sets as a cookie and the session finds in peer.Info.Upgrade.
func (s *Server) onUpgrade(r *http.Request) (http.Header, any, error) {
	if err := s.origins.Check(r.Header); err != nil {
		return nil, nil, err
	}
	if s.tokens == nil {
		return nil, nil, nil
	}
	ct, hdr, err := s.tokens.ForUpgrade(r)
	if err != nil {
		s.log.Warn("client tokens unavailable", "err", err)
		return nil, nil, nil
	}
	return hdr, ct, nil
}

func (s *Server) closeStore() {
	if s.store != nil {
		s.store.Close()
	}
}

// IssueTicket issues a one-time ticket for authid with authrole on realm, valid for ttl. It fails when
// the realm does not exist, does not accept one-time tickets or does not define authrole.
func (s *Server) IssueTicket(realm, authid, authrole string, ttl time.Duration, authextra wamp.Dict) (string, time.Time, error) {
	a := s.authn[realm]
	if a == nil {
		return "", time.Time{}, fmt.Errorf("no realm %q", realm)
	}
	return a.IssueTicket(authid, authrole, ttl, authextra)
}

// Router returns the server's router.
func (s *Server) Router() *router.Router { return s.router }

// Start opens every configured listener (and the debug endpoint, when configured) and serves it in the
// background. On error, listeners opened so far are closed.
func (s *Server) Start() error {
	if err := s.startDebug(); err != nil {
		return err
	}
	if s.store != nil {
		ctx, cancel := context.WithCancel(context.Background())
		s.stop = cancel
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.store.SweepEvery(ctx, time.Hour)
		}()
	}
	for _, spec := range s.cfg.Listeners {
		l, err := s.open(spec)
		if err != nil {
			s.abandon()
			return err
		}
		s.mu.Lock()
		s.listeners = append(s.listeners, l)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := l.transport.Serve(l.ln); err != nil && !errors.Is(err, transport.ErrServerClosed) {
				s.errs <- fmt.Errorf("listener %s: %w", l.spec.Addr(), err)
			}
		}()
		s.log.Info("listening", "websocket", l.endpoint.WebSocketURL, "rawsocket", l.endpoint.RawSocketURL)
	}
	if s.webapp != nil {
		if err := s.startWebapp(); err != nil {
			s.stopWebapp(context.Background())
			s.abandon()
			return err
		}
		if s.reps.handler != nil && s.reps.http == nil {
			s.log.Info("web-app interface", "http", s.WebappURL()+"/api/v1/", "xmlrpc", s.WebappURL()+"/RPC2")
		}
	}
	return nil
}

// Errors delivers fatal listener errors (a listener that stopped serving).
func (s *Server) Errors() <-chan error { return s.errs }

// Endpoints returns where the listeners accept clients, in configuration order.
func (s *Server) Endpoints() []Endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Endpoint, len(s.listeners))
	for i, l := range s.listeners {
		out[i] = l.endpoint
	}
	return out
}

func (s *Server) open(spec config.Listener) (*listener, error) {
	lim := s.cfg.Limits
	tcfg := transport.Config{
		Serializers:      codec.All(),
		WebSocketPath:    spec.WebSocketPath,
		MaxMessageSize:   int(lim.MaxMessageSize),
		HandshakeTimeout: lim.HandshakeTimeout,
		PingInterval:     lim.PingInterval,
		PingTimeout:      lim.PingTimeout,
		WriteTimeout:     lim.WriteTimeout,
		MaxQueueBytes:    int(lim.MaxQueueBytes),
		OnUpgrade:        s.onUpgrade,
		Logger:           s.log,
	}
	if h := s.cfg.Webapp.HTTP; s.reps.handler != nil && h.Address == "" {
		tcfg.HTTPHandler = s.reps.handler // the web-app interface next to the WebSocket path
	}
	if lim.PingInterval == 0 {
		tcfg.PingInterval = -1 // disabled
	}
	ln, err := listen(spec)
	if err != nil {
		return nil, err
	}
	ws, rs := "ws", "rs"
	if spec.TLS() {
		cert, err := tls.LoadX509KeyPair(spec.TLSCert, spec.TLSKey)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("listener %s: loading TLS certificate: %w", spec.Addr(), err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		ws, rs = "wss", "rss"
	}
	ep := Endpoint{Addr: ln.Addr()}
	if spec.Unix != "" {
		ep.WebSocketURL = ws + "+unix://" + spec.Unix + "#" + spec.WebSocketPath
		ep.RawSocketURL = rs + "+unix://" + spec.Unix
	} else {
		ep.WebSocketURL = ws + "://" + ln.Addr().String() + spec.WebSocketPath
		ep.RawSocketURL = rs + "://" + ln.Addr().String()
	}
	return &listener{spec: spec, ln: ln, transport: transport.New(tcfg, s.router), endpoint: ep}, nil
}

// listen opens a TCP or Unix listener; a stale Unix socket file nobody listens on is replaced.
func listen(spec config.Listener) (net.Listener, error) {
	if spec.Unix == "" {
		ln, err := net.Listen("tcp", spec.Address)
		if err != nil {
			return nil, fmt.Errorf("listener %s: %w", spec.Address, err)
		}
		return ln, nil
	}
	if fi, err := os.Lstat(spec.Unix); err == nil && fi.Mode()&os.ModeSocket != 0 {
		if c, err := net.DialTimeout("unix", spec.Unix, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("listener %s: another process is listening on this socket", spec.Unix)
		}
		os.Remove(spec.Unix)
	}
	ln, err := net.Listen("unix", spec.Unix)
	if err != nil {
		return nil, fmt.Errorf("listener %s: %w", spec.Unix, err)
	}
	if spec.UnixMode != 0 {
		if err := os.Chmod(spec.Unix, spec.UnixMode); err != nil {
			ln.Close()
			return nil, fmt.Errorf("listener %s: setting mode: %w", spec.Unix, err)
		}
	}
	return ln, nil
}

// startDebug serves /debug/pprof/ and /debug/vars on server.debug_address.
func (s *Server) startDebug() error {
	addr := s.cfg.Server.DebugAddress
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("debug listener %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/", http.DefaultServeMux) // net/http/pprof and expvar register there
	s.debug = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.debug.Serve(ln)
	}()
	s.log.Info("debug endpoints", "pprof", "http://"+ln.Addr().String()+"/debug/pprof/", "vars", "http://"+ln.Addr().String()+"/debug/vars")
	return nil
}

// abandon undoes a failed Start: listeners, debug endpoint, background work and store are closed.
func (s *Server) abandon() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.listeners {
		l.ln.Close()
	}
	s.stopBackground()
}

// stopBackground closes the debug endpoint, stops background work, waits for the server's goroutines
// and closes the store.
func (s *Server) stopBackground() {
	if s.debug != nil {
		s.debug.Close()
	}
	if s.stop != nil {
		s.stop()
	}
	s.wg.Wait()
	s.closeStore()
}

// Shutdown ends every session with GOODBYE wamp.close.system_shutdown, waits (until ctx is done) for the
// clients to answer and the queues to flush, then closes the listeners and connections.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopWebapp(ctx)
	rerr := s.router.Shutdown(ctx)
	s.mu.Lock()
	ls := append([]*listener(nil), s.listeners...)
	s.mu.Unlock()
	// The transports get a short moment of their own to flush what the router queued last.
	tctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var terr error
	for _, l := range ls {
		if err := l.transport.Shutdown(tctx); err != nil && terr == nil {
			terr = err
		}
	}
	s.stopBackground()
	for _, l := range ls {
		if l.spec.Unix != "" {
			os.Remove(l.spec.Unix)
		}
	}
	return errors.Join(rerr, terr)
}
