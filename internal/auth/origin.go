package auth

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gateway-dev/gateway/internal/config"
)

// ErrOriginNotAllowed is returned by OriginChecker.Check for a refused Origin.
var ErrOriginNotAllowed = errors.New("origin not allowed")

// OriginChecker enforces the WebSocket Origin allow-list ([auth] allowed_origins), which keeps
// other web sites' pages from opening WebSocket connections with the user's cookies
// (cross-site WebSocket hijacking). Patterns are exact origins ("https://app.example.com",
// default ports implied) or a wildcard first label ("https://*.example.com" matches any
// subdomain, not example.com itself). Scheme and port must match exactly. An empty list allows
// every origin. Requests without an Origin header come from non-browser clients and are allowed.
type OriginChecker struct {
	patterns []config.Origin
}

// NewOriginChecker compiles the allowed origins.
func NewOriginChecker(allowed []string) (*OriginChecker, error) {
	c := &OriginChecker{}
	for _, s := range allowed {
		o, err := config.ParseOrigin(s, true)
		if err != nil {
			return nil, fmt.Errorf("auth: allowed origin %q: %w", s, err)
		}
		c.patterns = append(c.patterns, o)
	}
	return c, nil
}

// Allowed reports whether a request with the Origin header value origin may connect ("" means
// no Origin header).
func (c *OriginChecker) Allowed(origin string) bool {
	if c == nil || len(c.patterns) == 0 || origin == "" {
		return true
	}
	o, err := config.ParseOrigin(origin, false)
	if err != nil {
		return false
	}
	for _, p := range c.patterns {
		if p.Matches(o) {
			return true
		}
	}
	return false
}

// Check checks the Origin of a WebSocket upgrade request; the error (matching
// ErrOriginNotAllowed) says which origin was refused, for a 403 answer and the log.
func (c *OriginChecker) Check(h http.Header) error {
	origins := h.Values("Origin")
	switch {
	case len(origins) == 0:
		return nil
	case len(origins) > 1:
		return fmt.Errorf("%w: more than one Origin header", ErrOriginNotAllowed)
	}
	if !c.Allowed(origins[0]) {
		o := origins[0]
		if len(o) > 200 {
			o = o[:200]
		}
		return fmt.Errorf("%w: %q is not in auth.allowed_origins", ErrOriginNotAllowed, o)
	}
	return nil
}
