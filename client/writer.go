package client

import (
	"bufio"
	"context"
	"fmt"
	"sync"

	"github.com/gateway-dev/gateway/wamp"
)

// Queue states.
const (
	queueOpen    = iota
	queueClosing // GOODBYE queued: only transport replies (pongs) may follow
	queueClosed  // the session ended: the writer flushes what is queued and stops
)

// outItem is one encoded payload waiting for the writer, with headroom for its frame header.
type outItem struct {
	buf  *[]byte
	kind frameKind
}

// outQueue holds encoded messages for the writer goroutine, which writes everything queued with
// one flush (one syscall when it fits the buffer).
type outQueue struct {
	mu      sync.Mutex
	items   []outItem
	bytes   int
	limit   int
	state   int
	seq     wamp.ID       // the last request id used
	wake    chan struct{} // capacity 1: there is something to write
	drained chan struct{} // closed when the writer takes a batch; nil while nobody waits
}

func (q *outQueue) init(limit int) {
	q.limit = limit
	q.wake = make(chan struct{}, 1)
}

// close stops the queue and wakes the writer and blocked senders.
func (q *outQueue) close() {
	q.mu.Lock()
	q.state = queueClosed
	if q.drained != nil {
		close(q.drained)
		q.drained = nil
	}
	q.mu.Unlock()
	q.signal()
}

func (q *outQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// sendMode says how send queues a message.
type sendMode uint8

const (
	sendNormal  sendMode = iota // wait for room in the queue (bounded by ctx)
	sendForce                   // never wait: replies from the reader goroutine, CANCEL, ABORT
	sendGoodbye                 // like sendForce, and the last message of the session
)

// bufPool recycles encoding buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(bp *[]byte) {
	if cap(*bp) > 64<<10 {
		return
	}
	*bp = (*bp)[:0]
	bufPool.Put(bp)
}

// requestField returns the Request field of a message that starts a request, or nil.
func requestField(m wamp.Message) *wamp.ID {
	switch m := m.(type) {
	case *wamp.Publish:
		return &m.Request
	case *wamp.Subscribe:
		return &m.Request
	case *wamp.Unsubscribe:
		return &m.Request
	case *wamp.Call:
		return &m.Request
	case *wamp.Register:
		return &m.Request
	case *wamp.Unregister:
		return &m.Request
	}
	return nil
}

// send encodes m and queues it for the writer. A request message with Request == 0 gets the next
// session-scoped request id (ids are assigned in the order messages are queued, hence written);
// when req is non-nil it is registered as pending under that id before the message can be
// written. send returns the request id.
func (c *Client) send(ctx context.Context, m wamp.Message, req *request, mode sendMode) (wamp.ID, error) {
	q := &c.out
	bp := getBuf()
	hr := c.t.headroom()
	q.mu.Lock()
	for mode == sendNormal && q.bytes >= q.limit && q.state == queueOpen {
		ch := q.drained
		if ch == nil {
			ch = make(chan struct{})
			q.drained = ch
		}
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			putBuf(bp)
			return 0, ctx.Err()
		}
		q.mu.Lock()
	}
	if q.state == queueClosed || q.state == queueClosing && mode == sendNormal {
		q.mu.Unlock()
		putBuf(bp)
		return 0, endedError(c.Err())
	}
	var id wamp.ID
	field := requestField(m)
	fresh := field != nil && *field == 0
	if fresh {
		id = q.seq%wamp.MaxID + 1 // ids wrap around after 2^53
		*field = id
	} else if field != nil {
		id = *field
	}
	b, err := c.ser.Encode((*bp)[:hr], m)
	if err != nil {
		err = fmt.Errorf("wamp client: encoding %s: %w", m.MessageType(), err)
	} else if c.t.maxSend() > 0 && len(b)-hr > c.t.maxSend() {
		err = fmt.Errorf("%w (%s of %d bytes, limit %d)", ErrMessageTooBig, m.MessageType(), len(b)-hr, c.t.maxSend())
	}
	if err != nil {
		if fresh {
			*field = 0
		}
		q.mu.Unlock()
		putBuf(bp)
		return 0, err
	}
	*bp = b
	if fresh {
		q.seq = id
	}
	if req != nil {
		c.mu.Lock()
		c.pending[id] = req
		c.mu.Unlock()
	}
	q.items = append(q.items, outItem{buf: bp, kind: frameMessage})
	q.bytes += len(b)
	first := len(q.items) == 1
	if mode == sendGoodbye {
		q.state = queueClosing
	}
	q.mu.Unlock()
	if first {
		q.signal()
	}
	return id, nil
}

// queuePong queues a pong echoing payload. It is called by the reader and never blocks.
func (c *Client) queuePong(payload []byte) {
	bp := getBuf()
	b := append((*bp)[:c.t.headroom()], payload...)
	*bp = b
	q := &c.out
	q.mu.Lock()
	if q.state == queueClosed {
		q.mu.Unlock()
		putBuf(bp)
		return
	}
	q.items = append(q.items, outItem{buf: bp, kind: framePong})
	q.bytes += len(b)
	first := len(q.items) == 1
	q.mu.Unlock()
	if first {
		q.signal()
	}
}

// writeLoop writes queued frames until the session ends, then sends the transport's close frame
// and half-closes the connection.
func (c *Client) writeLoop() {
	defer close(c.writerDone)
	q := &c.out
	bw := bufio.NewWriterSize(c.conn, 16<<10)
	var batch []outItem
	for range q.wake {
		q.mu.Lock()
		batch, q.items = q.items, batch[:0]
		q.bytes = 0
		closed := q.state == queueClosed
		if q.drained != nil {
			close(q.drained)
			q.drained = nil
		}
		q.mu.Unlock()

		var err error
		for i := range batch {
			if err == nil {
				_, err = bw.Write(c.t.frame(batch[i].kind, *batch[i].buf))
			}
			putBuf(batch[i].buf)
			batch[i] = outItem{}
		}
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			if !closed {
				c.end(fmt.Errorf("wamp client: connection lost: write: %w", err))
			}
			_ = c.conn.Close()
			return
		}
		if closed {
			if f := c.t.closeFrame(); f != nil {
				if _, err := bw.Write(f); err == nil {
					_ = bw.Flush()
				}
			}
			if cw, ok := c.conn.(interface{ CloseWrite() error }); ok {
				_ = cw.CloseWrite()
			}
			return
		}
	}
}
