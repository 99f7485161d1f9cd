package transport

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"

	"github.com/gobwas/ws"

	"github.com/gateway-dev/gateway/internal/peer"
	"github.com/gateway-dev/gateway/wamp/codec"
)

const fuzzMaxMessage = 1024

// limitSession records inbound messages and flags any over the limit.
type limitSession struct {
	mu      sync.Mutex
	limit   int
	bad     []string
	msgs    int
	nclosed int
}

func (s *limitSession) Receive(msg []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs++
	if len(msg) > s.limit {
		s.bad = append(s.bad, fmt.Sprintf("delivered %d bytes, limit %d", len(msg), s.limit))
	}
}

func (s *limitSession) Closed(error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nclosed++
}

type limitAcceptor struct{ sess *limitSession }

func (a limitAcceptor) Accept(peer.Conn) peer.Session { return a.sess }

func fuzzServer(sess *limitSession) *Server {
	return New(Config{
		Serializers:    []codec.Serializer{serJSON, serMsgPack},
		MaxMessageSize: fuzzMaxMessage,
		PingInterval:   -1,
		Logger:         testLogger(),
	}, limitAcceptor{sess})
}

func (s *limitSession) check(t *testing.T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.bad {
		t.Error(b)
	}
	if s.nclosed != 1 {
		t.Errorf("Session.Closed called %d times", s.nclosed)
	}
}

// checkServerFrames verifies that out is a sequence of well-formed, unmasked server frames, with
// nothing after a close frame.
func checkServerFrames(t *testing.T, out []byte) {
	r := bytes.NewReader(out)
	for r.Len() > 0 {
		h, err := ws.ReadHeader(r)
		if err != nil {
			t.Fatalf("server wrote a malformed frame header: %v", err)
		}
		if h.Masked || h.Rsv != 0 || !h.Fin || h.Length > int64(r.Len()) {
			t.Fatalf("server wrote a bad frame %+v", h)
		}
		_, _ = r.Seek(h.Length, 1)
		if h.OpCode == ws.OpClose && r.Len() > 0 {
			t.Fatalf("server wrote %d bytes after its close frame", r.Len())
		}
	}
}

func wsSeed(frames ...[]byte) []byte { return bytes.Join(frames, nil) }

func FuzzWebSocketFrames(f *testing.F) {
	f.Add(wsSeed(clientFrame(true, ws.OpText, []byte(`[1,"realm1",{}]`), true)))
	f.Add(wsSeed(clientFrame(true, ws.OpText, []byte("x"), false)))
	f.Add(wsSeed(clientFrame(false, ws.OpText, []byte("ab"), true), clientFrame(true, ws.OpPing, []byte("p"), true),
		clientFrame(true, ws.OpContinuation, []byte("cd"), true)))
	f.Add(wsSeed(clientFrame(false, ws.OpBinary, make([]byte, 1000), true), clientFrame(true, ws.OpContinuation, make([]byte, 100), true)))
	f.Add(wsSeed(clientFrame(true, ws.OpText, []byte{0xff}, true)))
	f.Add(wsSeed(clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(1000, "bye"), true), clientFrame(true, ws.OpText, []byte("after"), true)))
	f.Add(wsSeed(clientFrame(true, ws.OpClose, []byte{1}, true)))
	f.Add([]byte{0x82, 0xFF, 0, 0, 0, 0, 4, 0, 0, 0, 1, 2, 3, 4})    // 64 MiB header
	f.Add([]byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}) // length MSB set
	f.Add([]byte{0x82, 0xFE, 0x04, 0x00, 1, 2, 3, 4})                // 1024 bytes declared, none sent
	f.Add(wsSeed(clientFrame(true, ws.OpCode(0xB), nil, true)))
	f.Add(wsSeed(clientFrame(true, ws.OpPing, bytes.Repeat([]byte("x"), 126), true)))
	f.Fuzz(func(t *testing.T, data []byte) {
		sess := &limitSession{limit: fuzzMaxMessage}
		s := fuzzServer(sess)
		nc := newMemConn(data)
		c := s.newConn(nc, kindWebSocket, serJSON, false)
		if !s.registerWS(c) {
			t.Fatal("register refused")
		}
		c.run()
		s.wg.Wait()
		sess.check(t)
		checkServerFrames(t, nc.output())
	})
}

func rawSeed(hs [4]byte, frames ...[]byte) []byte {
	return append(hs[1:], bytes.Join(frames, nil)...) // the fuzz target supplies the 0x7F
}

func FuzzRawSocket(f *testing.F) {
	ok := [4]byte{0x7F, 0xF1, 0, 0}
	f.Add(rawSeed(ok, rawFrame(rawRegular, []byte(`[1,"realm1",{}]`))))
	f.Add(rawSeed(ok, rawFrame(rawPing, []byte("ping")), rawFrame(rawPong, nil), rawFrame(rawRegular, nil)))
	f.Add(rawSeed([4]byte{0x7F, 0xF7, 0, 0}))
	f.Add(rawSeed([4]byte{0x7F, 0xF1, 1, 0}))
	f.Add(rawSeed(ok, []byte{0x00, 0x00, 0x04, 0x01}))
	f.Add(rawSeed(ok, []byte{0x08, 0x00, 0x00, 0x00}))
	f.Add(rawSeed(ok, []byte{0x08, 0x00, 0x00, 0x01}))
	f.Add(rawSeed(ok, []byte{0x13, 0x00, 0x00, 0x00}))
	f.Add(rawSeed(ok, rawFrame(rawRegular, make([]byte, fuzzMaxMessage))))
	f.Add([]byte{0xF1})
	f.Fuzz(func(t *testing.T, data []byte) {
		sess := &limitSession{limit: fuzzMaxMessage}
		s := fuzzServer(sess)
		nc := newMemConn(append([]byte{rawMagic}, data...))
		pc := &prefixConn{Conn: nc}
		if !s.addPending(pc) {
			t.Fatal("addPending refused")
		}
		s.handle(pc)
		s.wg.Wait()
		out := nc.output()
		if len(out) < 4 || out[0] != rawMagic {
			if len(data) >= 3 {
				t.Fatalf("no handshake reply: % x", out)
			}
			return
		}
		accepted := out[1]&0x0F != 0
		if !accepted {
			if len(out) != 4 || sess.msgs != 0 {
				t.Fatalf("refused handshake followed by more: % x", out)
			}
			return
		}
		if exp := out[1] >> 4; exp != 1 { // 1024 = 2^(1+9)
			t.Fatalf("announced length exponent %d for a 1024-byte limit", exp)
		}
		sess.check(t)
		// Everything after the reply is well-formed frames.
		for r := out[4:]; len(r) > 0; {
			if len(r) < 4 || r[0]&0xF0 != 0 || r[0]&0x07 > rawPong {
				t.Fatalf("bad frame header % x", r[:min(4, len(r))])
			}
			n := int(binary.BigEndian.Uint32(r) & 0xFFFFFF)
			if len(r) < 4+n {
				t.Fatalf("truncated frame")
			}
			r = r[4+n:]
		}
	})
}
