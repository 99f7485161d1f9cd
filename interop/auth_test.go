package interop

import (
	"crypto/ed25519"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// authRealm is the realm of the authentication suites (interop/python/auth_suite.py,
// interop/js/auth_suite.js).
const authRealm = "com.example.auth"

// authCredentials are the principals of the auth gateway, handed to the suites as JSON in
// GATEWAY_AUTH_CREDENTIALS. Fresh secrets and keys are made for every test.
type authCredentials struct {
	Ticket struct {
		AuthID string `json:"authid"`
		Ticket string `json:"ticket"`
	} `json:"ticket"`
	WAMPCRA struct {
		AuthID string `json:"authid"`
		Secret string `json:"secret"`
	} `json:"wampcra"`
	WAMPCRASalted struct {
		AuthID     string `json:"authid"`
		Password   string `json:"password"`
		Salt       string `json:"salt"`
		Iterations int    `json:"iterations"`
		KeyLen     int    `json:"keylen"`
	} `json:"wampcra_salted"`
	Cryptosign struct {
		AuthID  string `json:"authid"`
		PrivKey string `json:"privkey"` // the 32-byte Ed25519 seed in hex, as AutobahnPython takes it
	} `json:"cryptosign"`
	JWTSecret string `json:"jwt_secret"`

	derivedKey string // the salted principal's secret in the gateway config
	publicKey  string // the cryptosign principal's public key in hex
}

func randomString(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newAuthCredentials(t *testing.T) *authCredentials {
	t.Helper()
	c := &authCredentials{}
	c.Ticket.AuthID, c.Ticket.Ticket = "backend", randomString(t, 24)
	c.WAMPCRA.AuthID, c.WAMPCRA.Secret = "peter", randomString(t, 18)
	s := &c.WAMPCRASalted
	s.AuthID, s.Password, s.Salt, s.Iterations, s.KeyLen = "paul", "pässwörd "+randomString(t, 9), "salt-"+randomString(t, 6), 1000, 32
	// The secret a salted principal stores: PBKDF2-HMAC-SHA256(password, salt) in base64, computed
	// independently of the gateway, as Autobahn's auth.derive_key does.
	key, err := pbkdf2.Key(sha256.New, s.Password, []byte(s.Salt), s.Iterations, s.KeyLen)
	if err != nil {
		t.Fatal(err)
	}
	c.derivedKey = base64.StdEncoding.EncodeToString(key)
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	c.Cryptosign.AuthID, c.Cryptosign.PrivKey = "device1", hex.EncodeToString(seed)
	c.publicKey = hex.EncodeToString(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	c.JWTSecret = randomString(t, 32)
	return c
}

// config returns the gateway configuration of the auth realm. The static ticket and the JWT
// secret come from the environment (gatewayEnv), the other secrets are inline. Failed attempts
// are not throttled here: the suites fail on purpose many times (throttling is tested in
// internal/server). The gateway logs at debug level, so checkNoSecretsLogged sees the most.
func (c *authCredentials) config() string {
	return fmt.Sprintf(`
[server]
log_level = "debug"

[auth]
max_failures = 0

[[realms]]
name = %q

[realms.auth]
methods = ["cookie", "ticket", "wampcra", "cryptosign", "anonymous"]

[realms.auth.ticket]
accept = ["static", "jwt"]

[[realms.auth.ticket.principals]]
authid = %q
role = "user"
secret = "env:GATEWAY_TEST_TICKET"

[realms.auth.ticket.jwt]
algorithm = "HS256"
secret = "env:GATEWAY_TEST_JWT_SECRET"

[[realms.auth.wampcra.principals]]
authid = %q
role = "user"
secret = %q

[[realms.auth.wampcra.principals]]
authid = %q
role = "user"
secret = %q
salt = %q
iterations = %d
keylen = %d

[[realms.auth.cryptosign.principals]]
authid = %q
role = "device"
authorized_keys = [%q]

[[realms.roles]]
name = "anonymous"

[[realms.roles.permissions]]
uri = "com.example.public."
match = "prefix"
allow = ["subscribe"]

[[realms.roles]]
name = "user"

[[realms.roles.permissions]]
uri = "com.example.user."
match = "prefix"
allow = ["publish", "subscribe"]

[[realms.roles.permissions]]
uri = "wamp.session.get"
allow = ["call"]

[[realms.roles]]
name = "device"

[[realms.roles.permissions]]
uri = "com.example.device."
match = "prefix"
allow = ["publish"]

[[realms.roles.permissions]]
uri = "wamp.session.get"
allow = ["call"]
`, authRealm, c.Ticket.AuthID, c.WAMPCRA.AuthID, c.WAMPCRA.Secret,
		c.WAMPCRASalted.AuthID, c.derivedKey, c.WAMPCRASalted.Salt, c.WAMPCRASalted.Iterations, c.WAMPCRASalted.KeyLen,
		c.Cryptosign.AuthID, c.publicKey)
}

// gatewayEnv is the environment the gateway reads its "env:" secrets from.
func (c *authCredentials) gatewayEnv() []string {
	return []string{"GATEWAY_TEST_TICKET=" + c.Ticket.Ticket, "GATEWAY_TEST_JWT_SECRET=" + c.JWTSecret}
}

// suiteEnv hands the credentials to a client suite.
func (c *authCredentials) suiteEnv(t *testing.T) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return "GATEWAY_AUTH_CREDENTIALS=" + string(b)
}

// checkNoSecretsLogged fails t when the gateway's output contains a secret (the wrong secrets the
// suites try contain the right ones, so they are covered too).
func (c *authCredentials) checkNoSecretsLogged(t *testing.T, r *router) {
	t.Helper()
	out := r.log.String()
	for name, secret := range map[string]string{
		"static ticket": c.Ticket.Ticket, "WAMP-CRA secret": c.WAMPCRA.Secret, "WAMP-CRA password": c.WAMPCRASalted.Password,
		"WAMP-CRA derived key": c.derivedKey, "cryptosign private key": c.Cryptosign.PrivKey, "JWT secret": c.JWTSecret,
	} {
		if strings.Contains(out, secret) {
			t.Errorf("the gateway's output contains the %s", name)
		}
	}
}

var pythonNaCl = sync.OnceValue(func() error {
	out, err := runCommand(30*time.Second, "", nil, python, "-c", "import nacl.signing")
	if err != nil {
		return fmt.Errorf("%s cannot import nacl (Debian package python3-nacl, needed for cryptosign): %w\n%s", python, err, out)
	}
	return nil
})

// TestAuthAutobahnPython runs interop/python/auth_suite.py: AutobahnPython authenticating with a
// static ticket, WAMP-CRA (plain and salted PBKDF2 secrets) and cryptosign over WebSocket with each
// serializer, each identity then doing what its role allows and being refused what it does not;
// wrong secrets get ABORT wamp.error.authentication_failed. It also re-authenticates a client by
// its client token alone (the cookie method, token sent in HELLO.Details.authextra).
func TestAuthAutobahnPython(t *testing.T) {
	need(t, "AutobahnPython", pythonDeps())
	need(t, "PyNaCl", pythonNaCl())
	creds := newAuthCredentials(t)
	r := startConfiguredGateway(t, creds.config(), creds.gatewayEnv()...)
	script := filepath.Join(pythonDir(), "auth_suite.py")
	env := []string{"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1", creds.suiteEnv(t)}
	for _, ser := range serializers {
		t.Run("websocket/"+ser, func(t *testing.T) {
			runClientSuite(t, r, "python-auth", "websocket", pythonDir(), env, python, script,
				"--url", r.wsURL, "--realm", authRealm, "--serializer", ser, "--timeout", "60")
		})
	}
	creds.checkNoSecretsLogged(t, r)
}

// TestAuthAutobahnJS runs interop/js/auth_suite.js: Autobahn|JS authenticating with a static
// ticket, HS256 JWTs (signed by the suite with Node's crypto), WAMP-CRA (auth_cra.sign and
// derive_key) and cryptosign over WebSocket with each serializer.
func TestAuthAutobahnJS(t *testing.T) {
	need(t, "Autobahn|JS", nodeDeps())
	creds := newAuthCredentials(t)
	r := startConfiguredGateway(t, creds.config(), creds.gatewayEnv()...)
	script := filepath.Join(jsDir(), "auth_suite.js")
	env := []string{creds.suiteEnv(t)}
	for _, ser := range serializers {
		t.Run("websocket/"+ser, func(t *testing.T) {
			runClientSuite(t, r, "autobahn-js-auth", "websocket", jsDir(), env, "node", script,
				"--url", r.wsURL, "--realm", authRealm, "--serializer", ser, "--timeout", "60")
		})
	}
	creds.checkNoSecretsLogged(t, r)
}
