package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"

	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

// target is where and how the load client connects.
type target struct {
	websocket bool
	addr      string // host:port
	wsURL     string
	ser       codec.Serializer
	realm     wamp.URI
	maxMsg    int // largest inbound message accepted
	readBuf   int // bufio.Reader size per connection
	timeout   time.Duration
}

// parseTarget checks a router URL: ws://host:port/path or rs://host:port (tcp:// is an alias).
func parseTarget(raw, serializer, realm string) (*target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("bad router URL: %w", err)
	}
	t := &target{realm: wamp.URI(realm), maxMsg: 1<<24 - 1}
	switch strings.ToLower(u.Scheme) {
	case "ws":
		t.websocket = true
		t.wsURL = raw
	case "rs", "tcp":
	default:
		return nil, fmt.Errorf("router URL %q: scheme must be ws or rs (TLS is not supported by the load client)", raw)
	}
	if u.Host == "" || u.Port() == "" {
		return nil, fmt.Errorf("router URL %q: needs host:port", raw)
	}
	t.addr = u.Host
	var ok bool
	switch serializer {
	case "", "json":
		t.ser, ok = codec.ByID(codec.JSON)
	case "msgpack":
		t.ser, ok = codec.ByID(codec.MsgPack)
	case "cbor":
		t.ser, ok = codec.ByID(codec.CBOR)
	}
	if !ok {
		return nil, fmt.Errorf("unknown serializer %q (json, msgpack or cbor)", serializer)
	}
	return t, nil
}

// errRouterClosed reports that the router closed the connection (close frame, GOODBYE or ABORT).
var errRouterClosed = errors.New("router closed the connection")

// conn is a lean WAMP client connection: framing and the few messages the load client needs.
// One goroutine reads; writes are serialised by wmu.
type conn struct {
	t       *target
	nc      net.Conn
	binary  bool
	closing atomic.Bool // closed on purpose: read errors are expected

	// Received bytes not yet parsed are rbuf[rpos:rend]. Only the connection's reader uses them.
	rbuf       []byte
	rpos, rend int
	msg        []byte // reassembly of a fragmented WebSocket message
	fragmented bool
	slot       int // index in an epoll engine, when one reads this connection

	wmu     sync.Mutex
	wbuf    []byte // frames waiting for flush
	scratch []byte // encoding buffer
}

// dial connects to the router (from local, when not nil) and completes the transport handshake.
func dial(ctx context.Context, t *target, local *net.TCPAddr) (*conn, error) {
	d := net.Dialer{Timeout: t.timeout}
	if local != nil {
		d.LocalAddr = local
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	nc, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	c := &conn{t: t, nc: nc, binary: t.ser.Binary()}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	if t.websocket {
		err = c.wsHandshake(ctx)
	} else {
		err = c.rsHandshake()
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

func (c *conn) wsHandshake(ctx context.Context) error {
	d := ws.Dialer{
		Protocols: []string{c.t.ser.Subprotocol()},
		NetDial:   func(context.Context, string, string) (net.Conn, error) { return c.nc, nil },
	}
	_, br, hs, err := d.Dial(ctx, c.t.wsURL)
	if err != nil {
		return fmt.Errorf("websocket upgrade: %w", err)
	}
	if hs.Protocol != c.t.ser.Subprotocol() {
		return fmt.Errorf("websocket upgrade: router did not accept subprotocol %s", c.t.ser.Subprotocol())
	}
	c.rbuf = make([]byte, c.t.readBuf)
	if br != nil { // the router sent something right after the upgrade response
		if n := br.Buffered(); n > len(c.rbuf) {
			c.rbuf = make([]byte, n)
		}
		c.rend, _ = br.Read(c.rbuf)
		ws.PutReader(br)
	}
	return nil
}

func (c *conn) rsHandshake() error {
	req := [4]byte{0x7f, 0xf0 | byte(c.t.ser.ID()), 0, 0} // largest messages: 2^24 bytes
	if _, err := c.nc.Write(req[:]); err != nil {
		return fmt.Errorf("rawsocket handshake: %w", err)
	}
	var rep [4]byte
	if _, err := io.ReadFull(c.nc, rep[:]); err != nil {
		return fmt.Errorf("rawsocket handshake: %w", err)
	}
	switch {
	case rep[0] != 0x7f:
		return errors.New("rawsocket handshake: not a RawSocket router")
	case rep[1]&0x0f == 0:
		return fmt.Errorf("rawsocket handshake refused with error %d", rep[1]>>4)
	case rep[1]&0x0f != byte(c.t.ser.ID()):
		return fmt.Errorf("rawsocket handshake: router chose serializer %d", rep[1]&0x0f)
	}
	c.rbuf = make([]byte, c.t.readBuf)
	return nil
}

// close closes the connection on purpose.
func (c *conn) close() {
	c.closing.Store(true)
	c.nc.Close()
}

// readMessage returns the next WAMP message's bytes, valid until the next call. It answers pings.
// It blocks; an epoll engine uses fill and nextMessage instead.
func (c *conn) readMessage() ([]byte, error) {
	for {
		p, ok, err := c.nextMessage()
		if err != nil || ok {
			return p, err
		}
		c.makeRoom()
		n, err := c.nc.Read(c.rbuf[c.rend:])
		c.rend += n
		if err != nil && n == 0 {
			return nil, err
		}
	}
}

// buffered returns how many received bytes are not parsed yet.
func (c *conn) buffered() int { return c.rend - c.rpos }

// makeRoom moves the unparsed bytes to the front of the buffer and grows it when a frame does not
// fit, so that a read can append to rbuf[rend:].
func (c *conn) makeRoom() {
	if c.rpos > 0 {
		c.rend = copy(c.rbuf, c.rbuf[c.rpos:c.rend])
		c.rpos = 0
	}
	if c.rend == len(c.rbuf) {
		c.rbuf = append(c.rbuf, make([]byte, len(c.rbuf))...)
	}
}

// errFrameTooBig is returned for a message beyond the limit.
var errFrameTooBig = errors.New("message longer than the limit")

// nextMessage parses the next complete WAMP message from the received bytes: ok is false when
// more bytes are needed. Control frames (pings) are answered on the way. The returned slice is
// valid until the buffer is refilled.
func (c *conn) nextMessage() (p []byte, ok bool, err error) {
	for {
		b := c.rbuf[c.rpos:c.rend]
		var fin bool
		var op byte
		var payload []byte
		var n int
		if c.t.websocket {
			fin, op, payload, n, err = parseWSFrame(b, c.t.maxMsg-len(c.msg))
		} else {
			fin, op, payload, n, err = parseRSFrame(b, c.t.maxMsg)
		}
		if err != nil || n == 0 {
			return nil, false, err
		}
		c.rpos += n
		if c.t.websocket {
			switch op {
			case 0x8:
				return nil, false, errRouterClosed
			case 0x9:
				if err := c.sendControl(0xA, payload); err != nil {
					return nil, false, err
				}
				continue
			case 0xA:
				continue
			}
			// A data frame: opcode 1 or 2 starts a message, 0 continues a fragmented one.
			if (op == 0) != c.fragmented {
				return nil, false, errors.New("websocket: bad fragmentation")
			}
			if fin && !c.fragmented {
				return payload, true, nil
			}
			c.msg = append(c.msg, payload...)
			if c.fragmented = !fin; c.fragmented {
				continue
			}
			p, c.msg = c.msg, c.msg[:0]
			return p, true, nil
		}
		switch op {
		case 0:
			return payload, true, nil
		case 1: // ping: answer with a pong carrying the same payload
			if err := c.sendControl(2, payload); err != nil {
				return nil, false, err
			}
		}
	}
}

// parseWSFrame parses one WebSocket frame from the router at the start of b. n is 0 when b holds
// no complete frame. Frames from a server are not masked.
func parseWSFrame(b []byte, max int) (fin bool, op byte, payload []byte, n int, err error) {
	if len(b) < 2 {
		return false, 0, nil, 0, nil
	}
	fin, op = b[0]&0x80 != 0, b[0]&0x0f
	if b[0]&0x70 != 0 || b[1]&0x80 != 0 {
		return false, 0, nil, 0, errors.New("websocket: masked frame or reserved bits from the router")
	}
	if op >= 3 && op <= 7 || op >= 0xB {
		return false, 0, nil, 0, fmt.Errorf("websocket: unknown opcode %d", op)
	}
	length, hl := uint64(b[1]&0x7f), 2
	switch length {
	case 126:
		if len(b) < 4 {
			return false, 0, nil, 0, nil
		}
		length, hl = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return false, 0, nil, 0, nil
		}
		length, hl = binary.BigEndian.Uint64(b[2:]), 10
	}
	if op >= 0x8 && (!fin || length > 125) {
		return false, 0, nil, 0, errors.New("websocket: bad control frame")
	}
	if length > uint64(max) {
		return false, 0, nil, 0, fmt.Errorf("websocket: %w (%d bytes)", errFrameTooBig, max)
	}
	end := hl + int(length)
	if len(b) < end {
		return false, 0, nil, 0, nil
	}
	return fin, op, b[hl:end], end, nil
}

// parseRSFrame parses one RawSocket frame at the start of b; op is the frame type (0 message,
// 1 ping, 2 pong). n is 0 when b holds no complete frame.
func parseRSFrame(b []byte, max int) (fin bool, op byte, payload []byte, n int, err error) {
	if len(b) < 4 {
		return false, 0, nil, 0, nil
	}
	op = b[0]
	if op > 2 {
		return false, 0, nil, 0, fmt.Errorf("rawsocket: bad frame type %d from the router", op)
	}
	length := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	if length > max {
		return false, 0, nil, 0, fmt.Errorf("rawsocket: %w (%d bytes)", errFrameTooBig, max)
	}
	if len(b) < 4+length {
		return false, 0, nil, 0, nil
	}
	return true, op, b[4 : 4+length], 4 + length, nil
}

// appendFrame appends one frame (opcode op for WebSocket, message type op for RawSocket).
func (c *conn) appendFrame(dst []byte, op byte, payload []byte) []byte {
	n := len(payload)
	if !c.t.websocket {
		dst = append(dst, op, byte(n>>16), byte(n>>8), byte(n))
		return append(dst, payload...)
	}
	dst = append(dst, 0x80|op)
	switch {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	var mask [4]byte
	binary.LittleEndian.PutUint32(mask[:], rand.Uint32())
	dst = append(dst, mask[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	ws.Cipher(dst[start:], mask, 0)
	return dst
}

// sendControl writes a pong (or another control frame) at once.
func (c *conn) sendControl(op byte, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = c.appendFrame(c.wbuf, op, payload)
	return c.flushLocked()
}

// queue encodes m into the write buffer; flush sends it. Callers hold no lock.
func (c *conn) queue(m wamp.Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.queueLocked(m)
}

func (c *conn) queueLocked(m wamp.Message) error {
	var err error
	if c.scratch, err = c.t.ser.Encode(c.scratch[:0], m); err != nil {
		return fmt.Errorf("encoding %s: %w", m.MessageType(), err)
	}
	op := byte(0) // RawSocket: a WAMP message
	if c.t.websocket {
		op = 0x1
		if c.binary {
			op = 0x2
		}
	}
	c.wbuf = c.appendFrame(c.wbuf, op, c.scratch)
	return nil
}

// flush writes the queued frames with one write.
func (c *conn) flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.flushLocked()
}

func (c *conn) flushLocked() error {
	if len(c.wbuf) == 0 {
		return nil
	}
	_, err := c.nc.Write(c.wbuf)
	if cap(c.wbuf) > 1<<20 {
		c.wbuf = nil
	} else {
		c.wbuf = c.wbuf[:0]
	}
	return err
}

// send queues m and flushes.
func (c *conn) send(m wamp.Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.queueLocked(m); err != nil {
		return err
	}
	return c.flushLocked()
}

// request sends m and returns the next message the router sends, decoded. It is for the set-up
// phase only, before the connection's reader goroutine starts.
func (c *conn) request(m wamp.Message) (wamp.Message, error) {
	if err := c.send(m); err != nil {
		return nil, err
	}
	c.nc.SetReadDeadline(time.Now().Add(c.t.timeout))
	defer c.nc.SetReadDeadline(time.Time{})
	b, err := c.readMessage()
	if err != nil {
		return nil, err
	}
	reply, err := c.t.ser.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("decoding the reply to %s: %w", m.MessageType(), err)
	}
	if e, ok := reply.(*wamp.Error); ok {
		return nil, fmt.Errorf("%s failed: %s %v", m.MessageType(), e.Error, e.Args)
	}
	if a, ok := reply.(*wamp.Abort); ok {
		return nil, fmt.Errorf("router sent ABORT %s %v", a.Reason, a.Details)
	}
	return reply, nil
}

// join opens a session with the given roles (e.g. "subscriber").
func (c *conn) join(roles ...string) (wamp.ID, error) {
	r := make(wamp.Dict, len(roles))
	for _, role := range roles {
		r[role] = wamp.Dict{}
	}
	reply, err := c.request(&wamp.Hello{Realm: c.t.realm, Details: wamp.Dict{"roles": r, "agent": "gateway-bench"}})
	if err != nil {
		return 0, fmt.Errorf("joining %s: %w", c.t.realm, err)
	}
	w, ok := reply.(*wamp.Welcome)
	if !ok {
		return 0, fmt.Errorf("joining %s: router sent %s instead of WELCOME", c.t.realm, reply.MessageType())
	}
	return w.Session, nil
}

// subscribe subscribes to topic and waits for SUBSCRIBED.
func (c *conn) subscribe(req wamp.ID, topic string) error {
	reply, err := c.request(&wamp.Subscribe{Request: req, Options: wamp.Dict{}, Topic: wamp.URI(topic)})
	if err != nil {
		return fmt.Errorf("subscribing to %s: %w", topic, err)
	}
	if s, ok := reply.(*wamp.Subscribed); !ok || s.Request != req {
		return fmt.Errorf("subscribing to %s: router sent %s instead of SUBSCRIBED", topic, reply.MessageType())
	}
	return nil
}

// register registers procedure and waits for REGISTERED.
func (c *conn) register(req wamp.ID, procedure string, opts wamp.Dict) error {
	reply, err := c.request(&wamp.Register{Request: req, Options: opts, Procedure: wamp.URI(procedure)})
	if err != nil {
		return fmt.Errorf("registering %s: %w", procedure, err)
	}
	if r, ok := reply.(*wamp.Registered); !ok || r.Request != req {
		return fmt.Errorf("registering %s: router sent %s instead of REGISTERED", procedure, reply.MessageType())
	}
	return nil
}
