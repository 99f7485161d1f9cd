package auth

import (
	"context"
	"crypto/rand"
	"encoding/base32"

	"github.com/gateway-dev/gateway/internal/config"
)

// Anonymous admits every client under one role with a random authid (never the one the client
// claims, so that authid-based delivery such as eligible_authid cannot be spoofed).
type Anonymous struct {
	role string
}

// NewAnonymous returns the anonymous method giving role.
func NewAnonymous(role string) *Anonymous { return &Anonymous{role: role} }

// Name returns "anonymous".
func (a *Anonymous) Name() string { return config.MethodAnonymous }

// Authenticate admits the client.
func (a *Anonymous) Authenticate(_ context.Context, _ *Request) (*Identity, *Challenge, error) {
	return &Identity{AuthID: randomAuthID(), AuthRole: a.role, AuthMethod: config.MethodAnonymous, AuthProvider: "static"}, nil, nil
}

// randomAuthID returns a random authid for anonymous sessions.
func randomAuthID() string {
	var b [10]byte
	rand.Read(b[:])
	return base32.StdEncoding.EncodeToString(b[:])
}
