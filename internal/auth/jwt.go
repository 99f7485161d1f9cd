package auth

import (
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gateway-dev/gateway/internal/config"
)

// JWT verifies JWT tickets signed by the web-app: the signature with the configured key and
// algorithm only (HS256, RS256 or EdDSA), exp (required), nbf and iat with the configured leeway,
// aud (must contain the realm's name) and, when configured, iss. The identity is sub → authid,
// the role claim (default "role") → authrole, and an object claim "authextra" → authextra.
type JWT struct {
	realm       string
	alg         string
	key         any
	roleClaim   string
	defaultRole string
	parser      *jwt.Parser
	now         func() time.Time
}

// NewJWT builds the JWT verifier of realm from its configuration (cfg.Key must hold the parsed
// public key for RS256 and EdDSA, as config.Load leaves it).
func NewJWT(realm string, cfg *config.JWTAuth) (*JWT, error) {
	j := &JWT{realm: realm, alg: cfg.Algorithm, roleClaim: cfg.RoleClaim, defaultRole: cfg.DefaultRole, now: time.Now}
	if j.roleClaim == "" {
		j.roleClaim = config.DefaultRoleClaim
	}
	switch cfg.Algorithm {
	case config.JWTHS256:
		if !cfg.Secret.IsSet() {
			return nil, fmt.Errorf("auth: realm %s: HS256 JWT tickets need a secret", realm)
		}
		j.key = []byte(cfg.Secret.Value())
	case config.JWTRS256:
		k, ok := cfg.Key.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("auth: realm %s: RS256 JWT tickets need an RSA public key", realm)
		}
		j.key = k
	case config.JWTEdDSA:
		k, ok := cfg.Key.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("auth: realm %s: EdDSA JWT tickets need an Ed25519 public key", realm)
		}
		j.key = k
	default:
		return nil, fmt.Errorf("auth: realm %s: unsupported JWT algorithm %q", realm, cfg.Algorithm)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{cfg.Algorithm}),
		jwt.WithAudience(realm),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(func() time.Time { return j.now() }),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	j.parser = jwt.NewParser(opts...)
	return j, nil
}

// Verify checks a JWT ticket; authid is the one from HELLO ("" when the client sent none), which
// must equal the token's subject when given.
func (j *JWT) Verify(token, authid string) (*Identity, error) {
	claims := jwt.MapClaims{}
	tok, err := j.parser.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return j.key, nil })
	if err != nil {
		if tok != nil && tok.Header["alg"] != j.alg && !errors.Is(err, jwt.ErrTokenMalformed) {
			return nil, failed("the JWT ticket is not signed with " + j.alg).withCause(err)
		}
		return nil, jwtError(err, j)
	}
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return nil, failed("the JWT ticket has no subject (sub claim)")
	}
	if authid != "" && authid != sub {
		return nil, failed("the JWT ticket was issued for another authid")
	}
	role := j.defaultRole
	if v, ok := claims[j.roleClaim]; ok {
		s, isStr := v.(string)
		if !isStr || s == "" {
			return nil, failed(fmt.Sprintf("the JWT ticket's %q claim must be a non-empty string", j.roleClaim))
		}
		role = s
	}
	if role == "" {
		return nil, failed(fmt.Sprintf("the JWT ticket has no %q claim", j.roleClaim))
	}
	id := &Identity{AuthID: sub, AuthRole: role, AuthMethod: config.MethodTicket, AuthProvider: "jwt"}
	if extra, ok := claims["authextra"].(map[string]any); ok {
		id.AuthExtra = integralNumbers(extra).(map[string]any)
	}
	return id, nil
}

// jwtError turns a jwt validation error into a message for the client (never the token).
func jwtError(err error, j *JWT) *Error {
	var msg string
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		msg = "the JWT ticket is malformed"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		msg = "the JWT ticket is not signed with " + j.alg
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		msg = "the JWT ticket's signature is invalid"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && strings.Contains(err.Error(), "aud"):
		msg = fmt.Sprintf("the JWT ticket is not for realm %q (no aud claim)", j.realm)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		msg = "the JWT ticket has no expiry (exp claim)"
	case errors.Is(err, jwt.ErrTokenExpired):
		msg = "the JWT ticket has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		msg = "the JWT ticket is not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		msg = fmt.Sprintf("the JWT ticket is not for realm %q (aud claim)", j.realm)
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		msg = "the JWT ticket has the wrong issuer (iss claim)"
	default:
		msg = "the JWT ticket is invalid"
	}
	return failed(msg).withCause(err)
}

// integralNumbers turns float64 values that hold integers (JSON numbers) into int64, as the WAMP
// codecs would decode them.
func integralNumbers(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= 1<<53 {
			return int64(x)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = integralNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = integralNumbers(e)
		}
	}
	return v
}
