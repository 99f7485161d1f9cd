package transport

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/gateway-dev/gateway/internal/peer"
)

// smallBuffers shrinks the server's socket send buffer so that a client that does not read
// backs up the queue quickly.
func smallBuffers(c net.Conn) net.Conn {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(8 << 10)
	}
	return c
}

func TestSlowConsumer(t *testing.T) {
	cfg := Config{MaxMessageSize: 16 << 10, MaxQueueBytes: 64 << 10, WriteTimeout: 2 * time.Second}
	ln := wrapListener{Listener: listenTCP(t), wrap: smallBuffers}
	ts := startServer(t, cfg, newAcceptor(false), ln)

	slow, _ := dialWS(t, ts.addr, "wamp.2.msgpack")
	_ = slow.(*net.TCPConn).SetReadBuffer(8 << 10)
	slowSess := ts.acc.next(t)
	fast, _ := dialWS(t, ts.addr, "wamp.2.msgpack")
	fastSess := ts.acc.next(t)

	received := make(chan []byte, 64)
	go func() {
		for {
			h, p, err := readFrameErr(fast)
			if err != nil {
				close(received)
				return
			}
			if h.OpCode == ws.OpBinary {
				received <- p
			}
		}
	}()
	expect := func(i int) {
		t.Helper()
		select {
		case p := <-received:
			if want := fmt.Sprintf("msg %d", i); !bytes.HasPrefix(p, []byte(want)) {
				t.Fatalf("fast client got %q, want %q", p[:min(len(p), 12)], want)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("fast client did not receive message %d", i)
		}
	}

	// The same Send loop feeds both; only the client that never reads is cut off.
	var slowErr error
	i, maxQueued := 0, 0
	type queueReporter interface{ QueuedBytes() int }
	for ; i < 10000 && slowErr == nil; i++ {
		msg := make([]byte, 4<<10)
		copy(msg, fmt.Sprintf("msg %d", i))
		slowErr = slowSess.conn.Send(msg)
		if err := fastSess.conn.Send(msg); err != nil {
			t.Fatalf("Send to the fast client: %v", err)
		}
		expect(i)
		if slowErr == nil {
			maxQueued = max(maxQueued, slowSess.conn.(queueReporter).QueuedBytes())
		}
	}
	// The queue the router's replay watches grows on the connection that does not read, up to the
	// limit; the one that reads is drained.
	if maxQueued < 32<<10 || maxQueued > cfg.MaxQueueBytes {
		t.Errorf("the slow connection reported at most %d queued bytes, want between 32 KiB and %d", maxQueued, cfg.MaxQueueBytes)
	}
	if q := fastSess.conn.(queueReporter).QueuedBytes(); q > 8<<10 {
		t.Errorf("the fast connection reports %d queued bytes after reading everything", q)
	}
	if !errors.Is(slowErr, peer.ErrSlowConsumer) {
		t.Fatalf("slow client never hit the queue limit (%d messages): %v", i, slowErr)
	}
	if err := slowSess.conn.Send([]byte("more")); !errors.Is(err, peer.ErrClosed) {
		t.Errorf("Send after slow-consumer close = %v, want ErrClosed", err)
	}
	if n := ts.Stats().SlowConsumers; n != 1 {
		t.Errorf("SlowConsumers = %d", n)
	}
	// The slow client now reads: it gets what was already in flight, then close 1008.
	if code, reason := expectClose(t, slow); code != ws.StatusPolicyViolation || reason != "slow consumer" {
		t.Errorf("close %d %q, want 1008 \"slow consumer\"", code, reason)
	}
	writeFrame(t, slow, true, ws.OpClose, nil)
	if err := slowSess.waitClosed(t); !errors.Is(err, peer.ErrSlowConsumer) {
		t.Errorf("Closed(%v), want ErrSlowConsumer", err)
	}
	for j := range 10 {
		if err := fastSess.conn.Send(fmt.Appendf(nil, "msg %d", i+j)); err != nil {
			t.Fatal(err)
		}
		expect(i + j)
	}
	fastSess.assertOpen(t)
}

// gatedConn counts writes and can hold them until a gate opens.
type gatedConn struct {
	net.Conn
	writes atomic.Int64
	gate   atomic.Pointer[chan struct{}]
}

func (c *gatedConn) Write(p []byte) (int, error) {
	if g := c.gate.Load(); g != nil {
		<-*g
	}
	c.writes.Add(1)
	return c.Conn.Write(p)
}

func TestWriteCoalescing(t *testing.T) {
	conns := make(chan *gatedConn, 1)
	ln := wrapListener{Listener: listenTCP(t), wrap: func(c net.Conn) net.Conn {
		g := &gatedConn{Conn: c}
		conns <- g
		return g
	}}
	ts := startServer(t, Config{PingInterval: -1}, newAcceptor(false), ln)
	c, _ := dialWS(t, ts.addr, "wamp.2.json")
	sess := ts.acc.next(t)
	gc := <-conns

	gate := make(chan struct{})
	gc.gate.Store(&gate)
	before := gc.writes.Load()
	const n = 1000
	for i := range n {
		if err := sess.conn.Send(fmt.Appendf(nil, `[36,1,%d,{},["x"]]`, i)); err != nil {
			t.Fatal(err)
		}
	}
	close(gate)
	for i := range n {
		if _, p := readData(t, c); string(p) != fmt.Sprintf(`[36,1,%d,{},["x"]]`, i) {
			t.Fatalf("message %d: %q", i, p)
		}
	}
	// The writer was held in its first write; everything queued meanwhile goes out in one flush
	// (about 20 KiB, below the 32 KiB buffer).
	if w := gc.writes.Load() - before; w > 3 {
		t.Errorf("%d messages took %d writes, want at most 3", n, w)
	}
	if st := ts.Stats(); st.MessagesOut != n {
		t.Errorf("MessagesOut = %d", st.MessagesOut)
	}
}

func TestSendNeverBlocksOnDeadWriter(t *testing.T) {
	// While the writer is stuck on a client that does not read, Send still returns at once.
	ln := wrapListener{Listener: listenTCP(t), wrap: smallBuffers}
	ts := startServer(t, Config{WriteTimeout: 300 * time.Millisecond}, newAcceptor(false), ln)
	dialWS(t, ts.addr, "wamp.2.msgpack")
	sess := ts.acc.next(t)
	msg := make([]byte, 64<<10)
	start := time.Now()
	var err error
	for i := 0; i < 200 && err == nil; i++ {
		err = sess.conn.Send(msg)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("200 Sends took %v", d)
	}
	// The flush times out: the connection is closed and counted.
	if err := sess.waitClosed(t); !errors.Is(err, ErrWriteTimeout) {
		t.Errorf("Closed(%v), want ErrWriteTimeout", err)
	}
	if n := ts.Stats().WriteTimeouts; n != 1 {
		t.Errorf("WriteTimeouts = %d", n)
	}
}
