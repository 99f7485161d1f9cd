package transport

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/gateway-dev/gateway/internal/peer"
	"github.com/gateway-dev/gateway/wamp/codec"
)

func TestWebSocketSubprotocolServerOrder(t *testing.T) {
	ts := startServer(t, Config{Serializers: []codec.Serializer{serJSON, serMsgPack}}, nil)
	cases := []struct {
		offer []string
		want  string
		op    ws.OpCode
	}{
		{
			offer: []string{"wamp.2.cbor", "wamp.2.msgpack", "wamp.2.json"},
			want:  "wamp.2.json",
			op:    ws.OpText,
		},
		{
			offer: []string{"wamp.2.msgpack"},
			want:  "wamp.2.msgpack",
			op:    ws.OpBinary,
		},
	}
	for _, tc := range cases {
		c, hs := dialWS(t, ts.addr, tc.offer...)
		if hs.Protocol != tc.want {
			t.Fatalf("offer %v: negotiated %q, want %q", tc.offer, hs.Protocol, tc.want)
		}
		sess := ts.acc.next(t)
		if got := sess.conn.Serializer().Subprotocol(); got != tc.want {
			t.Errorf("Conn.Serializer() = %q, want %q", got, tc.want)
		}
		info := sess.conn.Info()
		if info.Transport != "websocket" || info.Network != "tcp" || info.Path != "/ws" || info.TLS ||
			info.RemoteAddr.String() != c.LocalAddr().String() || info.Header.Get("Sec-WebSocket-Protocol") == "" {
			t.Errorf("unexpected Info %+v", info)
		}
		writeFrame(t, c, true, tc.op, []byte(`["hello"]`))
		op, p := readData(t, c)
		if op != tc.op || string(p) != `["hello"]` {
			t.Errorf("echo: got opcode %v %q", op, p)
		}
	}
}

// handshakeRequest sends a hand-written upgrade request and returns the response.
func handshakeRequest(t *testing.T, addr string, mutate func(r *http.Request)) (*http.Response, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/ws", nil)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	mutate(req)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := req.Write(c); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	resp, err := http.ReadResponse(bufioReader(c), req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if resp.StatusCode != http.StatusSwitchingProtocols {
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("status %d: body is not JSON: %v", resp.StatusCode, err)
		}
	}
	return resp, body
}

func TestWebSocketHandshakeRefused(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	cases := []struct {
		name   string
		mutate func(r *http.Request)
		status int
		code   string
	}{
		{
			name:   "no subprotocol",
			mutate: func(r *http.Request) {},
			status: http.StatusBadRequest,
			code:   "unsupported_subprotocol",
		},
		{
			name:   "unknown subprotocol",
			mutate: func(r *http.Request) { r.Header.Set("Sec-WebSocket-Protocol", "wamp.2.flatbuffers") },
			status: http.StatusBadRequest,
			code:   "unsupported_subprotocol",
		},
		{
			name: "wrong version",
			mutate: func(r *http.Request) {
				r.Header.Set("Sec-WebSocket-Protocol", "wamp.2.json")
				r.Header.Set("Sec-WebSocket-Version", "8")
			},
			status: http.StatusUpgradeRequired,
			code:   "unsupported_version",
		},
		{
			name: "bad key",
			mutate: func(r *http.Request) {
				r.Header.Set("Sec-WebSocket-Protocol", "wamp.2.json")
				r.Header.Set("Sec-WebSocket-Key", "short")
			},
			status: http.StatusBadRequest,
			code:   "bad_handshake",
		},
		{
			name: "POST",
			mutate: func(r *http.Request) {
				r.Method = http.MethodPost
				r.Header.Set("Sec-WebSocket-Protocol", "wamp.2.json")
			},
			status: http.StatusMethodNotAllowed,
			code:   "method_not_allowed",
		},
		{
			name: "plain GET",
			mutate: func(r *http.Request) {
				r.Header.Del("Upgrade")
				r.Header.Del("Connection")
			},
			status: http.StatusUpgradeRequired,
			code:   "upgrade_required",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := handshakeRequest(t, ts.addr, tc.mutate)
			if resp.StatusCode != tc.status || body["error"] != tc.code || body["message"] == "" {
				t.Errorf("got %d %v, want %d with error %q", resp.StatusCode, body, tc.status, tc.code)
			}
			if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != "" {
				t.Errorf("refusal carries a subprotocol %q", p)
			}
		})
	}
	if got := ts.Stats().HandshakeFailures; got != uint64(len(cases)) {
		t.Errorf("HandshakeFailures = %d, want %d", got, len(cases))
	}
	if body := mustHandshakeBody(t, ts.addr); !strings.Contains(body, "wamp.2.json, wamp.2.msgpack") {
		t.Errorf("subprotocol refusal does not name the supported subprotocols: %s", body)
	}
}

func mustHandshakeBody(t *testing.T, addr string) string {
	_, body := handshakeRequest(t, addr, func(r *http.Request) { r.Header.Set("Sec-WebSocket-Protocol", "mqtt") })
	return body["message"]
}

func TestWebSocketResponseHeader(t *testing.T) {
	ts := startServer(t, Config{OnUpgrade: func(r *http.Request) (http.Header, any, error) {
		return http.Header{"Set-Cookie": {"cbtid=" + r.URL.Query().Get("x")}}, nil, nil
	}}, nil)
	var cookie string
	d := ws.Dialer{OnHeader: func(k, v []byte) error {
		if strings.EqualFold(string(k), "Set-Cookie") {
			cookie = string(v)
		}
		return nil
	}}
	dialWSWith(t, d, "ws://"+ts.addr+"/ws?x=abc", "wamp.2.json")
	if cookie != "cbtid=abc" {
		t.Errorf("Set-Cookie = %q", cookie)
	}
}

func TestWebSocketUpgradeRefusedByHook(t *testing.T) {
	ts := startServer(t, Config{OnUpgrade: func(r *http.Request) (http.Header, any, error) {
		return nil, nil, errors.New("origin https://evil.example is not allowed")
	}}, nil)
	resp, body := handshakeRequest(t, ts.addr, func(r *http.Request) { r.Header.Set("Sec-WebSocket-Protocol", "wamp.2.json") })
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body["message"], "evil.example") {
		t.Fatalf("refused upgrade: %d %v", resp.StatusCode, body)
	}
}

func TestWebSocketProtocolViolations(t *testing.T) {
	cases := []struct {
		name  string
		frame []byte
		code  ws.StatusCode
	}{
		{
			name:  "unmasked frame",
			frame: clientFrame(true, ws.OpText, []byte("[]"), false),
			code:  ws.StatusProtocolError,
		},
		{
			name:  "reserved bits",
			frame: setByte0(clientFrame(true, ws.OpText, []byte("[]"), true), 0x40),
			code:  ws.StatusProtocolError,
		},
		{
			name:  "reserved opcode",
			frame: clientFrame(true, ws.OpCode(0x3), []byte("[]"), true),
			code:  ws.StatusProtocolError,
		},
		{
			name:  "continuation without start",
			frame: clientFrame(true, ws.OpContinuation, []byte("[]"), true),
			code:  ws.StatusProtocolError,
		},
		{
			name:  "fragmented ping",
			frame: clientFrame(false, ws.OpPing, nil, true),
			code:  ws.StatusProtocolError,
		},
		{
			name:  "invalid UTF-8 text",
			frame: clientFrame(true, ws.OpText, []byte{'[', 0xff, 0xfe, ']'}, true),
			code:  ws.StatusInvalidFramePayloadData,
		},
		{
			name:  "close with 1-byte body",
			frame: clientFrame(true, ws.OpClose, []byte{3}, true),
			code:  ws.StatusProtocolError,
		},
		{
			name:  "close reason not UTF-8",
			frame: clientFrame(true, ws.OpClose, []byte{0x03, 0xE8, 0xff}, true),
			code:  ws.StatusInvalidFramePayloadData,
		},
		{
			name:  "close with reserved code",
			frame: clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(1005, ""), true),
			code:  ws.StatusProtocolError,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, Config{}, nil)
			c, _ := dialWS(t, ts.addr, "wamp.2.json")
			sess := ts.acc.next(t)
			if _, err := c.Write(tc.frame); err != nil {
				t.Fatal(err)
			}
			code, _ := expectClose(t, c)
			if code != tc.code {
				t.Errorf("close code %d, want %d", code, tc.code)
			}
			if err := sess.waitClosed(t); !errors.Is(err, ErrProtocol) {
				t.Errorf("Session.Closed(%v), want ErrProtocol", err)
			}
			if n := ts.Stats().ProtocolErrors; n != 1 {
				t.Errorf("ProtocolErrors = %d", n)
			}
			if err := sess.conn.Send([]byte("x")); !errors.Is(err, peer.ErrClosed) {
				t.Errorf("Send after close = %v, want ErrClosed", err)
			}
			expectEOF(t, c)
		})
	}
}

func setByte0(f []byte, bits byte) []byte {
	f[0] |= bits
	return f
}

func TestWebSocketOversizeHeader(t *testing.T) {
	ts := startServer(t, Config{MaxMessageSize: 1 << 20}, nil)
	c, _ := dialWS(t, ts.addr, "wamp.2.msgpack")
	sess := ts.acc.next(t)
	// A 64 MiB binary frame header and no payload: the server must refuse it from the header alone.
	var hdr bytes.Buffer
	_ = ws.WriteHeader(&hdr, ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 64 << 20, Masked: true, Mask: ws.NewMask()})
	if _, err := c.Write(hdr.Bytes()); err != nil {
		t.Fatal(err)
	}
	code, reason := expectClose(t, c)
	if code != ws.StatusMessageTooBig || reason != "message too big" {
		t.Errorf("close %d %q, want 1009 \"message too big\"", code, reason)
	}
	if err := sess.waitClosed(t); !errors.Is(err, ErrMessageTooBig) {
		t.Errorf("Session.Closed(%v), want ErrMessageTooBig", err)
	}
	if n := ts.Stats().TooBig; n != 1 {
		t.Errorf("TooBig = %d", n)
	}
}

func TestWebSocketFragmentsOverLimit(t *testing.T) {
	ts := startServer(t, Config{MaxMessageSize: 1024}, nil)
	c, _ := dialWS(t, ts.addr, "wamp.2.msgpack")
	sess := ts.acc.next(t)
	writeFrame(t, c, false, ws.OpBinary, make([]byte, 1000))
	writeFrame(t, c, true, ws.OpContinuation, make([]byte, 100))
	if code, _ := expectClose(t, c); code != ws.StatusMessageTooBig {
		t.Errorf("close code %d, want 1009", code)
	}
	select {
	case m := <-sess.msgs:
		t.Errorf("a message over the limit was delivered (%d bytes)", len(m))
	default:
	}
	sess.waitClosed(t)
}

func TestWebSocketFragmentsAndControlFrames(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	c, _ := dialWS(t, ts.addr, "wamp.2.json")
	ts.acc.next(t)
	// "é" split across two fragments is valid once reassembled; a ping in between is answered.
	writeFrame(t, c, false, ws.OpText, []byte("[\"h\xc3"))
	writeFrame(t, c, true, ws.OpPing, []byte("p1"))
	writeFrame(t, c, false, ws.OpContinuation, []byte("\xa9l"))
	writeFrame(t, c, true, ws.OpContinuation, []byte("lo\"]"))
	h, p := readFrame(t, c)
	if h.OpCode != ws.OpPong || string(p) != "p1" {
		t.Fatalf("got %v %q, want pong \"p1\"", h.OpCode, p)
	}
	op, p := readData(t, c)
	if op != ws.OpText || string(p) != `["héllo"]` {
		t.Errorf("got %v %q", op, p)
	}
	// Large fragmented message: more than the pooled buffer.
	big := bytes.Repeat([]byte("a"), 100<<10)
	writeFrame(t, c, false, ws.OpText, big[:3000])
	writeFrame(t, c, true, ws.OpContinuation, big[3000:])
	if _, p := readData(t, c); !bytes.Equal(p, big) {
		t.Errorf("large fragmented message: got %d bytes", len(p))
	}
}

func TestWebSocketCloseByPeer(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	c, _ := dialWS(t, ts.addr, "wamp.2.json")
	sess := ts.acc.next(t)
	writeFrame(t, c, true, ws.OpClose, ws.NewCloseFrameBody(ws.StatusGoingAway, "bye"))
	if code, _ := expectClose(t, c); code != ws.StatusGoingAway {
		t.Errorf("echoed close code %d, want 1001", code)
	}
	expectEOF(t, c)
	if err := sess.waitClosed(t); err != nil {
		t.Errorf("Session.Closed(%v), want nil", err)
	}
}

func TestWebSocketCloseByRouter(t *testing.T) {
	ts := startServer(t, Config{}, newAcceptor(false))
	c, _ := dialWS(t, ts.addr, "wamp.2.json")
	sess := ts.acc.next(t)
	for i := range 3 {
		if err := sess.conn.Send(fmt.Appendf(nil, "[%d]", i)); err != nil {
			t.Fatal(err)
		}
	}
	sess.conn.Close(peer.CloseGoingAway, "server shutdown")
	if err := sess.conn.Send([]byte("[]")); !errors.Is(err, peer.ErrClosed) {
		t.Errorf("Send after Close = %v", err)
	}
	for i := range 3 {
		if _, p := readData(t, c); string(p) != fmt.Sprintf("[%d]", i) {
			t.Errorf("message %d: %q", i, p)
		}
	}
	code, reason := expectClose(t, c)
	if code != ws.StatusGoingAway || reason != "server shutdown" {
		t.Errorf("close %d %q", code, reason)
	}
	writeFrame(t, c, true, ws.OpClose, ws.NewCloseFrameBody(ws.StatusGoingAway, ""))
	expectEOF(t, c)
	if err := sess.waitClosed(t); err != nil {
		t.Errorf("Session.Closed(%v), want nil", err)
	}
}

func TestWebSocketCloseCodes(t *testing.T) {
	cases := []struct {
		code   peer.CloseCode
		reason string
		want   ws.StatusCode
		text   string
	}{
		{code: peer.CloseNormal, want: 1000},
		{code: peer.CloseProtocolError, reason: "x", want: 1002, text: "x"},
		{code: peer.ClosePolicy, want: 1008},
		{code: peer.CloseTooBig, want: 1009},
		{code: peer.CloseSlowConsumer, want: 1008, text: "slow consumer"},
		{code: peer.CloseNormal, reason: strings.Repeat("é", 100), want: 1000, text: strings.Repeat("é", 61)},
	}
	ts := startServer(t, Config{}, nil)
	for _, tc := range cases {
		c, _ := dialWS(t, ts.addr, "wamp.2.json")
		sess := ts.acc.next(t)
		sess.conn.Close(tc.code, tc.reason)
		if code, text := expectClose(t, c); code != tc.want || text != tc.text {
			t.Errorf("Close(%d, %q): got %d %q, want %d %q", tc.code, tc.reason, code, text, tc.want, tc.text)
		}
	}
}

func TestWebSocketCloseWithoutEcho(t *testing.T) {
	ts := startServer(t, Config{WriteTimeout: 200 * time.Millisecond}, nil)
	c, _ := dialWS(t, ts.addr, "wamp.2.json")
	sess := ts.acc.next(t)
	start := time.Now()
	sess.conn.Close(peer.CloseNormal, "")
	expectClose(t, c)
	expectEOF(t, c) // the peer never answers: the socket is closed after the grace period
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("close took %v", d)
	}
	sess.waitClosed(t)
}

func TestWebSocketBytesAfterRequest(t *testing.T) {
	// The client sends its first frame in the same packet as the upgrade request.
	ts := startServer(t, Config{}, nil)
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Sec-WebSocket-Protocol: wamp.2.json\r\n\r\n"
	payload := append([]byte(req), clientFrame(true, ws.OpText, []byte(`["early"]`), true)...)
	if _, err := c.Write(payload); err != nil {
		t.Fatal(err)
	}
	br := bufioReader(c)
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Protocol") != "wamp.2.json" {
		t.Fatalf("response %d %v", resp.StatusCode, resp.Header)
	}
	h, err := ws.ReadHeader(br)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(br, p); err != nil || string(p) != `["early"]` {
		t.Errorf("echo %q %v", p, err)
	}
}

func TestWebSocketRefusedByAcceptor(t *testing.T) {
	acc := newAcceptor(true)
	acc.refuse = true
	ts := startServer(t, Config{}, acc)
	c, _ := dialWS(t, ts.addr, "wamp.2.json")
	if code, _ := expectClose(t, c); code != ws.StatusPolicyViolation {
		t.Errorf("close code %d, want 1008", code)
	}
	writeFrame(t, c, true, ws.OpClose, nil)
	expectEOF(t, c)
	waitFor(t, "connection cleanup", func() bool { return ts.Stats().WebSocketOpen == 0 })
}

func TestWebSocketBinaryLengths(t *testing.T) {
	// 16-bit and 64-bit server frame lengths round-trip.
	ts := startServer(t, Config{}, nil)
	c, _ := dialWS(t, ts.addr, "wamp.2.msgpack")
	ts.acc.next(t)
	for _, n := range []int{0, 125, 126, 65535, 65536, 200000} {
		m := make([]byte, n)
		if n >= 8 {
			binary.BigEndian.PutUint64(m, uint64(n))
		}
		writeFrame(t, c, true, ws.OpBinary, m)
		if op, p := readData(t, c); op != ws.OpBinary || !bytes.Equal(p, m) {
			t.Errorf("length %d: got opcode %v, %d bytes", n, op, len(p))
		}
	}
}
