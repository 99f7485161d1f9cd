package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/gateway-dev/gateway/client"
	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

// End-to-end tests of authentication, client tokens and their protection, with real WebSocket
// clients over real HTTP against a gateway configured from TOML, as users configure it.

// startTOML runs a gateway configured by the TOML text body (realms, [auth], [client_token]); the
// store goes to a temporary directory and the listener to a free loopback port unless body has
// [[listeners]].
func startTOML(t *testing.T, body string) *Server {
	t.Helper()
	dir := t.TempDir()
	text := "[store]\ndata_dir = \"data\"\n\n"
	if !strings.Contains(body, "[[listeners]]") {
		text += "[[listeners]]\naddress = \"127.0.0.1:0\"\n\n"
	}
	cfg, err := config.Parse(filepath.Join(dir, "gateway.toml"), []byte(text+body))
	if err != nil {
		t.Fatalf("configuration: %v\n%s", err, body)
	}
	return start(t, func(c *config.Config) {
		hello := c.Limits.HelloTimeout
		*c = *cfg
		c.Limits.HelloTimeout = hello
	})
}

// upgrade is the outcome of a WebSocket handshake.
type upgrade struct {
	conn  *wsConn
	token *http.Cookie // the client token cookie the 101 response set; nil when none
}

// dialBrowser opens a WebSocket connection (JSON) to url like a browser would: with the Cookie
// header cookie (may be "") and the extra header h (may be nil), capturing the Set-Cookie headers
// of the 101 response.
func dialBrowser(t *testing.T, url, cookie string, h http.Header, tlsCfg *tls.Config) upgrade {
	t.Helper()
	hdr := http.Header{}
	for k, v := range h {
		hdr[k] = v
	}
	if cookie != "" {
		hdr.Set("Cookie", cookie)
	}
	var setCookies []string
	d := ws.Dialer{
		Protocols: []string{codec.JSONSerializer.Subprotocol()},
		Timeout:   3 * time.Second,
		Header:    ws.HandshakeHeaderHTTP(hdr),
		TLSConfig: tlsCfg,
		OnHeader: func(key, value []byte) error {
			if strings.EqualFold(string(key), "Set-Cookie") {
				setCookies = append(setCookies, string(value))
			}
			return nil
		},
	}
	conn, _, _, err := d.Dial(context.Background(), url)
	if err != nil {
		t.Fatalf("WebSocket handshake with %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close() })
	u := upgrade{conn: &wsConn{t: t, conn: conn, ser: codec.JSONSerializer}}
	for _, sc := range setCookies {
		c, err := http.ParseSetCookie(sc)
		if err != nil {
			t.Fatalf("malformed Set-Cookie %q: %v", sc, err)
		}
		if c.Name == "gateway_token" {
			if u.token != nil {
				t.Fatalf("two token cookies in one response: %q", setCookies)
			}
			u.token = c
		}
	}
	return u
}

// hello sends HELLO for realm with the given details (roles are added) and returns the answer.
func (c *wsConn) hello(realm string, details wamp.Dict) wamp.Message {
	c.t.Helper()
	d := wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}, "subscriber": wamp.Dict{}, "publisher": wamp.Dict{}}}
	for k, v := range details {
		d[k] = v
	}
	c.send(&wamp.Hello{Realm: wamp.URI(realm), Details: d})
	m, code := c.recv()
	if m == nil {
		c.t.Fatalf("connection closed (%d) instead of answering HELLO", code)
	}
	return m
}

func welcomed(t *testing.T, m wamp.Message) *wamp.Welcome {
	t.Helper()
	w, ok := m.(*wamp.Welcome)
	if !ok {
		t.Fatalf("expected WELCOME, got %#v", m)
	}
	return w
}

func authExtra(t *testing.T, w *wamp.Welcome) map[string]any {
	t.Helper()
	extra, ok := w.Details["authextra"].(map[string]any)
	if !ok {
		t.Fatalf("WELCOME.Details.authextra missing: %v", w.Details)
	}
	return extra
}

// identity returns WELCOME's authid/authrole/authmethod/authprovider.
func identity(d wamp.Dict) string {
	return strings.Join([]string{str(d["authid"]), str(d["authrole"]), str(d["authmethod"]), str(d["authprovider"])}, "/")
}

func str(v any) string { s, _ := v.(string); return s }

// sessionGet calls wamp.session.get for the session's own ID over a raw connection.
func (c *wsConn) sessionGet(id wamp.ID) map[string]any {
	c.t.Helper()
	c.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "wamp.session.get", Args: wamp.List{id}})
	m, _ := c.recv()
	r, ok := m.(*wamp.Result)
	if !ok || len(r.Args) != 1 {
		c.t.Fatalf("wamp.session.get: %#v", m)
	}
	info, ok := r.Args[0].(map[string]any)
	if !ok {
		c.t.Fatalf("wamp.session.get result %#v", r.Args)
	}
	return info
}

// TestClientTokenCookieRoundTrip follows a browser: the token cookie set on the upgrade, sent
// back on the next connection (the same client), and a tampered value replaced by a fresh token.
func TestClientTokenCookieRoundTrip(t *testing.T) {
	s := startTOML(t, `
[client_token]
max_age = "1h"

[[realms]]
name = "realm1"
`)
	url := s.Endpoints()[0].WebSocketURL

	first := dialBrowser(t, url, "", nil, nil)
	tok := first.token
	if tok == nil {
		t.Fatal("no gateway_token cookie on the 101 response")
	}
	if !tok.HttpOnly || tok.Secure || tok.SameSite != http.SameSiteLaxMode || tok.Path != "/" || tok.Domain != "" {
		t.Errorf("cookie attributes: HttpOnly=%v Secure=%v SameSite=%v Path=%q Domain=%q; want HttpOnly, not Secure (no TLS), Lax, /, no domain",
			tok.HttpOnly, tok.Secure, tok.SameSite, tok.Path, tok.Domain)
	}
	if len(tok.Value) < 22 { // 128 bits in base64
		t.Errorf("token %q is too short to hold 128 random bits", tok.Value)
	}
	w1 := welcomed(t, first.conn.hello("realm1", nil))
	extra := authExtra(t, w1)
	clientID, _ := extra["client_id"].(string)
	if extra["client_token"] != tok.Value || clientID == "" {
		t.Fatalf("WELCOME.authextra %v: want client_token = the cookie's value and a client_id", extra)
	}
	info := first.conn.sessionGet(w1.Session)
	if info["client_id"] != clientID {
		t.Errorf("wamp.session.get client_id %v, WELCOME said %s", info["client_id"], clientID)
	}
	if ae, _ := info["authextra"].(map[string]any); ae["client_token"] != nil {
		t.Errorf("wamp.session.get exposes the client token: %v", info)
	}

	// The browser comes back with the cookie (and other cookies of the site, even odd ones).
	again := dialBrowser(t, url, `csrftoken=abc; prefs={"a":1}; gateway_token=`+tok.Value+`; sessionid=x`, nil, nil)
	if again.token == nil || again.token.Value != tok.Value {
		t.Fatalf("returning client got cookie %v, want the same token %s again", again.token, tok.Value)
	}
	w2 := welcomed(t, again.conn.hello("realm1", nil))
	if got := authExtra(t, w2)["client_id"]; got != clientID {
		t.Errorf("returning client has client_id %v, want %s", got, clientID)
	}
	if got := again.conn.sessionGet(w2.Session)["client_id"]; got != clientID {
		t.Errorf("wamp.session.get of the returning client: client_id %v, want %s", got, clientID)
	}

	// A tampered token is answered with a fresh one and a new client ID.
	tampered := []byte(tok.Value)
	tampered[len(tampered)/2] ^= 1
	bad := dialBrowser(t, url, "gateway_token="+string(tampered), nil, nil)
	if bad.token == nil || bad.token.Value == tok.Value || bad.token.Value == string(tampered) {
		t.Fatalf("tampered token answered with cookie %v, want a fresh token", bad.token)
	}
	w3 := welcomed(t, bad.conn.hello("realm1", nil))
	if e := authExtra(t, w3); e["client_id"] == clientID || e["client_token"] != bad.token.Value {
		t.Errorf("after a tampered token: authextra %v, want the fresh token and a new client_id", e)
	}

	// A client without cookies sends the token in HELLO.Details.authextra.client_token.
	noCookies := dialBrowser(t, url, "", nil, nil)
	w4 := welcomed(t, noCookies.conn.hello("realm1", wamp.Dict{"authextra": wamp.Dict{"client_token": tok.Value}}))
	if e := authExtra(t, w4); e["client_id"] != clientID || e["client_token"] != tok.Value {
		t.Errorf("token in HELLO.authextra: authextra %v, want client %s with token %s", e, clientID, tok.Value)
	}
}

// TestClientTokenCookieMaxAge: a fresh token's cookie lives exactly client_token.max_age.
func TestClientTokenCookieMaxAge(t *testing.T) {
	for _, c := range []struct {
		maxAge string
		want   int
	}{{"1h", 3600}, {"720h", 2592000}, {"2s", 2}} {
		s := startTOML(t, "[client_token]\nmax_age = \""+c.maxAge+"\"\n\n[[realms]]\nname = \"realm1\"\n")
		u := dialBrowser(t, s.Endpoints()[0].WebSocketURL, "", nil, nil)
		if u.token == nil || u.token.MaxAge != c.want {
			t.Errorf("max_age = %q: token cookie %v, want Max-Age=%d", c.maxAge, u.token, c.want)
		}
	}
}

// TestClientTokenExpires: a token is recognised until max_age after it was last seen, then
// replaced by a fresh one.
func TestClientTokenExpires(t *testing.T) {
	s := startTOML(t, `
[client_token]
max_age = "2s"

[[realms]]
name = "realm1"
`)
	url := s.Endpoints()[0].WebSocketURL
	first := dialBrowser(t, url, "", nil, nil)
	if first.token == nil {
		t.Fatal("no token cookie")
	}
	clientID := authExtra(t, welcomed(t, first.conn.hello("realm1", nil)))["client_id"]
	again := dialBrowser(t, url, "gateway_token="+first.token.Value, nil, nil)
	if got := authExtra(t, welcomed(t, again.conn.hello("realm1", nil)))["client_id"]; got != clientID {
		t.Fatalf("token not recognised within max_age: client_id %v, want %v", got, clientID)
	}
	seen := time.Now()
	time.Sleep(time.Until(seen.Add(2*time.Second + 200*time.Millisecond)))
	late := dialBrowser(t, url, "gateway_token="+first.token.Value, nil, nil)
	if late.token == nil || late.token.Value == first.token.Value {
		t.Fatalf("expired token answered with cookie %v, want a fresh token", late.token)
	}
	if got := authExtra(t, welcomed(t, late.conn.hello("realm1", nil)))["client_id"]; got == clientID {
		t.Fatalf("expired token still recognised as client %v", got)
	}
}

// TestClientTokenCookieSecureOnTLS: on a TLS listener the cookie is Secure by default.
func TestClientTokenCookieSecureOnTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	s := startTOML(t, `
[[listeners]]
address = "127.0.0.1:0"
tls_cert = "`+certFile+`"
tls_key = "`+keyFile+`"

[[realms]]
name = "realm1"
`)
	u := dialBrowser(t, s.Endpoints()[0].WebSocketURL, "", nil, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if u.token == nil || !u.token.Secure || !u.token.HttpOnly {
		t.Fatalf("token cookie over TLS: %v, want Secure and HttpOnly", u.token)
	}
	welcomed(t, u.conn.hello("realm1", nil))
}

const cookieAuthTOML = `
[[realms]]
name = "realm1"

[realms.auth]
methods = ["cookie", "ticket"]

[realms.auth.cookie]
duration = "1h"

[realms.auth.ticket]
accept = ["static"]

[[realms.auth.ticket.principals]]
authid = "alice"
role = "user"
secret = "alice-ticket"

[[realms.roles]]
name = "user"

[[realms.roles.permissions]]
uri = "wamp.session.get"
allow = ["call"]

[[realms]]
name = "realm2"

[realms.auth]
methods = ["cookie", "ticket"]

[realms.auth.cookie]
duration = "2s"

[realms.auth.ticket]
accept = ["static"]

[[realms.auth.ticket.principals]]
authid = "alice"
role = "user"
secret = "alice-ticket"
`

// cookieOffer is a HELLO that offers the cookie method first, then a ticket.
var cookieOffer = wamp.Dict{"authmethods": []any{"cookie", "ticket"}, "authid": "alice"}

// loginWithTicket answers the ticket CHALLENGE that m must be.
func loginWithTicket(t *testing.T, c *wsConn, m wamp.Message, ticket string) *wamp.Welcome {
	t.Helper()
	ch, ok := m.(*wamp.Challenge)
	if !ok || ch.AuthMethod != "ticket" {
		t.Fatalf("expected CHALLENGE ticket, got %#v", m)
	}
	c.send(&wamp.Authenticate{Signature: ticket, Extra: wamp.Dict{}})
	m, _ = c.recv()
	return welcomed(t, m)
}

// TestCookieAuthentication: a client that logged in with a ticket once is logged in by its token
// cookie alone on its next connections, in the same realm and for the configured duration.
func TestCookieAuthentication(t *testing.T) {
	s := startTOML(t, cookieAuthTOML)
	url := s.Endpoints()[0].WebSocketURL

	first := dialBrowser(t, url, "", nil, nil)
	w := loginWithTicket(t, first.conn, first.conn.hello("realm1", cookieOffer), "alice-ticket")
	if got := identity(w.Details); got != "alice/user/ticket/static" {
		t.Fatalf("first login: %s", got)
	}
	cookie := "gateway_token=" + first.token.Value
	clientID := authExtra(t, w)["client_id"]

	// Next connection: the cookie alone, no CHALLENGE.
	next := dialBrowser(t, url, cookie, nil, nil)
	w = welcomed(t, next.conn.hello("realm1", cookieOffer))
	if got := identity(w.Details); got != "alice/user/cookie/ticket" {
		t.Errorf("cookie login: %s, want alice/user/cookie/ticket", got)
	}
	if got := authExtra(t, w)["client_id"]; got != clientID {
		t.Errorf("cookie login as client %v, want %v", got, clientID)
	}
	if info := next.conn.sessionGet(w.Session); identity(info) != "alice/user/cookie/ticket" || info["client_id"] != clientID {
		t.Errorf("wamp.session.get of the cookie login: %v", info)
	}

	// The token in HELLO.authextra does the same for clients without cookies.
	noCookies := dialBrowser(t, url, "", nil, nil)
	offer := wamp.Dict{"authmethods": []any{"cookie", "ticket"}, "authextra": wamp.Dict{"client_token": first.token.Value}}
	if got := identity(welcomed(t, noCookies.conn.hello("realm1", offer)).Details); got != "alice/user/cookie/ticket" {
		t.Errorf("cookie login with the token in HELLO.authextra: %s", got)
	}

	// No token, a tampered one, or a login from another realm: the ticket is asked for.
	fresh := dialBrowser(t, url, "", nil, nil)
	loginWithTicket(t, fresh.conn, fresh.conn.hello("realm1", cookieOffer), "alice-ticket")
	tampered := []byte(first.token.Value)
	tampered[0] ^= 1
	bad := dialBrowser(t, url, "gateway_token="+string(tampered), nil, nil)
	loginWithTicket(t, bad.conn, bad.conn.hello("realm1", cookieOffer), "alice-ticket")
	other := dialBrowser(t, url, cookie, nil, nil)
	w = loginWithTicket(t, other.conn, other.conn.hello("realm2", cookieOffer), "alice-ticket")
	if got := identity(w.Details); got != "alice/user/ticket/static" {
		t.Errorf("realm2 login: %s", got)
	}

	// In realm2 the cookie login lasts 2s from the ticket login.
	loggedIn := time.Now()
	quick := dialBrowser(t, url, cookie, nil, nil)
	if got := identity(welcomed(t, quick.conn.hello("realm2", cookieOffer)).Details); got != "alice/user/cookie/ticket" {
		t.Errorf("realm2 cookie login within its duration: %s", got)
	}
	time.Sleep(time.Until(loggedIn.Add(2100 * time.Millisecond)))
	late := dialBrowser(t, url, cookie, nil, nil)
	loginWithTicket(t, late.conn, late.conn.hello("realm2", cookieOffer), "alice-ticket")

	// A token remembers the client's latest login only: the realm2 login replaced realm1's.
	back := dialBrowser(t, url, cookie, nil, nil)
	loginWithTicket(t, back.conn, back.conn.hello("realm1", cookieOffer), "alice-ticket")
}

// delegateCall is what the web-app's endpoint received.
type delegateCall struct {
	header http.Header
	body   map[string]any
}

// webApp stands in for a Django view: it knows the user by the sessionid cookie.
func webApp(t *testing.T) (*httptest.Server, <-chan delegateCall) {
	t.Helper()
	calls := make(chan delegateCall, 32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&body) != nil {
			http.Error(w, "want a JSON POST", http.StatusBadRequest)
			return
		}
		calls <- delegateCall{header: r.Header.Clone(), body: body}
		w.Header().Set("Content-Type", "application/json")
		session, _ := r.Cookie("sessionid")
		user := ""
		if session != nil {
			user = session.Value
		}
		switch user {
		case "alice-session":
			io.WriteString(w, `{"authid": "alice", "authrole": "user", "authextra": {"user_id": 7, "name": "Alice"}}`)
		case "":
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message": "please log in"}`)
		case "locked-session":
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message": "account locked"}`)
		case "slow-session":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			io.WriteString(w, `{"authid": "slow", "authrole": "user"}`)
		case "login-redirect":
			http.Redirect(w, r, "/accounts/login/?next=/wamp/auth/", http.StatusFound)
		default:
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"message": "boom"}`)
		}
	}))
	t.Cleanup(func() {
		srv.Close()
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	})
	return srv, calls
}

// connectAs joins realm with the Go client, sending cookie and header on the upgrade and offering
// methods.
func connectAs(t *testing.T, s *Server, realm, cookie string, header http.Header, details wamp.Dict, authn func(*wamp.Challenge) (*wamp.Authenticate, error)) (*client.Client, error) {
	t.Helper()
	h := http.Header{}
	for k, v := range header {
		h[k] = v
	}
	if cookie != "" {
		h.Set("Cookie", cookie)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, s.Endpoints()[0].WebSocketURL, client.Config{
		Realm: realm, HTTPHeader: h, HelloDetails: details, Authenticate: authn,
	})
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// expectAbort checks that err is an ABORT with reason whose message contains part.
func expectAbort(t *testing.T, err error, reason wamp.URI, part string) {
	t.Helper()
	var ce *client.CloseError
	if !errors.As(err, &ce) || !ce.Abort || ce.Reason != reason {
		t.Fatalf("got %v, want ABORT %s", err, reason)
	}
	if msg, _ := ce.Details["message"].(string); !strings.Contains(msg, part) {
		t.Fatalf("ABORT %s message %q does not mention %q", reason, msg, part)
	}
}

// TestDelegatedAuthentication asks a stand-in for a Django view who the client is.
func TestDelegatedAuthentication(t *testing.T) {
	app, calls := webApp(t)
	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := "http://" + down.Addr().String() + "/wamp/auth/"
	down.Close()
	s := startTOML(t, `
[[realms]]
name = "realm1"

[realms.auth]
methods = ["delegated", "anonymous"]

[realms.auth.delegated]
url = "`+app.URL+`/wamp/auth/"
headers = ["X-Forwarded-For", "user-agent"]
timeout = "300ms"
secret = "delegate-secret"

[[realms.roles]]
name = "anonymous"

[[realms.roles.permissions]]
uri = "com.example.public."
match = "prefix"
allow = ["subscribe"]

[[realms.roles]]
name = "user"

[[realms.roles.permissions]]
uri = "com.example."
match = "prefix"
allow = ["subscribe"]

[[realms]]
name = "realm2"

[realms.auth]
methods = ["delegated"]

[realms.auth.delegated]
url = "`+downURL+`"
`)
	offer := wamp.Dict{"authmethods": []any{"delegated", "anonymous"}}
	only := wamp.Dict{"authmethods": []any{"delegated"}}
	lastCall := func() delegateCall {
		t.Helper()
		select {
		case c := <-calls:
			return c
		case <-time.After(3 * time.Second):
			t.Fatal("the web-app was not asked")
			return delegateCall{}
		}
	}

	t.Run("logged in", func(t *testing.T) {
		hdr := http.Header{"X-Forwarded-For": {"203.0.113.9"}, "User-Agent": {"test-browser/1.0"}, "X-Not-Forwarded": {"x"}}
		c, err := connectAs(t, s, "realm1", `csrftoken=abc; sessionid=alice-session`, hdr, offer, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := identity(c.Details()); got != "alice/user/delegated/delegated" {
			t.Errorf("WELCOME identity %s, want alice/user/delegated/delegated", got)
		}
		extra, _ := c.Details()["authextra"].(map[string]any)
		if extra["user_id"] != int64(7) || extra["name"] != "Alice" {
			t.Errorf("WELCOME.authextra %v lacks the web-app's authextra", extra)
		}
		call := lastCall()
		h := call.header
		if !strings.Contains(h.Get("Cookie"), "sessionid=alice-session") || !strings.Contains(h.Get("Cookie"), "csrftoken=abc") {
			t.Errorf("Cookie forwarded as %q", h.Get("Cookie"))
		}
		if h.Get("X-Forwarded-For") != "203.0.113.9" || h.Get("User-Agent") != "test-browser/1.0" {
			t.Errorf("configured headers forwarded as X-Forwarded-For=%q User-Agent=%q", h.Get("X-Forwarded-For"), h.Get("User-Agent"))
		}
		if h.Get("X-Not-Forwarded") != "" {
			t.Error("a header that is not configured was forwarded")
		}
		if h.Get("X-Gateway-Secret") != "delegate-secret" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			t.Errorf("X-Gateway-Secret=%q Content-Type=%q", h.Get("X-Gateway-Secret"), h.Get("Content-Type"))
		}
		b := call.body
		tr, _ := b["transport"].(map[string]any)
		if b["realm"] != "realm1" || strings.Join(anyStrings(b["authmethods"]), ",") != "delegated,anonymous" ||
			tr["type"] != "websocket" || str(b["client_id"]) == "" || str(b["client_id"]) != str(extra["client_id"]) {
			t.Errorf("request body %v (client_id in WELCOME %v)", b, extra["client_id"])
		}
	})

	t.Run("not logged in falls back to anonymous", func(t *testing.T) {
		c, err := connectAs(t, s, "realm1", "", nil, offer, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := c.Details(); d["authrole"] != "anonymous" || d["authmethod"] != "anonymous" {
			t.Errorf("WELCOME %v, want an anonymous session", d)
		}
		lastCall()
		if _, err := c.Subscribe(ctx(t), "com.example.orders", func(*wamp.Event) {}, nil); !client.IsError(err, wamp.ErrNotAuthorized) {
			t.Errorf("anonymous subscribe to an authenticated-only topic: %v", err)
		}
		if _, err := c.Subscribe(ctx(t), "com.example.public.news", func(*wamp.Event) {}, nil); err != nil {
			t.Errorf("anonymous subscribe to a public topic: %v", err)
		}
	})

	t.Run("not logged in without fallback", func(t *testing.T) {
		_, err := connectAs(t, s, "realm1", "", nil, only, nil)
		expectAbort(t, err, wamp.ErrNotAuthorized, "please log in")
		lastCall()
	})

	t.Run("refused", func(t *testing.T) {
		_, err := connectAs(t, s, "realm1", "sessionid=locked-session", nil, offer, nil)
		expectAbort(t, err, wamp.ErrNotAuthorized, "account locked")
		lastCall()
	})

	t.Run("redirect to login page", func(t *testing.T) {
		_, err := connectAs(t, s, "realm1", "sessionid=login-redirect", nil, offer, nil)
		expectAbort(t, err, wamp.ErrNotAuthorized, "")
		lastCall()
	})

	t.Run("web-app error", func(t *testing.T) {
		_, err := connectAs(t, s, "realm1", "sessionid=other", nil, offer, nil)
		expectAbort(t, err, wamp.ErrAuthenticationFailed, "")
		lastCall()
	})

	t.Run("slow", func(t *testing.T) {
		begin := time.Now()
		_, err := connectAs(t, s, "realm1", "sessionid=slow-session", nil, offer, nil)
		expectAbort(t, err, wamp.ErrAuthenticationFailed, "did not answer in time")
		if el := time.Since(begin); el > 2*time.Second {
			t.Errorf("refused after %v; the timeout is 300ms", el)
		}
		lastCall()
	})

	t.Run("down", func(t *testing.T) {
		_, err := connectAs(t, s, "realm2", "sessionid=alice-session", nil, only, nil)
		expectAbort(t, err, wamp.ErrAuthenticationFailed, "unreachable")
	})
}

func anyStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		out = append(out, str(x))
	}
	return out
}

func ticketAnswer(ticket string) func(*wamp.Challenge) (*wamp.Authenticate, error) {
	return func(ch *wamp.Challenge) (*wamp.Authenticate, error) {
		if ch.AuthMethod != "ticket" {
			return nil, errors.New("unexpected challenge " + ch.AuthMethod)
		}
		return &wamp.Authenticate{Signature: ticket}, nil
	}
}

// TestBruteForceThrottled: after auth.max_failures wrong tickets from one address, even the right
// ticket is refused until the budget refills; anonymous access stays possible.
func TestBruteForceThrottled(t *testing.T) {
	s := startTOML(t, `
[auth]
max_failures = 3
failure_window = "9s"

[[realms]]
name = "realm1"

[realms.auth]
methods = ["ticket", "anonymous"]

[realms.auth.ticket]
accept = ["static"]

[[realms.auth.ticket.principals]]
authid = "alice"
role = "user"
secret = "alice-ticket"

[[realms.roles]]
name = "anonymous"

[[realms.roles]]
name = "user"
`)
	ticket := wamp.Dict{"authmethods": []any{"ticket"}, "authid": "alice"}
	for i := 0; i < 3; i++ {
		_, err := connectAs(t, s, "realm1", "", nil, ticket, ticketAnswer("guess"))
		expectAbort(t, err, wamp.ErrAuthenticationFailed, "invalid ticket")
	}
	_, err := connectAs(t, s, "realm1", "", nil, ticket, ticketAnswer("alice-ticket"))
	expectAbort(t, err, wamp.ErrNotAuthorized, "too many failed authentication attempts from your address: try again in")

	// Offering anonymous after the ticket: the throttled client joins anonymously.
	c, err := connectAs(t, s, "realm1", "", nil, wamp.Dict{"authmethods": []any{"ticket", "anonymous"}, "authid": "alice"}, ticketAnswer("alice-ticket"))
	if err != nil {
		t.Fatalf("throttled client offering anonymous: %v", err)
	}
	if d := c.Details(); d["authmethod"] != "anonymous" || d["authrole"] != "anonymous" || d["authid"] == "alice" {
		t.Errorf("throttled client offering anonymous joined as %s", identity(d))
	}
	if _, err := connectAs(t, s, "realm1", "", nil, nil, nil); err != nil {
		t.Errorf("throttled client joining anonymously: %v", err)
	}

	// One failure's worth refills every failure_window / max_failures (3s).
	deadline := time.Now().Add(8 * time.Second)
	for {
		c, err := connectAs(t, s, "realm1", "", nil, ticket, ticketAnswer("alice-ticket"))
		if err == nil {
			if got := identity(c.Details()); got != "alice/user/ticket/static" {
				t.Errorf("after the refill: %s", got)
			}
			break
		}
		expectAbort(t, err, wamp.ErrNotAuthorized, "too many failed")
		if time.Now().After(deadline) {
			t.Fatal("still throttled 8s later; one failure refills every 3s")
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// upgradeRequest sends a raw WebSocket upgrade request with origin ("" for none) and returns the
// response.
func upgradeRequest(t *testing.T, s *Server, origin string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr(s)+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	req.Header.Set("Sec-WebSocket-Protocol", "wamp.2.json")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := (&http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestOriginAllowList: browsers from other origins are refused before the upgrade.
func TestOriginAllowList(t *testing.T) {
	s := startTOML(t, `
[auth]
allowed_origins = ["https://app.example.com", "https://*.example.org"]

[[realms]]
name = "realm1"
`)
	for _, origin := range []string{"https://evil.example.net", "http://app.example.com", "https://example.org", "https://app.example.com:8443"} {
		resp := upgradeRequest(t, s, origin)
		body, _ := io.ReadAll(resp.Body)
		var answer struct{ Error, Message string }
		if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
			json.Unmarshal(body, &answer) != nil || answer.Error != "forbidden" || !strings.Contains(answer.Message, origin) {
			t.Errorf("Origin %s: %d %s %s, want 403 with a JSON body naming the origin", origin, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if len(resp.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("Origin %s: refused upgrade still sets %q", origin, resp.Header.Values("Set-Cookie"))
		}
	}
	for _, origin := range []string{"https://app.example.com", "https://app.example.com:443", "https://chat.example.org", ""} {
		resp := upgradeRequest(t, s, origin)
		if resp.StatusCode != http.StatusSwitchingProtocols {
			body, _ := io.ReadAll(resp.Body)
			t.Errorf("Origin %q: %d %s, want 101", origin, resp.StatusCode, body)
		}
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		u := dialBrowser(t, s.Endpoints()[0].WebSocketURL, "", h, nil)
		welcomed(t, u.conn.hello("realm1", nil))
	}
}

// TestOneTimeTicket: a ticket issued through the server's Go API works once.
func TestOneTimeTicket(t *testing.T) {
	s := startTOML(t, `
[[realms]]
name = "realm1"

[realms.auth]
methods = ["ticket"]

[realms.auth.ticket]
accept = ["one_time"]

[[realms.roles]]
name = "user"

[[realms]]
name = "realm2"

[realms.auth]
methods = ["ticket"]

[realms.auth.ticket]
accept = ["one_time"]
`)
	offer := wamp.Dict{"authmethods": []any{"ticket"}}
	issue := func(realm, authid string, ttl time.Duration) string {
		t.Helper()
		before := time.Now()
		tk, exp, err := s.IssueTicket(realm, authid, "user", ttl, wamp.Dict{"plan": "gold"})
		if err != nil {
			t.Fatal(err)
		}
		if !exp.After(before) || exp.After(time.Now().Add(ttl)) {
			t.Fatalf("ticket expires %v, want within %v from now", exp, ttl)
		}
		return tk
	}

	tk := issue("realm1", "alice", time.Minute)
	c, err := connectAs(t, s, "realm1", "", nil, offer, ticketAnswer(tk))
	if err != nil {
		t.Fatalf("first use: %v", err)
	}
	if got := identity(c.Details()); got != "alice/user/ticket/one_time" {
		t.Errorf("first use: %s", got)
	}
	if extra, _ := c.Details()["authextra"].(map[string]any); extra["plan"] != "gold" {
		t.Errorf("authextra %v lacks the ticket's authextra", extra)
	}
	_, err = connectAs(t, s, "realm1", "", nil, offer, ticketAnswer(tk))
	expectAbort(t, err, wamp.ErrAuthenticationFailed, "can be used once")

	// A failed use consumes the ticket too.
	tk = issue("realm1", "alice", time.Minute)
	_, err = connectAs(t, s, "realm1", "", nil, wamp.Dict{"authmethods": []any{"ticket"}, "authid": "bob"}, ticketAnswer(tk))
	expectAbort(t, err, wamp.ErrAuthenticationFailed, "another authid")
	_, err = connectAs(t, s, "realm1", "", nil, offer, ticketAnswer(tk))
	expectAbort(t, err, wamp.ErrAuthenticationFailed, "can be used once")

	// Bound to its realm.
	tk = issue("realm2", "alice", time.Minute)
	_, err = connectAs(t, s, "realm1", "", nil, offer, ticketAnswer(tk))
	expectAbort(t, err, wamp.ErrAuthenticationFailed, "another realm")

	// Expired.
	tk = issue("realm1", "alice", time.Second)
	time.Sleep(1100 * time.Millisecond)
	_, err = connectAs(t, s, "realm1", "", nil, offer, ticketAnswer(tk))
	expectAbort(t, err, wamp.ErrAuthenticationFailed, "expired")
}

// TestIssueTicketRefusesUnusableTickets: the server's IssueTicket refuses tickets that could never
// be used, as `gateway ticket issue` (Authenticator.IssueTicket) does.
func TestIssueTicketRefusesUnusableTickets(t *testing.T) {
	s := startTOML(t, `
[[realms]]
name = "realm1"

[realms.auth]
methods = ["ticket"]

[realms.auth.ticket]
accept = ["one_time"]

[[realms.roles]]
name = "user"

[[realms]]
name = "static-only"

[realms.auth]
methods = ["ticket"]

[realms.auth.ticket]
accept = ["static"]

[[realms.auth.ticket.principals]]
authid = "svc"
role = "anonymous"
secret = "svc-ticket"
`)
	for _, c := range []struct{ realm, role, why string }{
		{"nosuch", "user", "no such realm"},
		{"static-only", "anonymous", "the realm does not accept one-time tickets"},
		{"realm1", "admin", "the realm defines no role admin"},
	} {
		if tk, _, err := s.IssueTicket(c.realm, "alice", c.role, time.Minute, nil); err == nil {
			t.Errorf("IssueTicket(%q, role %q) = %q, want an error: %s", c.realm, c.role, tk, c.why)
		}
	}
}
