package auth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/wamp"
)

// Action is something a session asks the router to do with a URI.
type Action uint8

// Actions.
const (
	Publish Action = iota
	Subscribe
	Call
	Register
)

var actionNames = [...]string{"publish", "subscribe", "call", "register"}

// String returns the action's name as the configuration writes it.
func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("Action(%d)", a)
}

// ParseAction returns the action named s ("publish", "subscribe", "call", "register").
func ParseAction(s string) (Action, bool) {
	i := slices.Index(actionNames[:], s)
	return Action(i), i >= 0
}

// Grant is what one permission allows.
type Grant struct {
	allow uint8 // bit per Action
	// DiscloseCaller discloses callers to callees for matched calls.
	DiscloseCaller bool
	// DisclosePublisher discloses publishers to subscribers for matched events.
	DisclosePublisher bool
}

// Allows reports whether the grant allows action a.
func (g Grant) Allows(a Action) bool { return g.allow&(1<<a) != 0 }

var allowAll = Grant{allow: 1<<Publish | 1<<Subscribe | 1<<Call | 1<<Register}

// Role is a compiled set of permissions: URI patterns indexed like the router's subscriptions
// (exact map, prefix map per distinct length, wildcard component trie). The most specific
// matching pattern decides alone: exact, then the longest prefix, then the most specific
// wildcard (concrete components preferred from left to right). A URI no pattern matches is
// denied. A Role is immutable and safe for concurrent use.
type Role struct {
	name       string
	all        bool // authorization off: everything allowed
	exact      map[string]Grant
	prefix     map[string]Grant
	prefixLens []int // distinct prefix lengths, longest first
	trie       *grantNode
}

type grantNode struct {
	children map[string]*grantNode // "" is the wildcard edge
	grant    Grant
	has      bool
}

// Name returns the role's name.
func (r *Role) Name() string { return r.name }

// Lookup returns the grant of the most specific permission matching uri, and false when none
// matches.
func (r *Role) Lookup(uri wamp.URI) (Grant, bool) {
	if r == nil {
		return Grant{}, false
	}
	if r.all {
		return allowAll, true
	}
	u := string(uri)
	if g, ok := r.exact[u]; ok {
		return g, true
	}
	for _, l := range r.prefixLens {
		if l <= len(u) {
			if g, ok := r.prefix[u[:l]]; ok {
				return g, true
			}
		}
	}
	if r.trie != nil {
		return r.trie.best(u)
	}
	return Grant{}, false
}

// Allowed reports whether the role may perform action on uri. A nil Role (unknown role) may do
// nothing.
func (r *Role) Allowed(action Action, uri wamp.URI) bool {
	g, ok := r.Lookup(uri)
	return ok && g.Allows(action)
}

// best finds the most specific wildcard pattern matching the components of u.
func (n *grantNode) best(u string) (Grant, bool) {
	comp, rest, more := strings.Cut(u, ".")
	for _, key := range [2]string{comp, ""} {
		if child := n.children[key]; child != nil {
			if more {
				if g, ok := child.best(rest); ok {
					return g, true
				}
			} else if child.has {
				return child.grant, true
			}
		}
		if comp == "" {
			break // the concrete and the wildcard edge are the same edge
		}
	}
	return Grant{}, false
}

// Authorizer holds the roles of one realm. Without configured roles it allows every role
// everything (the gateway's behaviour without auth configuration).
type Authorizer struct {
	open  bool
	roles map[string]*Role
	any   *Role
}

// NewAuthorizer compiles the roles of a realm. strict selects the strict URI rules for checking
// patterns. nil or empty roles give an authorizer that allows everything.
func NewAuthorizer(roles []config.Role, strict bool) (*Authorizer, error) {
	a := &Authorizer{roles: map[string]*Role{}, any: &Role{name: "*", all: true}}
	if len(roles) == 0 {
		a.open = true
		return a, nil
	}
	for _, rc := range roles {
		if rc.Name == "" {
			return nil, fmt.Errorf("auth: a role needs a name")
		}
		if _, dup := a.roles[rc.Name]; dup {
			return nil, fmt.Errorf("auth: duplicate role %q", rc.Name)
		}
		r, err := compileRole(rc, strict)
		if err != nil {
			return nil, err
		}
		a.roles[rc.Name] = r
	}
	return a, nil
}

func compileRole(rc config.Role, strict bool) (*Role, error) {
	r := &Role{name: rc.Name, exact: map[string]Grant{}, prefix: map[string]Grant{}}
	for _, p := range rc.Permissions {
		match := p.Match
		if match == "" {
			match = "exact"
		}
		if err := config.CheckPattern(p.URI, match, strict); err != nil {
			return nil, fmt.Errorf("auth: role %q: %w", rc.Name, err)
		}
		g := Grant{DiscloseCaller: p.DiscloseCaller, DisclosePublisher: p.DisclosePublisher}
		for _, s := range p.Allow {
			a, ok := ParseAction(s)
			if !ok {
				return nil, fmt.Errorf("auth: role %q: unknown action %q", rc.Name, s)
			}
			g.allow |= 1 << a
		}
		switch match {
		case "exact":
			r.exact[p.URI] = g
		case "prefix":
			if _, seen := r.prefix[p.URI]; !seen && !slices.Contains(r.prefixLens, len(p.URI)) {
				r.prefixLens = append(r.prefixLens, len(p.URI))
			}
			r.prefix[p.URI] = g
		case "wildcard":
			if r.trie == nil {
				r.trie = &grantNode{}
			}
			n := r.trie
			for _, c := range strings.Split(p.URI, ".") {
				if n.children == nil {
					n.children = map[string]*grantNode{}
				}
				child := n.children[c]
				if child == nil {
					child = &grantNode{}
					n.children[c] = child
				}
				n = child
			}
			n.grant, n.has = g, true
		}
	}
	slices.SortFunc(r.prefixLens, func(a, b int) int { return b - a })
	return r, nil
}

// Open reports whether the realm has no roles configured (everything is allowed).
func (a *Authorizer) Open() bool { return a.open }

// Role returns the compiled role name, or nil when the realm does not define it (nil allows
// nothing). With authorization off every name gets a role that allows everything. Sessions can
// keep the result for their lifetime and call Role.Allowed on the hot path.
func (a *Authorizer) Role(name string) *Role {
	if a.open {
		return a.any
	}
	return a.roles[name]
}

// HasRole reports whether sessions may be given role name.
func (a *Authorizer) HasRole(name string) bool { return a.open || a.roles[name] != nil }

// Allowed reports whether role may perform action on uri.
func (a *Authorizer) Allowed(role string, action Action, uri wamp.URI) bool {
	if a.open {
		return true
	}
	return a.roles[role].Allowed(action, uri)
}

// Disclose reports whether the permission that allows role's action on uri asks for the
// publisher (action Publish) or the caller (action Call) to be disclosed. It is false without
// roles: the realm's disclose settings apply then.
func (a *Authorizer) Disclose(role string, action Action, uri wamp.URI) bool {
	if a.open {
		return false
	}
	g, ok := a.roles[role].Lookup(uri)
	if !ok || !g.Allows(action) {
		return false
	}
	switch action {
	case Publish:
		return g.DisclosePublisher
	case Call:
		return g.DiscloseCaller
	}
	return false
}
