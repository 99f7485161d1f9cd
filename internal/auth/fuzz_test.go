package auth

import (
	"context"
	"errors"
	"testing"

	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

// FuzzHelloAuthenticate feeds arbitrary HELLO and AUTHENTICATE messages (JSON, decoded by the
// gateway's codec) through ParseHello, method selection, every method's challenge and the
// AUTHENTICATE check. Nothing may panic, every refusal must be an *Error with a standard URI, and
// only anonymous may succeed without a credential.
func FuzzHelloAuthenticate(f *testing.F) {
	c := parseConfig(f, "", methodsConfig)
	a, _ := realmAuth(f, c, Deps{Limiter: NewLimiter(1000000, 1)})
	json, _ := codec.ByID(codec.JSON)
	seeds := []struct{ hello, auth string }{
		{`[1,"realm1",{"roles":{"subscriber":{}}}]`, `[5,"",{}]`},
		{`[1,"realm1",{"authmethods":["ticket"],"authid":"backend"}]`, `[5,"s3cret-ticket",{}]`},
		{`[1,"realm1",{"authmethods":["ticket"]}]`, `[5,"eyJhbGciOiJIUzI1NiJ9.e30.x",{}]`},
		{`[1,"realm1",{"authmethods":["ticket"]}]`, `[5,"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",{}]`},
		{`[1,"realm1",{"authmethods":["wampcra"],"authid":"salty"}]`, `[5,"wxfLG/9DpRd7ocuEVQvqZXXMFZQEusajwhBXnQEc3qs=",{}]`},
		{`[1,"realm1",{"authmethods":["cryptosign"],"authextra":{"pubkey":"` + csPub + `"}}]`, `[5,"` + csSig + `",{}]`},
		{`[1,"realm1",{"authmethods":["cryptosign"],"authextra":{"pubkey":"` + csPub + `","channel_binding":"tls-unique"}}]`, `[5,"00",{}]`},
		{`[1,"realm1",{"authmethods":["cookie","x",1],"authid":5,"authextra":[]}]`, `[5,"",{"a":[1,{"b":null}]}]`},
		{`[1,"realm1",{"authmethods":null,"authextra":{"client_token":"zzz"}}]`, `[5,"\u0000",{}]`},
	}
	for _, s := range seeds {
		f.Add([]byte(s.hello), []byte(s.auth))
	}
	f.Fuzz(func(t *testing.T, helloMsg, authMsg []byte) {
		m, err := json.Decode(helloMsg)
		if err != nil {
			return
		}
		h, ok := m.(*wamp.Hello)
		if !ok {
			return
		}
		req, err := ParseHello(h.Realm, h.Details, testPeer)
		if err != nil {
			checkError(t, err, wamp.ErrProtocolViolation)
			return
		}
		_ = FromHello(h.Details)
		id, ch, err := a.Authenticate(context.Background(), req)
		switch {
		case err != nil:
			checkError(t, err, wamp.ErrAuthenticationFailed, wamp.ErrNoAuthMethod, wamp.ErrNotAuthorized)
			return
		case id != nil:
			if id.AuthMethod != "anonymous" {
				t.Fatalf("authenticated without a challenge as %+v", id)
			}
			return
		case ch == nil:
			t.Fatal("neither identity, challenge nor error")
		}
		m, err = json.Decode(authMsg)
		if err != nil {
			return
		}
		au, ok := m.(*wamp.Authenticate)
		if !ok {
			return
		}
		id, err = ch.Verify(context.Background(), au.Signature, au.Extra)
		if err != nil {
			checkError(t, err, wamp.ErrAuthenticationFailed, wamp.ErrNotAuthorized)
			return
		}
		// Only the static ticket can be guessed from the seeds; a cryptosign or WAMP-CRA answer
		// cannot match a fresh random challenge.
		if id.AuthMethod != "ticket" || id.AuthID != "backend" || au.Signature != "s3cret-ticket" {
			t.Fatalf("authenticated as %+v with signature %q", id, au.Signature)
		}
	})
}

func checkError(t *testing.T, err error, uris ...wamp.URI) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not an *auth.Error", err, err)
	}
	for _, u := range uris {
		if e.URI == u {
			if e.Message == "" {
				t.Fatalf("%s without a message", e.URI)
			}
			return
		}
	}
	t.Fatalf("unexpected error URI %s (%s)", e.URI, e.Message)
}
