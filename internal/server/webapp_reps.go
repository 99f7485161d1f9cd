package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/webapp/amqprep"
	"github.com/gateway-dev/gateway/internal/webapp/httpapi"
	"github.com/gateway-dev/gateway/internal/webapp/httpauth"
	"github.com/gateway-dev/gateway/internal/webapp/natsrep"
	"github.com/gateway-dev/gateway/internal/webapp/xmlrpc"
)

// webappReps are the running web-app representatives.
type webappReps struct {
	handler http.Handler // HTTP/JSON and XML-RPC; nil when [webapp.http] is absent
	http    *http.Server // the HTTP representative's own listener, when it has one
	httpURL string       // where the HTTP representative answers ("" until Start)
	amqp    *amqprep.Rep
	nats    *natsrep.Rep
}

// webappHandler builds the HTTP representative's handler: HTTP/JSON under /api/v1/ and XML-RPC at
// /RPC2, behind the configured credentials.
func (s *Server) webappHandler(h *config.WebappHTTP) http.Handler {
	ac := httpauth.Config{AllowLoopback: h.LoopbackWithoutCredentials, Window: h.SignatureWindow, HMACKeys: map[string]string{}}
	for _, k := range h.APIKeys {
		ac.APIKeys = append(ac.APIKeys, k.Value())
	}
	for _, k := range h.HMACKeys {
		ac.HMACKeys[k.ID] = k.Secret.Value()
	}
	checker := httpauth.New(ac)
	log := s.log.With("component", "webapp")
	maxBody := s.cfg.Webapp.MaxBody
	mux := http.NewServeMux()
	jsonAPI := httpapi.New(s.webapp, httpapi.Config{Auth: checker, MaxBody: maxBody, Logger: log})
	if h.JSONEnabled() {
		mux.Handle("/", jsonAPI)
	} else {
		mux.Handle("/", http.NotFoundHandler())
	}
	if h.XMLRPCEnabled() {
		mux.Handle("/RPC2", xmlrpc.New(s.webapp, xmlrpc.Config{Auth: checker, MaxBody: maxBody, Logger: log}))
	}
	return mux
}

// startWebapp starts the representatives that run on their own: the HTTP listener of
// [webapp.http].address, AMQP and NATS. The HTTP handler on the WebSocket listeners is set up by open.
func (s *Server) startWebapp() error {
	w := &s.cfg.Webapp
	if w.HTTP != nil && w.HTTP.Address != "" {
		ln, err := net.Listen("tcp", w.HTTP.Address)
		if err != nil {
			return fmt.Errorf("web-app HTTP listener %s: %w", w.HTTP.Address, err)
		}
		s.reps.http = &http.Server{Handler: s.reps.handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
		s.reps.httpURL = "http://" + ln.Addr().String()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.reps.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.errs <- fmt.Errorf("web-app HTTP listener %s: %w", w.HTTP.Address, err)
			}
		}()
		s.log.Info("web-app interface", "http", s.reps.httpURL+"/api/v1/", "xmlrpc", s.reps.httpURL+"/RPC2")
	}
	log := s.log.With("component", "webapp")
	if a := w.AMQP; a != nil {
		rep, err := amqprep.Start(context.Background(), s.webapp, amqprep.Config{
			URL: a.URL.Value(), Queue: a.Queue, Exchange: a.Exchange, BindingKey: a.BindingKey,
			DeadLetterExchange: a.DeadLetterExchange, Prefetch: a.Prefetch, DedupWindow: a.DedupWindow, Logger: log,
		})
		if err != nil {
			return fmt.Errorf("web-app AMQP representative: %w", err)
		}
		s.reps.amqp = rep
		s.log.Info("web-app interface", "amqp_queue", a.Queue)
	}
	if n := w.NATS; n != nil {
		rep, err := natsrep.Start(s.webapp, natsrep.Config{
			URL: n.URL, SubjectPrefix: n.SubjectPrefix, QueueGroup: n.QueueGroup,
			User: n.User, Password: n.Password.Value(), Token: n.Token.Value(), Logger: log,
		})
		if err != nil {
			return fmt.Errorf("web-app NATS representative: %w", err)
		}
		s.reps.nats = rep
		s.log.Info("web-app interface", "nats_subjects", n.SubjectPrefix+".<operation>")
	}
	return nil
}

// stopWebapp stops taking web-app requests: the queue consumers first (so nothing is taken that
// cannot be answered), then the HTTP listener, then the service's session.
func (s *Server) stopWebapp(ctx context.Context) {
	if s.reps.amqp != nil {
		if err := s.reps.amqp.Close(); err != nil {
			s.log.Warn("closing the AMQP representative", "err", err)
		}
	}
	if s.reps.nats != nil {
		if err := s.reps.nats.Close(); err != nil {
			s.log.Warn("closing the NATS representative", "err", err)
		}
	}
	if s.reps.http != nil {
		s.reps.http.Shutdown(ctx)
	}
	if s.webapp != nil {
		s.webapp.Close()
	}
}

// WebappURL returns the base URL of the HTTP representative (append /api/v1/<operation> or
// /RPC2), or "" when it is not configured.
func (s *Server) WebappURL() string {
	if s.reps.httpURL != "" {
		return s.reps.httpURL
	}
	if s.reps.handler == nil {
		return ""
	}
	eps := s.Endpoints()
	if len(eps) == 0 || eps[0].Addr.Network() != "tcp" {
		return ""
	}
	scheme := "http://"
	if s.cfg.Listeners[0].TLS() {
		scheme = "https://"
	}
	return scheme + eps[0].Addr.String()
}
