package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"time"
)

// Proxy runs the gateway's web-app operations over one transport. It is safe for concurrent use.
type Proxy struct {
	cfg    Config
	t      transport
	closed atomic.Bool
}

// transport carries one request to the gateway and returns the operation's JSON result, or an
// *Error for a refused operation.
type transport interface {
	invoke(ctx context.Context, r *request) (json.RawMessage, error)
	close() error
}

// New returns a Proxy for cfg. It does not contact the gateway: the AMQP and NATS transports
// connect on first use.
func New(cfg Config) (*Proxy, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Proxy{cfg: cfg}
	switch cfg.Transport {
	case TransportHTTP:
		p.t = newHTTPTransport(&p.cfg)
	case TransportXMLRPC:
		p.t = newXMLRPCTransport(&p.cfg)
	case TransportAMQP:
		p.t = newAMQPTransport(&p.cfg)
	case TransportNATS:
		p.t = newNATSTransport(&p.cfg)
	}
	return p, nil
}

// Transport returns the transport the proxy uses.
func (p *Proxy) Transport() Transport { return p.cfg.Transport }

// Endpoint describes where requests go, without credentials: the URL for HTTP and XML-RPC, the
// broker and queue (or exchange) for AMQP, the server and subject prefix for NATS.
func (p *Proxy) Endpoint() string {
	c := &p.cfg
	switch c.Transport {
	case TransportHTTP:
		return httpEndpoint(c.URL, "/api/v1/")
	case TransportXMLRPC:
		return httpEndpoint(c.URL, "/RPC2")
	case TransportAMQP:
		if c.Exchange != "" {
			return redact(c.URL) + " exchange " + c.Exchange + " (" + c.BindingKey + ")"
		}
		return redact(c.URL) + " queue " + c.Queue
	}
	return redact(c.URL) + " " + c.SubjectPrefix + ".<operation>"
}

// Close releases the transport's connections. Requests in progress fail, and so do later ones.
func (p *Proxy) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	return p.t.close()
}

// Invoke runs operation op with request fields (the operation's JSON request object) and returns
// its JSON result as the JSON transports answer it (for XML-RPC, publish's bare id becomes
// {"publication": id}). The typed methods are built on it; it lets a caller use an operation or a
// field this package does not know yet (XML-RPC needs the field order, so only known fields).
func (p *Proxy) Invoke(ctx context.Context, op string, fields map[string]any) (json.RawMessage, error) {
	r := newRequest(op)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r.fields[k] = fields[k]
	}
	return p.invoke(ctx, r, 0)
}

// invoke runs r within the proxy's timeout plus extra.
func (p *Proxy) invoke(ctx context.Context, r *request, extra time.Duration) (json.RawMessage, error) {
	if p.closed.Load() {
		return nil, errors.New("proxy: the proxy is closed")
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout+extra)
	defer cancel()
	res, err := p.t.invoke(ctx, r)
	if err != nil {
		if _, ok := err.(*Error); ok {
			return nil, err
		}
		return nil, fmt.Errorf("proxy: %s over %s: %w", r.op, p.cfg.Transport, err)
	}
	return res, nil
}

// do runs r and decodes its result into out.
func (p *Proxy) do(ctx context.Context, r *request, extra time.Duration, out any) error {
	res, err := p.invoke(ctx, r, extra)
	if err != nil {
		return err
	}
	return decodeInto(res, out)
}
