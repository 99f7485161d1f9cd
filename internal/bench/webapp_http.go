package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gateway-dev/gateway/wamp"
)

// webappClient sends publish requests through one web-app representative. publish is called
// concurrently, by each worker one request at a time.
type webappClient interface {
	// publish sends one publish request whose only argument is marker and waits for its answer:
	// the publication id, or why there is none.
	publish(ctx context.Context, w *webappWorker, marker []byte) (wamp.ID, error)
	// target names where the requests go, without credentials.
	target() string
	// close releases the client's connections.
	close()
}

// maxAnswer is the largest answer read from a representative.
const maxAnswer = 1 << 20

// newWebappClient connects to the representative o.Transport names.
func newWebappClient(ctx context.Context, o Options) (webappClient, error) {
	switch o.Transport {
	case TransportHTTP, TransportXMLRPC:
		return newHTTPPublisher(o), nil
	case TransportAMQP:
		return dialAMQPPublisher(ctx, o)
	case TransportNATS:
		return dialNATSPublisher(o)
	}
	return nil, fmt.Errorf("unknown web-app transport %q", o.Transport)
}

// httpPublisher publishes over HTTP/JSON or XML-RPC with keep-alive connections, one per worker.
type httpPublisher struct {
	client         *http.Client
	url            string
	apiKey         string
	contentType    string
	prefix, suffix string // request body = prefix + marker + suffix
	parse          func(status int, body []byte) (wamp.ID, error)
}

func newHTTPPublisher(o Options) *httpPublisher {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: o.ConnectTimeout}).DialContext,
		MaxIdleConns:        o.Concurrency,
		MaxIdleConnsPerHost: o.Concurrency,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	p := &httpPublisher{client: &http.Client{Transport: tr}, apiKey: o.APIKey}
	if o.Transport == TransportXMLRPC {
		p.url, p.contentType, p.parse = o.WebappURL+"/RPC2", "text/xml", parseXMLRPCAnswer
		// The topic is a plain URI (checked by the options) and the marker is hex digits, ':' and
		// 'x': nothing needs escaping in XML.
		p.prefix = `<?xml version="1.0"?><methodCall><methodName>gateway.publish</methodName><params>` +
			`<param><value><string>` + o.Topic + `</string></value></param>` +
			`<param><value><array><data><value><string>`
		p.suffix = `</string></value></data></array></value></param></params></methodCall>`
		return p
	}
	p.url, p.contentType, p.parse = o.WebappURL+"/api/v1/publish", "application/json", parseHTTPAnswer
	p.prefix, p.suffix = `{"topic":"`+o.Topic+`","args":["`, `"]}`
	return p
}

func (p *httpPublisher) target() string { return p.url }

func (p *httpPublisher) close() { p.client.CloseIdleConnections() }

func (p *httpPublisher) publish(ctx context.Context, w *webappWorker, marker []byte) (wamp.ID, error) {
	w.body = append(append(append(w.body[:0], p.prefix...), marker...), p.suffix...)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(w.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", p.contentType)
	if p.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+p.apiKey)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	buf := bytes.NewBuffer(w.answer[:0])
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxAnswer))
	w.answer = buf.Bytes()
	if err != nil {
		return 0, fmt.Errorf("reading the answer: %w", err)
	}
	return p.parse(resp.StatusCode, w.answer)
}
