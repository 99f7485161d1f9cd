package router

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/internal/peer"
	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

// fakeConn is an in-memory peer.Conn: what the router sends is decoded and queued for the test.
type fakeConn struct {
	ser     codec.Serializer
	out     chan wamp.Message
	raw     chan []byte
	maxLen  int
	info    peer.Info
	mu      sync.Mutex
	closed  bool
	code    peer.CloseCode
	reason  string
	session peer.Session
	sends   atomic.Int64
}

func (c *fakeConn) Serializer() codec.Serializer { return c.ser }
func (c *fakeConn) Info() *peer.Info             { return &c.info }

func (c *fakeConn) Send(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return peer.ErrClosed
	}
	if c.maxLen > 0 && len(b) > c.maxLen {
		return peer.ErrTooBig
	}
	m, err := c.ser.Decode(b)
	if err != nil {
		panic("router sent an undecodable message: " + err.Error())
	}
	c.sends.Add(1)
	select {
	case c.out <- m:
	default:
		panic("fakeConn: output buffer full")
	}
	select {
	case c.raw <- b:
	default:
	}
	return nil
}

func (c *fakeConn) Close(code peer.CloseCode, reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.code, c.reason = true, code, reason
	c.mu.Unlock()
	// Like a transport: the session learns that the connection is gone.
	if c.session != nil {
		go c.session.Closed(nil)
	}
}

func (c *fakeConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// testClient drives one fake connection.
type testClient struct {
	t    *testing.T
	conn *fakeConn
	sess peer.Session
	id   wamp.ID
	req  wamp.ID
	welc *wamp.Welcome
}

func newRouter(t *testing.T, realms ...RealmConfig) *Router {
	t.Helper()
	if len(realms) == 0 {
		realms = []RealmConfig{{Name: "realm1", AllowDisclose: true}}
	}
	r, err := New(Config{Realms: realms, HelloTimeout: time.Second, GoodbyeTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func serializer(t *testing.T, id codec.ID) codec.Serializer {
	t.Helper()
	s, ok := codec.ByID(id)
	if !ok {
		t.Fatalf("no serializer %d", id)
	}
	return s
}

// dial attaches a new connection without sending HELLO.
func dial(t *testing.T, r *Router, ser codec.ID) *testClient {
	t.Helper()
	c := &fakeConn{
		ser: serializer(t, ser), out: make(chan wamp.Message, 10000), raw: make(chan []byte, 10000),
		info: peer.Info{Transport: "websocket", Network: "tcp", RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5555}},
	}
	s := r.Accept(c)
	c.session = s
	return &testClient{t: t, conn: c, sess: s}
}

var allClientRoles = wamp.Dict{
	"publisher":  wamp.Dict{"features": wamp.Dict{"publisher_exclusion": true, "publisher_identification": true, "payload_passthru_mode": true}},
	"subscriber": wamp.Dict{"features": wamp.Dict{"pattern_based_subscription": true}},
	"caller":     wamp.Dict{"features": wamp.Dict{"progressive_call_results": true, "progressive_call_invocations": true, "call_canceling": true, "call_timeout": true, "payload_passthru_mode": true}},
	"callee": wamp.Dict{"features": wamp.Dict{"progressive_call_results": true, "progressive_call_invocations": true,
		"call_canceling": true, "caller_identification": true, "shared_registration": true, "pattern_based_registration": true,
		"payload_passthru_mode": true}},
}

// join connects and opens a session on realm1 with all client features.
func join(t *testing.T, r *Router) *testClient {
	t.Helper()
	return joinWith(t, r, codec.JSON, wamp.Dict{"roles": allClientRoles})
}

func joinWith(t *testing.T, r *Router, ser codec.ID, details wamp.Dict) *testClient {
	t.Helper()
	c := dial(t, r, ser)
	c.send(&wamp.Hello{Realm: "realm1", Details: details})
	w, ok := c.recv().(*wamp.Welcome)
	if !ok {
		t.Fatalf("expected WELCOME")
	}
	c.id, c.welc = w.Session, w
	return c
}

// send encodes m and hands it to the router like a transport would.
func (c *testClient) send(m wamp.Message) {
	c.t.Helper()
	b, err := c.conn.ser.Encode(nil, m)
	if err != nil {
		c.t.Fatalf("encode %s: %v", m.MessageType(), err)
	}
	c.sess.Receive(b)
}

func (c *testClient) nextReq() wamp.ID { c.req++; return c.req }

// recv returns the next message the router sent, failing after a timeout.
func (c *testClient) recv() wamp.Message {
	c.t.Helper()
	select {
	case m := <-c.conn.out:
		return m
	case <-time.After(3 * time.Second):
		c.t.Fatalf("session %d: no message from the router", c.id)
		return nil
	}
}

// expectNothing asserts that the router sent nothing for a short while.
func (c *testClient) expectNothing() {
	c.t.Helper()
	select {
	case m := <-c.conn.out:
		c.t.Fatalf("session %d: unexpected %s %+v", c.id, m.MessageType(), m)
	case <-time.After(50 * time.Millisecond):
	}
}

func recvAs[T wamp.Message](c *testClient) T {
	c.t.Helper()
	m := c.recv()
	v, ok := m.(T)
	if !ok {
		c.t.Fatalf("session %d: expected %T, got %s %+v", c.id, v, m.MessageType(), m)
	}
	return v
}

func (c *testClient) subscribe(topic wamp.URI, opts wamp.Dict) wamp.ID {
	c.t.Helper()
	if opts == nil {
		opts = wamp.Dict{}
	}
	req := c.nextReq()
	c.send(&wamp.Subscribe{Request: req, Options: opts, Topic: topic})
	s := recvAs[*wamp.Subscribed](c)
	if s.Request != req {
		c.t.Fatalf("SUBSCRIBED for request %d, want %d", s.Request, req)
	}
	return s.Subscription
}

func (c *testClient) register(proc wamp.URI, opts wamp.Dict) wamp.ID {
	c.t.Helper()
	if opts == nil {
		opts = wamp.Dict{}
	}
	req := c.nextReq()
	c.send(&wamp.Register{Request: req, Options: opts, Procedure: proc})
	s := recvAs[*wamp.Registered](c)
	return s.Registration
}

func (c *testClient) publish(topic wamp.URI, opts wamp.Dict, args wamp.List, kwargs wamp.Dict) wamp.ID {
	c.t.Helper()
	if opts == nil {
		opts = wamp.Dict{}
	}
	req := c.nextReq()
	c.send(&wamp.Publish{Request: req, Options: opts, Topic: topic, Args: args, Kwargs: kwargs})
	return req
}

// call sends CALL and returns its request ID.
func (c *testClient) call(proc wamp.URI, opts wamp.Dict, args wamp.List, kwargs wamp.Dict) wamp.ID {
	c.t.Helper()
	if opts == nil {
		opts = wamp.Dict{}
	}
	req := c.nextReq()
	c.send(&wamp.Call{Request: req, Options: opts, Procedure: proc, Args: args, Kwargs: kwargs})
	return req
}

// callResult calls a procedure and expects a RESULT.
func (c *testClient) callResult(proc wamp.URI, args wamp.List, kwargs wamp.Dict) *wamp.Result {
	c.t.Helper()
	req := c.call(proc, nil, args, kwargs)
	r := recvAs[*wamp.Result](c)
	if r.Request != req {
		c.t.Fatalf("RESULT for %d, want %d", r.Request, req)
	}
	return r
}

// callError calls a procedure and expects an ERROR with the given URI.
func (c *testClient) callError(proc wamp.URI, opts wamp.Dict, args wamp.List, want wamp.URI) *wamp.Error {
	c.t.Helper()
	req := c.call(proc, opts, args, nil)
	e := recvAs[*wamp.Error](c)
	if e.Request != req || e.RequestType != wamp.CALL || e.Error != want {
		c.t.Fatalf("got ERROR %s for %s %d, want %s for CALL %d (args %v)", e.Error, e.RequestType, e.Request, want, req, e.Args)
	}
	return e
}

// expectAbort asserts that the router answered with ABORT reason and closed the connection.
func (c *testClient) expectAbort(reason wamp.URI) {
	c.t.Helper()
	a := recvAs[*wamp.Abort](c)
	if a.Reason != reason {
		c.t.Fatalf("ABORT reason %s (%v), want %s", a.Reason, a.Details, reason)
	}
	if !c.conn.isClosed() {
		c.t.Fatalf("connection not closed after ABORT")
	}
}

// drain reads and discards messages until none arrives for a moment.
func (c *testClient) drain() {
	for {
		select {
		case <-c.conn.out:
		case <-time.After(30 * time.Millisecond):
			return
		}
	}
}
