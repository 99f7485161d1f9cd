package auth

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/store"
	"github.com/gateway-dev/gateway/wamp"
)

// clock is a settable time source for tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)} }
func tokensWith(st *store.Store, cfg config.ClientToken, c *clock) *Tokens {
	tk := NewTokens(st, cfg)
	tk.now = c.now
	return tk
}

func TestTokenLifecycle(t *testing.T) {
	st := openStore(t)
	clk := newClock()
	cfg := config.Default().ClientToken
	cfg.MaxAge = time.Hour
	tk := tokensWith(st, cfg, clk)

	first, err := tk.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if !first.Fresh || len(first.Value) != tokenLen || first.ClientID == "" || !first.Expires.Equal(clk.t.Add(time.Hour)) {
		t.Fatalf("issued %+v", first)
	}
	// Recognised within its expiry: same client, expiry slides forward.
	clk.add(30 * time.Minute)
	again, err := tk.Resolve("", first.Value)
	if err != nil {
		t.Fatal(err)
	}
	if again.Fresh || again.Value != first.Value || again.ClientID != first.ClientID || !again.Expires.Equal(clk.t.Add(time.Hour)) {
		t.Errorf("recognised %+v, want the same client with a refreshed expiry", again)
	}
	// Expired: silently replaced by a fresh token with a new client ID.
	clk.add(time.Hour + time.Second)
	expired, err := tk.Resolve(first.Value)
	if err != nil {
		t.Fatal(err)
	}
	if !expired.Fresh || expired.Value == first.Value || expired.ClientID == first.ClientID {
		t.Errorf("expired token gave %+v, want a fresh one", expired)
	}
	// Tampered (one character changed), malformed and unknown tokens are replaced too.
	live := expired.Value
	tampered := live[:10] + string(rune(live[10]^1)) + live[11:]
	for _, bad := range []string{tampered, live + "x", "short", "not/base64url!not/base64url!1234", strings.Repeat("A", tokenLen)} {
		got, err := tk.Resolve(bad)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Fresh || got.Value == bad || got.ClientID == expired.ClientID {
			t.Errorf("Resolve(%q) = %+v, want a fresh token", bad, got)
		}
	}
	// The first live candidate wins.
	if got, _ := tk.Resolve("junk", live); got.Value != live || got.Fresh {
		t.Errorf("Resolve(junk, live) = %+v", got)
	}
	// Revoked: replaced.
	if err := tk.Revoke(live); err != nil {
		t.Fatal(err)
	}
	if got, _ := tk.Resolve(live); got.Value == live || !got.Fresh {
		t.Errorf("revoked token recognised: %+v", got)
	}
}

// Tokens survive a restart of the gateway (the store is reopened).
func TestTokenSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tk := NewTokens(st, config.Default().ClientToken)
	ct, err := tk.Issue()
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := NewTokens(st, config.Default().ClientToken).Resolve(ct.Value)
	if err != nil || got.Fresh || got.ClientID != ct.ClientID {
		t.Errorf("after restart: %+v, %v; want client %s", got, err, ct.ClientID)
	}
}

func TestTokensWithoutStore(t *testing.T) {
	tk := NewTokens(nil, config.Default().ClientToken)
	if _, err := tk.Resolve("x"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Resolve without store: %v, want ErrUnavailable", err)
	}
}

func TestRevokeAuthIDLogsOutEverywhere(t *testing.T) {
	st := openStore(t)
	tk := NewTokens(st, config.Default().ClientToken)
	var cts []*ClientToken
	for range 3 {
		ct, _ := tk.Issue()
		cts = append(cts, ct)
	}
	for i, authid := range []string{"alice", "alice", "bob"} {
		if err := tk.Remember(cts[i], "realm1", &Identity{AuthID: authid, AuthRole: "user", AuthMethod: "ticket"}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := tk.RevokeAuthID("alice"); err != nil || n != 2 {
		t.Fatalf("RevokeAuthID = %d, %v", n, err)
	}
	for i, want := range []bool{true, true, false} {
		got, _ := tk.Resolve(cts[i].Value)
		if (got.Value != cts[i].Value) != want {
			t.Errorf("token %d replaced = %v, want %v", i, got.Value != cts[i].Value, want)
		}
	}
}

func TestSetCookie(t *testing.T) {
	clk := newClock()
	ct := &ClientToken{Value: "v", Expires: clk.t.Add(2 * time.Hour)}
	on, off := true, false
	tests := []struct {
		name string
		cfg  func(*config.ClientToken)
		tls  bool
		want string
	}{
		{"defaults, plain", func(*config.ClientToken) {}, false, "gateway_token=v; Path=/; Max-Age=7200; HttpOnly; SameSite=Lax"},
		{"defaults, TLS", func(*config.ClientToken) {}, true, "gateway_token=v; Path=/; Max-Age=7200; HttpOnly; Secure; SameSite=Lax"},
		{"secure forced", func(c *config.ClientToken) { c.Secure = &on }, false, "gateway_token=v; Path=/; Max-Age=7200; HttpOnly; Secure; SameSite=Lax"},
		{"secure off behind TLS", func(c *config.ClientToken) { c.Secure = &off }, true, "gateway_token=v; Path=/; Max-Age=7200; HttpOnly; SameSite=Lax"},
		{"everything", func(c *config.ClientToken) {
			c.Name, c.Domain, c.Path, c.HTTPOnly, c.SameSite = "cid", "example.com", "/ws", false, "none"
		}, true, "cid=v; Path=/ws; Domain=example.com; Max-Age=7200; Secure; SameSite=None"},
		{"no SameSite", func(c *config.ClientToken) { c.SameSite = "" }, false, "gateway_token=v; Path=/; Max-Age=7200; HttpOnly"},
		{"strict", func(c *config.ClientToken) { c.SameSite = "strict" }, false, "gateway_token=v; Path=/; Max-Age=7200; HttpOnly; SameSite=Strict"},
	}
	for _, tt := range tests {
		cfg := config.Default().ClientToken
		tt.cfg(&cfg)
		tk := tokensWith(nil, cfg, clk)
		if got := tk.SetCookie(ct, tt.tls).String(); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestTokenFromRequest(t *testing.T) {
	tk := NewTokens(nil, config.Default().ClientToken)
	good := strings.Repeat("a", tokenLen)
	tests := []struct {
		cookies []string
		want    string
	}{
		{nil, ""},
		{[]string{"gateway_token=" + good}, good},
		// A JSON-valued cookie before ours (Crossbar issue #1924) must not hide it.
		{[]string{`prefs={"theme":"dark","n":[1,2]}; gateway_token=` + good + `; csrftoken=abc`}, good},
		{[]string{`a="unterminated; gateway_token=` + good}, good},
		{[]string{"sessionid=x", "gateway_token=" + good}, good},
		// Two cookies of the same name (e.g. different paths): the well-formed one wins.
		{[]string{"gateway_token=junk; gateway_token=" + good}, good},
		{[]string{"gateway_token=junk"}, "junk"},
		{[]string{"other=" + good}, ""},
	}
	for _, tt := range tests {
		h := http.Header{}
		for _, c := range tt.cookies {
			h.Add("Cookie", c)
		}
		if got := tk.FromHeader(h); got != tt.want {
			t.Errorf("FromHeader(%q) = %q, want %q", tt.cookies, got, tt.want)
		}
	}
	if got := FromHello(wamp.Dict{"authextra": map[string]any{"client_token": good}}); got != good {
		t.Errorf("FromHello = %q", got)
	}
	for _, d := range []wamp.Dict{{}, {"authextra": "x"}, {"authextra": map[string]any{"client_token": 5}}} {
		if got := FromHello(d); got != "" {
			t.Errorf("FromHello(%v) = %q", d, got)
		}
	}
}

// The cookie method: a client whose token authenticated with a credential is re-authenticated by
// the token alone, in the same realm, for the configured duration.
func TestCookieAuthentication(t *testing.T) {
	st := openStore(t)
	clk := newClock()
	tk := tokensWith(st, config.Default().ClientToken, clk)
	c := parseConfig(t, "", `
[[realms]]
name = "realm1"
[realms.auth]
methods = ["cookie", "ticket", "anonymous"]
[realms.auth.cookie]
duration = "1h"
[realms.auth.ticket]
accept = ["static"]
[[realms.auth.ticket.principals]]
authid = "alice"
role = "user"
secret = "pw"
[[realms]]
name = "realm2"
[realms.auth]
methods = ["cookie", "anonymous"]
`)
	a, _ := realmAuth(t, c, Deps{Store: st, Tokens: tk})
	a.methods["cookie"].(*Cookie).now = clk.now
	authz2, _ := NewAuthorizer(nil, false)
	a2, err := NewAuthenticator(&c.Realms[1], authz2, Deps{Store: st, Tokens: tk})
	if err != nil {
		t.Fatal(err)
	}
	a2.methods["cookie"].(*Cookie).now = clk.now

	connect := func(a *Authenticator, realm, token string, methods ...any) (*Identity, *ClientToken) {
		t.Helper()
		ct, err := tk.Resolve(token)
		if err != nil {
			t.Fatal(err)
		}
		req := hello(t, realm, wamp.Dict{"authmethods": methods, "authid": "alice"})
		req.ClientToken = ct
		id, err := answer(t, a, req, func(wamp.Dict) string { return "pw" })
		if err != nil {
			t.Fatal(err)
		}
		return id, ct
	}
	// No remembered login: cookie does not apply, the ticket is asked for.
	id, ct := connect(a, "realm1", "", "cookie", "ticket")
	if id.AuthMethod != "ticket" || id.AuthID != "alice" {
		t.Fatalf("first login: %+v", id)
	}
	// Next connection with the same token: cookie alone.
	clk.add(30 * time.Minute)
	id, ct2 := connect(a, "realm1", ct.Value, "cookie", "ticket")
	want := Identity{AuthID: "alice", AuthRole: "user", AuthMethod: "cookie", AuthProvider: "ticket"}
	if !reflect.DeepEqual(*id, want) || ct2.ClientID != ct.ClientID {
		t.Errorf("cookie login: %+v (client %s), want %+v (client %s)", id, ct2.ClientID, want, ct.ClientID)
	}
	// Another realm does not accept this realm's login.
	if id, _ := connect(a2, "realm2", ct.Value, "cookie", "anonymous"); id.AuthMethod != "anonymous" {
		t.Errorf("realm2 with realm1's login: %+v", id)
	}
	// Cookie logins do not extend the duration: an hour after the ticket login it is over.
	clk.add(31 * time.Minute)
	if id, _ := connect(a, "realm1", ct.Value, "cookie", "anonymous"); id.AuthMethod != "anonymous" {
		t.Errorf("after the duration: %+v, want anonymous", id)
	}
	// Only cookie offered and not applicable: no_auth_method.
	req := hello(t, "realm1", wamp.Dict{"authmethods": []any{"cookie"}})
	req.ClientToken, _ = tk.Resolve(ct.Value)
	_, _, err = a.Authenticate(t.Context(), req)
	authErr(t, err, wamp.ErrNoAuthMethod)
}

func TestForUpgrade(t *testing.T) {
	st := openStore(t)
	tk := NewTokens(st, config.Default().ClientToken)
	r, _ := http.NewRequest("GET", "http://gw/ws", nil)
	ct, h, err := tk.ForUpgrade(r)
	if err != nil {
		t.Fatal(err)
	}
	c, err := http.ParseSetCookie(h.Get("Set-Cookie"))
	if err != nil || c.Name != "gateway_token" || c.Value != ct.Value || !c.HttpOnly || c.Secure {
		t.Fatalf("Set-Cookie %q (%v) for token %+v", h.Get("Set-Cookie"), err, ct)
	}
	// The browser comes back with the cookie: same client. At HELLO a live token sent in
	// authextra wins, a dead one keeps the upgrade's token.
	r.AddCookie(c)
	again, _, err := tk.ForUpgrade(r)
	if err != nil || again.Fresh || again.ClientID != ct.ClientID {
		t.Errorf("second upgrade: %+v, %v", again, err)
	}
	other, _ := tk.Issue()
	if got, _ := tk.Resolve(other.Value, again.Value); got.ClientID != other.ClientID {
		t.Errorf("live HELLO token not preferred: %+v", got)
	}
	if got, _ := tk.Resolve("", again.Value); got.ClientID != ct.ClientID || got.Fresh {
		t.Errorf("upgrade token not kept: %+v", got)
	}
}
