package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gateway-dev/gateway/wamp"
)

// Vectors computed with AutobahnPython 22.7.1 (auth.derive_key, auth.compute_wcs,
// CryptosignKey.sign_challenge) and checked against Autobahn|JS 26.3.1 (auth_cra.derive_key,
// auth_cra.sign): both give the same values.
const (
	craChallengeVector = `{"authid":"peter","authrole":"user","authmethod":"wampcra","authprovider":"static","nonce":"abc","timestamp":"2026-01-02T03:04:05.000Z","session":42}`
	craSigPlain        = "wxfLG/9DpRd7ocuEVQvqZXXMFZQEusajwhBXnQEc3qs="                     // compute_wcs(b"secret123", challenge)
	craDerived         = "Eu7CQLfR+/Ffb+275A4s9/6H/RGKYxM4s6IMrsNKzC8="                     // derive_key("secret123", "salt123", 1000, 32)
	craDerived2        = "0o66kCGApg/2NPiUVZHDNw=="                                         // derive_key("pässwörd", "NaCl", 100, 16)
	craSigSalted       = "eEyKgyjRHyZFHnPSBlIkRG8Ru8YfYklHwaoMKExxNZc="                     // compute_wcs(derived, challenge)
	csPub              = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8" // seed bytes 0..31
	csChallenge        = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	csSig              = "12489e960add89928632184f6d20d3d3bfb3c8fbb3e65c9ca49dd05b5662c738e2faf5a14f4e2b72893a37db931808e6624704e30a1160a64fdc040e7ae22f06" + csChallenge
	// PyJWT 2.6.0: jwt.encode({"sub":"alice","role":"user","aud":"realm1","exp":4102444800,
	// "iat":1700000000,"authextra":{"plan":"gold","n":3}}, hs256Secret, algorithm="HS256")
	pyJWT       = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGUiOiJ1c2VyIiwiYXVkIjoicmVhbG0xIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImF1dGhleHRyYSI6eyJwbGFuIjoiZ29sZCIsIm4iOjN9fQ.oP2cgluSOhFB3W7oduxNzCiX4mTtF0M8JEpcKOv8cIg"
	hs256Secret = "0123456789abcdef0123456789abcdef"
)

const methodsConfig = `
[[realms]]
name = "realm1"
[realms.auth]
methods = ["ticket", "wampcra", "cryptosign", "anonymous"]
[realms.auth.ticket]
accept = ["static", "one_time", "jwt"]
[[realms.auth.ticket.principals]]
authid = "backend"
role = "backend"
secret = "s3cret-ticket"
[realms.auth.ticket.jwt]
algorithm = "HS256"
secret = "` + hs256Secret + `"
[[realms.auth.wampcra.principals]]
authid = "peter"
role = "user"
secret = "secret123"
[[realms.auth.wampcra.principals]]
authid = "salty"
role = "user"
secret = "` + craDerived + `"
salt = "salt123"
[[realms.auth.cryptosign.principals]]
authid = "device1"
role = "device"
authorized_keys = ["` + csPub + `"]
`

func TestAutobahnVectors(t *testing.T) {
	if got := SignCRA([]byte("secret123"), craChallengeVector); got != craSigPlain {
		t.Errorf("SignCRA plain = %s, want %s", got, craSigPlain)
	}
	for _, v := range []struct {
		secret, salt string
		iter, keylen int
		want         string
	}{{"secret123", "salt123", 1000, 32, craDerived}, {"pässwörd", "NaCl", 100, 16, craDerived2}} {
		if got, err := DeriveKey(v.secret, v.salt, v.iter, v.keylen); err != nil || got != v.want {
			t.Errorf("DeriveKey(%q, %q, %d, %d) = %s, %v; want %s", v.secret, v.salt, v.iter, v.keylen, got, err, v.want)
		}
	}
	if got := SignCRA([]byte(craDerived), craChallengeVector); got != craSigSalted {
		t.Errorf("SignCRA salted = %s, want %s", got, craSigSalted)
	}
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = byte(i)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	if got := hex.EncodeToString(priv.Public().(ed25519.PublicKey)); got != csPub {
		t.Errorf("public key = %s, want %s", got, csPub)
	}
	if got, err := SignCryptosign(priv, csChallenge); err != nil || got != csSig {
		t.Errorf("SignCryptosign = %s, %v; want Autobahn's %s", got, err, csSig)
	}
	pub, _ := hex.DecodeString(csPub)
	ch, _ := hex.DecodeString(csChallenge)
	if !VerifyCryptosign(pub, ch, csSig) {
		t.Error("Autobahn's cryptosign signature does not verify")
	}
}

func TestTicketStatic(t *testing.T) {
	a, _ := realmAuth(t, parseConfig(t, "", methodsConfig), Deps{})
	ticket := func(authid, tk string) (*Identity, error) {
		d := wamp.Dict{"authmethods": []any{"ticket"}}
		if authid != "" {
			d["authid"] = authid
		}
		return answer(t, a, hello(t, "realm1", d), func(extra wamp.Dict) string {
			if len(extra) != 0 {
				t.Errorf("ticket CHALLENGE.Extra = %v, want empty", extra)
			}
			return tk
		})
	}
	id, err := ticket("backend", "s3cret-ticket")
	want := &Identity{AuthID: "backend", AuthRole: "backend", AuthMethod: "ticket", AuthProvider: "static"}
	if err != nil || !reflect.DeepEqual(id, want) {
		t.Errorf("good ticket: %+v, %v; want %+v", id, err, want)
	}
	for _, c := range []struct{ authid, ticket string }{
		{"backend", "s3cret-ticketX"}, {"backend", "s3cret-ticke"}, {"backend", ""}, {"nobody", "s3cret-ticket"}, {"", "s3cret-ticket"},
	} {
		_, err := ticket(c.authid, c.ticket)
		authErr(t, err, wamp.ErrAuthenticationFailed)
	}
}

func TestTicketOneTime(t *testing.T) {
	st := openStore(t)
	c := parseConfig(t, "", methodsConfig)
	a, _ := realmAuth(t, c, Deps{Store: st})
	redeem := func(authid, tk string) (*Identity, error) {
		d := wamp.Dict{"authmethods": []any{"ticket"}}
		if authid != "" {
			d["authid"] = authid
		}
		return answer(t, a, hello(t, "realm1", d), func(wamp.Dict) string { return tk })
	}
	tk, exp, err := a.IssueTicket("alice", "user", 5*time.Minute, wamp.Dict{"plan": "gold"})
	if err != nil {
		t.Fatal(err)
	}
	if len(tk) != oneTimeTicketLen || time.Until(exp) > 5*time.Minute || time.Until(exp) < 4*time.Minute {
		t.Errorf("ticket %q expires %v", tk, exp)
	}
	id, err := redeem("", tk)
	want := &Identity{AuthID: "alice", AuthRole: "user", AuthMethod: "ticket", AuthProvider: "one_time", AuthExtra: wamp.Dict{"plan": "gold"}}
	if err != nil || !reflect.DeepEqual(id, want) {
		t.Fatalf("first use: %+v, %v; want %+v", id, err, want)
	}
	_, err = redeem("", tk)
	if e := authErr(t, err, wamp.ErrAuthenticationFailed); !strings.Contains(e.Message, "once") {
		t.Errorf("second use: %q", e.Message)
	}

	// The authid in HELLO must be the ticket's.
	tk2, _, _ := a.IssueTicket("alice", "user", time.Minute, nil)
	_, err = redeem("mallory", tk2)
	authErr(t, err, wamp.ErrAuthenticationFailed)
	if _, err := redeem("alice", tk2); err == nil {
		t.Error("a ticket presented with the wrong authid must be used up")
	}

	// Expired.
	tk3, _, _ := a.IssueTicket("alice", "user", time.Minute, nil)
	a.methods["ticket"].(*Ticket).now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	_, err = redeem("alice", tk3)
	if e := authErr(t, err, wamp.ErrAuthenticationFailed); !strings.Contains(e.Message, "expired") {
		t.Errorf("expired: %q", e.Message)
	}
	a.methods["ticket"].(*Ticket).now = time.Now

	// Issued for another realm.
	tk4, _, err := IssueTicket(st, "other.realm", "alice", "user", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = redeem("", tk4)
	authErr(t, err, wamp.ErrAuthenticationFailed)

	// The store is gone: an ordinary refusal, not a crash.
	tk5, _, _ := a.IssueTicket("alice", "user", time.Minute, nil)
	st.Close()
	_, err = redeem("", tk5)
	if e := authErr(t, err, wamp.ErrAuthenticationFailed); !strings.Contains(e.Message, "right now") {
		t.Errorf("store closed: %q", e.Message)
	}
	if _, _, err := a.IssueTicket("alice", "user", time.Minute, nil); err == nil {
		t.Error("IssueTicket with a closed store succeeded")
	}
}

func TestIssueTicketChecks(t *testing.T) {
	st := openStore(t)
	noOneTime := parseConfig(t, "", `
[[realms]]
name = "realm1"
[realms.auth]
methods = ["ticket"]
[realms.auth.ticket]
accept = ["static"]
[[realms.auth.ticket.principals]]
authid = "x"
role = "user"
secret = "y"
[[realms.roles]]
name = "user"
`)
	a, _ := realmAuth(t, noOneTime, Deps{Store: st})
	if _, _, err := a.IssueTicket("alice", "user", time.Minute, nil); err == nil || !strings.Contains(err.Error(), "one-time") {
		t.Errorf("realm without one_time: %v", err)
	}
	withRoles := parseConfig(t, "", `
[[realms]]
name = "realm1"
[realms.auth]
methods = ["ticket"]
[realms.auth.ticket]
accept = ["one_time"]
[[realms.roles]]
name = "user"
`)
	a, _ = realmAuth(t, withRoles, Deps{Store: st})
	if _, _, err := a.IssueTicket("alice", "admin", time.Minute, nil); err == nil || !strings.Contains(err.Error(), `"admin" is not defined`) {
		t.Errorf("undefined role: %v", err)
	}
	for _, c := range []struct {
		authid, role string
		ttl          time.Duration
	}{{"", "user", time.Minute}, {"alice", "", time.Minute}, {"alice", "user", 0}} {
		if _, _, err := IssueTicket(st, "realm1", c.authid, c.role, c.ttl, nil); err == nil {
			t.Errorf("IssueTicket(%q, %q, %v) succeeded", c.authid, c.role, c.ttl)
		}
	}
}

// jwtRealm returns an authenticator for a realm accepting JWT tickets with the given [jwt]
// settings (and a static principal, to check the kinds do not mix).
func jwtRealm(t *testing.T, dir, jwtSettings string) *Authenticator {
	t.Helper()
	c := parseConfig(t, dir, `
[[realms]]
name = "realm1"
[realms.auth]
methods = ["ticket"]
[realms.auth.ticket]
accept = ["jwt", "static"]
[[realms.auth.ticket.principals]]
authid = "alice"
role = "admin"
secret = "static-secret"
[realms.auth.ticket.jwt]
`+jwtSettings)
	a, _ := realmAuth(t, c, Deps{})
	return a
}

func jwtLogin(t *testing.T, a *Authenticator, authid, token string) (*Identity, error) {
	t.Helper()
	d := wamp.Dict{"authmethods": []any{"ticket"}}
	if authid != "" {
		d["authid"] = authid
	}
	return answer(t, a, hello(t, "realm1", d), func(wamp.Dict) string { return token })
}

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJWTHS256(t *testing.T) {
	a := jwtRealm(t, "", `algorithm = "HS256"
secret = "`+hs256Secret+`"
leeway = "30s"
default_role = "guest"
`)
	// A token made by PyJWT, as the Django snippet in docs/AUTH.md makes it.
	id, err := jwtLogin(t, a, "", pyJWT)
	want := &Identity{AuthID: "alice", AuthRole: "user", AuthMethod: "ticket", AuthProvider: "jwt", AuthExtra: wamp.Dict{"plan": "gold", "n": int64(3)}}
	if err != nil || !reflect.DeepEqual(id, want) {
		t.Fatalf("PyJWT token: %+v, %v; want %+v", id, err, want)
	}
	now := time.Now()
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "bob", "role": "user", "aud": "realm1", "exp": now.Add(time.Minute).Unix()}
		mod(c)
		return c
	}
	key := []byte(hs256Secret)
	tests := []struct {
		name   string
		token  string
		authid string
		want   string // "" = success; else part of the error message
		role   string
	}{
		{"valid", sign(t, jwt.SigningMethodHS256, key, claims(func(jwt.MapClaims) {})), "", "", "user"},
		{"authid matches sub", sign(t, jwt.SigningMethodHS256, key, claims(func(jwt.MapClaims) {})), "bob", "", "user"},
		{"aud list", sign(t, jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { c["aud"] = []string{"x", "realm1"} })), "", "", "user"},
		{"default role", sign(t, jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { delete(c, "role") })), "", "", "guest"},
		{"expired within leeway", sign(t, jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-20 * time.Second).Unix() })), "", "", "user"},
		{"expired", sign(t, jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })), "", "expired", ""},
		{"no exp", sign(t, jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { delete(c, "exp") })), "", "no expiry", ""},
		{"not yet", sign(t, jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() })), "", "not valid yet", ""},
		{"other realm", sign(t, jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { c["aud"] = "realm2" })), "", `not for realm "realm1"`, ""},
		{"no aud", sign(t, jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { delete(c, "aud") })), "", `not for realm`, ""},
		{"no sub", sign(t, jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { delete(c, "sub") })), "", "no subject", ""},
		{"role not a string", sign(t, jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { c["role"] = 7 })), "", `"role" claim`, ""},
		{"authid differs", sign(t, jwt.SigningMethodHS256, key, claims(func(jwt.MapClaims) {})), "carol", "another authid", ""},
		{"wrong secret", sign(t, jwt.SigningMethodHS256, []byte("another secret, just as long as the right one"), claims(func(jwt.MapClaims) {})), "", "signature is invalid", ""},
		{"HS512", sign(t, jwt.SigningMethodHS512, key, claims(func(jwt.MapClaims) {})), "", "not signed with HS256", ""},
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(func(jwt.MapClaims) {})), "", "not signed with HS256", ""},
		{"garbage", "a.b.c", "", "malformed", ""},
		// A JWT-shaped ticket is only ever checked as a JWT, even with a static principal's authid.
		{"static secret shaped like a JWT", "static.secret.x", "alice", "malformed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := jwtLogin(t, a, tt.authid, tt.token)
			if tt.want == "" {
				if err != nil || id.AuthID != "bob" || id.AuthRole != tt.role || id.AuthProvider != "jwt" {
					t.Errorf("got %+v, %v; want bob/%s", id, err, tt.role)
				}
				return
			}
			e := authErr(t, err, wamp.ErrAuthenticationFailed)
			if !strings.Contains(e.Message, tt.want) {
				t.Errorf("message %q, want it to contain %q", e.Message, tt.want)
			}
			if strings.Contains(e.Error(), tt.token) {
				t.Error("the error repeats the token")
			}
		})
	}
	// The static kind still works beside JWT.
	if id, err := jwtLogin(t, a, "alice", "static-secret"); err != nil || id.AuthRole != "admin" {
		t.Errorf("static ticket beside JWT: %+v, %v", id, err)
	}
}

func TestJWTPublicKeys(t *testing.T) {
	dir := t.TempDir()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	writePub := func(name string, pub any) []byte {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		p := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		writeFile(t, filepath.Join(dir, name), string(p))
		return p
	}
	rsaPEM := writePub("rsa.pem", &rsaKey.PublicKey)
	writePub("ed.pem", edPub)
	claims := jwt.MapClaims{"sub": "bob", "role": "user", "aud": "realm1", "exp": time.Now().Add(time.Minute).Unix(), "iss": "https://app.example.com"}

	rs := jwtRealm(t, dir, `algorithm = "RS256"
public_key = "rsa.pem"
issuer = "https://app.example.com"
`)
	if id, err := jwtLogin(t, rs, "", sign(t, jwt.SigningMethodRS256, rsaKey, claims)); err != nil || id.AuthID != "bob" {
		t.Errorf("RS256: %+v, %v", id, err)
	}
	// Algorithm confusion: an HS256 token "signed" with the public key's PEM must not pass.
	if _, err := jwtLogin(t, rs, "", sign(t, jwt.SigningMethodHS256, rsaPEM, claims)); err == nil {
		t.Error("an HS256 token keyed with the RSA public key was accepted")
	}
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	if _, err := jwtLogin(t, rs, "", sign(t, jwt.SigningMethodRS256, otherRSA, claims)); err == nil {
		t.Error("a token signed by another RSA key was accepted")
	}
	wrongIss := jwt.MapClaims{"sub": "bob", "role": "user", "aud": "realm1", "exp": time.Now().Add(time.Minute).Unix(), "iss": "https://evil.example.com"}
	_, err = jwtLogin(t, rs, "", sign(t, jwt.SigningMethodRS256, rsaKey, wrongIss))
	if e := authErr(t, err, wamp.ErrAuthenticationFailed); !strings.Contains(e.Message, "issuer") {
		t.Errorf("wrong issuer: %q", e.Message)
	}

	ed := jwtRealm(t, dir, `algorithm = "EdDSA"
public_key = "ed.pem"
`)
	if id, err := jwtLogin(t, ed, "", sign(t, jwt.SigningMethodEdDSA, edPriv, claims)); err != nil || id.AuthID != "bob" {
		t.Errorf("EdDSA: %+v, %v", id, err)
	}
	if _, err := jwtLogin(t, ed, "", sign(t, jwt.SigningMethodRS256, rsaKey, claims)); err == nil {
		t.Error("an RS256 token was accepted by an EdDSA realm")
	}
}

func TestWAMPCRA(t *testing.T) {
	a, _ := realmAuth(t, parseConfig(t, "", methodsConfig), Deps{})
	// client signs as Autobahn does: derive the key when the challenge is salted.
	client := func(password string) func(wamp.Dict) string {
		return func(extra wamp.Dict) string {
			key := password
			if salt, ok := extra["salt"].(string); ok {
				var err error
				key, err = DeriveKey(password, salt, int(extra["iterations"].(int64)), int(extra["keylen"].(int64)))
				if err != nil {
					t.Fatal(err)
				}
			}
			return SignCRA([]byte(key), extra["challenge"].(string))
		}
	}
	req := hello(t, "realm1", wamp.Dict{"authmethods": []any{"wampcra"}, "authid": "peter"})
	req.Session = 4242
	_, ch, err := a.Authenticate(context.Background(), req)
	if err != nil || ch == nil || ch.Method != "wampcra" {
		t.Fatalf("Authenticate = %v, %v", ch, err)
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(ch.Extra["challenge"].(string)), &fields); err != nil {
		t.Fatalf("challenge is not JSON: %v", err)
	}
	if fields["authid"] != "peter" || fields["authrole"] != "user" || fields["authmethod"] != "wampcra" ||
		fields["session"] != float64(4242) || fields["nonce"] == "" || fields["authprovider"] != "static" {
		t.Errorf("challenge fields = %v", fields)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", fields["timestamp"].(string)); err != nil {
		t.Errorf("timestamp: %v", err)
	}
	if _, salted := ch.Extra["salt"]; salted {
		t.Error("an unsalted secret announced a salt")
	}
	id, err := ch.Verify(context.Background(), client("secret123")(ch.Extra), nil)
	if err != nil || id.AuthID != "peter" || id.AuthRole != "user" || id.AuthMethod != "wampcra" {
		t.Errorf("good signature: %+v, %v", id, err)
	}
	if _, err := ch.Verify(context.Background(), client("secret123")(ch.Extra), nil); err == nil {
		t.Error("a challenge could be answered twice")
	}

	// Salted: the challenge carries Autobahn's PBKDF2 parameters, the client derives the key.
	id, err = answer(t, a, hello(t, "realm1", wamp.Dict{"authmethods": []any{"wampcra"}, "authid": "salty"}), func(extra wamp.Dict) string {
		if extra["salt"] != "salt123" || extra["iterations"] != int64(1000) || extra["keylen"] != int64(32) {
			t.Errorf("salted challenge extra = %v", extra)
		}
		return client("secret123")(extra)
	})
	if err != nil || id.AuthID != "salty" {
		t.Errorf("salted: %+v, %v", id, err)
	}

	for name, c := range map[string]struct {
		authid string
		sign   func(wamp.Dict) string
	}{
		"wrong password":     {"peter", client("secret124")},
		"not base64":         {"peter", func(wamp.Dict) string { return "%%%" }},
		"empty":              {"peter", func(wamp.Dict) string { return "" }},
		"unknown authid":     {"nobody", client("secret123")},
		"salted, raw secret": {"salty", func(e wamp.Dict) string { return SignCRA([]byte("secret123"), e["challenge"].(string)) }},
	} {
		_, err := answer(t, a, hello(t, "realm1", wamp.Dict{"authmethods": []any{"wampcra"}, "authid": c.authid}), c.sign)
		if e := authErr(t, err, wamp.ErrAuthenticationFailed); e.Message != "WAMP-CRA signature is invalid" {
			t.Errorf("%s: %q", name, e.Message)
		}
	}
	_, _, err = a.Authenticate(context.Background(), hello(t, "realm1", wamp.Dict{"authmethods": []any{"wampcra"}}))
	authErr(t, err, wamp.ErrAuthenticationFailed)
}

func TestCryptosign(t *testing.T) {
	a, _ := realmAuth(t, parseConfig(t, "", methodsConfig), Deps{})
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = byte(i)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	login := func(details wamp.Dict, signer func(challenge string) string) (*Identity, error) {
		details["authmethods"] = []any{"cryptosign"}
		return answer(t, a, hello(t, "realm1", details), func(extra wamp.Dict) string {
			ch, _ := extra["challenge"].(string)
			if len(ch) != 64 {
				t.Errorf("challenge %q is not 32 bytes in hex", ch)
			}
			if v, present := extra["channel_binding"]; !present || v != nil {
				t.Errorf("channel_binding = %v, want null", v)
			}
			return signer(ch)
		})
	}
	autobahn := func(k ed25519.PrivateKey) func(string) string {
		return func(ch string) string { s, _ := SignCryptosign(k, ch); return s }
	}
	id, err := login(wamp.Dict{"authextra": wamp.Dict{"pubkey": csPub}}, autobahn(priv))
	if err != nil || id.AuthID != "device1" || id.AuthRole != "device" || id.AuthMethod != "cryptosign" || id.AuthExtra["pubkey"] != csPub {
		t.Errorf("valid: %+v, %v", id, err)
	}
	id, err = login(wamp.Dict{"authid": "device1", "authextra": wamp.Dict{"pubkey": csPub, "channel_binding": nil}}, func(ch string) string {
		return autobahn(priv)(ch)[:128] // the bare signature, without the challenge
	})
	if err != nil || id.AuthID != "device1" {
		t.Errorf("bare signature: %+v, %v", id, err)
	}
	bad := map[string]struct {
		details wamp.Dict
		signer  func(string) string
	}{
		"other key's signature": {wamp.Dict{"authextra": wamp.Dict{"pubkey": csPub}}, autobahn(other)},
		"signature of another challenge": {wamp.Dict{"authextra": wamp.Dict{"pubkey": csPub}}, func(string) string {
			s, _ := SignCryptosign(priv, csChallenge)
			return s
		}},
		"signature with another challenge appended": {wamp.Dict{"authextra": wamp.Dict{"pubkey": csPub}}, func(ch string) string {
			return autobahn(priv)(ch)[:128] + csChallenge
		}},
		"not hex":   {wamp.Dict{"authextra": wamp.Dict{"pubkey": csPub}}, func(string) string { return "zz" }},
		"truncated": {wamp.Dict{"authextra": wamp.Dict{"pubkey": csPub}}, func(ch string) string { return autobahn(priv)(ch)[:100] }},
	}
	for name, c := range bad {
		_, err := login(c.details, c.signer)
		if e := authErr(t, err, wamp.ErrAuthenticationFailed); e.Message != "cryptosign signature is invalid" {
			t.Errorf("%s: %q", name, e.Message)
		}
	}
	otherPub := hex.EncodeToString(other.Public().(ed25519.PublicKey))
	refused := map[string]wamp.Dict{
		"no pubkey":             {},
		"pubkey not hex":        {"authextra": wamp.Dict{"pubkey": "xyz"}},
		"pubkey not a string":   {"authextra": wamp.Dict{"pubkey": int64(5)}},
		"unknown key":           {"authextra": wamp.Dict{"pubkey": otherPub}},
		"key of another authid": {"authid": "device2", "authextra": wamp.Dict{"pubkey": csPub}},
		"tls-unique":            {"authextra": wamp.Dict{"pubkey": csPub, "channel_binding": "tls-unique"}},
	}
	for name, d := range refused {
		d["authmethods"] = []any{"cryptosign"}
		_, _, err := a.Authenticate(context.Background(), hello(t, "realm1", d))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		authErr(t, err, wamp.ErrAuthenticationFailed)
	}
}
