package proxy

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Transport names a representative of the web-app interface.
type Transport string

// The transports a Proxy speaks.
const (
	TransportHTTP   Transport = "http"   // HTTP/JSON: POST <URL>/api/v1/<operation>
	TransportXMLRPC Transport = "xmlrpc" // XML-RPC: POST <URL>/RPC2, methods gateway.<operation>
	TransportAMQP   Transport = "amqp"   // AMQP 0-9-1: {"op": ..., ...} messages with reply_to
	TransportNATS   Transport = "nats"   // NATS: requests on <SubjectPrefix>.<operation>
)

// Defaults of Config.
const (
	DefaultURL           = "http://127.0.0.1:8080"
	DefaultTimeout       = 10 * time.Second
	DefaultSubjectPrefix = "gateway.api"
	DefaultBindingKey    = "#"
)

// Config configures a Proxy built in code (Load builds one from the gateway's configuration file).
type Config struct {
	// Transport is the representative to use (default TransportHTTP).
	Transport Transport
	// URL is where the representative is. HTTP and XML-RPC: the gateway's base URL, e.g.
	// "http://127.0.0.1:8080" or "https://gw.example.com/prefix" (default DefaultURL); "/api/v1/" or
	// "/RPC2" is appended unless the URL already ends with it. AMQP: the broker URL
	// ("amqp://user:password@host:5672/vhost"). NATS: the server URL(s), comma-separated.
	URL string

	// KeyID and Secret sign every HTTP and XML-RPC request (see Sign); they take precedence over
	// APIKey.
	KeyID  string
	Secret string
	// APIKey is sent as "Authorization: Bearer <APIKey>" (HTTP and XML-RPC).
	APIKey string

	// Queue is the queue the gateway consumes (AMQP; required).
	Queue string
	// Exchange, when set, receives the requests instead of the default exchange, with a routing key
	// made from BindingKey (default "#"): its "*" and "#" words are replaced by the operation name,
	// so that the key matches the gateway's binding.
	Exchange   string
	BindingKey string

	// SubjectPrefix prefixes the NATS subjects: <SubjectPrefix>.<operation> (default "gateway.api").
	SubjectPrefix string
	// NATSUser and NATSPassword, or NATSToken, authenticate to the NATS server.
	NATSUser     string
	NATSPassword string
	NATSToken    string

	// Timeout bounds each request (default DefaultTimeout); Call adds its own timeout to it.
	Timeout time.Duration
	// HTTPClient sends the HTTP and XML-RPC requests (default: a client of its own with
	// http.DefaultTransport's settings).
	HTTPClient *http.Client
}

// withDefaults checks cfg and fills its defaults.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Transport == "" {
		cfg.Transport = TransportHTTP
	}
	if cfg.Timeout < 0 {
		return cfg, errors.New("proxy: Timeout must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if (cfg.KeyID == "") != (cfg.Secret == "") {
		return cfg, errors.New("proxy: KeyID and Secret go together: set both to sign requests, or neither")
	}
	switch cfg.Transport {
	case TransportHTTP, TransportXMLRPC:
		if cfg.URL == "" {
			cfg.URL = DefaultURL
		}
		u, err := url.Parse(cfg.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return cfg, fmt.Errorf("proxy: URL %q must be an http:// or https:// URL with a host", redact(cfg.URL))
		}
		if strings.ContainsAny(cfg.APIKey, "\r\n") || strings.ContainsAny(cfg.KeyID, "\r\n") {
			return cfg, errors.New("proxy: APIKey and KeyID must not contain line breaks")
		}
	case TransportAMQP:
		u, err := url.Parse(cfg.URL)
		if cfg.URL == "" || err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") {
			return cfg, fmt.Errorf("proxy: URL %q must be an amqp:// or amqps:// broker URL", redact(cfg.URL))
		}
		if cfg.Queue == "" && cfg.Exchange == "" {
			return cfg, errors.New("proxy: AMQP needs the Queue the gateway consumes (or an Exchange bound to it)")
		}
		if cfg.BindingKey == "" {
			cfg.BindingKey = DefaultBindingKey
		}
	case TransportNATS:
		if cfg.URL == "" {
			return cfg, errors.New("proxy: NATS needs the server URL")
		}
		if cfg.SubjectPrefix == "" {
			cfg.SubjectPrefix = DefaultSubjectPrefix
		}
		if !validPrefix(cfg.SubjectPrefix) {
			return cfg, fmt.Errorf("proxy: SubjectPrefix %q must be a plain subject such as %q", cfg.SubjectPrefix, DefaultSubjectPrefix)
		}
		if cfg.NATSToken != "" && (cfg.NATSUser != "" || cfg.NATSPassword != "") {
			return cfg, errors.New("proxy: give NATSToken or NATSUser/NATSPassword, not both")
		}
	default:
		return cfg, fmt.Errorf("proxy: unknown transport %q (want http, xmlrpc, amqp or nats)", cfg.Transport)
	}
	return cfg, nil
}

// validPrefix accepts a literal NATS subject: dot-separated non-empty tokens without wildcards or
// white space.
func validPrefix(p string) bool {
	for _, tok := range strings.Split(p, ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n") {
			return false
		}
	}
	return true
}

// routingKey is the AMQP routing key of operation op: Queue on the default exchange, else
// BindingKey with its wildcard words replaced by op.
func (cfg *Config) routingKey(op string) string {
	if cfg.Exchange == "" {
		return cfg.Queue
	}
	words := strings.Split(cfg.BindingKey, ".")
	for i, w := range words {
		if w == "*" || w == "#" {
			words[i] = op
		}
	}
	return strings.Join(words, ".")
}

// redact hides the password of a URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return "(an invalid URL with credentials)"
		}
		return raw
	}
	if u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
