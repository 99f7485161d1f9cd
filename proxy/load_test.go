package proxy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeConfig writes a gateway configuration file (and extra files next to it) and returns its path.
func writeConfig(t *testing.T, text string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "gateway.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfigRules(t *testing.T) {
	t.Setenv("PROXY_TEST_KEY", "api-key-from-env-0123456789")
	t.Setenv("PROXY_TEST_AMQP", "amqp://u:p@broker:5672/vh")
	cases := []struct {
		name, text string
		files      map[string]string
		want       Config
	}{
		{
			name: "http on the first TCP listener, first API key",
			text: `
[[listeners]]
unix = "/run/gw.sock"
[[listeners]]
address = "0.0.0.0:9001"
websocket_path = "/ws"
[[realms]]
name = "realm1"
[webapp.http]
api_keys = ["env:PROXY_TEST_KEY", "env:UNSET_AND_UNUSED"]
[[webapp.http.hmac_keys]]
id = "k1"
secret = "env:UNSET_AND_UNUSED"
`,
			want: Config{Transport: TransportHTTP, URL: "http://127.0.0.1:9001", APIKey: "api-key-from-env-0123456789"},
		},
		{
			name: "the default listener, no credentials",
			text: "[webapp.http]\nloopback_without_credentials = true\n",
			want: Config{Transport: TransportHTTP, URL: "http://127.0.0.1:8080"},
		},
		{
			name: "a TLS listener",
			text: "[[listeners]]\naddress = \"gw.example.com:8443\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n[webapp.http]\napi_keys = [\"inline-key-0123456789\"]\n",
			want: Config{Transport: TransportHTTP, URL: "https://gw.example.com:8443", APIKey: "inline-key-0123456789"},
		},
		{
			name: "the representative's own address and a signing key from a file",
			text: `
[[listeners]]
address = "127.0.0.1:9001"
[webapp.http]
address = "[::]:9100"
api_keys = ["unused-api-key-0123456789"]
[[webapp.http.hmac_keys]]
id = "other"
secret = "env:UNSET_AND_UNUSED"
[[webapp.http.hmac_keys]]
id = "web"
secret = "file:secrets/web.key"
[webapp.proxy]
transport = "xmlrpc"
key_id = "web"
timeout = "3s"
`,
			files: map[string]string{},
			want:  Config{Transport: TransportXMLRPC, URL: "http://[::1]:9100", KeyID: "web", Secret: "hmac secret\nwith a newline", Timeout: 3 * time.Second},
		},
		{
			name: "json off means xmlrpc",
			text: "[webapp.http]\naddress = \":9100\"\njson = false\nloopback_without_credentials = true\n",
			want: Config{Transport: TransportXMLRPC, URL: "http://127.0.0.1:9100"},
		},
		{
			name: "proxy url overrides",
			text: "[webapp.http]\naddress = \":9100\"\nloopback_without_credentials = true\n[webapp.proxy]\ntransport = \"http\"\nurl = \"https://lb.example.com/gw\"\n",
			want: Config{Transport: TransportHTTP, URL: "https://lb.example.com/gw"},
		},
		{
			name: "amqp by default when it is the only representative",
			text: "[webapp.amqp]\nurl = \"env:PROXY_TEST_AMQP\"\nqueue = \"gw.requests\"\n",
			want: Config{Transport: TransportAMQP, URL: "amqp://u:p@broker:5672/vh", Queue: "gw.requests", BindingKey: "#"},
		},
		{
			name: "amqp with an exchange",
			text: "[webapp.http]\naddress = \":1\"\nloopback_without_credentials = true\n[webapp.amqp]\nurl = \"amqp://guest:guest@127.0.0.1:5672/\"\nqueue = \"q\"\nexchange = \"ex\"\nbinding_key = \"gw.*\"\n[webapp.proxy]\ntransport = \"amqp\"\n",
			want: Config{Transport: TransportAMQP, URL: "amqp://guest:guest@127.0.0.1:5672/", Queue: "q", Exchange: "ex", BindingKey: "gw.*"},
		},
		{
			name:  "nats with a token file",
			text:  "[webapp.nats]\nurl = \"nats://127.0.0.1:4333\"\ntoken = \"file:nats.token\"\n[webapp.proxy]\ntransport = \"nats\"\n",
			files: map[string]string{"nats.token": "tok-0123\r\n"},
			want:  Config{Transport: TransportNATS, URL: "nats://127.0.0.1:4333", SubjectPrefix: "gateway.api", NATSToken: "tok-0123"},
		},
		{
			name: "nats with user and password",
			text: "[webapp.nats]\nurl = \"nats://h:1\"\nsubject_prefix = \"acme.gw\"\nuser = \"web\"\npassword = \"pw\"\n",
			want: Config{Transport: TransportNATS, URL: "nats://h:1", SubjectPrefix: "acme.gw", NATSUser: "web", NATSPassword: "pw"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := c.files
			if strings.Contains(c.text, "secrets/web.key") {
				path := writeConfig(t, c.text, nil)
				dir := filepath.Join(filepath.Dir(path), "secrets")
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "web.key"), []byte("hmac secret\nwith a newline\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				checkLoaded(t, path, c.want)
				return
			}
			checkLoaded(t, writeConfig(t, c.text, files), c.want)
		})
	}
}

func checkLoaded(t *testing.T, path string, want Config) {
	t.Helper()
	got, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if want.Timeout == 0 {
		want.Timeout = DefaultTimeout
	}
	if got != want {
		t.Errorf("LoadConfig =\n%+v\nwant\n%+v", got, want)
	}
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"no representative", "[[realms]]\nname = \"r\"\n", "no [webapp.http], [webapp.amqp] or [webapp.nats] table"},
		{"bad TOML", "[webapp\n", "gateway.toml:1"},
		{"unknown transport", "[webapp.proxy]\ntransport = \"smtp\"\n", "webapp.proxy.transport: must be http, xmlrpc, amqp or nats"},
		{"http without table", "[webapp.amqp]\nurl = \"amqp://h/\"\nqueue = \"q\"\n[webapp.proxy]\ntransport = \"http\"\n", `webapp.proxy.transport: "http" needs a [webapp.http] table`},
		{"amqp without table", "[webapp.http]\n[webapp.proxy]\ntransport = \"amqp\"\n", `webapp.proxy.transport: "amqp" needs a [webapp.amqp] table`},
		{"nats without table", "[webapp.http]\n[webapp.proxy]\ntransport = \"nats\"\n", `webapp.proxy.transport: "nats" needs a [webapp.nats] table`},
		{"unknown key id", "[webapp.http]\n[[webapp.http.hmac_keys]]\nid = \"a\"\nsecret = \"s-0123456789abcdef\"\n[webapp.proxy]\nkey_id = \"b\"\n", `webapp.proxy.key_id: no [[webapp.http.hmac_keys]] has id "b"`},
		{"unset env secret", "[webapp.http]\napi_keys = [\"env:PROXY_TEST_NOT_SET\"]\n", "webapp.http.api_keys[0]: environment variable PROXY_TEST_NOT_SET is not set"},
		{"missing secret file", "[webapp.http]\napi_keys = [\"file:nope.key\"]\n", "webapp.http.api_keys[0]: cannot read secret file"},
		{"secret not a string", "[webapp.http]\napi_keys = [42]\n", "webapp.http.api_keys[0]: expected a secret string"},
		{"bad timeout", "[webapp.http]\n[webapp.proxy]\ntimeout = 10\n", `webapp.proxy.timeout: invalid duration 10: write it as a string with a unit, e.g. "10s"`},
		{"bad timeout string", "[webapp.http]\n[webapp.proxy]\ntimeout = \"soon\"\n", `webapp.proxy.timeout: invalid duration "soon"`},
		{"webapp not a table", "webapp = 3\n", "webapp: expected a table, got an integer"},
		{"address not a string", "[webapp.http]\naddress = 9000\n", "webapp.http.address: expected a string, got an integer"},
		{"bad address", "[webapp.http]\naddress = \"nohost\"\n", `webapp.http.address: invalid address "nohost"`},
		{"port 0", "[[listeners]]\naddress = \"127.0.0.1:0\"\n[webapp.http]\n", "listeners[0].address: port \"0\" is picked at start-up"},
		{"unix listeners only", "[[listeners]]\nunix = \"/s\"\n[webapp.http]\n", "listeners: no listener has a TCP address"},
		{"json off", "[webapp.http]\njson = false\n[webapp.proxy]\ntransport = \"http\"\n", "webapp.http.json: is false"},
		{"xmlrpc off", "[webapp.http]\nxmlrpc = false\n[webapp.proxy]\ntransport = \"xmlrpc\"\n", "webapp.http.xmlrpc: is false"},
		{"amqp without queue", "[webapp.amqp]\nurl = \"amqp://h/\"\n", "webapp.amqp.queue: is required"},
		{"amqp without url", "[webapp.amqp]\nqueue = \"q\"\n", "webapp.amqp.url: is required"},
		{"nats without url", "[webapp.nats]\n", "webapp.nats.url: is required"},
		{"bad amqp url", "[webapp.amqp]\nurl = \"http://h/\"\nqueue = \"q\"\n", "must be an amqp:// or amqps:// broker URL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeConfig(t, c.text, nil)
			_, err := LoadConfig(path)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if !strings.Contains(err.Error(), path) && !strings.Contains(err.Error(), "proxy: URL") {
				t.Errorf("the error %q does not name the file", err)
			}
		})
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.toml")); err == nil || !strings.Contains(err.Error(), "missing.toml") {
		t.Errorf("missing file: %v", err)
	}
}

// TestLoadNeverLeaksSecrets checks that type errors about a secret do not echo it.
func TestLoadNeverLeaksSecrets(t *testing.T) {
	path := writeConfig(t, "[webapp.http]\n[[webapp.http.hmac_keys]]\nid = \"k\"\nsecret = [\"top-secret-value\"]\n[webapp.proxy]\nkey_id = \"k\"\n", nil)
	_, err := LoadConfig(path)
	if err == nil || strings.Contains(err.Error(), "top-secret-value") {
		t.Fatalf("got %v", err)
	}
	p := Config{Transport: TransportAMQP, URL: "amqp://user:hunter2@h/", Queue: "q"}
	pr := newProxy(t, p)
	if strings.Contains(pr.Endpoint(), "hunter2") {
		t.Errorf("Endpoint %q shows the password", pr.Endpoint())
	}
}

func TestConfigDefaultsAndErrors(t *testing.T) {
	p := newProxy(t, Config{})
	if p.Transport() != TransportHTTP || p.Endpoint() != "http://127.0.0.1:8080/api/v1/" {
		t.Errorf("zero Config: %s %s", p.Transport(), p.Endpoint())
	}
	for name, cfg := range map[string]Config{
		"unknown transport":   {Transport: "carrier-pigeon"},
		"key without secret":  {KeyID: "k"},
		"ftp url":             {URL: "ftp://h/"},
		"amqp no queue":       {Transport: TransportAMQP, URL: "amqp://h/"},
		"nats no url":         {Transport: TransportNATS},
		"nats wildcard":       {Transport: TransportNATS, URL: "nats://h", SubjectPrefix: "a.*"},
		"nats token and user": {Transport: TransportNATS, URL: "nats://h", NATSToken: "t", NATSUser: "u"},
		"negative timeout":    {Timeout: -time.Second},
		"api key newline":     {APIKey: "a\nb"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

func TestRoutingKey(t *testing.T) {
	for _, c := range []struct{ exchange, binding, want string }{
		{"", "", "q"},
		{"ex", "#", "publish"},
		{"ex", "gw.*", "gw.publish"},
		{"ex", "gw.#.x", "gw.publish.x"},
		{"ex", "gw.requests", "gw.requests"},
	} {
		cfg := Config{Queue: "q", Exchange: c.exchange, BindingKey: c.binding}
		if got := cfg.routingKey("publish"); got != c.want {
			t.Errorf("routingKey(%q, %q) = %q, want %q", c.exchange, c.binding, got, c.want)
		}
	}
}

func TestLoadConfigFor(t *testing.T) {
	path := writeConfig(t, "[webapp.http]\naddress = \":9100\"\nloopback_without_credentials = true\n"+
		"[webapp.amqp]\nurl = \"amqp://h/\"\nqueue = \"q\"\n[webapp.nats]\nurl = \"nats://h:1\"\n", nil)
	for tr, want := range map[Transport]string{
		"":              "http://127.0.0.1:9100",
		TransportXMLRPC: "http://127.0.0.1:9100",
		TransportAMQP:   "amqp://h/",
		TransportNATS:   "nats://h:1",
	} {
		cfg, err := LoadConfigFor(path, tr)
		if err != nil {
			t.Fatalf("%q: %v", tr, err)
		}
		wantTr := tr
		if tr == "" {
			wantTr = TransportHTTP
		}
		if cfg.Transport != wantTr || cfg.URL != want {
			t.Errorf("LoadConfigFor(%q) = %s %s, want %s %s", tr, cfg.Transport, cfg.URL, wantTr, want)
		}
	}
	if _, err := LoadConfigFor(writeConfig(t, "[webapp.http]\n", nil), TransportAMQP); err == nil {
		t.Error("amqp without [webapp.amqp] was accepted")
	}
}
