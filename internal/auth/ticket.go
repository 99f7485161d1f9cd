package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/store"
	"github.com/gateway-dev/gateway/wamp"
)

// Ticket is the "ticket" method. The client names the method in HELLO, gets an empty
// CHALLENGE and sends its ticket as the AUTHENTICATE signature. Which kind of ticket it is
// follows from its form and the realm's accept list, checked in this order:
//
//  1. jwt: a ticket with exactly two dots (header.payload.signature) while JWT tickets are
//     accepted is verified as a JWT, and only as one;
//  2. static: when HELLO.Details.authid names a static principal, the ticket is compared with
//     its secret (in constant time);
//  3. one_time: a ticket of the form the gateway issues (43 base64url characters) is redeemed
//     from the store, once.
type Ticket struct {
	realm   string
	static  map[string]staticPrincipal
	oneTime bool
	store   *store.Store
	jwt     *JWT
	now     func() time.Time
}

type staticPrincipal struct {
	role   string
	digest [sha256.Size]byte // SHA-256 of the secret: compared in constant time, any length
}

// NewTicket builds the ticket method of realm from its configuration. st holds one-time tickets
// (it may be nil or unavailable: one-time tickets then fail as an ordinary error).
func NewTicket(realm string, cfg *config.TicketAuth, st *store.Store) (*Ticket, error) {
	t := &Ticket{realm: realm, static: map[string]staticPrincipal{}, store: st, now: time.Now}
	if cfg.Accepts(config.TicketStatic) {
		for _, p := range cfg.Principals {
			if p.AuthID == "" || p.Role == "" || !p.Secret.IsSet() {
				return nil, fmt.Errorf("auth: realm %s: ticket principal %q needs an authid, a role and a secret", realm, p.AuthID)
			}
			t.static[p.AuthID] = staticPrincipal{role: p.Role, digest: sha256.Sum256([]byte(p.Secret.Value()))}
		}
	}
	t.oneTime = cfg.Accepts(config.TicketOneTime)
	if cfg.Accepts(config.TicketJWT) {
		j, err := NewJWT(realm, &cfg.JWT)
		if err != nil {
			return nil, err
		}
		t.jwt = j
	}
	return t, nil
}

// Name returns "ticket".
func (t *Ticket) Name() string { return config.MethodTicket }

// Authenticate asks for the ticket.
func (t *Ticket) Authenticate(_ context.Context, req *Request) (*Identity, *Challenge, error) {
	authid := req.AuthID
	return nil, NewChallenge(config.MethodTicket, nil, func(ctx context.Context, ticket string, _ wamp.Dict) (*Identity, error) {
		return t.verify(ctx, authid, ticket)
	}), nil
}

// IsJWT reports whether a ticket has the form of a compact JWT (three parts, two dots).
func IsJWT(ticket string) bool { return strings.Count(ticket, ".") == 2 }

func (t *Ticket) verify(_ context.Context, authid, ticket string) (*Identity, error) {
	if ticket == "" {
		return nil, failed("the ticket is empty")
	}
	if t.jwt != nil && IsJWT(ticket) {
		return t.jwt.Verify(ticket, authid)
	}
	if p, ok := t.static[authid]; ok {
		d := sha256.Sum256([]byte(ticket))
		if subtle.ConstantTimeCompare(d[:], p.digest[:]) == 1 {
			return &Identity{AuthID: authid, AuthRole: p.role, AuthMethod: config.MethodTicket, AuthProvider: "static"}, nil
		}
	}
	if t.oneTime && isOneTimeTicket(ticket) {
		return t.redeem(authid, ticket)
	}
	return nil, failed("invalid ticket")
}

// redeem consumes a one-time ticket.
func (t *Ticket) redeem(authid, ticket string) (*Identity, error) {
	rec, err := t.store.ConsumeTicket(ticket, t.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, failed("invalid ticket (one-time tickets can be used once)")
	case errors.Is(err, store.ErrExpired):
		return nil, failed("the one-time ticket has expired")
	case err != nil:
		return nil, failed("one-time tickets cannot be checked right now").withCause(err)
	case rec.Realm != t.realm:
		return nil, failed("the one-time ticket was issued for another realm")
	case authid != "" && authid != rec.AuthID:
		return nil, failed("the one-time ticket was issued for another authid")
	}
	return &Identity{AuthID: rec.AuthID, AuthRole: rec.AuthRole, AuthMethod: config.MethodTicket, AuthProvider: "one_time", AuthExtra: rec.AuthExtra}, nil
}

// oneTimeTicketLen is the length of issued one-time tickets: 32 random bytes in unpadded
// base64url.
const oneTimeTicketLen = 43

func isOneTimeTicket(s string) bool {
	if len(s) != oneTimeTicketLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// IssueTicket stores a new one-time ticket for authid with authrole in realm, valid for ttl,
// and returns it with its expiry. authextra (may be nil) becomes the session's authextra. The
// ticket is 256 random bits; only its SHA-256 is stored.
func IssueTicket(st *store.Store, realm, authid, authrole string, ttl time.Duration, authextra wamp.Dict) (ticket string, expires time.Time, err error) {
	if authid == "" || authrole == "" {
		return "", time.Time{}, errors.New("auth: a one-time ticket needs an authid and a role")
	}
	if ttl <= 0 {
		return "", time.Time{}, errors.New("auth: a one-time ticket needs a positive lifetime")
	}
	var b [32]byte
	rand.Read(b[:])
	ticket = base64.RawURLEncoding.EncodeToString(b[:])
	now := time.Now()
	expires = now.Add(ttl).Truncate(time.Second)
	if !expires.After(now) {
		expires = now.Add(ttl)
	}
	rec := store.Ticket{Realm: realm, AuthID: authid, AuthRole: authrole, AuthExtra: authextra, Created: now, Expires: expires}
	if err := st.PutTicket(ticket, rec); err != nil {
		return "", time.Time{}, fmt.Errorf("auth: issue ticket: %w", err)
	}
	return ticket, expires, nil
}
