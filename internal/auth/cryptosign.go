package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/wamp"
)

// Cryptosign is WAMP-cryptosign (Ed25519). The client announces its public key in
// HELLO.Details.authextra.pubkey (64 hex characters) and may name its authid; the CHALLENGE
// carries 32 random bytes in hex (Extra.challenge) and channel_binding null; the client answers
// with hex(signature || challenge), 96 bytes, as Autobahn does (the bare 64-byte signature is
// accepted too). TLS channel binding is not offered: a client asking for "tls-unique" is refused.
type Cryptosign struct {
	byKey  map[string]cryptosignPrincipal // raw public key -> principal
	byName map[string]bool
}

type cryptosignPrincipal struct {
	authid, role string
}

// NewCryptosign builds the method from its configuration.
func NewCryptosign(cfg *config.CryptosignAuth) (*Cryptosign, error) {
	m := &Cryptosign{byKey: map[string]cryptosignPrincipal{}, byName: map[string]bool{}}
	for _, p := range cfg.Principals {
		if p.AuthID == "" || p.Role == "" {
			return nil, fmt.Errorf("auth: cryptosign principal %q needs an authid and a role", p.AuthID)
		}
		m.byName[p.AuthID] = true
		for _, hk := range p.AuthorizedKeys {
			k, err := config.ParseEd25519Key(hk)
			if err != nil {
				return nil, fmt.Errorf("auth: cryptosign principal %q: %w", p.AuthID, err)
			}
			m.byKey[string(k)] = cryptosignPrincipal{authid: p.AuthID, role: p.Role}
		}
	}
	return m, nil
}

// Name returns "cryptosign".
func (m *Cryptosign) Name() string { return config.MethodCryptosign }

// Authenticate looks up the announced key and sends a random challenge.
func (m *Cryptosign) Authenticate(_ context.Context, req *Request) (*Identity, *Challenge, error) {
	if cb, present := req.AuthExtra["channel_binding"]; present && cb != nil {
		name, _ := cb.(string)
		if len(name) > 32 {
			name = name[:32]
		}
		return nil, nil, failed(fmt.Sprintf("cryptosign channel binding %q is not supported: send channel_binding null (none)", name))
	}
	pubHex, present := req.extraString("pubkey")
	if !present {
		return nil, nil, failed("cryptosign needs the public key in HELLO.Details.authextra.pubkey")
	}
	pub, err := config.ParseEd25519Key(pubHex)
	if err != nil {
		return nil, nil, failed("HELLO.Details.authextra.pubkey must be an Ed25519 public key in hex (64 characters)")
	}
	p, ok := m.byKey[string(pub)]
	if !ok {
		return nil, nil, failed("this public key is not authorized on the realm")
	}
	if req.AuthID != "" && req.AuthID != p.authid {
		return nil, nil, failed("this public key is not authorized for the authid in HELLO")
	}
	challenge := make([]byte, 32)
	rand.Read(challenge)
	extra := wamp.Dict{"challenge": hex.EncodeToString(challenge), "channel_binding": nil}
	return nil, NewChallenge(config.MethodCryptosign, extra, func(_ context.Context, signature string, _ wamp.Dict) (*Identity, error) {
		if !VerifyCryptosign(ed25519.PublicKey(pub), challenge, signature) {
			return nil, failed("cryptosign signature is invalid")
		}
		return &Identity{AuthID: p.authid, AuthRole: p.role, AuthMethod: config.MethodCryptosign, AuthProvider: "static",
			AuthExtra: wamp.Dict{"pubkey": hex.EncodeToString(pub)}}, nil
	}), nil
}

// VerifyCryptosign checks a cryptosign answer: hex of a 64-byte Ed25519 signature of challenge,
// optionally followed by the challenge itself (Autobahn sends signature || challenge).
func VerifyCryptosign(pub ed25519.PublicKey, challenge []byte, signature string) bool {
	b, err := hex.DecodeString(signature)
	if err != nil {
		return false
	}
	switch len(b) {
	case ed25519.SignatureSize:
	case ed25519.SignatureSize + len(challenge):
		if subtle.ConstantTimeCompare(b[ed25519.SignatureSize:], challenge) != 1 {
			return false
		}
	default:
		return false
	}
	return ed25519.Verify(pub, challenge, b[:ed25519.SignatureSize])
}

// SignCryptosign returns the answer to a cryptosign challenge (hex) as Autobahn computes it:
// hex(signature || challenge). For tests and Go clients.
func SignCryptosign(priv ed25519.PrivateKey, challengeHex string) (string, error) {
	ch, err := hex.DecodeString(challengeHex)
	if err != nil {
		return "", fmt.Errorf("auth: cryptosign challenge is not hex: %w", err)
	}
	sig := ed25519.Sign(priv, ch)
	return hex.EncodeToString(sig) + hex.EncodeToString(ch), nil
}
