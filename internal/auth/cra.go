package auth

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/wamp"
)

// WAMPCRA is WAMP Challenge-Response Authentication. The CHALLENGE carries a JSON string
// (authid, authrole, authmethod, authprovider, nonce, timestamp and, when known, session) and,
// for salted secrets, the PBKDF2 parameters salt, iterations and keylen. The client answers with
// base64(HMAC-SHA256(key, challenge)), where key is the secret itself or, when salted, the key
// derived from the password (DeriveKey, the same as AutobahnPython's auth.derive_key and
// Autobahn|JS's auth_cra.derive_key).
type WAMPCRA struct {
	principals map[string]craPrincipal
	now        func() time.Time
}

type craPrincipal struct {
	role       string
	key        []byte // the HMAC key: the secret's bytes (with a salt: the derived key in base64)
	salt       string
	iterations int
	keylen     int
}

// NewWAMPCRA builds the method from its configuration.
func NewWAMPCRA(cfg *config.CRAAuth) (*WAMPCRA, error) {
	m := &WAMPCRA{principals: map[string]craPrincipal{}, now: time.Now}
	for _, p := range cfg.Principals {
		if p.AuthID == "" || p.Role == "" || !p.Secret.IsSet() {
			return nil, fmt.Errorf("auth: wampcra principal %q needs an authid, a role and a secret", p.AuthID)
		}
		m.principals[p.AuthID] = craPrincipal{role: p.Role, key: []byte(p.Secret.Value()), salt: p.Salt, iterations: p.Iterations, keylen: p.KeyLen}
	}
	return m, nil
}

// Name returns "wampcra".
func (m *WAMPCRA) Name() string { return config.MethodWAMPCRA }

// craChallenge is the JSON object signed by the client, in the field order of the spec's example.
type craChallenge struct {
	AuthID       string  `json:"authid"`
	AuthRole     string  `json:"authrole"`
	AuthMethod   string  `json:"authmethod"`
	AuthProvider string  `json:"authprovider"`
	Nonce        string  `json:"nonce"`
	Timestamp    string  `json:"timestamp"`
	Session      wamp.ID `json:"session,omitempty"`
}

// Authenticate sends the challenge. An unknown authid gets a challenge too (nobody can answer
// it), so that the answer does not tell which authids exist.
func (m *WAMPCRA) Authenticate(_ context.Context, req *Request) (*Identity, *Challenge, error) {
	if req.AuthID == "" {
		return nil, nil, failed("WAMP-CRA needs an authid in HELLO.Details.authid")
	}
	p, known := m.principals[req.AuthID]
	if !known {
		p = craPrincipal{role: "", key: randomKey()}
	}
	var nonce [24]byte
	rand.Read(nonce[:])
	ch := craChallenge{
		AuthID:       req.AuthID,
		AuthRole:     p.role,
		AuthMethod:   config.MethodWAMPCRA,
		AuthProvider: "static",
		Nonce:        base64.StdEncoding.EncodeToString(nonce[:]),
		Timestamp:    m.now().UTC().Format("2006-01-02T15:04:05.000Z"),
		Session:      req.Session,
	}
	js, err := json.Marshal(ch)
	if err != nil {
		return nil, nil, failed("cannot build the WAMP-CRA challenge").withCause(err)
	}
	challenge := string(js)
	extra := wamp.Dict{"challenge": challenge}
	if p.salt != "" {
		extra["salt"] = p.salt
		extra["iterations"] = int64(p.iterations)
		extra["keylen"] = int64(p.keylen)
	}
	expected := SignCRA(p.key, challenge)
	authid := req.AuthID
	return nil, NewChallenge(config.MethodWAMPCRA, extra, func(_ context.Context, signature string, _ wamp.Dict) (*Identity, error) {
		got, ok := decodeBase64(signature)
		want, _ := base64.StdEncoding.DecodeString(expected)
		if !ok || !hmac.Equal(got, want) || !known {
			return nil, failed("WAMP-CRA signature is invalid")
		}
		return &Identity{AuthID: authid, AuthRole: p.role, AuthMethod: config.MethodWAMPCRA, AuthProvider: "static"}, nil
	}), nil
}

func randomKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

// decodeBase64 accepts standard base64 with or without padding (surrounding whitespace is
// ignored).
func decodeBase64(s string) ([]byte, bool) {
	s = strings.TrimSpace(s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, true
	}
	b, err := base64.RawStdEncoding.DecodeString(s)
	return b, err == nil
}

// SignCRA returns the WAMP-CRA signature of challenge with key: base64(HMAC-SHA256(key,
// challenge)), as Autobahn's compute_wcs computes it.
func SignCRA(key []byte, challenge string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(challenge))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// DeriveKey derives the WAMP-CRA key of a salted password exactly as AutobahnPython's
// auth.derive_key(secret, salt, iterations, keylen) does: PBKDF2 with HMAC-SHA256 over the UTF-8
// bytes of secret and salt, keylen bytes, returned in standard base64. The result is what a
// salted principal's secret holds, and what the client uses as its HMAC key.
func DeriveKey(secret, salt string, iterations, keylen int) (string, error) {
	k, err := pbkdf2.Key(sha256.New, secret, []byte(salt), iterations, keylen)
	if err != nil {
		return "", fmt.Errorf("auth: derive key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(k), nil
}
