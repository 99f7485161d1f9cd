package auth

import (
	"context"
	"maps"
	"time"

	"github.com/gateway-dev/gateway/internal/config"
)

// Cookie re-authenticates a client by its client token alone: when the token's client
// authenticated in this realm with another method (ticket, wampcra, cryptosign, delegated)
// less than the configured duration ago, the session gets that identity again, with authmethod
// "cookie". Otherwise the method does not apply (ErrSkip) and the client's next authmethod is
// tried. The duration counts from that authentication; cookie logins do not extend it.
type Cookie struct {
	realm    string
	duration time.Duration
	now      func() time.Time
}

// NewCookie returns the cookie method of realm.
func NewCookie(realm string, duration time.Duration) *Cookie {
	return &Cookie{realm: realm, duration: duration, now: time.Now}
}

// Name returns "cookie".
func (c *Cookie) Name() string { return config.MethodCookie }

// Authenticate admits the client under its remembered identity, or skips.
func (c *Cookie) Authenticate(_ context.Context, req *Request) (*Identity, *Challenge, error) {
	ct := req.ClientToken
	if ct == nil || ct.Fresh || ct.identity == nil {
		return nil, nil, ErrSkip
	}
	id := ct.identity
	if id.Realm != c.realm || c.now().Sub(id.At) >= c.duration {
		return nil, nil, ErrSkip
	}
	return &Identity{AuthID: id.AuthID, AuthRole: id.AuthRole, AuthMethod: config.MethodCookie, AuthProvider: id.AuthMethod,
		AuthExtra: maps.Clone(id.AuthExtra)}, nil, nil
}
