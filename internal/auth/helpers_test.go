package auth

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/peer"
	"github.com/gateway-dev/gateway/internal/store"
	"github.com/gateway-dev/gateway/wamp"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// parseConfig parses a configuration file text written into a temporary directory (so "file:"
// secrets and key files can sit beside it).
func parseConfig(t testing.TB, dir, src string) *config.Config {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	c, err := config.Parse(filepath.Join(dir, "gateway.toml"), []byte(src))
	if err != nil {
		t.Fatalf("config:\n%v", err)
	}
	return c
}

// openStore opens a store in a temporary directory, closed at the end of the test.
func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// realmAuth builds the authorizer and authenticator of the first realm of c.
func realmAuth(t testing.TB, c *config.Config, deps Deps) (*Authenticator, *Authorizer) {
	t.Helper()
	r := &c.Realms[0]
	authz, err := NewAuthorizer(r.Roles, r.StrictURIs)
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAuthenticator(r, authz, deps)
	if err != nil {
		t.Fatal(err)
	}
	return a, authz
}

var testPeer = &peer.Info{Transport: "websocket", Network: "tcp", RemoteAddr: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 40000}}

// hello builds a Request as the router would from a HELLO.
func hello(t testing.TB, realm string, details wamp.Dict) *Request {
	t.Helper()
	req, err := ParseHello(wamp.URI(realm), details, testPeer)
	if err != nil {
		t.Fatalf("ParseHello: %v", err)
	}
	return req
}

// authErr asserts that err is an *Error with uri and returns it.
func authErr(t testing.TB, err error, uri wamp.URI) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *auth.Error", err, err)
	}
	if e.URI != uri {
		t.Fatalf("error URI = %s (%q), want %s", e.URI, e.Message, uri)
	}
	return e
}

// answer runs a whole HELLO/CHALLENGE/AUTHENTICATE exchange: sign computes the signature from
// the challenge's extra.
func answer(t testing.TB, a *Authenticator, req *Request, sign func(extra wamp.Dict) string) (*Identity, error) {
	t.Helper()
	id, ch, err := a.Authenticate(context.Background(), req)
	if err != nil || id != nil {
		return id, err
	}
	if ch == nil {
		t.Fatal("Authenticate returned neither identity, challenge nor error")
	}
	return ch.Verify(context.Background(), sign(ch.Extra), nil)
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
