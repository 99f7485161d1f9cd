package config

import (
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
)

// minHS256Secret is the shortest HS256 key accepted (RFC 7518 section 3.2: at least the hash size).
const minHS256Secret = 32

func (v *checker) store(s *Store) {
	if s.DataDir == "" {
		v.report("store.data_dir", "must not be empty")
	}
}

func (v *checker) clientToken(c *ClientToken) {
	const p = "client_token"
	if c.Name == "" || strings.IndexFunc(c.Name, func(r rune) bool { return !isTokenChar(r) }) >= 0 {
		v.report(p+".name", "invalid cookie name %q: use letters, digits and !#$%%&'*+-.^_`|~", c.Name)
	}
	if c.MaxAge < 1e9 {
		v.report(p+".max_age", "must be at least 1s")
	}
	if c.Path == "" || c.Path[0] != '/' || strings.ContainsAny(c.Path, ";\x00\r\n") {
		v.report(p+".path", `invalid cookie path %q: must start with "/" and contain no ";"`, c.Path)
	}
	if d := strings.TrimPrefix(c.Domain, "."); c.Domain != "" && !validHostname(d) {
		v.report(p+".domain", "invalid cookie domain %q: use a host name such as \"example.com\"", c.Domain)
	}
	switch c.SameSite {
	case "", "lax", "strict":
	case "none":
		if c.Secure != nil && !*c.Secure {
			v.report(p+".same_site", `same_site = "none" requires a Secure cookie: browsers drop it otherwise (remove secure = false)`)
		}
	default:
		v.report(p+".same_site", "invalid value %q: use lax, strict, none or \"\" (not sent)", c.SameSite)
	}
}

// isTokenChar reports whether r may appear in an HTTP token (RFC 9110), such as a cookie name.
func isTokenChar(r rune) bool {
	return r < 127 && r > 32 && !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
}

func (v *checker) auth(a *Auth) {
	for i, o := range a.AllowedOrigins {
		if _, err := ParseOrigin(o, true); err != nil {
			v.report("auth.allowed_origins["+strconv.Itoa(i)+"]", "invalid origin %q: %v", o, err)
		}
	}
	if a.MaxFailures < 0 {
		v.report("auth.max_failures", "must be 0 (no limit) or more")
	}
	if a.MaxFailures > 0 && a.FailureWindow <= 0 {
		v.report("auth.failure_window", "must be greater than 0 when max_failures is set")
	}
}

// realmAuth checks realm r's [realms.auth] and [[realms.roles]]; p is "realms[i]".
func (v *checker) realmAuth(p string, r *Realm, tokens *ClientToken) {
	roles := v.roles(p, r)
	// role checks that a role exists when the realm defines roles.
	role := func(key, name string) {
		switch {
		case name == "":
			v.report(key, "must not be empty")
		case roles != nil && !roles[name]:
			v.report(key, "role %q is not defined in this realm's [[realms.roles]]", name)
		}
	}
	a := &r.Auth
	ap := p + ".auth"
	if a.Methods != nil && len(a.Methods) == 0 {
		v.report(ap+".methods", "must list at least one method: %s", strings.Join(Methods, ", "))
	}
	seen := map[string]bool{}
	for i, m := range a.Methods {
		key := ap + ".methods[" + strconv.Itoa(i) + "]"
		switch {
		case !slices.Contains(Methods, m):
			v.report(key, "unknown method %q: use %s", m, strings.Join(Methods, ", "))
		case seen[m]:
			v.report(key, "method %q is listed twice", m)
		}
		seen[m] = true
	}
	// Settings of a method that is not enabled are almost certainly a mistake.
	for _, m := range Methods {
		key := ap + "." + m
		if v.has(key) && !a.Enabled(m) {
			v.report(key, "settings for %q, but %q is not in %s.methods", m, m, ap)
		}
	}
	if a.Enabled(MethodAnonymous) {
		role(ap+".anonymous.role", a.Anonymous.RoleName())
	}
	if a.Enabled(MethodTicket) {
		v.ticket(ap+".ticket", &a.Ticket, role)
	}
	if a.Enabled(MethodWAMPCRA) {
		v.cra(ap+".wampcra", &a.WAMPCRA, role)
	}
	if a.Enabled(MethodCryptosign) {
		v.cryptosign(ap+".cryptosign", &a.Cryptosign, role)
	}
	if a.Enabled(MethodCookie) {
		if a.Cookie.Duration <= 0 {
			v.report(ap+".cookie.duration", "must be greater than 0")
		}
		if !tokens.Enabled {
			v.report(ap+".methods", "the cookie method needs client tokens: set client_token.enabled = true")
		}
	}
	if a.Enabled(MethodDelegated) {
		v.delegated(ap+".delegated", &a.Delegated)
	}
}

// roles checks [[realms.roles]] and returns the set of role names, or nil without roles.
func (v *checker) roles(p string, r *Realm) map[string]bool {
	if len(r.Roles) == 0 {
		if r.Roles != nil {
			v.report(p+".roles", "an empty list of roles would deny everything: define roles, or leave roles out to allow everything")
		}
		return nil
	}
	names := map[string]bool{}
	for i := range r.Roles {
		rp := p + ".roles[" + strconv.Itoa(i) + "]"
		role := &r.Roles[i]
		switch {
		case role.Name == "":
			v.report(rp+".name", "a role needs a name")
		case names[role.Name]:
			v.report(rp+".name", "duplicate role %q", role.Name)
		}
		names[role.Name] = true
		patterns := map[string]string{}
		for j := range role.Permissions {
			pp := rp + ".permissions[" + strconv.Itoa(j) + "]"
			perm := &role.Permissions[j]
			if err := CheckPattern(perm.URI, perm.Match, r.StrictURIs); err != nil {
				key := pp + ".uri"
				if !slices.Contains([]string{"exact", "prefix", "wildcard"}, perm.Match) {
					key = pp + ".match"
				}
				v.report(key, "%v", err)
			} else if o, dup := patterns[perm.Match+" "+perm.URI]; dup {
				v.report(pp+".uri", "%s pattern %q is already used by %s%s", perm.Match, perm.URI, o, v.at(o+".uri"))
			} else {
				patterns[perm.Match+" "+perm.URI] = pp
			}
			for k, act := range perm.Allow {
				if !slices.Contains(Actions, act) {
					v.report(pp+".allow["+strconv.Itoa(k)+"]", "unknown action %q: use %s", act, strings.Join(Actions, ", "))
				}
			}
		}
	}
	return names
}

// CheckPattern reports why uri is not a valid permission pattern for the match policy ("exact",
// "prefix" or "wildcard"). With "prefix" the empty URI matches every URI.
func CheckPattern(uri, match string, strict bool) error {
	switch match {
	case "exact":
		if err := checkURI(uri, strict); err != nil {
			return fmt.Errorf("invalid URI %q: %v", uri, err)
		}
	case "prefix":
		if uri == "" {
			return nil
		}
		if err := checkURI(strings.TrimSuffix(uri, "."), strict); err != nil {
			return fmt.Errorf("invalid prefix %q: %v", uri, err)
		}
	case "wildcard":
		if uri == "" {
			return errors.New("a wildcard pattern must not be empty")
		}
		for i, comp := range strings.Split(uri, ".") {
			if comp == "" {
				continue // empty components are the wildcards
			}
			if err := checkURI(comp, strict); err != nil {
				return fmt.Errorf("invalid wildcard pattern %q: component %d: %v", uri, i+1, err)
			}
		}
	default:
		return fmt.Errorf("invalid match %q: use exact, prefix or wildcard", match)
	}
	return nil
}

func (v *checker) ticket(p string, t *TicketAuth, role func(key, name string)) {
	if len(t.Accept) == 0 {
		v.report(p+".accept", `the ticket method needs accept = [...] listing the ticket kinds: "static", "one_time", "jwt"`)
	}
	for i, k := range t.Accept {
		if k != TicketStatic && k != TicketOneTime && k != TicketJWT {
			v.report(p+".accept["+strconv.Itoa(i)+"]", "unknown ticket kind %q: use static, one_time or jwt", k)
		}
	}
	if t.Accepts(TicketStatic) && len(t.Principals) == 0 {
		v.report(p+".accept", `accept has "static" but there are no [[%s.principals]]`, p)
	}
	if !t.Accepts(TicketStatic) && len(t.Principals) > 0 {
		v.report(p+".principals", `static principals are set but accept has no "static"`)
	}
	authids := map[string]string{}
	for i := range t.Principals {
		pp := p + ".principals[" + strconv.Itoa(i) + "]"
		pr := &t.Principals[i]
		v.authid(pp, pr.AuthID, authids)
		role(pp+".role", pr.Role)
		if !pr.Secret.IsSet() {
			v.report(pp+".secret", "a static ticket principal needs a secret")
		} else if t.Accepts(TicketJWT) && strings.Count(pr.Secret.Value(), ".") == 2 {
			v.report(pp+".secret", "a static ticket must not contain exactly two dots while JWT tickets are accepted: it would be taken for a JWT")
		}
	}
	jp := p + ".jwt"
	if !t.Accepts(TicketJWT) {
		if v.has(jp) {
			v.report(jp, `JWT settings are set but accept has no "jwt"`)
		}
		return
	}
	j := &t.JWT
	switch j.Algorithm {
	case JWTHS256:
		if !j.Secret.IsSet() {
			v.report(jp+".secret", "HS256 needs the shared secret")
		} else if len(j.Secret.Value()) < minHS256Secret {
			v.report(jp+".secret", "the HS256 secret (%s) is too short: use at least %d bytes", j.Secret.Source(), minHS256Secret)
		}
		if j.PublicKey != "" {
			v.report(jp+".public_key", "HS256 uses secret, not public_key")
		}
	case JWTRS256, JWTEdDSA:
		if j.Secret.IsSet() {
			v.report(jp+".secret", "%s uses public_key, not secret", j.Algorithm)
		}
		if j.PublicKey == "" {
			v.report(jp+".public_key", "%s needs public_key: a PEM file with the public key", j.Algorithm)
		} else if key, err := LoadPublicKey(j.PublicKey, j.Algorithm); err != nil {
			v.report(jp+".public_key", "%v", err)
		} else {
			j.Key = key
		}
	case "":
		v.report(jp+".algorithm", "JWT tickets need an algorithm: HS256, RS256 or EdDSA")
	default:
		v.report(jp+".algorithm", "unsupported algorithm %q: use HS256, RS256 or EdDSA", j.Algorithm)
	}
	if j.RoleClaim == "" {
		v.report(jp+".role_claim", "must not be empty")
	}
	if j.DefaultRole != "" {
		role(jp+".default_role", j.DefaultRole)
	}
}

// LoadPublicKey reads a PEM public key ("PUBLIC KEY", PKIX) for the JWT algorithm RS256 or
// EdDSA and returns it as *rsa.PublicKey or ed25519.PublicKey.
func LoadPublicKey(path, alg string) (any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %v", path, unwrapPath(err))
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM block: expected -----BEGIN PUBLIC KEY-----", path)
	}
	var key any
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	default:
		return nil, fmt.Errorf("%s holds a %q PEM block: expected PUBLIC KEY (a private key does not belong here)", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot parse the public key in %s: %v", path, err)
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if alg != JWTRS256 {
			return nil, fmt.Errorf("%s holds an RSA key, but algorithm is %s", path, alg)
		}
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("the RSA key in %s has %d bits: use at least 2048", path, k.N.BitLen())
		}
	case ed25519.PublicKey:
		if alg != JWTEdDSA {
			return nil, fmt.Errorf("%s holds an Ed25519 key, but algorithm is %s", path, alg)
		}
	default:
		return nil, fmt.Errorf("%s holds a %T key: use RSA (RS256) or Ed25519 (EdDSA)", path, key)
	}
	return key, nil
}

// authid checks a principal's authid and that it is unique among seen (authid -> key prefix).
func (v *checker) authid(pp, authid string, seen map[string]string) {
	switch {
	case authid == "":
		v.report(pp+".authid", "a principal needs an authid")
	case seen[authid] != "":
		o := seen[authid]
		v.report(pp+".authid", "duplicate authid %q: already used by %s%s", authid, o, v.at(o+".authid"))
	default:
		seen[authid] = pp
	}
}

func (v *checker) cra(p string, c *CRAAuth, role func(key, name string)) {
	if len(c.Principals) == 0 {
		v.report(p, "wampcra needs at least one [[%s.principals]]", p)
	}
	authids := map[string]string{}
	for i := range c.Principals {
		pp := p + ".principals[" + strconv.Itoa(i) + "]"
		pr := &c.Principals[i]
		v.authid(pp, pr.AuthID, authids)
		role(pp+".role", pr.Role)
		if !pr.Secret.IsSet() {
			v.report(pp+".secret", "a WAMP-CRA principal needs a secret")
		}
		if pr.Salt != "" {
			if pr.Iterations < 1 || pr.Iterations > 10_000_000 {
				v.report(pp+".iterations", "must be 1..10000000")
			}
			if pr.KeyLen < 16 || pr.KeyLen > 512 {
				v.report(pp+".keylen", "must be 16..512 bytes")
			}
		} else if v.has(pp+".iterations") || v.has(pp+".keylen") {
			v.report(pp+".salt", "iterations and keylen only apply to salted secrets: set salt too")
		}
	}
}

func (v *checker) cryptosign(p string, c *CryptosignAuth, role func(key, name string)) {
	if len(c.Principals) == 0 {
		v.report(p, "cryptosign needs at least one [[%s.principals]]", p)
	}
	authids := map[string]string{}
	keys := map[string]string{}
	for i := range c.Principals {
		pp := p + ".principals[" + strconv.Itoa(i) + "]"
		pr := &c.Principals[i]
		v.authid(pp, pr.AuthID, authids)
		role(pp+".role", pr.Role)
		if len(pr.AuthorizedKeys) == 0 {
			v.report(pp+".authorized_keys", "list at least one Ed25519 public key (64 hex characters)")
		}
		for k, hk := range pr.AuthorizedKeys {
			kp := pp + ".authorized_keys[" + strconv.Itoa(k) + "]"
			key, err := ParseEd25519Key(hk)
			if err != nil {
				v.report(kp, "%v", err)
				continue
			}
			if o, dup := keys[string(key)]; dup {
				v.report(kp, "key is already authorized for %s: a key identifies one principal", o)
				continue
			}
			keys[string(key)] = pp
		}
	}
}

// ParseEd25519Key decodes an Ed25519 public key written as 64 hex characters.
func ParseEd25519Key(s string) (ed25519.PublicKey, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("invalid Ed25519 public key %q: use 64 hex characters (32 bytes)", s)
	}
	return ed25519.PublicKey(b), nil
}

func (v *checker) delegated(p string, d *DelegatedAuth) {
	u, err := url.Parse(d.URL)
	switch {
	case d.URL == "":
		v.report(p+".url", "delegated authentication needs the web-app's url")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		v.report(p+".url", "invalid url %q: use an absolute http:// or https:// URL", d.URL)
	case u.User != nil:
		v.report(p+".url", "the url must not contain user information: use secret instead")
	}
	for i, h := range d.Headers {
		key := p + ".headers[" + strconv.Itoa(i) + "]"
		switch {
		case h == "" || strings.IndexFunc(h, func(r rune) bool { return !isTokenChar(r) }) >= 0:
			v.report(key, "invalid header name %q", h)
		case http.CanonicalHeaderKey(h) == "Cookie":
			v.report(key, "Cookie is always forwarded: remove it from headers")
		}
	}
	if d.Timeout <= 0 {
		v.report(p+".timeout", "must be greater than 0")
	}
}
