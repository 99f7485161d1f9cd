package auth

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/peer"
	"github.com/gateway-dev/gateway/wamp"
)

func TestParseHello(t *testing.T) {
	req, err := ParseHello("realm1", wamp.Dict{
		"roles":       wamp.Dict{"subscriber": wamp.Dict{}},
		"authmethods": []any{"ticket", "anonymous"},
		"authid":      "alice",
		"authextra":   map[string]any{"pubkey": "ab"},
	}, testPeer)
	if err != nil {
		t.Fatal(err)
	}
	if req.Realm != "realm1" || len(req.AuthMethods) != 2 || req.AuthMethods[0] != "ticket" || req.AuthID != "alice" ||
		req.AuthExtra["pubkey"] != "ab" || req.Peer != testPeer {
		t.Errorf("ParseHello = %+v", req)
	}
	if req, err := ParseHello("r", wamp.Dict{"authmethods": nil, "authid": nil, "authextra": nil}, nil); err != nil || req.AuthMethods != nil {
		t.Errorf("null fields: %+v, %v", req, err)
	}
	bad := []wamp.Dict{
		{"authmethods": "ticket"},
		{"authmethods": []any{"ticket", int64(1)}},
		{"authmethods": []any{strings.Repeat("m", 100)}},
		{"authmethods": make([]any, 17)},
		{"authid": int64(5)},
		{"authid": strings.Repeat("a", 2000)},
		{"authid": "\xff\xfe"},
		{"authextra": []any{}},
		{"authextra": "x"},
	}
	for _, d := range bad {
		_, err := ParseHello("r", d, nil)
		if err == nil {
			t.Errorf("ParseHello(%v) accepted", d)
			continue
		}
		authErr(t, err, wamp.ErrProtocolViolation)
	}
}

func TestMethodSelection(t *testing.T) {
	c := parseConfig(t, "", methodsConfig)
	a, _ := realmAuth(t, c, Deps{})
	method := func(methods ...any) (string, error) {
		d := wamp.Dict{"authextra": wamp.Dict{"pubkey": csPub}}
		if len(methods) > 0 && methods[0] == "wampcra" {
			d["authid"] = "peter"
		}
		if methods != nil {
			d["authmethods"] = methods
		}
		id, ch, err := a.Authenticate(context.Background(), hello(t, "realm1", d))
		switch {
		case err != nil:
			return "", err
		case ch != nil:
			return ch.Method, nil
		}
		return id.AuthMethod, nil
	}
	for _, tt := range []struct {
		offered []any
		want    string
	}{
		{nil, "anonymous"},
		{[]any{"wampcra", "ticket"}, "wampcra"},
		{[]any{"ticket", "wampcra"}, "ticket"},
		{[]any{"scram", "cryptosign", "ticket"}, "cryptosign"},
		{[]any{"scram", "anonymous"}, "anonymous"},
	} {
		if got, err := method(tt.offered...); err != nil || got != tt.want {
			t.Errorf("offered %v: %s, %v; want %s", tt.offered, got, err, tt.want)
		}
	}
	_, err := method("scram", "tls")
	if e := authErr(t, err, wamp.ErrNoAuthMethod); !strings.Contains(e.Message, "ticket, wampcra, cryptosign, anonymous") {
		t.Errorf("message %q should list the enabled methods", e.Message)
	}

	// Without auth configuration: anonymous only, as the router did before.
	def := config.Default()
	a, _ = realmAuth(t, def, Deps{})
	id, _, err := a.Authenticate(context.Background(), hello(t, "realm1", wamp.Dict{}))
	if err != nil || id.AuthRole != "anonymous" || id.AuthMethod != "anonymous" || len(id.AuthID) != 16 {
		t.Errorf("default realm: %+v, %v", id, err)
	}
	id2, _, _ := a.Authenticate(context.Background(), hello(t, "realm1", wamp.Dict{"authid": "admin"}))
	if id2.AuthID == "admin" || id2.AuthID == id.AuthID {
		t.Errorf("anonymous authid %q must be random, never the claimed one", id2.AuthID)
	}
	_, _, err = a.Authenticate(context.Background(), hello(t, "realm1", wamp.Dict{"authmethods": []any{"ticket"}}))
	authErr(t, err, wamp.ErrNoAuthMethod)

	// A realm without anonymous refuses clients that offer nothing.
	noAnon := parseConfig(t, "", strings.Replace(methodsConfig, `, "anonymous"]`, `]`, 1))
	a, _ = realmAuth(t, noAnon, Deps{})
	_, _, err = a.Authenticate(context.Background(), hello(t, "realm1", wamp.Dict{}))
	authErr(t, err, wamp.ErrNoAuthMethod)
}

// fixed is a Method that returns a fixed identity.
type fixed struct {
	name string
	id   Identity
}

func (f fixed) Name() string { return f.name }
func (f fixed) Authenticate(context.Context, *Request) (*Identity, *Challenge, error) {
	id := f.id
	return &id, nil, nil
}

func TestUndefinedRoleRefused(t *testing.T) {
	c := parseConfig(t, "", `
[[realms]]
name = "realm1"
[[realms.roles]]
name = "anonymous"
[[realms.roles]]
name = "user"
`)
	a, authz := realmAuth(t, c, Deps{})
	a.Add(fixed{"delegated", Identity{AuthID: "x", AuthRole: "admin", AuthMethod: "delegated"}})
	_, _, err := a.Authenticate(context.Background(), hello(t, "realm1", wamp.Dict{"authmethods": []any{"delegated"}}))
	if e := authErr(t, err, wamp.ErrNotAuthorized); !strings.Contains(e.Message, `role "admin" is not defined`) {
		t.Errorf("message %q", e.Message)
	}
	if !authz.HasRole("user") || authz.HasRole("admin") {
		t.Error("HasRole")
	}
}

func TestRateLimit(t *testing.T) {
	c := parseConfig(t, "", methodsConfig)
	lim := NewLimiter(3, time.Minute)
	clk := newClock()
	lim.now = clk.now
	a, _ := realmAuth(t, c, Deps{Limiter: lim})
	attacker := &peer.Info{Transport: "websocket", Network: "tcp", RemoteAddr: &net.TCPAddr{IP: net.ParseIP("198.51.100.9"), Port: 1}}
	neighbour := &peer.Info{Transport: "websocket", Network: "tcp", RemoteAddr: &net.TCPAddr{IP: net.ParseIP("198.51.100.10"), Port: 1}}
	try := func(p *peer.Info, methods []any, tk string) error {
		req, _ := ParseHello("realm1", wamp.Dict{"authmethods": methods, "authid": "backend"}, p)
		id, ch, err := a.Authenticate(context.Background(), req)
		if err != nil || id != nil {
			return err
		}
		_, err = ch.Verify(context.Background(), tk, nil)
		return err
	}
	for i := range 3 {
		authErr(t, try(attacker, []any{"ticket"}, "guess"+string(rune('a'+i))), wamp.ErrAuthenticationFailed)
	}
	// Budget used up: even the right ticket is refused now, with a clear message.
	err := try(attacker, []any{"ticket"}, "s3cret-ticket")
	if e := authErr(t, err, wamp.ErrNotAuthorized); !strings.Contains(e.Message, "too many failed authentication attempts") ||
		!strings.Contains(e.Message, "20s") {
		t.Errorf("throttled: %q", e.Message)
	}
	// Anonymous access stays possible; other addresses are not affected.
	if err := try(attacker, []any{"ticket", "anonymous"}, ""); err != nil {
		t.Errorf("anonymous while throttled: %v", err)
	}
	if err := try(neighbour, []any{"ticket"}, "s3cret-ticket"); err != nil {
		t.Errorf("other address: %v", err)
	}
	// One failure's worth comes back every window/max (20s).
	clk.add(20 * time.Second)
	if err := try(attacker, []any{"ticket"}, "s3cret-ticket"); err != nil {
		t.Errorf("after 20s: %v", err)
	}
}

func TestLimiter(t *testing.T) {
	if NewLimiter(0, time.Minute) != nil {
		t.Error("max 0 must disable the limiter")
	}
	var none *Limiter
	if ok, _ := none.Allow(testPeer.RemoteAddr); !ok {
		t.Error("nil limiter refused")
	}
	none.Failure(testPeer.RemoteAddr)

	l := NewLimiter(2, time.Minute)
	clk := newClock()
	l.now = clk.now
	v6a := &net.TCPAddr{IP: net.ParseIP("2001:db8:1:2::1")}
	v6b := &net.TCPAddr{IP: net.ParseIP("2001:db8:1:2::ffff")} // same /64
	v6c := &net.TCPAddr{IP: net.ParseIP("2001:db8:1:3::1")}    // another /64
	mapped := &net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1")}
	v4 := &net.TCPAddr{IP: net.ParseIP("192.0.2.1")}
	unix := &net.UnixAddr{Name: "/run/gw.sock", Net: "unix"}
	for _, a := range []net.Addr{v6a, v6b, mapped, v4, unix, unix, unix} {
		l.Failure(a)
	}
	for _, c := range []struct {
		addr net.Addr
		ok   bool
	}{{v6a, false}, {v6b, false}, {v6c, true}, {v4, false}, {unix, true}, {nil, true}} {
		if ok, wait := l.Allow(c.addr); ok != c.ok || (!ok && wait != 30*time.Second) {
			t.Errorf("Allow(%v) = %v, %v; want %v", c.addr, ok, wait, c.ok)
		}
	}
	if l.Tracked() != 2 {
		t.Errorf("tracked %d networks, want 2 (one /64, one IPv4)", l.Tracked())
	}
}

func TestLimiterBounded(t *testing.T) {
	l := NewLimiter(1, time.Hour)
	for i := range maxTrackedAddrs + 10 {
		l.Failure(&net.TCPAddr{IP: net.IPv4(10, byte(i>>16), byte(i>>8), byte(i))})
	}
	if n := l.Tracked(); n > maxTrackedAddrs {
		t.Errorf("tracks %d addresses, more than %d", n, maxTrackedAddrs)
	}
}

func TestOriginChecker(t *testing.T) {
	if _, err := NewOriginChecker([]string{"https://example.com/path"}); err == nil {
		t.Error("a pattern with a path was accepted")
	}
	open, _ := NewOriginChecker(nil)
	if !open.Allowed("https://evil.example") {
		t.Error("an empty list must allow every origin")
	}
	c, err := NewOriginChecker([]string{"https://app.example.com", "https://*.example.org", "http://localhost:3000", "null"})
	if err != nil {
		t.Fatal(err)
	}
	for origin, want := range map[string]bool{
		"":                                 true, // not a browser
		"https://app.example.com":          true,
		"https://APP.example.com":          true,
		"https://app.example.com:443":      true,
		"https://app.example.com:8443":     false,
		"http://app.example.com":           false,
		"https://evil.com":                 false,
		"https://app.example.com.evil.com": false,
		"https://a.example.org":            true,
		"https://a.b.example.org":          true,
		"https://example.org":              false,
		"https://xexample.org":             false,
		"http://localhost:3000":            true,
		"http://localhost":                 false,
		"null":                             true,
		"https://app.example.com/":         false,
		"garbage":                          false,
	} {
		if got := c.Allowed(origin); got != want {
			t.Errorf("Allowed(%q) = %v, want %v", origin, got, want)
		}
	}
	h := func(vals ...string) map[string][]string { return map[string][]string{"Origin": vals} }
	if err := c.Check(h("https://evil.com")); err == nil || !strings.Contains(err.Error(), `"https://evil.com" is not in auth.allowed_origins`) {
		t.Errorf("Check(evil) = %v", err)
	}
	if err := c.Check(h("https://app.example.com", "https://app.example.com")); err == nil {
		t.Error("two Origin headers accepted")
	}
	if err := c.Check(nil); err != nil {
		t.Errorf("no Origin: %v", err)
	}
}
