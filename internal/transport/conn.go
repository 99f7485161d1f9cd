package transport

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gateway-dev/gateway/internal/peer"
	"github.com/gateway-dev/gateway/wamp/codec"
)

// kind is the framing of a connection.
type kind uint8

const (
	kindWebSocket kind = iota
	kindRawSocket
)

// itemKind is the type of a queued outbound item.
type itemKind uint8

const (
	itemData  itemKind = iota // a WAMP message
	itemPing                  // keepalive ping (empty payload)
	itemPong                  // answer to the peer's ping, b is the echoed payload
	itemClose                 // the last item: WebSocket close frame (b is its body); nothing for RawSocket
)

// controlOverhead is what a queued control item counts against MaxQueueBytes on top of its payload,
// so that a flood of empty pings from a peer that does not read is bounded too.
const controlOverhead = 16

// item is one queued outbound frame.
type item struct {
	kind itemKind
	b    []byte
}

const (
	writeBufferSize = 32 << 10 // pooled bufio.Writer size
	maxSpareItems   = 1 << 16  // queue slices up to this capacity are reused while the writer runs
	idleQueueItems  = 16       // and up to this capacity kept by an idle connection (see keepalive)
)

var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writeBufferSize) }}

// epoch anchors the monotonic clock used for last-read times.
var epoch = time.Now()

func monoNow() int64 { return int64(time.Since(epoch)) }

// errLocalClose marks a close requested through Conn.Close; Session.Closed then gets nil.
var errLocalClose = errors.New("transport: closed by the router")

// errPeerClose marks an orderly close by the peer (WebSocket close frame or end of stream).
var errPeerClose = errors.New("transport: closed by the peer")

// conn implements peer.Conn for both framings.
type conn struct {
	srv  *Server
	nc   net.Conn
	kind kind
	ser  codec.Serializer
	info peer.Info
	sess peer.Session

	dataOp  byte // WebSocket opcode of data frames
	maxSend int  // largest message Send accepts
	maxRecv int  // largest inbound message

	pre []byte          // bytes that arrived with the HTTP upgrade request, read before nc
	rc  syscall.RawConn // non-blocking writes by the flusher; nil (TLS) means writer goroutines only
	hdr [14]byte        // frame header scratch space, used by the reader only

	// Read-ahead state, used by the reader goroutine only (see Read).
	ra         *[]byte
	raPos      int
	raEnd      int
	atBoundary bool

	lastRead   atomic.Int64 // monoNow() of the last successful read
	closedFlag atomic.Bool  // closing, readable without the lock
	hardClosed atomic.Bool  // nc.Close was called

	mu            sync.Mutex
	queue         []item
	spare         []item // the previous batch's slice, reused for the next queue
	queued        int    // bytes queued plus bytes in the batch being written
	writing       bool   // a writer goroutine or a flusher worker is writing
	scheduled     bool   // the connection waits in the server's flush list
	carry         []byte // bytes a non-blocking write left unsent; the writer goroutine sends them first
	closing       bool   // no more Sends; the close item is queued or the socket is closed
	closeDeadline time.Time
	reason        error // why the connection closes (the first reason wins)
	readerDone    bool
	timer         *time.Timer // keepalive
}

func (s *Server) newConn(nc net.Conn, k kind, ser codec.Serializer, tls bool) *conn {
	c := &conn{srv: s, nc: nc, kind: k, ser: ser, maxSend: s.cfg.MaxQueueBytes}
	c.info = peer.Info{
		Network:    nc.LocalAddr().Network(),
		LocalAddr:  nc.LocalAddr(),
		RemoteAddr: nc.RemoteAddr(),
		TLS:        tls,
	}
	if k == kindWebSocket {
		c.info.Transport = "websocket"
		c.maxRecv = s.cfg.MaxMessageSize
		c.dataOp = opBinary
		if !ser.Binary() {
			c.dataOp = opText
		}
	} else {
		c.info.Transport = "rawsocket"
		c.maxRecv = s.rawMax
	}
	under := nc
	if p, ok := nc.(*prefixConn); ok {
		under = p.Conn
	}
	if sc, ok := under.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			c.rc = rc
		}
	}
	c.lastRead.Store(monoNow())
	return c
}

// Serializer implements peer.Conn.
func (c *conn) Serializer() codec.Serializer { return c.ser }

// Info implements peer.Conn.
func (c *conn) Info() *peer.Info { return &c.info }

// Send implements peer.Conn: it queues msg without copying it and never blocks.
func (c *conn) Send(msg []byte) error {
	if len(msg) > c.maxSend {
		return peer.ErrTooBig
	}
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return peer.ErrClosed
	}
	if c.queued+len(msg) > c.srv.cfg.MaxQueueBytes {
		start := c.slowConsumerLocked()
		c.mu.Unlock()
		c.srv.stats.slowConsumers.Add(1)
		c.srv.log.Debug("transport: slow consumer closed", "remote", c.info.RemoteAddr, "transport", c.info.Transport)
		if start {
			go c.writeLoop()
		}
		return peer.ErrSlowConsumer
	}
	c.queue = append(c.queue, item{kind: itemData, b: msg})
	c.queued += len(msg)
	if c.writing || c.scheduled {
		c.mu.Unlock()
		return nil
	}
	if c.rc != nil && c.queued <= flushMax {
		// The common case: a flusher worker writes the queue with one non-blocking syscall, so no
		// goroutine is created per connection and burst.
		c.scheduled = true
		c.mu.Unlock()
		c.srv.schedule(c)
		return nil
	}
	start := c.startWriterLocked()
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	}
	return nil
}

// QueuedBytes returns the bytes waiting to be written to the socket (queued, or in the batch being
// written). The router's replay of persistent subscriptions keeps it short.
func (c *conn) QueuedBytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queued
}

// Close implements peer.Conn: queued messages and a close frame are flushed within WriteTimeout,
// then the socket is closed.
func (c *conn) Close(code peer.CloseCode, reason string) {
	wsCode, reason := wsCloseCode(code, reason)
	c.mu.Lock()
	start := c.closeLocked(wsCode, reason, errLocalClose)
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	}
}

// startWriterLocked reports whether the caller must start the writer goroutine.
func (c *conn) startWriterLocked() bool {
	if c.writing {
		return false
	}
	c.writing = true
	c.srv.wg.Add(1) // the reader holds a count while the connection is open, so this is not the first Add
	return true
}

// closeLocked stops Sends and queues the final item. It reports whether the caller must start the
// writer goroutine.
func (c *conn) closeLocked(code uint16, reason string, why error) bool {
	if c.closing {
		return false
	}
	c.setClosingLocked(why)
	c.closeDeadline = time.Now().Add(c.srv.cfg.WriteTimeout)
	it := item{kind: itemClose}
	if c.kind == kindWebSocket {
		it.b = closeBody(code, reason)
	}
	c.queue = append(c.queue, it)
	return c.startWriterLocked()
}

func (c *conn) setClosingLocked(why error) {
	c.closing = true
	c.closedFlag.Store(true)
	if c.reason == nil {
		c.reason = why
	}
}

// slowConsumerLocked drops what is queued (the batch being written is finished or times out) and
// closes with 1008 "slow consumer".
func (c *conn) slowConsumerLocked() bool {
	c.dropQueueLocked()
	return c.closeLocked(closePolicy, "slow consumer", peer.ErrSlowConsumer)
}

func (c *conn) dropQueueLocked() {
	for i := range c.queue {
		c.queued -= itemSize(&c.queue[i])
	}
	clear(c.queue)
	c.queue = c.queue[:0]
}

func itemSize(it *item) int {
	if it.kind == itemData {
		return len(it.b)
	}
	return len(it.b) + controlOverhead
}

// enqueueControl queues a ping or pong unless the connection is closing. A peer that floods pings and
// does not read ends up as a slow consumer.
func (c *conn) enqueueControl(k itemKind, payload []byte) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	it := item{kind: k, b: payload}
	if c.queued+itemSize(&it) > c.srv.cfg.MaxQueueBytes {
		start := c.slowConsumerLocked()
		c.mu.Unlock()
		c.srv.stats.slowConsumers.Add(1)
		if start {
			go c.writeLoop()
		}
		return
	}
	c.queue = append(c.queue, it)
	c.queued += itemSize(&it)
	start := c.startWriterLocked()
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	}
}

// writeLoop drains the queue, one flush per batch, and exits when the queue is empty.
func (c *conn) writeLoop() {
	defer c.srv.wg.Done()
	var bw *bufio.Writer
	defer func() {
		if bw != nil {
			bw.Reset(nil)
			writerPool.Put(bw)
		}
	}()
	for {
		c.mu.Lock()
		if (len(c.queue) == 0 && len(c.carry) == 0) || c.hardClosed.Load() {
			if bw != nil {
				// Flush workers write this socket next without deadlines of their own; a deadline
				// left here would fail their writes once it passed.
				_ = c.nc.SetWriteDeadline(time.Time{})
			}
			c.writing = false
			// The reader has stopped and saw this writer still running: closing the socket is ours.
			closeNow := c.closing && c.readerDone
			c.mu.Unlock()
			if closeNow {
				c.hardClose()
			}
			return
		}
		batch := c.queue
		c.queue, c.spare = c.spare[:0], nil
		deadline := time.Now().Add(c.srv.cfg.WriteTimeout)
		if c.closing && c.closeDeadline.Before(deadline) {
			deadline = c.closeDeadline
		}
		carry := c.carry
		c.carry = nil
		c.queued -= len(carry)
		c.mu.Unlock()

		if bw == nil {
			bw = writerPool.Get().(*bufio.Writer)
			bw.Reset(c.nc)
		}
		_ = c.nc.SetWriteDeadline(deadline)
		if len(carry) > 0 {
			_, _ = bw.Write(carry) // an error is sticky and seen at Flush
		}
		var size, msgs, wire int
		final := false
		for i := range batch {
			it := &batch[i]
			size += itemSize(it)
			if it.kind == itemData {
				msgs++
			}
			if it.kind == itemClose {
				final = true
				if c.kind == kindRawSocket {
					continue
				}
			}
			wire += c.writeFrame(bw, it)
		}
		err := bw.Flush()
		clear(batch)

		c.mu.Lock()
		c.queued -= size
		if cap(batch) <= maxSpareItems {
			c.spare = batch[:0]
		}
		if err != nil {
			c.writing = false
			timeout := false
			if !c.closing {
				// The flush failed on its own (not because we closed the socket).
				why := fmt.Errorf("transport: write: %w", err)
				if timeout = errors.Is(err, os.ErrDeadlineExceeded); timeout {
					why = fmt.Errorf("%w: %w", ErrWriteTimeout, err)
				}
				c.setClosingLocked(why)
			}
			c.dropQueueLocked()
			c.mu.Unlock()
			if timeout {
				c.srv.stats.writeTimeouts.Add(1)
			}
			c.hardClose()
			return
		}
		readerDone := c.readerDone
		c.mu.Unlock()

		c.srv.stats.messagesOut.Add(uint64(msgs))
		c.srv.stats.bytesOut.Add(uint64(wire))
		if final {
			// RawSocket has no close handshake. WebSocket waits for the peer's close frame until the
			// close deadline; if the reader has stopped already, the exit above closes the socket.
			if c.kind == kindRawSocket {
				c.hardClose()
			} else if !readerDone {
				_ = c.nc.SetReadDeadline(c.closeDeadline)
			}
		}
	}
}

// writeFrame writes one framed item into bw and returns the bytes written.
func (c *conn) writeFrame(bw *bufio.Writer, it *item) int {
	if bw.Available() < 14 {
		_ = bw.Flush() // keeps AvailableBuffer from reallocating; an error is sticky and seen later
	}
	h := bw.AvailableBuffer()
	if c.kind == kindWebSocket {
		h = appendWSHeader(h, wsOpcode(c.dataOp, it.kind), len(it.b))
	} else {
		h = appendRawHeader(h, rawType(it.kind), len(it.b))
	}
	n := len(h)
	_, _ = bw.Write(h)
	_, _ = bw.Write(it.b)
	return n + len(it.b)
}

// hardClose closes the socket once.
func (c *conn) hardClose() {
	if c.hardClosed.CompareAndSwap(false, true) {
		_ = c.nc.Close()
	}
}

// abort closes the socket at once for the given reason.
func (c *conn) abort(why error) {
	c.mu.Lock()
	if !c.closing {
		c.setClosingLocked(why)
		c.dropQueueLocked()
	}
	c.mu.Unlock()
	c.hardClose()
}

// Read reads from the bytes left over from the HTTP upgrade first, then from the read-ahead buffer,
// then from the socket, and records the time of activity for keepalive.
//
// Read-ahead: at a frame boundary (c.atBoundary, set by the frame readers before they read a
// header) the read goes straight into p, so an idle connection blocks without holding a buffer.
// Other small reads fill a pooled read-ahead buffer, so that the rest of a frame and the frames
// behind it arrive with one syscall; the buffer goes back to the pool as soon as it is drained.
func (c *conn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		if len(c.pre) == 0 {
			c.pre = nil
		}
		c.lastRead.Store(monoNow())
		c.srv.stats.bytesIn.Add(uint64(n))
		return n, nil
	}
	if c.ra != nil {
		n := copy(p, (*c.ra)[c.raPos:c.raEnd])
		c.raPos += n
		if c.raPos == c.raEnd {
			readAheadPool.Put(c.ra)
			c.ra = nil
		}
		return n, nil
	}
	boundary := c.atBoundary
	c.atBoundary = false
	if boundary || len(p) >= readAheadSize {
		return c.readSocket(p)
	}
	ra := readAheadPool.Get().(*[]byte)
	n, err := c.readSocket(*ra)
	if n == 0 {
		readAheadPool.Put(ra)
		return 0, err
	}
	k := copy(p, (*ra)[:n])
	if k < n {
		c.ra, c.raPos, c.raEnd = ra, k, n
	} else {
		readAheadPool.Put(ra)
	}
	return k, err
}

func (c *conn) readSocket(p []byte) (int, error) {
	n, err := c.nc.Read(p)
	if n > 0 {
		c.lastRead.Store(monoNow())
		c.srv.stats.bytesIn.Add(uint64(n))
	}
	return n, err
}

// readAheadSize is the size of the pooled read-ahead buffers.
const readAheadSize = 4 << 10

var readAheadPool = sync.Pool{New: func() any { b := make([]byte, readAheadSize); return &b }}

// releaseReadAhead returns the read-ahead buffer when the reader stops.
func (c *conn) releaseReadAhead() {
	if c.ra != nil {
		readAheadPool.Put(c.ra)
		c.ra = nil
	}
}

const (
	smallMessage  = 4 << 10  // messages up to this size are read into pooled buffers
	growthQuantum = 64 << 10 // a payload buffer grows by at most this much before bytes arrive
)

var smallPool = sync.Pool{New: func() any { b := make([]byte, 0, smallMessage); return &b }}

// readAppend appends n bytes read from the peer to dst. It never allocates more than growthQuantum
// ahead of the bytes that actually arrived, so a peer cannot make the server allocate a declared
// length it does not send.
func (c *conn) readAppend(dst []byte, n int) ([]byte, error) {
	for n > 0 {
		if len(dst) == cap(dst) {
			grow := min(n, max(len(dst), growthQuantum))
			nd := make([]byte, len(dst), len(dst)+grow)
			copy(nd, dst)
			dst = nd
		}
		m := min(n, cap(dst)-len(dst))
		k, err := io.ReadFull(c, dst[len(dst):len(dst)+m])
		dst = dst[:len(dst)+k]
		n -= k
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return dst, err
		}
	}
	return dst, nil
}

// discard reads and drops n bytes.
func (c *conn) discard(n int) error {
	p := smallPool.Get().(*[]byte)
	defer smallPool.Put(p)
	buf := (*p)[:cap(*p)]
	for n > 0 {
		k, err := io.ReadFull(c, buf[:min(n, len(buf))])
		n -= k
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// deliver hands one complete inbound message to the session.
func (c *conn) deliver(msg []byte) {
	c.srv.stats.messagesIn.Add(1)
	if c.sess != nil && !c.closedFlag.Load() {
		c.sess.Receive(msg)
	}
}

// fail closes the connection because of the peer's input: the close frame (WebSocket) is flushed
// after what is queued, within WriteTimeout. It returns why.
func (c *conn) fail(code uint16, reason string, why error) error {
	c.mu.Lock()
	start := c.closeLocked(code, reason, why)
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	}
	c.srv.log.Debug("transport: closing connection", "remote", c.info.RemoteAddr,
		"transport", c.info.Transport, "err", why)
	return why
}

// run is the connection's reader goroutine body: it asks the acceptor for a session, reads until
// the connection ends, and reports the end to the session. The caller holds a wg count for it.
func (c *conn) run() {
	defer c.srv.wg.Done()
	c.sess = c.srv.acceptor.Accept(c)
	if c.sess == nil {
		c.Close(peer.ClosePolicy, "connection refused")
	}
	c.startKeepalive()
	var err error
	if c.kind == kindWebSocket {
		err = c.readWebSocket()
	} else {
		err = c.readRawSocket()
	}
	c.releaseReadAhead()
	c.finish(err)
}

// finish runs when the reader stops: it makes sure the socket gets closed, unregisters the
// connection and calls Session.Closed exactly once.
func (c *conn) finish(readErr error) {
	c.mu.Lock()
	c.readerDone = true
	closeNow := !c.writing
	if !c.closing {
		// The read side failed or ended on its own: nothing more can usefully be written.
		if readErr == nil || errors.Is(readErr, io.EOF) {
			readErr = errPeerClose
		}
		c.setClosingLocked(readErr)
		c.dropQueueLocked()
		closeNow = true
	}
	if c.timer != nil {
		c.timer.Stop()
	}
	reason := c.reason
	c.mu.Unlock()
	if closeNow {
		c.hardClose()
	}
	c.srv.unregister(c)
	if c.sess != nil {
		if reason == errLocalClose || reason == errPeerClose {
			reason = nil
		}
		c.sess.Closed(reason)
	}
}

// startKeepalive arms the keepalive timer.
func (c *conn) startKeepalive() {
	iv := c.srv.cfg.PingInterval
	if iv <= 0 {
		return
	}
	c.mu.Lock()
	if !c.closing && !c.readerDone {
		c.timer = time.AfterFunc(iv, c.keepalive)
	}
	c.mu.Unlock()
}

// keepalive runs from the connection's timer: it pings a peer that has been silent for
// PingInterval and closes one that stayed silent for PingInterval+PingTimeout.
func (c *conn) keepalive() {
	cfg := &c.srv.cfg
	idle := time.Duration(monoNow() - c.lastRead.Load())
	c.mu.Lock()
	if c.closing || c.readerDone {
		c.mu.Unlock()
		return
	}
	if !c.writing {
		// Release big queue slices left from a burst: idle connections should stay small.
		if cap(c.queue) > idleQueueItems {
			c.queue = nil
		}
		if cap(c.spare) > idleQueueItems {
			c.spare = nil
		}
	}
	switch {
	case idle >= cfg.PingInterval+cfg.PingTimeout:
		c.setClosingLocked(ErrPingTimeout)
		c.dropQueueLocked()
		c.mu.Unlock()
		c.srv.stats.pingTimeouts.Add(1)
		c.srv.log.Debug("transport: ping timeout", "remote", c.info.RemoteAddr, "transport", c.info.Transport)
		c.hardClose()
		return
	case idle >= cfg.PingInterval:
		c.timer.Reset(cfg.PingInterval + cfg.PingTimeout - idle)
		c.mu.Unlock()
		c.enqueueControl(itemPing, nil)
	default:
		c.timer.Reset(cfg.PingInterval - idle)
		c.mu.Unlock()
	}
}
