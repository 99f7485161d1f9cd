package bench

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Web-app transports: the representative the Webapp scenario publishes through.
const (
	TransportHTTP   = "http"   // POST <WebappURL>/api/v1/publish with a JSON body
	TransportXMLRPC = "xmlrpc" // POST <WebappURL>/RPC2, method gateway.publish
	TransportAMQP   = "amqp"   // {"op": "publish", ...} to AMQPQueue, answer on a reply queue
	TransportNATS   = "nats"   // request on <NATSPrefix>.publish
)

// DefaultWebappConcurrency is the number of concurrent publishers of the Webapp scenario when
// WebappOptions.Concurrency is 0.
const DefaultWebappConcurrency = 32

// WebappOptions configure the Webapp scenario: Concurrency closed-loop publishers send publish
// requests through one representative of the gateway's web-app interface, each waiting for its
// answer before sending the next (paced by Options.Rate when it is set), while Options.Subscribers
// WAMP subscribers on Topic count what they receive.
type WebappOptions struct {
	Transport string // TransportHTTP ["http"], TransportXMLRPC, TransportAMQP or TransportNATS
	// WebappURL is the HTTP representative's base URL [http://<host:port of Options.URL>].
	WebappURL string
	// APIKey is sent as "Authorization: Bearer <key>" (HTTP and XML-RPC) [none].
	APIKey     string `json:"-"`
	AMQPURL    string `json:"-"` // broker, e.g. amqp://guest:guest@127.0.0.1:5672/ (may hold a password)
	AMQPQueue  string // the queue the gateway consumes
	NATSURL    string // e.g. nats://127.0.0.1:4222
	NATSPrefix string // the representative's subject prefix ["gateway.api"]
	// Concurrency is the number of publishers, each with one request in flight [DefaultWebappConcurrency].
	Concurrency int
	// Topic is the topic published to and subscribed [bench.<random>.webapp].
	Topic string
}

// webappDefaults fills the defaults of the Webapp options and checks them.
func (o *Options) webappDefaults() error {
	w := &o.WebappOptions
	if w.Transport == "" {
		w.Transport = TransportHTTP
	}
	if w.Concurrency == 0 {
		w.Concurrency = DefaultWebappConcurrency
	}
	if w.Concurrency < 0 || w.Concurrency > 4096 {
		return fmt.Errorf("concurrency must be in [1, 4096], got %d", w.Concurrency)
	}
	if o.Subscribers < 0 {
		return fmt.Errorf("subscribers must not be negative, got %d", o.Subscribers)
	}
	if w.Topic == "" {
		w.Topic = "bench." + runID() + ".webapp"
	} else if !plainURI(w.Topic) {
		return fmt.Errorf("topic %q: want a plain URI such as com.example.news (letters, digits, _ and -, dot-separated)", w.Topic)
	}
	switch w.Transport {
	case TransportHTTP, TransportXMLRPC:
		if w.WebappURL == "" {
			w.WebappURL = webappURLFrom(o.URL)
		}
		u, err := url.Parse(w.WebappURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("web-app URL %q: want http://host:port", w.WebappURL)
		}
		w.WebappURL = strings.TrimRight(w.WebappURL, "/")
	case TransportAMQP:
		if w.AMQPURL == "" || w.AMQPQueue == "" {
			return errors.New("the amqp transport needs --amqp-url and --amqp-queue")
		}
		if u, err := url.Parse(w.AMQPURL); err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") {
			return errors.New("the AMQP URL must be amqp://user:password@host:port/vhost")
		}
	case TransportNATS:
		if w.NATSURL == "" {
			return errors.New("the nats transport needs --nats-url")
		}
		if w.NATSPrefix == "" {
			w.NATSPrefix = "gateway.api"
		}
		if strings.ContainsAny(w.NATSPrefix, "*> \t") || strings.HasPrefix(w.NATSPrefix, ".") || strings.HasSuffix(w.NATSPrefix, ".") {
			return fmt.Errorf("NATS subject prefix %q: want a plain subject such as gateway.api", w.NATSPrefix)
		}
	default:
		return fmt.Errorf("unknown web-app transport %q (http, xmlrpc, amqp or nats)", w.Transport)
	}
	return nil
}

// webappURLFrom derives the HTTP representative's base URL from a router URL: the gateway serves
// the web-app interface on its WebSocket listener by default.
func webappURLFrom(router string) string {
	u, err := url.Parse(router)
	if err != nil || u.Host == "" {
		return ""
	}
	return "http://" + u.Host
}

// plainURI reports whether s is a dot-separated URI of letters, digits, '_' and '-' without empty
// components: nothing in it needs escaping in JSON or XML.
func plainURI(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for c := range strings.SplitSeq(s, ".") {
		if c == "" {
			return false
		}
		for _, r := range c {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
				return false
			}
		}
	}
	return true
}
