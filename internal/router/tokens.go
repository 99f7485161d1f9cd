package router

import (
	"github.com/gateway-dev/gateway/wamp"
)

// The gateway's own procedures for client identity tokens (docs/AUTH.md). Like every procedure they
// need a Call permission once a realm defines roles.
const (
	procTokenRevoke       wamp.URI = "gateway.token.revoke"
	procTokenRevokeAuthID wamp.URI = "gateway.token.revoke_authid"
)

// errTokensUnavailable answers the token procedures when client tokens are disabled or the store is
// unusable.
const errTokensUnavailable = wamp.ErrUnavailable

// tokenRevoke implements gateway.token.revoke(token): the token stops being recognised, so its client
// gets a fresh one and no cookie authentication.
func tokenRevoke(rl *Realm, _ *Session, args wamp.List, _ wamp.Dict) metaResult {
	token, bad := argString(args, 0, "token")
	if bad != nil {
		return *bad
	}
	tokens := rl.router.cfg.Tokens
	if tokens == nil {
		return fail(errTokensUnavailable, "client tokens are disabled")
	}
	if err := tokens.Revoke(token); err != nil {
		return fail(errTokensUnavailable, "cannot revoke the token: %v", err)
	}
	return ok()
}

// tokenRevokeAuthID implements gateway.token.revoke_authid(authid) → count: every token whose client
// last authenticated as authid is revoked (log a user out everywhere).
func tokenRevokeAuthID(rl *Realm, _ *Session, args wamp.List, _ wamp.Dict) metaResult {
	authid, bad := argString(args, 0, "authid")
	if bad != nil {
		return *bad
	}
	tokens := rl.router.cfg.Tokens
	if tokens == nil {
		return fail(errTokensUnavailable, "client tokens are disabled")
	}
	n, err := tokens.RevokeAuthID(authid)
	if err != nil {
		return fail(errTokensUnavailable, "cannot revoke tokens: %v", err)
	}
	return ok(int64(n))
}
