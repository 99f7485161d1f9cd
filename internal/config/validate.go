package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"unicode"
)

// maxUnixPath is the longest Unix socket path Linux accepts (sun_path is 108 bytes, NUL included).
const maxUnixPath = 107

// checker validates a decoded Config, naming the line of the key each problem concerns.
type checker struct {
	errs  *errorList
	lines map[string]int
	bad   map[string]bool // keys that failed to decode: related checks are skipped
}

// validate appends every rule violation in c to errs. bad lists keys whose values could not be
// decoded; checks about those keys, their parents or children are skipped (they would only
// repeat the decoding error).
func (c *Config) validate(errs *errorList, bad map[string]bool) {
	v := &checker{errs: errs, lines: c.lines, bad: bad}
	v.server(&c.Server)
	v.listeners(c.Listeners)
	v.limits(&c.Limits)
	v.realms(c.Realms, &c.ClientToken)
	v.store(&c.Store)
	v.persist(&c.Store)
	v.clientToken(&c.ClientToken)
	v.auth(&c.Auth)
	v.webapp(&c.Webapp, c.Realms, c.Listeners)
}

// has reports whether key was present in the file.
func (v *checker) has(key string) bool {
	_, ok := v.lines[key]
	return ok
}

// line returns the line of key, or of its nearest parent present in the file.
func (v *checker) line(key string) int {
	for key != "" {
		if l, ok := v.lines[key]; ok {
			return l
		}
		key = parentKey(key)
	}
	return 0
}

// parentKey strips the last ".name" or "[index]" from a key path.
func parentKey(key string) string {
	i := strings.LastIndexAny(key, ".[")
	if i < 0 {
		return ""
	}
	return key[:i]
}

// failed reports whether key, one of its parents or one of its children failed to decode.
func (v *checker) failed(key string) bool {
	for b := range v.bad {
		if b == key || isUnder(b, key) || isUnder(key, b) {
			return true
		}
	}
	return false
}

func isUnder(key, parent string) bool {
	return strings.HasPrefix(key, parent) && len(key) > len(parent) && (key[len(parent)] == '.' || key[len(parent)] == '[')
}

func (v *checker) report(key, format string, args ...any) {
	if v.failed(key) {
		return
	}
	v.errs.add(v.line(key), key, fmt.Sprintf(format, args...))
}

func (v *checker) server(s *Server) {
	if s.LogFormat != "text" && s.LogFormat != "json" {
		v.report("server.log_format", "invalid log format %q: use text or json", s.LogFormat)
	}
	if s.DebugAddress != "" {
		if _, _, err := net.SplitHostPort(s.DebugAddress); err != nil {
			v.report("server.debug_address", "invalid address %q: use host:port", s.DebugAddress)
		}
	}
}

// tcpAddr is a parsed listener address, for finding conflicts.
type tcpAddr struct {
	host, port, key string
}

func (v *checker) listeners(ls []Listener) {
	if len(ls) == 0 {
		v.report("listeners", "at least one listener is required")
		return
	}
	var tcp []tcpAddr
	unix := map[string]string{} // path -> key of the listener that uses it
	for i := range ls {
		l := &ls[i]
		p := "listeners[" + strconv.Itoa(i) + "]"
		switch {
		case l.Address != "" && l.Unix != "":
			v.report(p+".unix", "set either address or unix, not both")
		case l.Address == "" && l.Unix == "":
			v.report(p, `one of address (TCP "host:port") or unix (socket path) is required`)
		case l.Address != "":
			if err := checkAddress(l.Address); err != nil {
				v.report(p+".address", "%v", err)
				break
			}
			host, port, _ := net.SplitHostPort(l.Address)
			a := tcpAddr{strings.ToLower(host), port, p + ".address"}
			for _, o := range tcp {
				if a.conflicts(o) {
					v.report(a.key, "address %q is already used by %s%s", l.Address, parentKey(o.key), v.at(o.key))
					break
				}
			}
			tcp = append(tcp, a)
		default:
			if len(l.Unix) > maxUnixPath {
				v.report(p+".unix", "socket path %q is too long (%d bytes, at most %d)", l.Unix, len(l.Unix), maxUnixPath)
			} else if o, dup := unix[l.Unix]; dup {
				v.report(p+".unix", "socket %q is already used by %s%s", l.Unix, parentKey(o), v.at(o))
			}
			unix[l.Unix] = p + ".unix"
		}
		if l.UnixMode != 0 && l.Unix == "" {
			v.report(p+".unix_mode", "unix_mode only applies to unix socket listeners")
		}
		if err := checkWebSocketPath(l.WebSocketPath); err != nil {
			v.report(p+".websocket_path", "invalid path %q: %v", l.WebSocketPath, err)
		}
		v.tls(p, l)
	}
}

// at returns " (line N)" for a key present in the file, or "".
func (v *checker) at(key string) string {
	if l, ok := v.lines[key]; ok {
		return fmt.Sprintf(" (line %d)", l)
	}
	return ""
}

// conflicts reports whether two TCP listeners would bind the same port on overlapping hosts.
// Port 0 (any free port) never conflicts.
func (a tcpAddr) conflicts(b tcpAddr) bool {
	if a.port != b.port || a.port == "0" {
		return false
	}
	return a.host == b.host || isWildcard(a.host) || isWildcard(b.host)
}

func isWildcard(host string) bool { return host == "" || host == "0.0.0.0" || host == "::" }

// checkAddress checks a TCP "host:port" listen address.
func checkAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf(`invalid address %q: use host:port, e.g. "127.0.0.1:8080", "[::1]:8080" or ":8080"`, addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 || port[0] == '+' {
		return fmt.Errorf("invalid port %q in address %q: use a number 0..65535 (0 picks a free port)", port, addr)
	}
	if host == "" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if !validHostname(host) {
		return fmt.Errorf("invalid host %q in address %q: use an IP address or a host name", host, addr)
	}
	return nil
}

// validHostname checks DNS name syntax: dot-separated labels of letters, digits and hyphens.
func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// checkWebSocketPath checks the HTTP path WebSocket clients connect to.
func checkWebSocketPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return errors.New(`must start with "/", e.g. "/ws"`)
	}
	for _, r := range p {
		switch {
		case r == '?' || r == '#':
			return fmt.Errorf("must not contain %q", r)
		case unicode.IsSpace(r) || unicode.IsControl(r):
			return errors.New("must not contain whitespace or control characters")
		}
	}
	return nil
}

// tls checks that TLS files come in pairs, exist, and form a valid certificate and key.
func (v *checker) tls(p string, l *Listener) {
	certKey, keyKey := p+".tls_cert", p+".tls_key"
	switch {
	case l.TLSCert == "" && l.TLSKey == "":
		return
	case l.TLSKey == "":
		v.report(certKey, "tls_key must be set too: tls_cert and tls_key go together")
		return
	case l.TLSCert == "":
		v.report(keyKey, "tls_cert must be set too: tls_cert and tls_key go together")
		return
	}
	ok := true
	for _, f := range []struct{ key, path string }{{certKey, l.TLSCert}, {keyKey, l.TLSKey}} {
		fi, err := os.Stat(f.path)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			v.report(f.key, "cannot read %s: %v", f.path, err)
			ok = false
		} else if !fi.Mode().IsRegular() {
			v.report(f.key, "%s is not a regular file", f.path)
			ok = false
		}
	}
	if !ok {
		return
	}
	if _, err := tls.LoadX509KeyPair(l.TLSCert, l.TLSKey); err != nil {
		v.report(certKey, "cannot load the TLS certificate %s with key %s: %v", l.TLSCert, l.TLSKey, err)
	}
}

func (v *checker) limits(l *Limits) {
	sizeOK := true
	if l.MaxMessageSize < MessageSizeMin || l.MaxMessageSize > MessageSizeMax {
		sizeOK = false
		v.report("limits.max_message_size", "%s is out of range: use %s..%s (RawSocket cannot announce more than %s)",
			formatSize(l.MaxMessageSize), formatSize(MessageSizeMin), formatSize(MessageSizeMax), formatSize(MessageSizeMax))
	}
	for _, d := range []struct {
		key string
		val int64
	}{
		{"limits.handshake_timeout", int64(l.HandshakeTimeout)},
		{"limits.hello_timeout", int64(l.HelloTimeout)},
		{"limits.write_timeout", int64(l.WriteTimeout)},
	} {
		if d.val <= 0 {
			v.report(d.key, "must be greater than 0")
		}
	}
	if l.PingInterval > 0 && l.PingTimeout <= 0 {
		v.report("limits.ping_timeout", "must be greater than 0 when ping_interval is set (ping_interval = 0 disables pings)")
	}
	if sizeOK && !v.failed("limits.max_message_size") && l.MaxQueueBytes < l.MaxMessageSize {
		key := "limits.max_queue_bytes"
		if !v.has(key) {
			key = "limits.max_message_size"
		}
		v.report(key, "max_queue_bytes (%s) must be at least max_message_size (%s)",
			formatSize(l.MaxQueueBytes), formatSize(l.MaxMessageSize))
	}
}

func (v *checker) realms(rs []Realm, tokens *ClientToken) {
	if len(rs) == 0 {
		v.report("realms", "at least one realm is required")
		return
	}
	seen := map[string]string{} // name -> key of the first realm with it
	for i := range rs {
		r := &rs[i]
		p := "realms[" + strconv.Itoa(i) + "]"
		key := p + ".name"
		v.realmAuth(p, r, tokens)
		v.eventClasses(p, r)
		if r.MaxSessions < 0 {
			v.report(p+".max_sessions", "must be 0 (unlimited) or more")
		}
		if r.Name == "" {
			if v.has(key) {
				v.report(key, "must not be empty")
			} else {
				v.report(p, "name is required")
			}
			continue
		}
		if err := checkURI(r.Name, r.StrictURIs); err != nil {
			rules := "loose"
			if r.StrictURIs {
				rules = "strict"
			}
			v.report(key, "invalid realm name %q: not a valid WAMP URI (%s rules): %v", r.Name, rules, err)
		} else if first, _, _ := strings.Cut(r.Name, "."); first == "wamp" {
			v.report(key, "invalid realm name %q: URIs starting with \"wamp.\" are reserved by the WAMP spec", r.Name)
		}
		if o, dup := seen[r.Name]; dup {
			v.report(key, "duplicate realm name %q: already used by %s%s", r.Name, parentKey(o), v.at(o))
			continue
		}
		seen[r.Name] = key
	}
}
