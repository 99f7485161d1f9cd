package transport

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
)

// The flusher writes connection queues without a goroutine per connection. Send puts a connection
// with a freshly non-empty queue on the server's flush list; a few worker goroutines (at most
// GOMAXPROCS, started on demand, gone when the list is empty) frame each queue into a buffer and
// write it with one non-blocking syscall. A connection whose socket buffer is full, whose queue is
// large, that is closing or that uses TLS is written by its own writer goroutine instead (writeLoop),
// which may block, with a deadline.
//
// For fan-out this saves the goroutine creation, scheduling and write deadline of every
// (connection, burst), which profiles showed cost about as much as the write itself.

const (
	flushMax      = 64 << 10 // queues larger than this go to the connection's writer goroutine
	flushChunk    = 64       // connections a worker takes from the list at a time
	flushBufLimit = 1 << 20  // worker buffers that grew beyond this are not kept
)

// flushList is the server's list of connections waiting to be written.
type flushList struct {
	mu      sync.Mutex
	conns   []*conn
	workers int
}

var flushBufPool = sync.Pool{New: func() any { b := make([]byte, 0, flushMax+64); return &b }}

// schedule puts c on the flush list and starts a worker when needed. c.scheduled is set.
func (s *Server) schedule(c *conn) {
	f := &s.flush
	f.mu.Lock()
	f.conns = append(f.conns, c)
	start := f.workers == 0 || (f.workers < runtime.GOMAXPROCS(0) && len(f.conns) > flushChunk*f.workers)
	if start {
		f.workers++
		s.wg.Add(1)
	}
	f.mu.Unlock()
	if start {
		go s.flushWorker()
	}
}

// flushWorker writes scheduled connections until the list is empty.
func (s *Server) flushWorker() {
	defer s.wg.Done()
	f := &s.flush
	bp := flushBufPool.Get().(*[]byte)
	var chunk [flushChunk]*conn
	// Let the goroutines that are already runnable (readers handling messages that arrived together)
	// queue their output first: more frames per connection go out in one write.
	runtime.Gosched()
	for {
		f.mu.Lock()
		n := min(len(f.conns), flushChunk)
		if n == 0 {
			f.workers--
			f.conns = f.conns[:0]
			f.mu.Unlock()
			break
		}
		copy(chunk[:], f.conns[len(f.conns)-n:])
		clear(f.conns[len(f.conns)-n:])
		f.conns = f.conns[:len(f.conns)-n]
		f.mu.Unlock()
		for i := range n {
			*bp = chunk[i].flushQueue(*bp)
			chunk[i] = nil
		}
	}
	if cap(*bp) <= flushBufLimit {
		flushBufPool.Put(bp)
	}
}

// flushQueue writes c's queue with non-blocking syscalls, using buf as scratch space, and returns
// buf for reuse. Anything it cannot finish goes to c's writer goroutine.
func (c *conn) flushQueue(buf []byte) []byte {
	c.mu.Lock()
	c.scheduled = false
	if c.writing || c.closing || len(c.queue) == 0 || c.hardClosed.Load() {
		// A writer goroutine owns the queue, the close handshake runs there, or nothing is left.
		c.mu.Unlock()
		return buf
	}
	c.writing = true
	for {
		if c.queued > flushMax {
			c.handOffLocked()
			return buf
		}
		batch := c.queue
		c.queue, c.spare = c.spare[:0], nil
		c.mu.Unlock()

		buf = buf[:0]
		var size, msgs int
		for i := range batch {
			it := &batch[i]
			size += itemSize(it)
			if it.kind == itemData {
				msgs++
			}
			buf = c.appendFrame(buf, it)
		}
		n, err := writeNonBlocking(c.rc, buf)
		clear(batch)

		c.mu.Lock()
		c.queued -= size
		if cap(batch) <= maxSpareItems && c.spare == nil {
			c.spare = batch[:0]
		}
		if err != nil {
			c.writing = false
			if !c.closing {
				c.setClosingLocked(fmt.Errorf("transport: write: %w", err))
			}
			c.dropQueueLocked()
			c.mu.Unlock()
			c.srv.log.Debug("transport: write failed", "remote", c.info.RemoteAddr, "transport", c.info.Transport, "err", err)
			c.hardClose()
			return buf
		}
		c.srv.stats.messagesOut.Add(uint64(msgs))
		c.srv.stats.bytesOut.Add(uint64(n))
		if n < len(buf) {
			// The socket buffer is full: the writer goroutine waits for room, with the write timeout.
			c.carry = append([]byte(nil), buf[n:]...)
			c.queued += len(c.carry)
			c.handOffLocked()
			return buf
		}
		if len(c.queue) == 0 {
			c.writing = false
			closeNow := c.closing && c.readerDone
			c.mu.Unlock()
			if closeNow {
				c.hardClose()
			}
			return buf
		}
		if c.closing {
			// A close was queued while we wrote: the writer goroutine runs the close handshake.
			c.handOffLocked()
			return buf
		}
	}
}

// handOffLocked passes the queue (and carry) to a writer goroutine; c.writing stays set. It unlocks.
func (c *conn) handOffLocked() {
	c.srv.wg.Add(1)
	c.mu.Unlock()
	go c.writeLoop()
}

// appendFrame appends one framed item to buf.
func (c *conn) appendFrame(buf []byte, it *item) []byte {
	if c.kind == kindWebSocket {
		buf = appendWSHeader(buf, wsOpcode(c.dataOp, it.kind), len(it.b))
	} else {
		buf = appendRawHeader(buf, rawType(it.kind), len(it.b))
	}
	return append(buf, it.b...)
}

// writeNonBlocking writes as much of b as the socket takes now and reports how much that was. A full
// socket buffer is not an error.
func writeNonBlocking(rc syscall.RawConn, b []byte) (int, error) {
	n := 0
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, e := syscall.Write(int(fd), b[n:])
			if m > 0 {
				n += m
			}
			if e == syscall.EINTR {
				continue
			}
			if e != nil {
				if e != syscall.EAGAIN {
					werr = e
				}
				break
			}
			if m <= 0 {
				break
			}
		}
		return true // one attempt: never wait for the socket here
	})
	if err == nil {
		err = werr
	}
	if errors.Is(err, os.ErrClosed) {
		err = fmt.Errorf("socket closed: %w", err)
	}
	return n, err
}
