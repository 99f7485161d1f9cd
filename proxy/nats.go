package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// natsTransport is the NATS transport: a request on <SubjectPrefix>.<operation> with the JSON
// request body, answered with the reply envelope.
type natsTransport struct {
	cfg *Config

	mu     sync.Mutex // guards nc and closed; held while connecting
	nc     *nats.Conn
	closed bool
}

func newNATSTransport(cfg *Config) *natsTransport { return &natsTransport{cfg: cfg} }

func (t *natsTransport) invoke(ctx context.Context, r *request) (json.RawMessage, error) {
	body, err := r.body()
	if err != nil {
		return nil, err
	}
	nc, err := t.conn(ctx)
	if err != nil {
		return nil, err
	}
	subject := t.cfg.SubjectPrefix + "." + r.op
	msg, err := nc.RequestWithContext(ctx, subject, body)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, fmt.Errorf("no gateway answers on %s (is the gateway running with [webapp.nats] on this server?): %w", subject, err)
	case err != nil:
		return nil, fmt.Errorf("request on %s: %w", subject, err)
	}
	return decodeEnvelope(msg.Data)
}

// conn returns the connection, connecting first if needed. Once connected, nats.go reconnects on
// its own.
func (t *natsTransport) conn(ctx context.Context) (*nats.Conn, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, errors.New("the proxy is closed")
	}
	if t.nc != nil && !t.nc.IsClosed() {
		return t.nc, nil
	}
	timeout := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	opts := []nats.Option{
		nats.Name("gateway proxy"),
		nats.Timeout(timeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
	}
	if t.cfg.NATSUser != "" || t.cfg.NATSPassword != "" {
		opts = append(opts, nats.UserInfo(t.cfg.NATSUser, t.cfg.NATSPassword))
	}
	if t.cfg.NATSToken != "" {
		opts = append(opts, nats.Token(t.cfg.NATSToken))
	}
	nc, err := nats.Connect(t.cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", redact(t.cfg.URL), err)
	}
	t.nc = nc
	return nc, nil
}

func (t *natsTransport) close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	if t.nc != nil {
		t.nc.Close()
		t.nc = nil
	}
	return nil
}
