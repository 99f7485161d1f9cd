package config

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Webapp configures the web-app interface ([webapp]): the operations a web application uses to
// publish events, issue tickets and manage sessions, and the representatives that carry them. The
// proxies (Go package proxy, clients/python/gateway_proxy.py) read the same section, so the
// web-app and the gateway share one file. Without a configuration file, HTTP/JSON and XML-RPC are
// served on the default listener to loopback clients; with a file, each representative is off
// unless its table is present.
type Webapp struct {
	// Realm is the realm the operations act on (default: the first realm).
	Realm string `toml:"realm"`
	// MaxBody is the largest request body accepted, in bytes.
	MaxBody int64 `toml:"max_body,size"`
	// CallTimeout is the default timeout of the call operation; MaxCallTimeout caps what a request asks.
	CallTimeout    time.Duration `toml:"call_timeout"`
	MaxCallTimeout time.Duration `toml:"max_call_timeout"`

	HTTP  *WebappHTTP  `toml:"http,table"`
	AMQP  *WebappAMQP  `toml:"amqp,table"`
	NATS  *WebappNATS  `toml:"nats,table"`
	Proxy *WebappProxy `toml:"proxy,table"`
}

// WebappHTTP configures the HTTP representatives ([webapp.http]): HTTP/JSON at /api/v1/<operation>
// and XML-RPC at /RPC2.
type WebappHTTP struct {
	// Address is the representative's own TCP listener ("host:port"); empty serves it on the
	// WebSocket listeners' ports, next to the WebSocket path.
	Address string `toml:"address"`
	// JSON and XMLRPC switch the two protocols (both default to true).
	JSON   *bool `toml:"json"`
	XMLRPC *bool `toml:"xmlrpc"`
	// LoopbackWithoutCredentials lets clients on 127.0.0.0/8 and ::1 call without credentials.
	LoopbackWithoutCredentials bool `toml:"loopback_without_credentials"`
	// APIKeys are accepted as "Authorization: Bearer <key>".
	APIKeys []Secret `toml:"api_keys"`
	// HMACKeys sign requests (HMAC-SHA256 over method, path, timestamp, nonce and body).
	HMACKeys []WebappHMACKey `toml:"hmac_keys"`
	// SignatureWindow is the accepted clock skew of signed requests, and how long nonces are
	// remembered to refuse replays (default 5m).
	SignatureWindow time.Duration `toml:"signature_window"`
}

// WebappHMACKey is one request-signing key ([[webapp.http.hmac_keys]]).
type WebappHMACKey struct {
	ID     string `toml:"id"`
	Secret Secret `toml:"secret"`
}

// WebappAMQP configures the AMQP 0-9-1 representative ([webapp.amqp]).
type WebappAMQP struct {
	// URL is the broker, e.g. "amqp://guest:guest@127.0.0.1:5672/" (may be a secret reference).
	URL Secret `toml:"url"`
	// Queue is the queue the gateway consumes (declared durable).
	Queue string `toml:"queue"`
	// Exchange and BindingKey optionally bind Queue to a topic exchange.
	Exchange   string `toml:"exchange"`
	BindingKey string `toml:"binding_key"`
	// DeadLetterExchange receives refused messages (default "<queue>.dlx").
	DeadLetterExchange string `toml:"dead_letter_exchange"`
	// Prefetch is how many unacknowledged messages the gateway takes at a time (default 64).
	Prefetch int `toml:"prefetch"`
	// DedupWindow is how long a message_id is remembered to drop redeliveries (default 10m).
	DedupWindow time.Duration `toml:"dedup_window"`
}

// WebappNATS configures the NATS representative ([webapp.nats]).
type WebappNATS struct {
	// URL is the NATS server, e.g. "nats://127.0.0.1:4222".
	URL string `toml:"url"`
	// SubjectPrefix is the request subjects' prefix: <prefix>.<operation> (default "gateway.api").
	SubjectPrefix string `toml:"subject_prefix"`
	// QueueGroup shares requests between gateways (default "gateway").
	QueueGroup string `toml:"queue_group"`
	// User and Password, or Token, authenticate to NATS.
	User     string `toml:"user"`
	Password Secret `toml:"password"`
	Token    Secret `toml:"token"`
}

// WebappProxy says which representative the proxies use and with which credentials
// ([webapp.proxy]); the gateway itself ignores it.
type WebappProxy struct {
	// Transport is "http", "xmlrpc", "amqp" or "nats".
	Transport string `toml:"transport"`
	// URL overrides the address the proxies derive from the representative's section (for a
	// gateway behind a load balancer, or on another host).
	URL string `toml:"url"`
	// KeyID names the [[webapp.http.hmac_keys]] key the proxies sign with; empty uses the first API
	// key, if any.
	KeyID string `toml:"key_id"`
	// Timeout bounds each proxy request (default 10s).
	Timeout time.Duration `toml:"timeout"`
}

// Defaults of the [webapp] section.
const (
	DefaultWebappMaxBody         = 1 * MiB
	DefaultWebappCallTimeout     = 10 * time.Second
	DefaultWebappMaxCallTimeout  = 5 * time.Minute
	DefaultWebappSignatureWindow = 5 * time.Minute
	DefaultWebappAMQPPrefetch    = 64
	DefaultWebappDedupWindow     = 10 * time.Minute
	DefaultWebappSubjectPrefix   = "gateway.api"
	DefaultWebappQueueGroup      = "gateway"
)

// defaultWebapp is the zero-configuration web-app interface: HTTP/JSON and XML-RPC on the default
// listener, for loopback clients only.
func defaultWebapp() Webapp {
	w := baseWebapp()
	w.HTTP = &WebappHTTP{LoopbackWithoutCredentials: true, SignatureWindow: DefaultWebappSignatureWindow}
	return w
}

// baseWebapp is the [webapp] section of a configuration file before decoding: every
// representative off.
func baseWebapp() Webapp {
	return Webapp{
		MaxBody:        DefaultWebappMaxBody,
		CallTimeout:    DefaultWebappCallTimeout,
		MaxCallTimeout: DefaultWebappMaxCallTimeout,
	}
}

// JSONEnabled reports whether HTTP/JSON is served.
func (h *WebappHTTP) JSONEnabled() bool { return h != nil && (h.JSON == nil || *h.JSON) }

// XMLRPCEnabled reports whether XML-RPC is served.
func (h *WebappHTTP) XMLRPCEnabled() bool { return h != nil && (h.XMLRPC == nil || *h.XMLRPC) }

// webapp checks [webapp] and fills the defaults of the representatives' tables.
func (v *checker) webapp(w *Webapp, realms []Realm, listeners []Listener) {
	const p = "webapp"
	if w.Realm != "" {
		found := false
		for _, r := range realms {
			found = found || r.Name == w.Realm
		}
		if !found {
			v.report(p+".realm", "no realm %q is configured", w.Realm)
		}
	}
	if w.MaxBody < 1*KiB || w.MaxBody > 64*MiB {
		v.report(p+".max_body", "must be between 1KiB and 64MiB, got %s", formatSize(w.MaxBody))
	}
	if w.CallTimeout <= 0 {
		v.report(p+".call_timeout", "must be positive")
	}
	if w.MaxCallTimeout < w.CallTimeout {
		v.report(p+".max_call_timeout", "must be at least call_timeout (%v)", w.CallTimeout)
	}
	if h := w.HTTP; h != nil {
		v.webappHTTP(p+".http", h, listeners)
	}
	if a := w.AMQP; a != nil {
		v.webappAMQP(p+".amqp", a)
	}
	if n := w.NATS; n != nil {
		v.webappNATS(p+".nats", n)
	}
	if x := w.Proxy; x != nil {
		v.webappProxy(p+".proxy", w)
	}
}

func (v *checker) webappHTTP(p string, h *WebappHTTP, listeners []Listener) {
	if h.Address != "" {
		if err := checkAddress(h.Address); err != nil {
			v.report(p+".address", "%v", err)
		} else {
			host, port, _ := net.SplitHostPort(h.Address)
			a := tcpAddr{strings.ToLower(host), port, p + ".address"}
			for i, l := range listeners {
				lh, lp, err := net.SplitHostPort(l.Address)
				if l.Address == "" || err != nil {
					continue
				}
				if key := "listeners[" + strconv.Itoa(i) + "].address"; a.conflicts(tcpAddr{strings.ToLower(lh), lp, key}) {
					v.report(p+".address", "address %q is already used by listeners[%d]%s: leave address empty to serve the web-app interface on the listener's port", h.Address, i, v.at(key))
					break
				}
			}
		}
	}
	if !h.JSONEnabled() && !h.XMLRPCEnabled() {
		v.report(p, "json and xmlrpc are both false: remove the table to turn the HTTP representative off")
	}
	if h.SignatureWindow == 0 {
		h.SignatureWindow = DefaultWebappSignatureWindow
	} else if h.SignatureWindow < time.Second || h.SignatureWindow > time.Hour {
		v.report(p+".signature_window", "must be between 1s and 1h, got %v", h.SignatureWindow)
	}
	for i, k := range h.APIKeys {
		if len(k.Value()) < 16 {
			v.report(p+".api_keys["+strconv.Itoa(i)+"]", "an API key must be at least 16 characters")
		}
	}
	ids := map[string]bool{}
	for i, k := range h.HMACKeys {
		kp := p + ".hmac_keys[" + strconv.Itoa(i) + "]"
		switch {
		case k.ID == "":
			v.report(kp+".id", "is required")
		case ids[k.ID]:
			v.report(kp+".id", "key id %q is used twice", k.ID)
		}
		ids[k.ID] = true
		if len(k.Secret.Value()) < 16 {
			v.report(kp+".secret", "a signing secret must be at least 16 characters")
		}
	}
	if len(h.APIKeys) == 0 && len(h.HMACKeys) == 0 && !h.LoopbackWithoutCredentials {
		v.report(p, "no credentials are configured, so every request would be refused: set api_keys, hmac_keys or loopback_without_credentials = true")
	}
}

func (v *checker) webappAMQP(p string, a *WebappAMQP) {
	if !a.URL.IsSet() {
		v.report(p+".url", `is required, e.g. "amqp://guest:guest@127.0.0.1:5672/"`)
	} else if u, err := url.Parse(a.URL.Value()); err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") {
		v.report(p+".url", "must be an amqp:// or amqps:// URL")
	}
	if a.Queue == "" {
		v.report(p+".queue", "is required")
	}
	if a.BindingKey != "" && a.Exchange == "" {
		v.report(p+".binding_key", "needs exchange")
	}
	if a.Prefetch == 0 {
		a.Prefetch = DefaultWebappAMQPPrefetch
	} else if a.Prefetch < 1 || a.Prefetch > 65535 {
		v.report(p+".prefetch", "must be between 1 and 65535")
	}
	if a.DedupWindow == 0 {
		a.DedupWindow = DefaultWebappDedupWindow
	} else if a.DedupWindow < 0 {
		v.report(p+".dedup_window", "must not be negative")
	}
}

func (v *checker) webappNATS(p string, n *WebappNATS) {
	if n.URL == "" {
		v.report(p+".url", `is required, e.g. "nats://127.0.0.1:4222"`)
	} else if u, err := url.Parse(n.URL); err != nil || (u.Scheme != "nats" && u.Scheme != "tls") {
		v.report(p+".url", "must be a nats:// or tls:// URL")
	}
	if n.SubjectPrefix == "" {
		n.SubjectPrefix = DefaultWebappSubjectPrefix
	} else if strings.ContainsAny(n.SubjectPrefix, "*> \t") || strings.HasSuffix(n.SubjectPrefix, ".") || strings.HasPrefix(n.SubjectPrefix, ".") {
		v.report(p+".subject_prefix", "must be a plain subject such as %q (no wildcards, no leading or trailing dot)", DefaultWebappSubjectPrefix)
	}
	if n.QueueGroup == "" {
		n.QueueGroup = DefaultWebappQueueGroup
	}
	if n.Token.IsSet() && (n.User != "" || n.Password.IsSet()) {
		v.report(p+".token", "set either token or user and password, not both")
	}
}

func (v *checker) webappProxy(p string, w *Webapp) {
	x := w.Proxy
	switch x.Transport {
	case "http", "xmlrpc":
		if w.HTTP == nil && x.URL == "" {
			v.report(p+".transport", "%q needs a [webapp.http] table (or url)", x.Transport)
		}
	case "amqp":
		if w.AMQP == nil {
			v.report(p+".transport", `"amqp" needs a [webapp.amqp] table`)
		}
	case "nats":
		if w.NATS == nil {
			v.report(p+".transport", `"nats" needs a [webapp.nats] table`)
		}
	default:
		v.report(p+".transport", "must be http, xmlrpc, amqp or nats, got %q", x.Transport)
	}
	if x.KeyID != "" {
		found := false
		if w.HTTP != nil {
			for _, k := range w.HTTP.HMACKeys {
				found = found || k.ID == x.KeyID
			}
		}
		if !found {
			v.report(p+".key_id", "no [[webapp.http.hmac_keys]] has id %q", x.KeyID)
		}
	}
	if x.Timeout == 0 {
		x.Timeout = 10 * time.Second
	} else if x.Timeout < 0 {
		v.report(p+".timeout", "must be positive")
	}
}
