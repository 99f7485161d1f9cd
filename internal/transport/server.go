package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gateway-dev/gateway/internal/peer"
)

// Server accepts WebSocket and RawSocket connections on the same listeners and hands them to an
// Acceptor. Serve may be called for several listeners (TCP, Unix, TLS) at once.
type Server struct {
	cfg      Config
	acceptor peer.Acceptor
	log      *slog.Logger
	stats    counters
	rawExp   byte // RawSocket length exponent we announce
	rawMax   int  // and the inbound limit it stands for

	httpSrv  *http.Server
	httpLn   *chanListener
	httpDone chan struct{} // closed when httpSrv.Serve returned; nil until started

	mu        sync.Mutex
	closing   bool
	done      chan struct{} // closed when Shutdown starts
	listeners map[*net.Listener]struct{}
	pending   map[*prefixConn]struct{} // sockets before the end of their handshake
	conns     map[*conn]struct{}       // established connections

	// wg counts the goroutines the server started: handshakes, readers, writers, flush workers.
	wg sync.WaitGroup

	flush flushList // connections waiting for a flush worker
}

// New returns a Server with cfg (zero fields take their defaults) that hands new connections to
// acceptor.
func New(cfg Config, acceptor peer.Acceptor) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:       cfg,
		acceptor:  acceptor,
		log:       cfg.Logger,
		done:      make(chan struct{}),
		listeners: make(map[*net.Listener]struct{}),
		pending:   make(map[*prefixConn]struct{}),
		conns:     make(map[*conn]struct{}),
	}
	s.rawExp, s.rawMax = rawLimit(cfg.MaxMessageSize)
	s.httpLn = newChanListener()
	s.httpSrv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: cfg.HandshakeTimeout,
		IdleTimeout:       httpIdleTimeout,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connCtxKey{}, c)
		},
	}
	return s
}

// httpIdleTimeout closes keep-alive HTTP connections idle for this long.
const httpIdleTimeout = 60 * time.Second

// Serve accepts connections on ln until Shutdown (it then returns ErrServerClosed) or until ln fails.
// After accept it reads the first byte within HandshakeTimeout: 0x7F starts a RawSocket handshake,
// anything else is HTTP, where requests for WebSocketPath are upgraded to WebSocket and all others
// go to Config.HTTPHandler. For TLS, pass a tls.NewListener: the TLS handshake and the peek happen
// on the accepted connection (the tls.Config must not offer "h2" in NextProtos: HTTP/2 is not served).
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[&ln] = struct{}{}
	if s.httpDone == nil {
		s.httpDone = make(chan struct{})
		go func() {
			defer close(s.httpDone)
			_ = s.httpSrv.Serve(s.httpLn)
		}()
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, &ln)
		s.mu.Unlock()
	}()

	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			if isTemporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Error("transport: accept failed; retrying", "err", err, "delay", delay)
				select {
				case <-time.After(delay):
					continue
				case <-s.done:
					return ErrServerClosed
				}
			}
			return fmt.Errorf("transport: accept: %w", err)
		}
		delay = 0
		s.stats.accepted.Add(1)
		pc := &prefixConn{Conn: nc}
		if !s.addPending(pc) {
			_ = nc.Close()
			continue
		}
		go s.handle(pc)
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.As(err, &t) && t.Temporary()
}

// handle peeks the first byte of an accepted socket and dispatches it. The caller registered pc
// with addPending.
func (s *Server) handle(pc *prefixConn) {
	defer s.wg.Done()
	nc := pc.Conn
	if err := nc.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout)); err != nil {
		s.handshakeFailed(pc, "set deadline", err)
		return
	}
	if _, err := io.ReadFull(nc, pc.first[:]); err != nil {
		s.handshakeFailed(pc, "first byte", err)
		return
	}
	if tc, ok := nc.(*tls.Conn); ok {
		st := tc.ConnectionState()
		pc.tls = &st
	}
	if pc.first[0] == rawMagic {
		s.rawSocket(pc)
		return
	}
	// HTTP: net/http sets its own read deadlines per request; the upgrade sets its write deadline.
	_ = nc.SetWriteDeadline(time.Time{})
	pc.hasFirst = true
	s.mu.Lock()
	delete(s.pending, pc)
	s.mu.Unlock()
	if !s.httpLn.push(pc) {
		_ = nc.Close()
	}
}

// handshakeFailed counts and closes a socket that did not complete its handshake.
func (s *Server) handshakeFailed(pc *prefixConn, stage string, err error) {
	s.stats.handshakeFailures.Add(1)
	s.log.Debug("transport: handshake failed", "remote", pc.RemoteAddr(), "stage", stage, "err", err)
	s.mu.Lock()
	delete(s.pending, pc)
	s.mu.Unlock()
	_ = pc.Conn.Close()
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// addPending registers an accepted socket and counts its goroutine, unless the server is closing.
func (s *Server) addPending(pc *prefixConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.pending[pc] = struct{}{}
	s.wg.Add(1)
	return true
}

// registerRaw turns a pending socket into an established RawSocket connection.
func (s *Server) registerRaw(pc *prefixConn, c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, pc)
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	s.stats.rawOpened.Add(1)
	s.stats.rawOpen.Add(1)
	return true
}

// registerWS registers an upgraded WebSocket connection and counts its reader goroutine.
func (s *Server) registerWS(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	s.stats.wsOpened.Add(1)
	s.stats.wsOpen.Add(1)
	s.wg.Add(1)
	return true
}

func (s *Server) unregister(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	if c.kind == kindWebSocket {
		s.stats.wsOpen.Add(-1)
	} else {
		s.stats.rawOpen.Add(-1)
	}
}

// Shutdown stops the server: it closes the listeners and the sockets still in their handshake,
// shuts the HTTP side down (idle HTTP connections are closed, running handlers are waited for), and
// waits for the established connections to end. When ctx is done first, every remaining connection
// is force-closed, Shutdown waits for the goroutines to finish and returns ctx.Err().
//
// Shutdown sends nothing to peers by itself. The expected order is: the router stops admitting new
// sessions, says GOODBYE to its sessions and closes their Conns with CloseGoingAway (the queued
// GOODBYE and the close frame are flushed by the connections' writers), then calls Shutdown with a
// deadline that bounds the wait for those closes.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing {
		s.closing = true
		close(s.done)
	}
	lns := make([]net.Listener, 0, len(s.listeners))
	for ln := range s.listeners {
		lns = append(lns, *ln)
	}
	pend := make([]net.Conn, 0, len(s.pending))
	for pc := range s.pending {
		pend = append(pend, pc.Conn)
	}
	httpStarted := s.httpDone != nil
	s.mu.Unlock()

	for _, ln := range lns {
		_ = ln.Close()
	}
	for _, nc := range pend {
		_ = nc.Close()
	}
	s.httpLn.Close()

	var err error
	if httpStarted {
		if err = s.httpSrv.Shutdown(ctx); err != nil {
			_ = s.httpSrv.Close()
		}
		<-s.httpDone
	}
	waited := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(waited)
	}()
	if err == nil {
		select {
		case <-waited:
			return nil
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.abort(ErrShutdown)
	}
	<-waited
	return err
}

// prefixConn gives the peeked first byte back to net/http, and carries the TLS state.
type prefixConn struct {
	net.Conn
	first    [1]byte
	hasFirst bool
	tls      *tls.ConnectionState
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if p.hasFirst {
		if len(b) == 0 {
			return 0, nil
		}
		b[0] = p.first[0]
		p.hasFirst = false
		return 1, nil
	}
	return p.Conn.Read(b)
}

// connCtxKey is the request context key of the *prefixConn a request arrived on.
type connCtxKey struct{}

// chanListener is the net.Listener of the internal http.Server: Serve pushes the sockets that
// turned out to speak HTTP.
type chanListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return chanAddr{} }

// push hands c to the http.Server; false when the listener is closed.
func (l *chanListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

type chanAddr struct{}

func (chanAddr) Network() string { return "universal" }
func (chanAddr) String() string  { return "universal" }
