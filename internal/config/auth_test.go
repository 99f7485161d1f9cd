package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The commented auth block of the example file is a valid configuration once uncommented.
func TestExampleAuthBlockParses(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)\n# \[realms\.auth\]\n.*?\n\n`).Find(data)
	if m == nil {
		t.Fatal("the example has no commented [realms.auth] block")
	}
	var b strings.Builder
	b.WriteString("[[realms]]\nname = \"com.example.app\"\n")
	for _, line := range strings.Split(string(m), "\n") {
		line = strings.TrimPrefix(strings.TrimPrefix(line, "#"), " ")
		if strings.HasPrefix(line, "public_key") { // an alternative to secret
			continue
		}
		b.WriteString(line + "\n")
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "secrets"), 0o700)
	writeFile(t, filepath.Join(dir, "secrets", "jwt.key"), strings.Repeat("k", 40)+"\n")
	t.Setenv("BACKEND_TICKET", "t")
	t.Setenv("GATEWAY_DELEGATE_SECRET", "d")
	c, err := Parse(filepath.Join(dir, "gateway.toml"), []byte(b.String()))
	if err != nil {
		t.Fatalf("uncommented example:\n%s\n%v", b.String(), err)
	}
	a := &c.Realms[0].Auth
	if len(a.Methods) != 6 || a.Ticket.Principals[0].Secret.Value() != "t" || len(a.Ticket.JWT.Secret.Value()) != 40 ||
		a.WAMPCRA.Principals[0].Salt != "salt123" || a.Cookie.Duration != 24*time.Hour || len(c.Realms[0].Roles) != 4 {
		t.Errorf("parsed %+v", a)
	}
}

func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "s.txt"), "from-file\r\n")
	writeFile(t, filepath.Join(dir, "empty.txt"), "\n")
	t.Setenv("GW_TEST_SECRET", "from-env")
	t.Setenv("GW_TEST_EMPTY", "")
	src := func(secret string) string {
		return `[[realms]]
name = "r"
[realms.auth]
methods = ["ticket"]
[realms.auth.ticket]
accept = ["static"]
[[realms.auth.ticket.principals]]
authid = "a"
role = "user"
secret = ` + secret + "\n"
	}
	for in, want := range map[string]string{`"inl-val"`: "inl-val", `"env:GW_TEST_SECRET"`: "from-env", `"file:s.txt"`: "from-file",
		`"file:` + filepath.Join(dir, "s.txt") + `"`: "from-file"} {
		c, err := Parse(filepath.Join(dir, "g.toml"), []byte(src(in)))
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		s := c.Realms[0].Auth.Ticket.Principals[0].Secret
		if s.Value() != want || strings.Contains(fmt.Sprintf("%v %+v %#v %s", s, s, s, s), want) {
			t.Errorf("%s: value %q (want %q), printed %v", in, s.Value(), want, s)
		}
	}
	for in, want := range map[string]string{
		`"env:GW_TEST_MISSING"`: "environment variable GW_TEST_MISSING is not set",
		`"env:GW_TEST_EMPTY"`:   "environment variable GW_TEST_EMPTY is empty",
		`"env:"`:                "invalid environment variable name",
		`"file:nope.txt"`:       "cannot read secret file " + filepath.Join(dir, "nope.txt") + ": no such file or directory",
		`"file:empty.txt"`:      "is empty",
		`"file:."`:              "is not a regular file",
		`12345`:                 "expected a secret string",
	} {
		lines := errorLines(t, filepath.Join(dir, "g.toml"), src(in))
		if len(lines) != 1 || !strings.Contains(lines[0], ":10: realms[0].auth.ticket.principals[0].secret: ") || !strings.Contains(lines[0], want) {
			t.Errorf("%s: %q, want %q", in, lines, want)
		}
		if strings.Contains(lines[0], "12345") {
			t.Errorf("the error repeats the secret: %q", lines[0])
		}
	}
}

func TestAuthErrors(t *testing.T) {
	dir := t.TempDir()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	writeFile(t, filepath.Join(dir, "rsa.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	der, _ = x509.MarshalPKIXPublicKey(edPub)
	writeFile(t, filepath.Join(dir, "ed.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	writeFile(t, filepath.Join(dir, "priv.pem"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
	realm := "[[realms]]\nname = \"r\"\n"
	tests := []struct {
		name string
		src  string
		want []string // each a "line: key: message" fragment
	}{
		{"unknown method", realm + "[realms.auth]\nmethods = [\"scram\", \"anonymous\", \"anonymous\"]\n", []string{
			`:4: realms[0].auth.methods[0]: unknown method "scram": use anonymous, ticket, wampcra, cryptosign, cookie, delegated`,
			`:4: realms[0].auth.methods[2]: method "anonymous" is listed twice`}},
		{"empty methods", realm + "[realms.auth]\nmethods = []\n", []string{`:4: realms[0].auth.methods: must list at least one method`}},
		{"settings of a disabled method", realm + "[realms.auth]\nmethods = [\"anonymous\"]\n[realms.auth.cookie]\nduration = \"1h\"\n", []string{
			`:5: realms[0].auth.cookie: settings for "cookie", but "cookie" is not in realms[0].auth.methods`}},
		{"ticket without accept", realm + "[realms.auth]\nmethods = [\"ticket\"]\n", []string{
			`realms[0].auth.ticket.accept: the ticket method needs accept = [...]`}},
		{"static without principals", realm + "[realms.auth]\nmethods = [\"ticket\"]\n[realms.auth.ticket]\naccept = [\"static\", \"magic\"]\n", []string{
			`:6: realms[0].auth.ticket.accept: accept has "static" but there are no [[realms[0].auth.ticket.principals]]`,
			`:6: realms[0].auth.ticket.accept[1]: unknown ticket kind "magic"`}},
		{"principal problems", realm + `[realms.auth]
methods = ["ticket"]
[realms.auth.ticket]
accept = ["static", "jwt"]
[[realms.auth.ticket.principals]]
authid = "a"
role = "user"
secret = "x.y.z"
[[realms.auth.ticket.principals]]
authid = "a"
[realms.auth.ticket.jwt]
algorithm = "HS256"
secret = "short"
`, []string{
			`:10: realms[0].auth.ticket.principals[0].secret: a static ticket must not contain exactly two dots while JWT tickets are accepted`,
			`:12: realms[0].auth.ticket.principals[1].authid: duplicate authid "a": already used by realms[0].auth.ticket.principals[0] (line 8)`,
			`:11: realms[0].auth.ticket.principals[1].role: must not be empty`,
			`:15: realms[0].auth.ticket.jwt.secret: the HS256 secret (inline) is too short: use at least 32 bytes`}},
		{"jwt keys", realm + `[realms.auth]
methods = ["ticket"]
[realms.auth.ticket]
accept = ["jwt"]
[realms.auth.ticket.jwt]
algorithm = "RS256"
public_key = "ed.pem"
`, []string{`:9: realms[0].auth.ticket.jwt.public_key: ` + filepath.Join(dir, "ed.pem") + ` holds an Ed25519 key, but algorithm is RS256`}},
		{"jwt private key", realm + "[realms.auth]\nmethods = [\"ticket\"]\n[realms.auth.ticket]\naccept = [\"jwt\"]\n[realms.auth.ticket.jwt]\nalgorithm = \"EdDSA\"\npublic_key = \"priv.pem\"\n", []string{
			`holds a "PRIVATE KEY" PEM block: expected PUBLIC KEY (a private key does not belong here)`}},
		{"jwt algorithm", realm + "[realms.auth]\nmethods = [\"ticket\"]\n[realms.auth.ticket]\naccept = [\"jwt\"]\n[realms.auth.ticket.jwt]\nalgorithm = \"none\"\n", []string{
			`:8: realms[0].auth.ticket.jwt.algorithm: unsupported algorithm "none": use HS256, RS256 or EdDSA`}},
		{"jwt without accept", realm + "[realms.auth]\nmethods = [\"ticket\"]\n[realms.auth.ticket]\naccept = [\"one_time\"]\n[realms.auth.ticket.jwt]\nalgorithm = \"HS256\"\n", []string{
			`:7: realms[0].auth.ticket.jwt: JWT settings are set but accept has no "jwt"`}},
		{"wampcra", realm + `[realms.auth]
methods = ["wampcra"]
[[realms.auth.wampcra.principals]]
authid = "p"
role = "user"
salt = "s"
iterations = 0
keylen = 8
[[realms.auth.wampcra.principals]]
authid = "q"
role = "user"
secret = "x"
keylen = 16
`, []string{
			`:5: realms[0].auth.wampcra.principals[0].secret: a WAMP-CRA principal needs a secret`,
			`:9: realms[0].auth.wampcra.principals[0].iterations: must be 1..10000000`,
			`:10: realms[0].auth.wampcra.principals[0].keylen: must be 16..512 bytes`,
			`:11: realms[0].auth.wampcra.principals[1].salt: iterations and keylen only apply to salted secrets`}},
		{"cryptosign", realm + `[realms.auth]
methods = ["cryptosign"]
[[realms.auth.cryptosign.principals]]
authid = "d1"
role = "device"
authorized_keys = ["03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8", "abc"]
[[realms.auth.cryptosign.principals]]
authid = "d2"
role = "device"
authorized_keys = ["03A107BFF3CE10BE1D70DD18E74BC09967E4D6309BA50D5F1DDC8664125531B8"]
`, []string{
			`:8: realms[0].auth.cryptosign.principals[0].authorized_keys[1]: invalid Ed25519 public key "abc"`,
			`:12: realms[0].auth.cryptosign.principals[1].authorized_keys[0]: key is already authorized for realms[0].auth.cryptosign.principals[0]`}},
		{"cookie needs tokens", "[client_token]\nenabled = false\n" + realm + "[realms.auth]\nmethods = [\"cookie\"]\n", []string{
			`:6: realms[0].auth.methods: the cookie method needs client tokens: set client_token.enabled = true`}},
		{"delegated", realm + `[realms.auth]
methods = ["delegated"]
[realms.auth.delegated]
url = "ftp://x"
headers = ["Cookie", "bad header"]
timeout = 0
`, []string{
			`:6: realms[0].auth.delegated.url: invalid url "ftp://x": use an absolute http:// or https:// URL`,
			`:7: realms[0].auth.delegated.headers[0]: Cookie is always forwarded: remove it from headers`,
			`:7: realms[0].auth.delegated.headers[1]: invalid header name "bad header"`,
			`:8: realms[0].auth.delegated.timeout: must be greater than 0`}},
		{"roles", realm + `[realms.auth]
methods = ["anonymous", "wampcra"]
[[realms.auth.wampcra.principals]]
authid = "p"
role = "admin"
secret = "x"
[[realms.roles]]
name = "user"
[[realms.roles.permissions]]
uri = "com.example."
match = "prefix"
allow = ["subscribe", "delete"]
[[realms.roles.permissions]]
uri = "com.example."
match = "prefix"
[[realms.roles.permissions]]
uri = "a..b"
[[realms.roles.permissions]]
uri = "a"
match = "regex"
[[realms.roles]]
name = "user"
`, []string{
			`:3: realms[0].auth.anonymous.role: role "anonymous" is not defined in this realm's [[realms.roles]]`,
			`:7: realms[0].auth.wampcra.principals[0].role: role "admin" is not defined in this realm's [[realms.roles]]`,
			`:14: realms[0].roles[0].permissions[0].allow[1]: unknown action "delete": use publish, subscribe, call, register`,
			`:16: realms[0].roles[0].permissions[1].uri: prefix pattern "com.example." is already used by realms[0].roles[0].permissions[0] (line 12)`,
			`:19: realms[0].roles[0].permissions[2].uri: invalid URI "a..b": component 2 is empty`,
			`:22: realms[0].roles[0].permissions[3].match: invalid match "regex": use exact, prefix or wildcard`,
			`:24: realms[0].roles[1].name: duplicate role "user"`}},
		{"store, tokens, auth", `[store]
data_dir = ""
[client_token]
name = "bad name"
max_age = "0s"
path = "x"
domain = "-bad-"
same_site = "none"
secure = false
[auth]
allowed_origins = ["https://ok.example.com", "https://example.com/path", "*.example.com"]
max_failures = -1
`, []string{
			`:2: store.data_dir: must not be empty`,
			`:4: client_token.name: invalid cookie name "bad name"`,
			`:5: client_token.max_age: must be at least 1s`,
			`:6: client_token.path: invalid cookie path "x"`,
			`:7: client_token.domain: invalid cookie domain "-bad-"`,
			`:8: client_token.same_site: same_site = "none" requires a Secure cookie`,
			`:11: auth.allowed_origins[1]: invalid origin "https://example.com/path": an origin has no path`,
			`:11: auth.allowed_origins[2]: invalid origin "*.example.com": must be scheme://host[:port]`,
			`:12: auth.max_failures: must be 0 (no limit) or more`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := errorLines(t, filepath.Join(dir, "g.toml"), tt.src)
			all := strings.Join(lines, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("missing %q in:\n%s", w, all)
				}
			}
		})
	}
}

func TestParseAuthFull(t *testing.T) {
	dir := t.TempDir()
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(edPub)
	writeFile(t, filepath.Join(dir, "ed.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	c, err := Parse(filepath.Join(dir, "g.toml"), []byte(`
[store]
data_dir = "state"
[client_token]
secure = true
same_site = "strict"
[auth]
allowed_origins = ["https://*.example.com"]
[[realms]]
name = "r"
[realms.auth]
methods = ["ticket"]
[realms.auth.ticket]
accept = ["jwt"]
[realms.auth.ticket.jwt]
algorithm = "EdDSA"
public_key = "ed.pem"
[[realms.roles]]
name = "user"
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.DataDir != filepath.Join(dir, "state") || c.ClientToken.Secure == nil || !*c.ClientToken.Secure ||
		c.ClientToken.SameSite != "strict" || c.Auth.AllowedOrigins[0] != "https://*.example.com" {
		t.Errorf("parsed %+v %+v %+v", c.Store, c.ClientToken, c.Auth)
	}
	j := c.Realms[0].Auth.Ticket.JWT
	if k, ok := j.Key.(ed25519.PublicKey); !ok || !k.Equal(edPub) || j.PublicKey != filepath.Join(dir, "ed.pem") {
		t.Errorf("JWT key %T %v from %s", j.Key, j.Key, j.PublicKey)
	}
	if !c.Realms[0].Auth.Enabled("ticket") || c.Realms[0].Auth.Enabled("anonymous") || !Default().Realms[0].Auth.Enabled("anonymous") {
		t.Error("RealmAuth.Enabled")
	}
}

func TestParseOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://App.Example.com":     "https://app.example.com",
		"https://app.example.com:443": "https://app.example.com",
		"http://localhost:3000":       "http://localhost:3000",
		"https://[::1]:8443":          "https://[::1]:8443",
		"null":                        "null",
		"chrome-extension://abcdef":   "chrome-extension://abcdef",
	} {
		o, err := ParseOrigin(in, false)
		if err != nil || o.String() != want {
			t.Errorf("ParseOrigin(%q) = %v, %v; want %s", in, o, err, want)
		}
	}
	p, err := ParseOrigin("https://*.example.com", true)
	if err != nil || !p.Wildcard || p.String() != "https://*.example.com" {
		t.Errorf("wildcard pattern: %+v, %v", p, err)
	}
	for _, bad := range []string{"", "example.com", "https://", "https://a.com/", "https://a.com?x", "https://u@a.com", "https://a.com:0",
		"https://a.com:99999", "https://a*.com", "https://*.example.com", "ht tp://a.com", "https://[::1"} {
		if _, err := ParseOrigin(bad, false); err == nil {
			t.Errorf("ParseOrigin(%q) accepted", bad)
		}
	}
}

// The defaults CONFIG.md states for the auth settings match Default() and the realm defaults.
func TestDocAuthDefaults(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	r := d.Realms[0]
	dur := func(v time.Duration) string {
		s := v.String() // "1m0s" -> "1m", "720h0m0s" -> "720h"
		if strings.HasSuffix(s, "m0s") {
			s = s[:len(s)-2]
		}
		if strings.HasSuffix(s, "h0m") {
			s = s[:len(s)-2]
		}
		return "`\"" + s + "\"`"
	}
	p := CRAPrincipal{}
	p.setDefaults()
	want := map[string]string{
		"data_dir":       "`\"" + d.Store.DataDir + "\"`",
		"enabled":        fmt.Sprintf("`%v`", d.ClientToken.Enabled),
		"max_age":        dur(d.ClientToken.MaxAge),
		"http_only":      fmt.Sprintf("`%v`", d.ClientToken.HTTPOnly),
		"same_site":      "`\"" + d.ClientToken.SameSite + "\"`",
		"max_failures":   fmt.Sprintf("`%d`", d.Auth.MaxFailures),
		"failure_window": dur(d.Auth.FailureWindow),
		"role_claim":     "`\"" + r.Auth.Ticket.JWT.RoleClaim + "\"`",
		"leeway":         dur(r.Auth.Ticket.JWT.Leeway),
		"duration":       dur(r.Auth.Cookie.Duration),
		"timeout":        dur(r.Auth.Delegated.Timeout),
		"iterations":     fmt.Sprintf("`%d`", p.Iterations),
		"keylen":         fmt.Sprintf("`%d`", p.KeyLen),
		"match":          "`\"exact\"`",
	}
	for key, def := range want {
		row := regexp.MustCompile("(?m)^\\| `" + key + "` \\| [^|]+ \\| ([^|]+) \\|").FindSubmatch(doc)
		if row == nil {
			t.Errorf("%s: no table row in CONFIG.md", key)
			continue
		}
		if got := strings.TrimSpace(string(row[1])); got != def {
			t.Errorf("%s: CONFIG.md says default %s, the code has %s", key, got, def)
		}
	}
	var pm Permission
	pm.setDefaults()
	if pm.Match != "exact" {
		t.Errorf("permission match default %q", pm.Match)
	}
}
