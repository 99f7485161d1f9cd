package router

import (
	"fmt"
	"net"
	"testing"

	"github.com/gateway-dev/gateway/internal/peer"
	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

// nopConn is a peer.Conn that discards what it is sent, so benchmarks measure the router alone.
type nopConn struct {
	ser  codec.Serializer
	info peer.Info
}

func (c *nopConn) Serializer() codec.Serializer { return c.ser }
func (c *nopConn) Send([]byte) error            { return nil }
func (c *nopConn) Close(peer.CloseCode, string) {}
func (c *nopConn) Info() *peer.Info             { return &c.info }

// benchSession joins a session over a nopConn.
func benchSession(b *testing.B, r *Router, ser codec.Serializer) *Session {
	c := &nopConn{ser: ser, info: peer.Info{Transport: "websocket", Network: "tcp", RemoteAddr: &net.TCPAddr{}}}
	s := r.Accept(c).(*Session)
	hello, _ := ser.Encode(nil, &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": allClientRoles}})
	s.Receive(hello)
	if !s.live() {
		b.Fatal("session did not join")
	}
	return s
}

func encodeMsg(b *testing.B, ser codec.Serializer, m wamp.Message) []byte {
	buf, err := ser.Encode(nil, m)
	if err != nil {
		b.Fatal(err)
	}
	return buf
}

// BenchmarkPublishFanout publishes one 100-byte event to 10k local subscribers of one topic; the
// transport is a no-op, so this is the router's own cost per publication (and per delivery).
func BenchmarkPublishFanout(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			r, _ := New(Config{Realms: []RealmConfig{{Name: "realm1"}}})
			for i := 0; i < n; i++ {
				s := benchSession(b, r, codec.JSONSerializer)
				s.Receive(encodeMsg(b, codec.JSONSerializer, &wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: "bench.topic"}))
			}
			pub := benchSession(b, r, codec.JSONSerializer)
			msg := encodeMsg(b, codec.JSONSerializer, &wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: "bench.topic",
				Args: wamp.List{string(make100())}})
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				pub.Receive(msg)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
		})
	}
}

func make100() []byte {
	p := make([]byte, 100)
	for i := range p {
		p[i] = 'x'
	}
	return p
}

// BenchmarkTopicMatch looks up the subscriptions of a topic among 100k subscriptions (exact, with some
// prefix and wildcard patterns).
func BenchmarkTopicMatch(b *testing.B) {
	ix := newPatternIndex[*subscription]()
	for i := 0; i < 100000; i++ {
		topic := wamp.URI(fmt.Sprintf("com.example.room%d.message", i))
		switch i % 100 {
		case 0:
			ix.put(matchPrefix, wamp.URI(fmt.Sprintf("com.example.room%d", i)), &subscription{})
		case 1:
			ix.put(matchWildcard, wamp.URI(fmt.Sprintf("com.example.room%d.", i)), &subscription{})
		default:
			ix.put(matchExact, topic, &subscription{})
		}
	}
	topics := []wamp.URI{"com.example.room4242.message", "com.example.room100.message", "com.example.room101.x", "org.nothing"}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		ix.each(topics[i%len(topics)], func(string, *subscription) { n++ })
	}
	if n == 0 {
		b.Fatal("no matches")
	}
}

// BenchmarkCallRoundTrip is one CALL → INVOCATION → YIELD → RESULT through the dealer.
func BenchmarkCallRoundTrip(b *testing.B) {
	r, _ := New(Config{Realms: []RealmConfig{{Name: "realm1"}}})
	callee := benchSession(b, r, codec.MsgPackSerializer)
	callee.Receive(encodeMsg(b, codec.MsgPackSerializer, &wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "bench.proc"}))
	caller := benchSession(b, r, codec.MsgPackSerializer)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := wamp.ID(i + 1)
		caller.Receive(encodeMsg(b, codec.MsgPackSerializer, &wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "bench.proc", Args: wamp.List{int64(i)}}))
		callee.Receive(encodeMsg(b, codec.MsgPackSerializer, &wamp.Yield{Request: wamp.ID(callee.nextInvocation.Load()), Options: wamp.Dict{}, Args: wamp.List{int64(i)}}))
	}
}
