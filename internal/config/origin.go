package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Origin is a parsed WebSocket Origin, or an allowed-origin pattern ([auth] allowed_origins).
type Origin struct {
	// Scheme is lower-case ("https"); "" for the opaque origin "null".
	Scheme string
	// Host is lower-case, IPv6 addresses without brackets. For a wildcard pattern
	// "https://*.example.com" it is the suffix "example.com".
	Host string
	// Port is explicit or the scheme's default ("80" for http and ws, "443" for https and wss);
	// "" for other schemes without a port.
	Port string
	// Wildcard marks a pattern whose host matches any subdomain of Host (one or more labels),
	// not Host itself.
	Wildcard bool
}

// Null reports whether o is the opaque origin "null" (sandboxed documents, file:// pages).
func (o Origin) Null() bool { return o.Scheme == "" && o.Host == "null" }

// String returns the origin in its normal form, e.g. "https://*.example.com:8443".
func (o Origin) String() string {
	if o.Null() {
		return "null"
	}
	h := o.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if o.Wildcard {
		h = "*." + h
	}
	if o.Port != "" && o.Port != defaultPort(o.Scheme) {
		h += ":" + o.Port
	}
	return o.Scheme + "://" + h
}

func defaultPort(scheme string) string {
	switch scheme {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	}
	return ""
}

// ParseOrigin parses an origin as browsers send it ("https://app.example.com",
// "http://localhost:3000", "null"). With pattern set it also accepts a wildcard first label
// ("https://*.example.com"). Paths, queries, user information and fragments are refused.
func ParseOrigin(s string, pattern bool) (Origin, error) {
	if s == "null" {
		return Origin{Host: "null"}, nil
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || scheme == "" {
		return Origin{}, errors.New(`must be scheme://host[:port], e.g. "https://app.example.com"`)
	}
	scheme = strings.ToLower(scheme)
	for i := 0; i < len(scheme); i++ {
		c := scheme[i]
		if !(c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return Origin{}, fmt.Errorf("invalid scheme %q", scheme)
		}
	}
	if strings.ContainsAny(rest, "/?#@ \t") {
		return Origin{}, errors.New("an origin has no path, query, fragment or user information: use scheme://host[:port]")
	}
	o := Origin{Scheme: scheme}
	host, port := rest, ""
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return Origin{}, errors.New("unterminated [IPv6 address]")
		}
		host, port = host[1:end], host[end+1:]
		if port != "" && port[0] != ':' {
			return Origin{}, fmt.Errorf("unexpected %q after the IPv6 address", port)
		}
		port = strings.TrimPrefix(port, ":")
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() {
			return Origin{}, fmt.Errorf("invalid IPv6 address %q", host)
		}
		host = a.String()
	} else {
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			host, port = host[:i], host[i+1:]
		}
		host = strings.ToLower(host)
		if pattern && strings.HasPrefix(host, "*.") {
			o.Wildcard = true
			host = host[2:]
		}
		if _, err := netip.ParseAddr(host); err != nil && !validHostname(host) {
			return Origin{}, fmt.Errorf("invalid host %q", host)
		}
		if strings.Contains(host, "*") {
			return Origin{}, errors.New(`a wildcard may only be the first label: "https://*.example.com"`)
		}
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '+' {
			return Origin{}, fmt.Errorf("invalid port %q", port)
		}
		port = strconv.Itoa(n)
	} else {
		port = defaultPort(scheme)
	}
	o.Host, o.Port = host, port
	return o, nil
}

// Matches reports whether the origin o is allowed by the pattern p.
func (p Origin) Matches(o Origin) bool {
	if p.Scheme != o.Scheme || p.Port != o.Port {
		return false
	}
	if !p.Wildcard {
		return p.Host == o.Host
	}
	return len(o.Host) > len(p.Host)+1 && strings.HasSuffix(o.Host, p.Host) && o.Host[len(o.Host)-len(p.Host)-1] == '.'
}
