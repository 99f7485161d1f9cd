// Package amqprep is the AMQP 0-9-1 (RabbitMQ) representative of the web-app interface: it consumes
// operation requests from a queue, runs them through a webapp.Invoker, answers on reply_to, sends
// refused messages to a dead-letter exchange, requeues transient failures and reconnects on its own.
//
// A message body is a JSON object {"op": "<operation>", ...the operation's request fields...}.
// Processing is at-least-once; deliveries whose message_id was already processed within the dedup
// window are acknowledged without running again.
package amqprep

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Defaults applied by Start to zero Config fields.
const (
	DefaultPrefetch    = 64
	DefaultDedupWindow = 10 * time.Minute
	DefaultMinBackoff  = 100 * time.Millisecond
	DefaultMaxBackoff  = 10 * time.Second
	// DefaultBindingKey is the binding key used when Exchange is set and BindingKey is empty.
	DefaultBindingKey = "#"
)

// Bounds of the dedup memory: the oldest entries are forgotten first when either is exceeded.
const (
	dedupMaxEntries = 100_000
	dedupMaxBytes   = 64 << 20
)

// Config configures the AMQP representative.
type Config struct {
	// URL is the broker address, e.g. amqp://guest:guest@127.0.0.1:5672/ (amqps:// for TLS).
	URL string
	// Queue is the consumed queue. It is declared durable if it does not exist; an existing queue is
	// used as it is (whatever its type and arguments).
	Queue string
	// Exchange, when set, is declared as a durable topic exchange and Queue is bound to it with
	// BindingKey (default "#").
	Exchange   string
	BindingKey string
	// DeadLetterExchange receives a copy of every invalid or refused message (default Queue+".dlx").
	// It is declared as a durable fanout exchange, and a durable queue Queue+".dead" is declared and
	// bound to it so that no dead letter is lost.
	DeadLetterExchange string
	// Prefetch is the number of unacknowledged deliveries the broker may hand over at once (default 64).
	Prefetch int
	// Concurrency is the number of messages processed at the same time (default 1: one at a time, in
	// delivery order). At most Prefetch.
	Concurrency int
	// DedupWindow is how long a processed message_id is remembered (default 10m): a delivery with the
	// same message_id within the window is acknowledged without running again, and answered again with
	// the first reply when it has reply_to. Messages without message_id are not deduplicated.
	DedupWindow time.Duration
	// MinBackoff and MaxBackoff bound the exponential backoff between reconnection attempts and before
	// requeueing a message that failed transiently (defaults 100ms and 10s).
	MinBackoff, MaxBackoff time.Duration
	// Logger receives connection events and processing failures (default slog.Default()).
	Logger *slog.Logger
}

// withDefaults returns cfg with its zero fields set to their defaults, or an error naming the first
// invalid field.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.URL == "" {
		return cfg, errors.New("amqprep: URL is required")
	}
	if _, err := amqp.ParseURI(cfg.URL); err != nil {
		return cfg, fmt.Errorf("amqprep: invalid URL: %w", err)
	}
	if cfg.Queue == "" {
		return cfg, errors.New("amqprep: Queue is required")
	}
	if cfg.Exchange == "" && cfg.BindingKey != "" {
		return cfg, errors.New("amqprep: BindingKey needs an Exchange")
	}
	if cfg.Exchange != "" && cfg.BindingKey == "" {
		cfg.BindingKey = DefaultBindingKey
	}
	if cfg.DeadLetterExchange == "" {
		cfg.DeadLetterExchange = cfg.Queue + ".dlx"
	}
	if cfg.DeadLetterExchange == cfg.Exchange {
		return cfg, errors.New("amqprep: DeadLetterExchange must differ from Exchange")
	}
	if cfg.Prefetch < 0 || cfg.Concurrency < 0 || cfg.DedupWindow < 0 || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 {
		return cfg, errors.New("amqprep: Prefetch, Concurrency, DedupWindow and backoffs must not be negative")
	}
	if cfg.Prefetch == 0 {
		cfg.Prefetch = DefaultPrefetch
	}
	if cfg.Prefetch > 65535 {
		return cfg, fmt.Errorf("amqprep: Prefetch %d exceeds 65535", cfg.Prefetch)
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 1
	}
	if cfg.Concurrency > cfg.Prefetch {
		return cfg, fmt.Errorf("amqprep: Concurrency %d exceeds Prefetch %d", cfg.Concurrency, cfg.Prefetch)
	}
	if cfg.DedupWindow == 0 {
		cfg.DedupWindow = DefaultDedupWindow
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MinBackoff > cfg.MaxBackoff {
		return cfg, fmt.Errorf("amqprep: MinBackoff %v exceeds MaxBackoff %v", cfg.MinBackoff, cfg.MaxBackoff)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}

// deadQueue is the queue bound to the dead-letter exchange.
func (cfg Config) deadQueue() string { return cfg.Queue + ".dead" }
