package server

import (
	"fmt"
	"time"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/webapp/service"
	"github.com/gateway-dev/gateway/wamp"
)

// webappEnabled reports whether any web-app representative is configured.
func webappEnabled(w *config.Webapp) bool {
	return w.HTTP != nil || w.AMQP != nil || w.NATS != nil
}

// newWebapp creates the web-app Service on the configured realm (the first realm by default).
func (s *Server) newWebapp() (*service.Service, error) {
	w := &s.cfg.Webapp
	realm := w.Realm
	if realm == "" {
		realm = s.cfg.Realms[0].Name
	}
	cfg := service.Config{
		Router:         s.router,
		Realm:          wamp.URI(realm),
		CallTimeout:    w.CallTimeout,
		MaxCallTimeout: w.MaxCallTimeout,
		Logger:         s.log.With("component", "webapp"),
	}
	if s.store != nil {
		st := s.store
		cfg.IssueTicket = func(authid, authrole string, ttl time.Duration, authextra wamp.Dict) (string, time.Time, error) {
			return s.IssueTicket(realm, authid, authrole, ttl, authextra)
		}
		cfg.RevokeTickets = func(authid string) (int, error) { return st.RevokeTickets(realm, authid) }
		cfg.StoreHealth = st.Health
	}
	if s.tokens != nil {
		cfg.RevokeTokens = s.tokens.RevokeAuthID
	}
	svc, err := service.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("web-app interface: %w", err)
	}
	return svc, nil
}

// Webapp returns the web-app Service, or nil when no representative is configured.
func (s *Server) Webapp() *service.Service { return s.webapp }

// roleNames lists the names of a realm's roles (nil when it has none).
func roleNames(roles []config.Role) []string {
	var out []string
	for _, r := range roles {
		out = append(out, r.Name)
	}
	return out
}
