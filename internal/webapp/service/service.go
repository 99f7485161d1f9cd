// Package service implements the web-app operations (webapp.Invoker) on a realm of the router,
// through a trusted in-process session. The representatives depend only on package webapp.
package service

import (
	"context"
	"errors"
	"fmt"
	"github.com/gateway-dev/gateway/internal/webapp"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gateway-dev/gateway/internal/router"
	"github.com/gateway-dev/gateway/internal/typo"
	"github.com/gateway-dev/gateway/wamp"
)

// Config configures a Service.
type Config struct {
	// Router and Realm: the realm the operations act on.
	Router *router.Router
	Realm  wamp.URI
	// IssueTicket issues a one-time ticket on Realm (the server's realm authenticator); nil refuses
	// issue_ticket with wamp.error.unavailable.
	IssueTicket func(authid, authrole string, ttl time.Duration, authextra wamp.Dict) (string, time.Time, error)
	// RevokeTickets and RevokeTokens invalidate an authid's unused tickets and client tokens; nil
	// revokes none of that kind.
	RevokeTickets func(authid string) (int, error)
	RevokeTokens  func(authid string) (int, error)
	// StoreHealth reports the durable store's state: nil when healthy; nil func when there is no store.
	StoreHealth func() error
	// DedupWindow is how long a publish's options.message_id is remembered (default 10m).
	DedupWindow time.Duration
	// CallTimeout is call's default timeout; MaxCallTimeout caps what a request asks for.
	CallTimeout, MaxCallTimeout time.Duration
	Logger                      *slog.Logger
}

// Service runs the web-app operations on one realm through a trusted in-process session. It
// implements webapp.Invoker and is safe for concurrent use.
type Service struct {
	cfg          Config
	local        *router.Local
	realm        *router.Realm
	started      time.Time
	publications atomic.Uint64
	dedup        *publishDedup
	ops          map[string]func(ctx context.Context, body []byte) (any, error)
}

// MaxBatch is the largest number of publications one publish_batch accepts.
const MaxBatch = 1000

// maxDedupIDs bounds the publish message ids remembered.
const maxDedupIDs = 100_000

// DefaultTicketTTL is issue_ticket's default ticket lifetime.
const DefaultTicketTTL = time.Minute

// New joins the web-app's session to the realm (authid "webapp", authrole "webapp").
func New(cfg Config) (*Service, error) {
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 10 * time.Second
	}
	if cfg.MaxCallTimeout < cfg.CallTimeout {
		cfg.MaxCallTimeout = cfg.CallTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DedupWindow <= 0 {
		cfg.DedupWindow = 10 * time.Minute
	}
	local, err := cfg.Router.NewLocal(cfg.Realm, "webapp", "webapp")
	if err != nil {
		return nil, fmt.Errorf("webapp: %w", err)
	}
	s := &Service{cfg: cfg, local: local, realm: cfg.Router.Realm(cfg.Realm), started: time.Now(), dedup: newPublishDedup(cfg.DedupWindow, maxDedupIDs)}
	s.ops = map[string]func(context.Context, []byte) (any, error){
		"publish":        s.publishOp,
		"publish_batch":  s.publishBatchOp,
		"issue_ticket":   s.issueTicketOp,
		"revoke":         s.revokeOp,
		"sessions":       s.sessionsOp,
		"kill_session":   s.killSessionOp,
		"call":           s.callOp,
		"event_classes":  s.eventClassesOp,
		"describe_class": s.describeClassOp,
		"define_class":   s.defineClassOp,
		"health":         s.healthOp,
		"stats":          s.statsOp,
	}
	return s, nil
}

// Close leaves the realm.
func (s *Service) Close() { s.local.Close() }

// Realm is the realm the service acts on.
func (s *Service) Realm() wamp.URI { return s.cfg.Realm }

// Invoke implements webapp.Invoker.
func (s *Service) Invoke(ctx context.Context, op string, body []byte) (any, error) {
	fn := s.ops[op]
	if fn == nil {
		return nil, noSuchOperation(op)
	}
	return fn(ctx, body)
}

// noSuchOperation is the error for an unknown operation name, suggesting the closest one.
func noSuchOperation(op string) *webapp.Error {
	names := make([]string, len(webapp.Operations))
	for i, o := range webapp.Operations {
		names[i] = o.Name
	}
	e := webapp.Errorf(webapp.ErrNoSuchOperation, "no operation %q", op)
	if best := typo.Closest(op, names); best != "" {
		e.Message += fmt.Sprintf(" (did you mean %q?)", best)
	}
	return e
}

// fromRouter turns a router answer's error into an operation error.
func fromRouter(err error) error {
	var re *router.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re):
		msg := re.Message()
		if msg == "" {
			msg = string(re.URI)
		}
		e := &webapp.Error{URI: re.URI, Message: msg, Kwargs: re.Kwargs}
		if len(re.Args) > 0 {
			if _, isText := re.Args[0].(string); !isText || len(re.Args) > 1 {
				e.Args = re.Args
			}
		}
		return e
	case errors.Is(err, router.ErrLocalClosed):
		return webapp.Errorf(wamp.ErrUnavailable, "the gateway is shutting down")
	case errors.Is(err, context.DeadlineExceeded):
		return webapp.Errorf(wamp.ErrTimeout, "the call did not complete in time")
	case errors.Is(err, context.Canceled):
		return webapp.Errorf(wamp.ErrCanceled, "the request was canceled")
	}
	return err
}

// call calls one of the router's procedures for an operation.
func (s *Service) call(ctx context.Context, proc wamp.URI, args wamp.List, kwargs wamp.Dict) (*wamp.Result, error) {
	res, err := s.local.Call(ctx, proc, args, kwargs, nil)
	return res, fromRouter(err)
}
