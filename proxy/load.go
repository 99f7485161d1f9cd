package proxy

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// defaultListener is the gateway's listener when the file configures none.
const defaultListener = "127.0.0.1:8080"

// Load reads the gateway's configuration file at path (see LoadConfig) and returns a Proxy for it.
func Load(path string) (*Proxy, error) {
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// LoadConfig reads the [webapp] section and the [[listeners]] of the gateway's configuration file
// at path and derives the proxy's Config by the rules in the package documentation. Other sections
// are ignored. Errors name the file and the key.
func LoadConfig(path string) (Config, error) { return LoadConfigFor(path, "") }

// LoadConfigFor is LoadConfig with transport in place of [webapp.proxy].transport (empty keeps
// the file's choice), for a web application that uses another representative of the same gateway.
func LoadConfigFor(path string, transport Transport) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("proxy: reading the gateway configuration: %w", err)
	}
	root := map[string]any{}
	if err := toml.Unmarshal(data, &root); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return Config{}, fmt.Errorf("proxy: %s:%d:%d: %v", path, row, col, de)
		}
		return Config{}, fmt.Errorf("proxy: %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Config{}, fmt.Errorf("proxy: %s: %w", path, err)
	}
	f := &file{path: path, dir: filepath.Dir(abs)}
	cfg, err := f.config(root, transport)
	if err != nil {
		return Config{}, err
	}
	return cfg.withDefaults()
}

// file is a configuration file being read.
type file struct {
	path string
	dir  string // secrets' "file:" paths are relative to it
}

// errorf returns an error naming the file and key.
func (f *file) errorf(key, format string, a ...any) error {
	return fmt.Errorf("proxy: %s: %s: %s", f.path, key, fmt.Sprintf(format, a...))
}

// sections are the tables of [webapp] the proxy reads; nil when absent.
type sections struct {
	webapp, proxy, http, amqp, nats map[string]any
}

func (f *file) config(root map[string]any, override Transport) (Config, error) {
	var s sections
	var err error
	if s.webapp, err = f.table(root, "webapp", "webapp"); err != nil {
		return Config{}, err
	}
	for key, dst := range map[string]*map[string]any{"proxy": &s.proxy, "http": &s.http, "amqp": &s.amqp, "nats": &s.nats} {
		if *dst, err = f.table(s.webapp, key, "webapp."+key); err != nil {
			return Config{}, err
		}
	}
	var cfg Config
	transport, err := f.str(s.proxy, "transport", "webapp.proxy")
	if err != nil {
		return cfg, err
	}
	if override != "" {
		transport = string(override)
	}
	if cfg.URL, err = f.str(s.proxy, "url", "webapp.proxy"); err != nil {
		return cfg, err
	}
	if cfg.Timeout, err = f.duration(s.proxy, "timeout", "webapp.proxy"); err != nil {
		return cfg, err
	}
	if cfg.Transport, err = f.transport(transport, cfg.URL != "", s); err != nil {
		return cfg, err
	}
	switch cfg.Transport {
	case TransportHTTP, TransportXMLRPC:
		err = f.httpConfig(&cfg, root, s)
	case TransportAMQP:
		err = f.amqpConfig(&cfg, s.amqp)
	case TransportNATS:
		err = f.natsConfig(&cfg, s.nats)
	}
	return cfg, err
}

// transport picks the transport: the configured one, else the first representative present.
func (f *file) transport(name string, hasURL bool, s sections) (Transport, error) {
	const key = "webapp.proxy.transport"
	switch Transport(name) {
	case TransportHTTP, TransportXMLRPC:
		if s.http == nil && !hasURL {
			return "", f.errorf(key, "%q needs a [webapp.http] table (or webapp.proxy.url)", name)
		}
		return Transport(name), nil
	case TransportAMQP:
		if s.amqp == nil {
			return "", f.errorf(key, `"amqp" needs a [webapp.amqp] table`)
		}
		return TransportAMQP, nil
	case TransportNATS:
		if s.nats == nil {
			return "", f.errorf(key, `"nats" needs a [webapp.nats] table`)
		}
		return TransportNATS, nil
	case "":
	default:
		return "", f.errorf(key, "must be http, xmlrpc, amqp or nats, got %q", name)
	}
	switch {
	case s.http != nil:
		json, err := f.boolean(s.http, "json", "webapp.http", true)
		if err != nil {
			return "", err
		}
		if !json {
			return TransportXMLRPC, nil
		}
		return TransportHTTP, nil
	case s.amqp != nil:
		return TransportAMQP, nil
	case s.nats != nil:
		return TransportNATS, nil
	case hasURL:
		return TransportHTTP, nil
	}
	return "", fmt.Errorf("proxy: %s: no [webapp.http], [webapp.amqp] or [webapp.nats] table: the gateway serves no web-app representative with this file", f.path)
}

// httpConfig sets the address and credentials of the HTTP and XML-RPC transports.
func (f *file) httpConfig(cfg *Config, root map[string]any, s sections) error {
	if s.http != nil {
		flag := map[Transport]string{TransportHTTP: "json", TransportXMLRPC: "xmlrpc"}[cfg.Transport]
		on, err := f.boolean(s.http, flag, "webapp.http", true)
		if err != nil {
			return err
		}
		if !on && cfg.URL == "" {
			return f.errorf("webapp.http."+flag, "is false: the gateway does not serve %s (choose another webapp.proxy.transport)", cfg.Transport)
		}
	}
	if cfg.URL == "" {
		u, err := f.httpURL(root, s.http)
		if err != nil {
			return err
		}
		cfg.URL = u
	}
	keyID, err := f.str(s.proxy, "key_id", "webapp.proxy")
	if err != nil {
		return err
	}
	if keyID != "" {
		cfg.KeyID = keyID
		cfg.Secret, err = f.hmacSecret(s.http, keyID)
		return err
	}
	keys, err := f.array(s.http, "api_keys", "webapp.http")
	if err != nil || len(keys) == 0 {
		return err
	}
	cfg.APIKey, err = f.secretValue(keys[0], "webapp.http.api_keys[0]")
	return err
}

// httpURL derives the base URL: [webapp.http].address, else the first TCP listener, else the
// default listener.
func (f *file) httpURL(root, http map[string]any) (string, error) {
	addr, err := f.str(http, "address", "webapp.http")
	if err != nil {
		return "", err
	}
	if addr != "" {
		return f.baseURL("http", addr, "webapp.http.address")
	}
	listeners, err := f.array(root, "listeners", "listeners")
	if err != nil {
		return "", err
	}
	for i, l := range listeners {
		key := fmt.Sprintf("listeners[%d]", i)
		lt, ok := l.(map[string]any)
		if !ok {
			return "", f.errorf(key, "expected a table, got %s", typeName(l))
		}
		addr, err := f.str(lt, "address", key)
		if err != nil {
			return "", err
		}
		if addr == "" {
			continue // a Unix socket listener
		}
		cert, err := f.str(lt, "tls_cert", key)
		if err != nil {
			return "", err
		}
		scheme := "http"
		if cert != "" {
			scheme = "https"
		}
		return f.baseURL(scheme, addr, key+".address")
	}
	if len(listeners) > 0 {
		return "", f.errorf("listeners", "no listener has a TCP address: set webapp.http.address or webapp.proxy.url")
	}
	return "http://" + defaultListener, nil
}

// baseURL makes scheme://host:port of a listen address, with a wildcard host replaced by loopback.
func (f *file) baseURL(scheme, addr, key string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", f.errorf(key, "invalid address %q: %v", addr, err)
	}
	if port == "0" || port == "" {
		return "", f.errorf(key, "port %q is picked at start-up, so the proxy cannot know it: set webapp.proxy.url", port)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::", "[::]":
		host = "::1"
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// hmacSecret returns the secret of the [[webapp.http.hmac_keys]] entry with id keyID.
func (f *file) hmacSecret(http map[string]any, keyID string) (string, error) {
	keys, err := f.array(http, "hmac_keys", "webapp.http")
	if err != nil {
		return "", err
	}
	for i, k := range keys {
		key := fmt.Sprintf("webapp.http.hmac_keys[%d]", i)
		kt, ok := k.(map[string]any)
		if !ok {
			return "", f.errorf(key, "expected a table, got %s", typeName(k))
		}
		id, err := f.str(kt, "id", key)
		if err != nil {
			return "", err
		}
		if id == keyID {
			v, err := f.secretValue(kt["secret"], key+".secret")
			if err == nil && v == "" {
				err = f.errorf(key+".secret", "is empty")
			}
			return v, err
		}
	}
	return "", f.errorf("webapp.proxy.key_id", "no [[webapp.http.hmac_keys]] has id %q", keyID)
}

// amqpConfig sets the broker URL, queue and exchange.
func (f *file) amqpConfig(cfg *Config, amqp map[string]any) error {
	var err error
	if cfg.URL == "" {
		if cfg.URL, err = f.secretValue(amqp["url"], "webapp.amqp.url"); err != nil {
			return err
		}
		if cfg.URL == "" {
			return f.errorf("webapp.amqp.url", "is required")
		}
	}
	if cfg.Queue, err = f.str(amqp, "queue", "webapp.amqp"); err != nil {
		return err
	}
	if cfg.Queue == "" {
		return f.errorf("webapp.amqp.queue", "is required")
	}
	if cfg.Exchange, err = f.str(amqp, "exchange", "webapp.amqp"); err != nil {
		return err
	}
	cfg.BindingKey, err = f.str(amqp, "binding_key", "webapp.amqp")
	return err
}

// natsConfig sets the server URL, subject prefix and credentials.
func (f *file) natsConfig(cfg *Config, nats map[string]any) error {
	var err error
	if cfg.URL == "" {
		if cfg.URL, err = f.str(nats, "url", "webapp.nats"); err != nil {
			return err
		}
		if cfg.URL == "" {
			return f.errorf("webapp.nats.url", "is required")
		}
	}
	if cfg.SubjectPrefix, err = f.str(nats, "subject_prefix", "webapp.nats"); err != nil {
		return err
	}
	if cfg.NATSUser, err = f.str(nats, "user", "webapp.nats"); err != nil {
		return err
	}
	if cfg.NATSPassword, err = f.secretValue(nats["password"], "webapp.nats.password"); err != nil {
		return err
	}
	cfg.NATSToken, err = f.secretValue(nats["token"], "webapp.nats.token")
	return err
}

// table returns t[name] as a table (nil when absent).
func (f *file) table(t map[string]any, name, key string) (map[string]any, error) {
	v, ok := t[name]
	if !ok || t == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, f.errorf(key, "expected a table, got %s", typeName(v))
	}
	return m, nil
}

// str returns the string t[name] ("" when absent); parent is t's key.
func (f *file) str(t map[string]any, name, parent string) (string, error) {
	v, ok := t[name]
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", f.errorf(parent+"."+name, "expected a string, got %s", typeName(v))
	}
	return s, nil
}

// boolean returns the boolean t[name] (def when absent).
func (f *file) boolean(t map[string]any, name, parent string, def bool) (bool, error) {
	v, ok := t[name]
	if !ok {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, f.errorf(parent+"."+name, "expected true or false, got %s", typeName(v))
	}
	return b, nil
}

// array returns the array t[name] (nil when absent).
func (f *file) array(t map[string]any, name, parent string) ([]any, error) {
	v, ok := t[name]
	if !ok {
		return nil, nil
	}
	a, ok := v.([]any)
	if !ok {
		return nil, f.errorf(parent+"."+name, "expected an array, got %s", typeName(v))
	}
	return a, nil
}

// duration returns the duration t[name]: a Go duration string such as "10s", or the integer 0
// (0 when absent).
func (f *file) duration(t map[string]any, name, parent string) (time.Duration, error) {
	key := parent + "." + name
	switch v := t[name].(type) {
	case nil:
		return 0, nil
	case int64:
		if v == 0 {
			return 0, nil
		}
		return 0, f.errorf(key, `invalid duration %d: write it as a string with a unit, e.g. "%ds"`, v, v)
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return 0, f.errorf(key, `invalid duration %q: use a number with a unit ns, us, ms, s, m or h, e.g. "10s"`, v)
		}
		if d < 0 {
			return 0, f.errorf(key, "invalid duration %q: must not be negative", v)
		}
		return d, nil
	default:
		return 0, f.errorf(key, `expected a duration string such as "10s", got %s`, typeName(v))
	}
}

// typeName names the TOML type of a decoded value (never the value: it may be a secret).
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return "a date or time"
}
