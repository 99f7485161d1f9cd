package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeKeyPair writes a self-signed certificate and its key as cert.pem and key.pem into dir.
func writeKeyPair(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "cert.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, filepath.Join(dir, "key.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// errorLines runs Parse and returns its problems, one formatted string each; it fails the test
// when Parse does not return an *Errors.
func errorLines(t *testing.T, name, src string) []string {
	t.Helper()
	c, err := Parse(name, []byte(src))
	if err == nil {
		t.Fatalf("Parse succeeded, want errors; got %+v", c)
	}
	if c != nil {
		t.Errorf("Parse returned a config together with an error")
	}
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %T is not *Errors: %v", err, err)
	}
	var lines []string
	for _, e := range errs.List {
		lines = append(lines, e.Error())
	}
	if got := strings.Join(lines, "\n"); got != err.Error() {
		t.Errorf("Errors.Error() = %q, want one problem per line %q", err.Error(), got)
	}
	return lines
}

// realmWithDefaults returns r with the defaults of the settings it leaves out ([realms.auth]).
func realmWithDefaults(r Realm) Realm {
	r.Auth.setDefaults()
	return r
}

func TestDefault(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if len(c.Listeners) != 1 {
		t.Fatalf("default listeners = %+v, want one", c.Listeners)
	}
	l := c.Listeners[0]
	if l.Network() != "tcp" || l.Addr() != "127.0.0.1:8080" || l.WebSocketPath != "/ws" || l.TLS() {
		t.Errorf("default listener = %+v", l)
	}
	want := []Realm{realmWithDefaults(Realm{Name: "realm1", AllowDisclose: true})}
	if !reflect.DeepEqual(c.Realms, want) {
		t.Errorf("default realms = %+v, want %+v", c.Realms, want)
	}
	if s := c.Server; s.ShutdownGrace != 5*time.Second || s.LogLevel != slog.LevelInfo || s.LogFormat != "text" {
		t.Errorf("default server = %+v", s)
	}
	wantLimits := Limits{
		MaxMessageSize:   16 << 20,
		HandshakeTimeout: 10 * time.Second,
		HelloTimeout:     10 * time.Second,
		PingInterval:     30 * time.Second,
		PingTimeout:      10 * time.Second,
		WriteTimeout:     10 * time.Second,
		MaxQueueBytes:    32 << 20,
	}
	if c.Limits != wantLimits {
		t.Errorf("default limits = %+v, want %+v", c.Limits, wantLimits)
	}
}

// An empty file, or one with only empty tables, means the defaults.
func TestParseEmptyIsDefault(t *testing.T) {
	for _, src := range []string{"", "# nothing\n", "[server]\n[limits]\n"} {
		c, err := Parse("gateway.toml", []byte(src))
		if err != nil {
			t.Fatalf("Parse(%q): %v", src, err)
		}
		want := Default()
		want.File = "gateway.toml"
		want.Webapp = baseWebapp()
		c.lines, want.lines = nil, nil
		if !reflect.DeepEqual(c, want) {
			t.Errorf("Parse(%q) = %+v, want defaults %+v", src, c, want)
		}
	}
}

func TestParseFull(t *testing.T) {
	dir := t.TempDir()
	writeKeyPair(t, dir)
	src := `
[server]
shutdown_grace = "1m30s"
log_level = "debug"
log_format = "json"

[[listeners]]
address = "0.0.0.0:0"
websocket_path = "/wamp/v2"
tls_cert = "cert.pem"
tls_key = "` + filepath.Join(dir, "key.pem") + `"

[[listeners]]
unix = "run/gateway.sock"
unix_mode = "0660"

[[listeners]]
address = "[::1]:9000"

[limits]
max_message_size = "64KiB"
handshake_timeout = "2s"
hello_timeout = "3s"
ping_interval = 0
ping_timeout = "500ms"
write_timeout = "4s"
max_queue_bytes = 1_048_576

[[realms]]
name = "com.example.app"
strict_uris = true
max_sessions = 100
allow_disclose = false
always_disclose_publisher = true
always_disclose_caller = true

[[realms]]
name = "Loose-Realm_ä"
`
	name := filepath.Join(dir, "gateway.toml")
	c, err := Parse(name, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File: name,
		Server: Server{
			ShutdownGrace: 90 * time.Second,
			LogLevel:      slog.LevelDebug,
			LogFormat:     "json",
		},
		Listeners: []Listener{
			{Address: "0.0.0.0:0", WebSocketPath: "/wamp/v2", TLSCert: filepath.Join(dir, "cert.pem"), TLSKey: filepath.Join(dir, "key.pem")},
			{Unix: filepath.Join(dir, "run/gateway.sock"), UnixMode: 0o660, WebSocketPath: "/ws"},
			{Address: "[::1]:9000", WebSocketPath: "/ws"},
		},
		Limits: Limits{
			MaxMessageSize:   64 << 10,
			HandshakeTimeout: 2 * time.Second,
			HelloTimeout:     3 * time.Second,
			PingInterval:     0,
			PingTimeout:      500 * time.Millisecond,
			WriteTimeout:     4 * time.Second,
			MaxQueueBytes:    1 << 20,
		},
		Realms: []Realm{
			realmWithDefaults(Realm{Name: "com.example.app", StrictURIs: true, MaxSessions: 100, AllowDisclose: false, AlwaysDisclosePublisher: true, AlwaysDiscloseCaller: true}),
			realmWithDefaults(Realm{Name: "Loose-Realm_ä", AllowDisclose: true}),
		},
		Store:       Default().Store,
		ClientToken: Default().ClientToken,
		Auth:        Default().Auth,
		Webapp:      baseWebapp(),
	}
	c.lines = nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", c, want)
	}
	if !c.Listeners[0].TLS() || c.Listeners[1].Network() != "unix" || c.Listeners[1].Addr() != filepath.Join(dir, "run/gateway.sock") {
		t.Errorf("listener helpers disagree with %+v", c.Listeners)
	}
}

// Inline tables and dotted keys are ordinary TOML and must work like sections.
func TestParseInlineAndDotted(t *testing.T) {
	src := `server.log_level = "warn"
listeners = [{ address = "127.0.0.1:0" }, { address = "127.0.0.1:0", websocket_path = "/x" }]
realms = [{ name = "a" }, { name = "b", allow_disclose = false }]
limits = { max_message_size = 1024, max_queue_bytes = "2KiB" }
`
	c, err := Parse("g.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.LogLevel != slog.LevelWarn || len(c.Listeners) != 2 || c.Listeners[1].WebSocketPath != "/x" ||
		c.Listeners[0].WebSocketPath != "/ws" || c.Limits.MaxQueueBytes != 2048 ||
		!c.Realms[0].AllowDisclose || c.Realms[1].AllowDisclose {
		t.Errorf("Parse = %+v", c)
	}
	// Positions inside inline tables are known too.
	lines := errorLines(t, "g.toml", "realms = [\n  { name = \"a\" },\n  { name = \"a b\" },\n]\n")
	want := `g.toml:3: realms[1].name: invalid realm name "a b": not a valid WAMP URI (loose rules): contains whitespace`
	if len(lines) != 1 || lines[0] != want {
		t.Errorf("errors = %q, want %q", lines, want)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	writeKeyPair(t, dir)
	writeFile(t, filepath.Join(dir, "garbage.pem"), "not a certificate\n")
	name := filepath.Join(dir, "gateway.toml")
	tests := []struct {
		name string
		src  string
		want string // the single expected problem, without the "file:" prefix
	}{
		{"web-app realm", "[webapp]\nrealm = \"nope\"\n",
			`2: webapp.realm: no realm "nope" is configured`},
		{"web-app http without credentials", "[webapp.http]\njson = true\n",
			`1: webapp.http: no credentials are configured, so every request would be refused: set api_keys, hmac_keys or loopback_without_credentials = true`},
		{"web-app http on a listener's address", "[[listeners]]\naddress = \"127.0.0.1:9100\"\n[webapp.http]\naddress = \"0.0.0.0:9100\"\nloopback_without_credentials = true\n",
			`4: webapp.http.address: address "0.0.0.0:9100" is already used by listeners[0] (line 2): leave address empty to serve the web-app interface on the listener's port`},
		{"web-app short api key", "[webapp.http]\napi_keys = [\"short\"]\n",
			`2: webapp.http.api_keys[0]: an API key must be at least 16 characters`},
		{"web-app amqp url", "[webapp.amqp]\nurl = \"http://x\"\nqueue = \"q\"\n",
			`2: webapp.amqp.url: must be an amqp:// or amqps:// URL`},
		{"web-app nats prefix", "[webapp.nats]\nurl = \"nats://127.0.0.1:4222\"\nsubject_prefix = \"gateway.>\"\n",
			`3: webapp.nats.subject_prefix: must be a plain subject such as "gateway.api" (no wildcards, no leading or trailing dot)`},
		{"web-app proxy transport", "[webapp.proxy]\ntransport = \"smtp\"\n",
			`2: webapp.proxy.transport: must be http, xmlrpc, amqp or nats, got "smtp"`},
		{"web-app proxy without its representative", "[webapp.proxy]\ntransport = \"nats\"\n",
			`2: webapp.proxy.transport: "nats" needs a [webapp.nats] table`},
		{"unknown key with hint", "[server]\nlog_levle = \"info\"\n",
			`2: server.log_levle: unknown key (did you mean "log_level"?)`},
		{"unknown key without hint", "\n\n[limits]\nfoo = 1\n",
			`4: limits.foo: unknown key`},
		{"unknown table", "[limit]\nmax_message_size = 1024\n",
			`1: limit: unknown key (did you mean "limits"?)`},
		{"key in the wrong table", "[server]\nmax_message_size = 1024\n",
			`2: server.max_message_size: unknown key (did you mean "limits.max_message_size"? it belongs in [limits])`},
		{"unknown key in array element", "[[listeners]]\naddress = \":0\"\nadress = \":1\"\n",
			`3: listeners[0].adress: unknown key (did you mean "address"?)`},
		{"wrong type string", "[[realms]]\nname = 5\n",
			`2: realms[0].name: expected a string, got integer 5`},
		{"wrong type bool", "[[realms]]\nname = \"r\"\nstrict_uris = \"yes\"\n",
			`3: realms[0].strict_uris: expected true or false, got string "yes"`},
		{"wrong type int", "[[realms]]\nname = \"r\"\nmax_sessions = \"10\"\n",
			`3: realms[0].max_sessions: expected an integer, got string "10"`},
		{"table expected", "server = 1\n",
			`1: server: expected a table [server], got integer 1`},
		{"array of tables expected", "[listeners]\naddress = \":0\"\n",
			`1: listeners: expected an array of tables [[listeners]], got table`},
		{"bad duration", "[limits]\nhello_timeout = \"10 seconds\"\n",
			`2: limits.hello_timeout: invalid duration "10 seconds": use a number with a unit ns, us, ms, s, m or h, e.g. "10s" or "1m30s"`},
		{"duration without unit", "[limits]\nping_interval = 30\n",
			`2: limits.ping_interval: invalid duration 30: write it as a string with a unit, e.g. "30s"`},
		{"negative duration", "[server]\nshutdown_grace = \"-1s\"\n",
			`2: server.shutdown_grace: invalid duration "-1s": must not be negative`},
		{"zero timeout", "[limits]\nwrite_timeout = \"0s\"\n",
			`2: limits.write_timeout: must be greater than 0`},
		{"bad size", "# comment\n\n\n\n\n\n\n\n\n\n[limits]\nmax_message_size = \"16 MB\"\n",
			`12: limits.max_message_size: invalid size "16 MB": use a number of bytes or a unit B, KiB, MiB, GiB`},
		{"size too large", "[limits]\nmax_message_size = \"32MiB\"\nmax_queue_bytes = \"64MiB\"\n",
			`2: limits.max_message_size: 32MiB is out of range: use 512B..16MiB (RawSocket cannot announce more than 16MiB)`},
		{"size too small", "[limits]\nmax_message_size = 100\n",
			`2: limits.max_message_size: 100B is out of range: use 512B..16MiB (RawSocket cannot announce more than 16MiB)`},
		{"queue smaller than message", "[limits]\nmax_queue_bytes = \"1MiB\"\n",
			`2: limits.max_queue_bytes: max_queue_bytes (1MiB) must be at least max_message_size (16MiB)`},
		{"bad log level", "[server]\nlog_level = \"verbose\"\n",
			`2: server.log_level: invalid log level "verbose": use debug, info, warn or error`},
		{"bad log format", "[server]\nlog_format = \"xml\"\n",
			`2: server.log_format: invalid log format "xml": use text or json`},
		{"duplicate realm", "[[realms]]\nname = \"a\"\n\n[[realms]]\nname = \"a\"\n",
			`5: realms[1].name: duplicate realm name "a": already used by realms[0] (line 2)`},
		{"realm without name", "[[realms]]\nmax_sessions = 1\n",
			`1: realms[0]: name is required`},
		{"invalid realm URI", "[[realms]]\nname = \"com..example\"\n",
			`2: realms[0].name: invalid realm name "com..example": not a valid WAMP URI (loose rules): component 2 is empty`},
		{"invalid strict realm URI", "[[realms]]\nname = \"com.Example\"\nstrict_uris = true\n",
			`2: realms[0].name: invalid realm name "com.Example": not a valid WAMP URI (strict rules): contains 'E', which strict URIs do not allow (only a-z, 0-9, _)`},
		{"reserved realm URI", "[[realms]]\nname = \"wamp.realm\"\n",
			`2: realms[0].name: invalid realm name "wamp.realm": URIs starting with "wamp." are reserved by the WAMP spec`},
		{"negative max_sessions", "[[realms]]\nname = \"r\"\nmax_sessions = -1\n",
			`3: realms[0].max_sessions: must be 0 (unlimited) or more`},
		{"no realms", "realms = []\n",
			`1: realms: at least one realm is required`},
		{"no listeners", "listeners = []\n",
			`1: listeners: at least one listener is required`},
		{"address and unix", "[[listeners]]\naddress = \":0\"\nunix = \"g.sock\"\n",
			`3: listeners[0].unix: set either address or unix, not both`},
		{"neither address nor unix", "[[listeners]]\nwebsocket_path = \"/ws\"\n",
			`1: listeners[0]: one of address (TCP "host:port") or unix (socket path) is required`},
		{"bad address", "[[listeners]]\naddress = \"localhost\"\n",
			`2: listeners[0].address: invalid address "localhost": use host:port, e.g. "127.0.0.1:8080", "[::1]:8080" or ":8080"`},
		{"bad port", "[[listeners]]\naddress = \"localhost:99999\"\n",
			`2: listeners[0].address: invalid port "99999" in address "localhost:99999": use a number 0..65535 (0 picks a free port)`},
		{"bad host", "[[listeners]]\naddress = \"bad_host!:80\"\n",
			`2: listeners[0].address: invalid host "bad_host!" in address "bad_host!:80": use an IP address or a host name`},
		{"duplicate address", "[[listeners]]\naddress = \"127.0.0.1:8080\"\n[[listeners]]\naddress = \"127.0.0.1:8080\"\n",
			`4: listeners[1].address: address "127.0.0.1:8080" is already used by listeners[0] (line 2)`},
		{"wildcard overlaps", "[[listeners]]\naddress = \"127.0.0.1:8080\"\n[[listeners]]\naddress = \":8080\"\n",
			`4: listeners[1].address: address ":8080" is already used by listeners[0] (line 2)`},
		{"duplicate unix socket", "[[listeners]]\nunix = \"g.sock\"\n[[listeners]]\nunix = \"./g.sock\"\n",
			`4: listeners[1].unix: socket "` + filepath.Join(dir, "g.sock") + `" is already used by listeners[0] (line 2)`},
		{"unix path too long", "[[listeners]]\nunix = \"/" + strings.Repeat("s", 120) + "\"\n",
			`2: listeners[0].unix: socket path "/` + strings.Repeat("s", 120) + `" is too long (121 bytes, at most 107)`},
		{"unix_mode on tcp", "[[listeners]]\naddress = \":0\"\nunix_mode = \"0600\"\n",
			`3: listeners[0].unix_mode: unix_mode only applies to unix socket listeners`},
		{"bad unix_mode", "[[listeners]]\nunix = \"g.sock\"\nunix_mode = \"rw-rw----\"\n",
			`3: listeners[0].unix_mode: invalid file mode "rw-rw----": use octal permission bits such as "0660"`},
		{"websocket_path without slash", "[[listeners]]\naddress = \":0\"\nwebsocket_path = \"ws\"\n",
			`3: listeners[0].websocket_path: invalid path "ws": must start with "/", e.g. "/ws"`},
		{"websocket_path with query", "[[listeners]]\naddress = \":0\"\nwebsocket_path = \"/ws?x=1\"\n",
			`3: listeners[0].websocket_path: invalid path "/ws?x=1": must not contain '?'`},
		{"missing TLS file", "[[listeners]]\naddress = \":0\"\ntls_cert = \"missing.pem\"\ntls_key = \"key.pem\"\n",
			`3: listeners[0].tls_cert: cannot read ` + filepath.Join(dir, "missing.pem") + `: no such file or directory`},
		{"TLS cert without key", "[[listeners]]\naddress = \":0\"\ntls_cert = \"cert.pem\"\n",
			`3: listeners[0].tls_cert: tls_key must be set too: tls_cert and tls_key go together`},
		{"TLS key without cert", "[[listeners]]\naddress = \":0\"\ntls_key = \"key.pem\"\n",
			`3: listeners[0].tls_key: tls_cert must be set too: tls_cert and tls_key go together`},
		{"syntax error", "[server]\nlog_level = \"info\"\nlog_format = text\n",
			`3: invalid TOML: expected keyword "true" (strings must be quoted: log_format = "text")`},
		{"unclosed table header", "[server]\n\n[limits\nx = 1\n",
			`3: invalid TOML: expected ']' to close table name`},
		{"key defined twice", "[server]\nlog_level = \"info\"\nlog_level = \"debug\"\n",
			`3: invalid TOML: key log_level is already defined`},
		{"datetime where duration expected", "[limits]\nhello_timeout = 1979-05-27T07:32:00Z\n",
			`2: limits.hello_timeout: expected a duration string such as "10s", got datetime 1979-05-27T07:32:00Z`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := errorLines(t, name, tt.src)
			want := name + ":" + tt.want
			if len(lines) != 1 || lines[0] != want {
				t.Errorf("errors:\n%s\nwant exactly:\n%s", strings.Join(lines, "\n"), want)
			}
		})
	}
}

func TestBadKeyPair(t *testing.T) {
	dir := t.TempDir()
	writeKeyPair(t, dir)
	writeFile(t, filepath.Join(dir, "garbage.pem"), "not a certificate\n")
	lines := errorLines(t, filepath.Join(dir, "g.toml"), "[[listeners]]\naddress = \":0\"\ntls_cert = \"garbage.pem\"\ntls_key = \"key.pem\"\n")
	prefix := filepath.Join(dir, "g.toml") + ":3: listeners[0].tls_cert: cannot load the TLS certificate " + filepath.Join(dir, "garbage.pem")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], prefix) {
		t.Errorf("errors = %q, want one starting with %q", lines, prefix)
	}
}

// All problems of a file are reported at once, sorted by line, and a key that fails to decode
// does not cause follow-up errors about the same listener or realm.
func TestMultipleErrors(t *testing.T) {
	src := `[server]
log_level = "loud"

[[listeners]]
address = 8080

[limits]
max_message_size = "1 GB"
max_queue_bytes = "1KiB"
ping_timeout = "soon"

[[realms]]
name = "r"
[[realms]]
name = "r"
colour = "blue"
`
	got := errorLines(t, "gw.toml", src)
	want := []string{
		`gw.toml:2: server.log_level: invalid log level "loud": use debug, info, warn or error`,
		`gw.toml:5: listeners[0].address: expected a string, got integer 8080`,
		`gw.toml:8: limits.max_message_size: invalid size "1 GB": use a number of bytes or a unit B, KiB, MiB, GiB`,
		`gw.toml:10: limits.ping_timeout: invalid duration "soon": use a number with a unit ns, us, ms, s, m or h, e.g. "10s" or "1m30s"`,
		`gw.toml:15: realms[1].name: duplicate realm name "r": already used by realms[0] (line 13)`,
		`gw.toml:16: realms[1].colour: unknown key`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	_, err := Parse("gw.toml", []byte(src))
	var one *Error
	if !errors.As(err, &one) || one.File != "gw.toml" || one.Line != 2 || one.Key != "server.log_level" {
		t.Errorf("errors.As(*Error) = %+v", one)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	writeKeyPair(t, dir)
	path := filepath.Join(dir, "gateway.toml")
	writeFile(t, path, "[[listeners]]\naddress = \"127.0.0.1:0\"\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n")
	// Relative paths resolve against the file's directory, not the working directory.
	t.Chdir(t.TempDir())
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.File != path || c.Listeners[0].TLSCert != filepath.Join(dir, "cert.pem") || c.Listeners[0].TLSKey != filepath.Join(dir, "key.pem") {
		t.Errorf("Load = %+v", c)
	}

	_, err = Load(filepath.Join(dir, "missing.toml"))
	var errs *Errors
	if !errors.As(err, &errs) || len(errs.List) != 1 {
		t.Fatalf("Load(missing) = %v, want one *Errors problem", err)
	}
	if want := filepath.Join(dir, "missing.toml") + ": cannot read configuration: no such file or directory"; err.Error() != want {
		t.Errorf("Load(missing) = %q, want %q", err, want)
	}
}

func TestSetListenAddress(t *testing.T) {
	c, err := Parse("g.toml", []byte("[[listeners]]\nunix = \"/tmp/g.sock\"\nunix_mode = \"0600\"\nwebsocket_path = \"/x\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetListenAddress("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	want := Listener{Address: "127.0.0.1:0", WebSocketPath: "/x"}
	if c.Listeners[0] != want {
		t.Errorf("listener = %+v, want %+v", c.Listeners[0], want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate after override: %v", err)
	}
	if err := c.SetListenAddress("nonsense"); err == nil || !strings.Contains(err.Error(), `invalid address "nonsense"`) {
		t.Errorf("SetListenAddress(nonsense) = %v", err)
	}
}

func TestValidateInCode(t *testing.T) {
	c := Default()
	c.Realms = append(c.Realms, Realm{Name: "realm1"})
	c.Limits.HelloTimeout = 0
	err := c.Validate()
	want := "limits.hello_timeout: must be greater than 0\n" +
		`realms[1].name: duplicate realm name "realm1": already used by realms[0]`
	if err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want:\n%s", err, want)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string // TOML value
		want int64
		err  string
	}{
		{`512`, 512, ""},
		{`0x400`, 1024, ""},
		{`"512B"`, 512, ""},
		{`"1KiB"`, 1024, ""},
		{`"16MiB"`, 16 << 20, ""},
		{`"16 MiB"`, 16 << 20, ""},
		{`"2GiB"`, 2 << 30, ""},
		{`"1024"`, 1024, ""},
		{`"16MB"`, 0, `invalid size "16MB"`},
		{`"1.5MiB"`, 0, `invalid size "1.5MiB"`},
		{`"-1KiB"`, 0, `invalid size "-1KiB"`},
		{`"MiB"`, 0, `invalid size "MiB"`},
		{`-1`, 0, `invalid size -1: must not be negative`},
		{`"9999999999GiB"`, 0, `invalid size "9999999999GiB": too large`},
		{`"99999999999999999999"`, 0, `invalid size "99999999999999999999": too large`},
		{`1.5`, 0, `expected a size such as "16MiB" or a number of bytes, got float 1.5`},
	}
	for _, tt := range tests {
		root, perr := parseTree("t.toml", []byte("v = "+tt.in))
		if perr != nil {
			t.Fatalf("%s: %v", tt.in, perr)
		}
		got, err := parseSize(root.fields["v"])
		if tt.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Errorf("parseSize(%s) = %d, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseSize(%s) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestCheckURI(t *testing.T) {
	tests := []struct {
		uri    string
		strict bool
		ok     bool
	}{
		{"realm1", false, true},
		{"com.example.realm", true, true},
		{"com.Example-realm", false, true},
		{"com.Example", true, false},
		{"com-example", true, false},
		{"com.ex#ample", false, false},
		{"com. example", false, false},
		{"com.example.", false, false},
		{".com", false, false},
		{"", false, false},
		{"com.\x00", false, false},
		{"\xff", false, false},
	}
	for _, tt := range tests {
		if err := checkURI(tt.uri, tt.strict); (err == nil) != tt.ok {
			t.Errorf("checkURI(%q, strict=%v) = %v, want ok=%v", tt.uri, tt.strict, err, tt.ok)
		}
	}
}
