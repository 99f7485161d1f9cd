// Package natsrep is the NATS representative of the web-app interface: it answers requests sent to
// <prefix>.<operation> (e.g. gateway.api.publish) with the operation's result envelope.
//
// The request body is the operation's JSON request (empty means {}); the reply, sent to the
// message's reply subject, is {"result": ...} or {"error", "message", "details", "status"}. A message
// without a reply subject is processed anyway (fire-and-forget) and its failure is only logged.
package natsrep

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Defaults applied by Start to zero Config fields.
const (
	DefaultSubjectPrefix = "gateway.api"
	DefaultQueueGroup    = "gateway"
	DefaultMaxInFlight   = 64
	DefaultReconnectWait = 2 * time.Second
)

// Config configures the NATS representative.
type Config struct {
	// URL is the server address, e.g. nats://127.0.0.1:4222 (several may be given, comma-separated).
	URL string
	// SubjectPrefix is the subject prefix of the operations (default "gateway.api"): the
	// representative subscribes to <prefix>.> and the last token is the operation.
	SubjectPrefix string
	// QueueGroup is the queue group of the subscription (default "gateway"), so that several gateways
	// share the requests.
	QueueGroup string
	// User and Password, or Token, authenticate to the server (all optional).
	User, Password, Token string
	// MaxInFlight bounds the requests processed at the same time (default 64); more wait in the
	// subscription's buffer.
	MaxInFlight int
	// ReconnectWait is the delay between reconnection attempts (default 2s); reconnection never stops.
	ReconnectWait time.Duration
	// Logger receives connection events and the failures of requests without reply subject
	// (default slog.Default()).
	Logger *slog.Logger
}

// withDefaults returns cfg with its zero fields set to their defaults, or an error naming the first
// invalid field.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.URL == "" {
		return cfg, errors.New("natsrep: URL is required")
	}
	if cfg.SubjectPrefix == "" {
		cfg.SubjectPrefix = DefaultSubjectPrefix
	}
	if err := checkPrefix(cfg.SubjectPrefix); err != nil {
		return cfg, err
	}
	if cfg.QueueGroup == "" {
		cfg.QueueGroup = DefaultQueueGroup
	}
	if strings.ContainsAny(cfg.QueueGroup, " \t\r\n") {
		return cfg, fmt.Errorf("natsrep: invalid QueueGroup %q", cfg.QueueGroup)
	}
	if cfg.Token != "" && (cfg.User != "" || cfg.Password != "") {
		return cfg, errors.New("natsrep: give Token or User/Password, not both")
	}
	if cfg.MaxInFlight < 0 || cfg.ReconnectWait < 0 {
		return cfg, errors.New("natsrep: MaxInFlight and ReconnectWait must not be negative")
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.ReconnectWait == 0 {
		cfg.ReconnectWait = DefaultReconnectWait
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}

// checkPrefix accepts a literal subject: dot-separated non-empty tokens without wildcards or spaces.
func checkPrefix(p string) error {
	for _, tok := range strings.Split(p, ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n") {
			return fmt.Errorf("natsrep: invalid SubjectPrefix %q", p)
		}
	}
	return nil
}
