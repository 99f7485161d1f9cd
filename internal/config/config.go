// Package config loads and validates the gateway's TOML configuration file. Every problem is
// reported with the file, line and key it concerns, and all problems are reported together, so
// `gateway check-config` can list them in one run.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"
)

// Defaults for the zero-configuration run.
const (
	DefaultAddress       = "127.0.0.1:8080"
	DefaultWebSocketPath = "/ws"
	DefaultRealm         = "realm1"
)

// Bounds of limits.max_message_size. RawSocket announces the maximum message length as a power of
// two between 2^9 and 2^24, so the gateway cannot promise more than 16 MiB on any transport.
const (
	MessageSizeMin = 512
	MessageSizeMax = 16 * MiB
)

// Config is the whole gateway configuration. Each TOML table is a struct field tagged with its
// name; add new sections ([auth], [store], ...) as new tagged fields (see decode.go for the field
// types the decoder understands) and their rules to validate.go.
type Config struct {
	// File is the file the configuration was read from; "" for Default.
	File string `toml:"-"`

	Server      Server      `toml:"server"`
	Listeners   []Listener  `toml:"listeners"`
	Limits      Limits      `toml:"limits"`
	Realms      []Realm     `toml:"realms"`
	Store       Store       `toml:"store"`
	ClientToken ClientToken `toml:"client_token"`
	Auth        Auth        `toml:"auth"`
	Webapp      Webapp      `toml:"webapp"`

	lines map[string]int // key path -> line in File, for error messages
}

// Server holds process-wide settings ([server]).
type Server struct {
	// ShutdownGrace is how long a shutdown (SIGINT/SIGTERM) waits for queues to flush and
	// sessions to close before connections are dropped.
	ShutdownGrace time.Duration `toml:"shutdown_grace"`
	// LogLevel is the minimum level logged.
	LogLevel slog.Level `toml:"log_level"`
	// LogFormat is "text" or "json".
	LogFormat string `toml:"log_format"`

	// DebugAddress, when set, serves Go's profiling and runtime endpoints (/debug/pprof/,
	// /debug/vars) on this TCP address. Off by default; bind it to loopback.
	DebugAddress string `toml:"debug_address"`
}

// Listener is one socket the gateway accepts WAMP connections on ([[listeners]]): WebSocket and
// RawSocket share it.
type Listener struct {
	// Address is a TCP host:port (port 0 picks a free port). Exactly one of Address and Unix is set.
	Address string `toml:"address"`
	// Unix is a Unix socket path, made absolute against the configuration file's directory.
	Unix string `toml:"unix"`
	// WebSocketPath is the HTTP path WebSocket clients connect to; it starts with "/".
	WebSocketPath string `toml:"websocket_path"`
	// TLSCert and TLSKey are PEM files (absolute paths after loading); both or neither are set.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// UnixMode sets the permission bits of a Unix socket; 0 leaves them to the umask.
	UnixMode fs.FileMode `toml:"unix_mode"`
}

// Network returns "unix" for a Unix socket listener and "tcp" otherwise.
func (l *Listener) Network() string {
	if l.Unix != "" {
		return "unix"
	}
	return "tcp"
}

// Addr returns the address to pass to net.Listen together with Network.
func (l *Listener) Addr() string {
	if l.Unix != "" {
		return l.Unix
	}
	return l.Address
}

// TLS reports whether the listener serves TLS.
func (l *Listener) TLS() bool { return l.TLSCert != "" }

func (l *Listener) setDefaults() { l.WebSocketPath = DefaultWebSocketPath }

// Limits bound what one connection may cost ([limits]).
type Limits struct {
	// MaxMessageSize is the largest WAMP message accepted or sent, in bytes (512 B .. 16 MiB).
	MaxMessageSize int64 `toml:"max_message_size,size"`
	// HandshakeTimeout bounds the transport handshake (WebSocket upgrade, RawSocket handshake).
	HandshakeTimeout time.Duration `toml:"handshake_timeout"`
	// HelloTimeout bounds the time from connection to the client's HELLO.
	HelloTimeout time.Duration `toml:"hello_timeout"`
	// PingInterval is the keepalive ping period; 0 disables pings.
	PingInterval time.Duration `toml:"ping_interval"`
	// PingTimeout is how long to wait for the answer to a ping before closing the connection.
	PingTimeout time.Duration `toml:"ping_timeout"`
	// WriteTimeout bounds one socket write.
	WriteTimeout time.Duration `toml:"write_timeout"`
	// MaxQueueBytes bounds a connection's outbound queue; a client that lets it fill up is
	// disconnected as a slow consumer. At least MaxMessageSize.
	MaxQueueBytes int64 `toml:"max_queue_bytes,size"`
}

// Realm configures one WAMP realm ([[realms]]).
type Realm struct {
	// Name is the realm's URI, unique among realms.
	Name string `toml:"name"`
	// StrictURIs selects the spec's strict URI rules (components of a-z, 0-9, _) instead of the
	// loose ones for URIs used in this realm, including its name.
	StrictURIs bool `toml:"strict_uris"`
	// MaxSessions limits concurrent sessions; 0 means unlimited.
	MaxSessions int `toml:"max_sessions"`
	// AllowDisclose honours disclose_me requests from publishers and callers.
	AllowDisclose bool `toml:"allow_disclose"`
	// AlwaysDisclosePublisher discloses every publisher to subscribers.
	AlwaysDisclosePublisher bool `toml:"always_disclose_publisher"`
	// AlwaysDiscloseCaller discloses every caller to callees.
	AlwaysDiscloseCaller bool `toml:"always_disclose_caller"`

	// Auth selects how clients authenticate; without it the realm is anonymous-only.
	Auth RealmAuth `toml:"auth"`
	// Roles are the realm's roles and their permissions. Without any, every session may do
	// everything (authorization is off).
	Roles []Role `toml:"roles"`
	// EventClasses are the realm's event classes (events.go): schemas of the events published
	// to their topics.
	EventClasses []EventClass `toml:"event_classes"`
}

func (r *Realm) setDefaults() {
	r.AllowDisclose = true
	r.Auth.setDefaults()
}

// Default returns the zero-configuration setup: one TCP listener on 127.0.0.1:8080 with
// WebSocket path /ws, the realm "realm1", and every other setting at its default.
func Default() *Config {
	l := Listener{Address: DefaultAddress}
	l.setDefaults()
	r := Realm{Name: DefaultRealm}
	r.setDefaults()
	return &Config{
		Server: Server{
			ShutdownGrace: 5 * time.Second,
			LogLevel:      slog.LevelInfo,
			LogFormat:     "text",
		},
		Listeners: []Listener{l},
		Limits: Limits{
			MaxMessageSize:   16 * MiB,
			HandshakeTimeout: 10 * time.Second,
			HelloTimeout:     10 * time.Second,
			PingInterval:     30 * time.Second,
			PingTimeout:      10 * time.Second,
			WriteTimeout:     10 * time.Second,
			MaxQueueBytes:    32 * MiB,
		},
		Realms:      []Realm{r},
		Store:       Store{DataDir: DefaultDataDir},
		ClientToken: defaultClientToken(),
		Auth:        defaultAuth(),
		Webapp:      defaultWebapp(),
	}
}

// Load reads and validates the configuration file at path. Settings the file leaves out keep
// their defaults; without [[listeners]] or [[realms]] the default listener or realm is used.
// Relative file paths in the file are taken relative to the file's directory. On failure the
// error is an *Errors listing every problem (or the reason the file could not be read).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &Errors{List: []*Error{{File: path, Msg: fmt.Sprintf("cannot read configuration: %v", err)}}}
	}
	return Parse(path, data)
}

// Parse decodes and validates a configuration file's content; name is the file's path, used in
// error messages and to resolve relative paths. On failure the error is an *Errors.
func Parse(name string, data []byte) (*Config, error) {
	root, perr := parseTree(name, data)
	if perr != nil {
		return nil, &Errors{List: []*Error{perr}}
	}
	c := Default()
	c.File = name
	c.Webapp = baseWebapp() // with a file, each representative is off unless configured
	dir := filepath.Dir(name)
	if a, err := filepath.Abs(dir); err == nil {
		dir = a
	}
	errs := &errorList{file: name}
	d := decoder{errs: errs, lines: map[string]int{}, bad: map[string]bool{}, dir: dir}
	d.decodeStruct(root, "", reflect.ValueOf(c).Elem())
	c.lines = d.lines
	c.resolvePaths(dir)
	c.validate(errs, d.bad)
	if err := errs.result(); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks a configuration built or changed in code (Default, or a loaded one after an
// override). It returns nil or an *Errors.
func (c *Config) Validate() error {
	errs := &errorList{file: c.File}
	c.validate(errs, nil)
	return errs.result()
}

// SetListenAddress replaces the first listener's address with the TCP address addr (the
// --listen command-line override), keeping its WebSocket path and TLS files. A Unix socket
// listener becomes a TCP listener.
func (c *Config) SetListenAddress(addr string) error {
	if err := checkAddress(addr); err != nil {
		return err
	}
	if len(c.Listeners) == 0 {
		l := Listener{}
		l.setDefaults()
		c.Listeners = append(c.Listeners, l)
	}
	l := &c.Listeners[0]
	l.Address, l.Unix, l.UnixMode = addr, "", 0
	return nil
}

// resolvePaths makes relative file paths absolute against dir (the configuration's directory).
func (c *Config) resolvePaths(dir string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	for i := range c.Listeners {
		l := &c.Listeners[i]
		if !strings.HasPrefix(l.Unix, "@") { // "@name" is a Linux abstract socket, not a file
			l.Unix = abs(l.Unix)
		}
		l.TLSCert = abs(l.TLSCert)
		l.TLSKey = abs(l.TLSKey)
	}
	if _, set := c.lines["store.data_dir"]; set {
		// Only a directory named in the file is relative to it; the default stays in the
		// working directory, as without a file.
		c.Store.DataDir = abs(c.Store.DataDir)
	}
	for i := range c.Realms {
		j := &c.Realms[i].Auth.Ticket.JWT
		j.PublicKey = abs(j.PublicKey)
	}
}
