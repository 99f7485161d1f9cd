package transport

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gobwas/ws"

	"github.com/gateway-dev/gateway/wamp/codec"
)

// serveHTTP is the handler of the internal http.Server.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	pc, _ := r.Context().Value(connCtxKey{}).(*prefixConn)
	if pc != nil && pc.tls != nil && r.TLS == nil {
		// net/http cannot see the TLS connection under our peek wrapper: restore r.TLS.
		r = r.WithContext(r.Context())
		r.TLS = pc.tls
	}
	if r.URL.Path != s.cfg.WebSocketPath {
		if s.cfg.HTTPHandler != nil {
			s.cfg.HTTPHandler.ServeHTTP(w, r)
			return
		}
		writeJSONError(w, http.StatusNotFound, "not_found", "no resource at "+r.URL.Path)
		return
	}
	s.upgrade(w, r, pc)
}

// upgrade performs a WebSocket handshake. Everything is validated before the connection is
// hijacked, so every refusal is a regular HTTP response with a JSON body.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request, pc *prefixConn) {
	ser, status, code, msg := s.checkUpgrade(r)
	if status != 0 {
		s.stats.handshakeFailures.Add(1)
		s.log.Debug("transport: websocket handshake refused", "remote", r.RemoteAddr, "status", status, "reason", msg)
		if status == http.StatusUpgradeRequired {
			w.Header().Set("Sec-WebSocket-Version", "13")
		}
		if status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodGet)
		}
		writeJSONError(w, status, code, msg)
		return
	}
	if s.isClosing() {
		writeJSONError(w, http.StatusServiceUnavailable, "shutting_down", "the server is shutting down")
		return
	}
	proto := ser.Subprotocol()
	u := ws.HTTPUpgrader{
		Timeout:  s.cfg.HandshakeTimeout,
		Protocol: func(p string) bool { return p == proto },
	}
	var attach any
	if s.cfg.OnUpgrade != nil {
		hdr, a, err := s.cfg.OnUpgrade(r)
		if err != nil {
			s.stats.handshakeFailures.Add(1)
			s.log.Debug("transport: websocket upgrade refused", "remote", r.RemoteAddr, "err", err)
			writeJSONError(w, http.StatusForbidden, "forbidden", err.Error())
			return
		}
		u.Header, attach = hdr, a
	}
	nc, rw, hs, err := u.Upgrade(r, w)
	if err == nil && hs.Protocol != proto {
		err = errNoProtocol // cannot happen after checkUpgrade; never leave a 101 without a protocol
	}
	if err != nil {
		s.stats.handshakeFailures.Add(1)
		s.log.Debug("transport: websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		if nc != nil {
			_ = nc.Close()
		}
		return
	}
	tlsOn := pc != nil && pc.tls != nil
	if p, ok := nc.(*prefixConn); ok && !p.hasFirst {
		nc = p.Conn // the peeked byte is long consumed: drop the wrapper
	}
	c := s.newConn(nc, kindWebSocket, ser, tlsOn)
	c.info.Header = r.Header
	c.info.Path = r.URL.Path
	c.info.Upgrade = attach
	if n := rw.Reader.Buffered(); n > 0 {
		// Frames the client sent right behind its request: read them before the socket.
		b, _ := rw.Reader.Peek(n)
		c.pre = bytes.Clone(b)
	}
	if !s.registerWS(c) {
		_ = nc.Close()
		return
	}
	// A fresh goroutine (with a small stack) reads, so that this handler returns and net/http
	// releases the request's buffers.
	go c.run()
}

var errNoProtocol = ws.RejectConnectionError(ws.RejectionStatus(http.StatusBadRequest))

// checkUpgrade validates a WebSocket upgrade request (RFC 6455 section 4.2.1) and chooses the
// serializer: the first of ours, in server order, that the client offers. A non-zero status means
// the request is refused with that status, error code and message.
func (s *Server) checkUpgrade(r *http.Request) (ser codec.Serializer, status int, code, msg string) {
	switch {
	case r.Method != http.MethodGet:
		return nil, http.StatusMethodNotAllowed, "method_not_allowed", "a WebSocket handshake must be a GET request"
	case !r.ProtoAtLeast(1, 1):
		return nil, http.StatusBadRequest, "bad_handshake", "a WebSocket handshake needs HTTP/1.1"
	case !headerHasToken(r.Header, "Upgrade", "websocket"):
		return nil, http.StatusUpgradeRequired, "upgrade_required",
			"this endpoint only accepts WebSocket connections (Upgrade: websocket)"
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		return nil, http.StatusBadRequest, "bad_handshake", "missing Connection: Upgrade"
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return nil, http.StatusUpgradeRequired, "unsupported_version", "only WebSocket version 13 is supported"
	case !validKey(r.Header.Get("Sec-WebSocket-Key")):
		return nil, http.StatusBadRequest, "bad_handshake", "missing or malformed Sec-WebSocket-Key"
	}
	offered := r.Header.Values("Sec-WebSocket-Protocol")
	for _, x := range s.cfg.Serializers {
		if hasToken(offered, x.Subprotocol(), false) {
			return x, 0, "", ""
		}
	}
	return nil, http.StatusBadRequest, "unsupported_subprotocol",
		"no supported WAMP subprotocol offered in Sec-WebSocket-Protocol; this server speaks " + s.subprotocolList()
}

func (s *Server) subprotocolList() string {
	names := make([]string, len(s.cfg.Serializers))
	for i, x := range s.cfg.Serializers {
		names[i] = x.Subprotocol()
	}
	return strings.Join(names, ", ")
}

// validKey reports whether k is the base64 encoding of 16 bytes.
func validKey(k string) bool {
	if len(k) != 24 {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(k)
	return err == nil && len(b) == 16
}

func headerHasToken(h http.Header, name, token string) bool {
	return hasToken(h.Values(name), token, true)
}

// hasToken reports whether one of the comma-separated lists in values contains token.
func hasToken(values []string, token string, fold bool) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimSpace(t)
			if t == token || fold && strings.EqualFold(t, token) {
				return true
			}
		}
	}
	return false
}

// writeJSONError writes an error response with the body {"error": code, "message": msg}.
func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{code, msg})
}
