package auth

import (
	"fmt"
	"testing"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/wamp"
)

const rolesConfig = `
[[realms]]
name = "realm1"

# Public events: what the anonymous role may subscribe to.
[[realms.roles]]
name = "anonymous"
[[realms.roles.permissions]]
uri = "com.example.public."
match = "prefix"
allow = ["subscribe"]
[[realms.roles.permissions]]
uri = "com.example.public.secret"
allow = []
[[realms.roles.permissions]]
uri = "com.example.time"
allow = ["call"]

[[realms.roles]]
name = "user"
[[realms.roles.permissions]]
uri = "com.example."
match = "prefix"
allow = ["subscribe", "call"]
[[realms.roles.permissions]]
uri = "com.example.chat."
match = "prefix"
allow = ["subscribe", "publish"]
disclose_publisher = true
[[realms.roles.permissions]]
uri = "com.example..status"
match = "wildcard"
allow = ["publish", "subscribe"]
[[realms.roles.permissions]]
uri = "com.example.room..status"
match = "wildcard"
allow = ["subscribe"]
[[realms.roles.permissions]]
uri = "com.example.user.private"
allow = []

[[realms.roles]]
name = "backend"
[[realms.roles.permissions]]
uri = ""
match = "prefix"
allow = ["publish", "subscribe", "call", "register"]
disclose_caller = true
`

// The authorization matrix: role × action × match policy, with the most specific pattern
// deciding (exact > longest prefix > most specific wildcard), and no pattern = denied.
func TestAuthorizationMatrix(t *testing.T) {
	c := parseConfig(t, "", rolesConfig)
	authz, err := NewAuthorizer(c.Realms[0].Roles, false)
	if err != nil {
		t.Fatal(err)
	}
	const (
		P = 1 << Publish
		S = 1 << Subscribe
		C = 1 << Call
		R = 1 << Register
	)
	tests := []struct {
		role  string
		uri   wamp.URI
		allow int // bit set of allowed actions
		why   string
	}{
		{"anonymous", "com.example.public.news", S, "prefix"},
		{"anonymous", "com.example.public.", S, "prefix matches itself"},
		{"anonymous", "com.example.public.secret", 0, "exact beats prefix"},
		{"anonymous", "com.example.public.secret.x", S, "exact does not cover longer URIs"},
		{"anonymous", "com.example.time", C, "exact"},
		{"anonymous", "com.example.publicity", 0, "no pattern"},
		{"anonymous", "com.example.chat.room1", 0, "no pattern"},
		{"user", "com.example.orders", S | C, "prefix"},
		{"user", "com.example.chat.room1", S | P, "longest prefix wins"},
		{"user", "com.example.x.status", S | C, "prefix beats wildcard"},
		{"user", "com.example.user.private", 0, "exact beats everything"},
		{"user", "org.other", 0, "no pattern"},
		{"backend", "anything.at.all", P | S | C | R, "empty prefix matches everything"},
		{"admin", "com.example.orders", 0, "undefined role"},
	}
	for _, tt := range tests {
		for a := Publish; a <= Register; a++ {
			want := tt.allow&(1<<a) != 0
			if got := authz.Allowed(tt.role, a, tt.uri); got != want {
				t.Errorf("%s %s %s = %v, want %v (%s)", tt.role, a, tt.uri, got, want, tt.why)
			}
			if got := authz.Role(tt.role).Allowed(a, tt.uri); got != want {
				t.Errorf("Role(%s).Allowed(%s, %s) = %v, want %v", tt.role, a, tt.uri, got, want)
			}
		}
	}

	// Wildcard specificity, in a role with only wildcard patterns.
	wild, err := NewAuthorizer([]config.Role{{Name: "w", Permissions: []config.Permission{
		{URI: "a..c", Match: "wildcard", Allow: []string{"publish"}},
		{URI: "a.b.", Match: "wildcard", Allow: []string{"subscribe"}},
		{URI: "..c", Match: "wildcard", Allow: []string{"call"}},
	}}}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		uri  wamp.URI
		want Action
		none bool
	}{
		{"a.b.c", Subscribe, false}, // a.b. is more specific than a..c (concrete left to right)
		{"a.x.c", Publish, false},
		{"z.x.c", Call, false},
		{"a.b", 0, true},     // wrong number of components
		{"a.b.c.d", 0, true}, // wrong number of components
	} {
		g, ok := wild.Role("w").Lookup(tt.uri)
		if ok == tt.none || (!tt.none && (!g.Allows(tt.want) || g.allow != 1<<tt.want)) {
			t.Errorf("Lookup(%s) = %+v, %v; want only %s", tt.uri, g, ok, tt.want)
		}
	}
}

func TestDisclose(t *testing.T) {
	c := parseConfig(t, "", rolesConfig)
	authz, _ := NewAuthorizer(c.Realms[0].Roles, false)
	for _, tt := range []struct {
		role   string
		action Action
		uri    wamp.URI
		want   bool
	}{
		{"user", Publish, "com.example.chat.room1", true},
		{"user", Publish, "com.example.orders", false}, // not allowed to publish there at all
		{"backend", Call, "com.example.x", true},
		{"backend", Publish, "com.example.x", false},
		{"anonymous", Call, "com.example.time", false},
	} {
		if got := authz.Disclose(tt.role, tt.action, tt.uri); got != tt.want {
			t.Errorf("Disclose(%s, %s, %s) = %v, want %v", tt.role, tt.action, tt.uri, got, tt.want)
		}
	}
}

// Without roles the realm behaves as before authorization existed: everything is allowed.
func TestAuthorizerOpen(t *testing.T) {
	authz, err := NewAuthorizer(nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if !authz.Open() || !authz.HasRole("anonymous") || !authz.Allowed("anonymous", Register, "x.y") ||
		!authz.Role("whoever").Allowed(Publish, "a") || authz.Disclose("anonymous", Publish, "a") {
		t.Error("open authorizer must allow everything and disclose nothing by itself")
	}
	var none *Role
	if none.Allowed(Subscribe, "a") {
		t.Error("a nil role allowed something")
	}
	for _, bad := range []config.Role{
		{Name: "r", Permissions: []config.Permission{{URI: "a..b", Match: "exact"}}},
		{Name: "r", Permissions: []config.Permission{{URI: "a", Match: "regex"}}},
		{Name: "r", Permissions: []config.Permission{{URI: "a", Match: "exact", Allow: []string{"delete"}}}},
		{Name: ""},
	} {
		if _, err := NewAuthorizer([]config.Role{bad}, false); err == nil {
			t.Errorf("NewAuthorizer(%+v) accepted", bad)
		}
	}
	if _, err := NewAuthorizer([]config.Role{{Name: "a"}, {Name: "a"}}, false); err == nil {
		t.Error("duplicate roles accepted")
	}
	for a := Publish; a <= Register; a++ {
		if p, ok := ParseAction(a.String()); !ok || p != a {
			t.Errorf("ParseAction(%s)", a)
		}
	}
}

func TestAllowedDoesNotAllocate(t *testing.T) {
	authz, _ := NewAuthorizer(benchRoles(100), false)
	role := authz.Role("r")
	n := testing.AllocsPerRun(100, func() {
		role.Allowed(Publish, "com.example.topic50.sub.x")
		role.Allowed(Subscribe, "com.example.w7.a.status")
		authz.Allowed("r", Call, "com.example.exact42")
	})
	if n != 0 {
		t.Errorf("Allowed allocates %.1f times per call", n)
	}
}

// benchRoles returns one role "r" with n exact, n prefix and n wildcard permissions.
func benchRoles(n int) []config.Role {
	r := config.Role{Name: "r"}
	for i := range n {
		r.Permissions = append(r.Permissions,
			config.Permission{URI: fmt.Sprintf("com.example.exact%d", i), Match: "exact", Allow: []string{"call", "publish"}},
			config.Permission{URI: fmt.Sprintf("com.example.topic%d.", i), Match: "prefix", Allow: []string{"publish", "subscribe"}},
			config.Permission{URI: fmt.Sprintf("com.example.w%d..status", i), Match: "wildcard", Allow: []string{"subscribe"}},
		)
	}
	return []config.Role{r}
}

func BenchmarkAllowed(b *testing.B) {
	authz, _ := NewAuthorizer(benchRoles(100), false)
	role := authz.Role("r")
	for _, bc := range []struct {
		name string
		uri  wamp.URI
	}{
		{"exact", "com.example.exact42"},
		{"prefix", "com.example.topic50.sub.x"},
		{"wildcard", "com.example.w7.a.status"},
		{"miss", "org.other.topic"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				role.Allowed(Publish, bc.uri)
			}
		})
	}
	b.Run("by-name", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			authz.Allowed("r", Publish, "com.example.topic50.sub.x")
		}
	})
}
