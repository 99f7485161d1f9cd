package client

import (
	"context"
	"io"
	"testing"

	"github.com/gateway-dev/gateway/wamp"
)

// BenchmarkPublish measures queuing, encoding and writing one unacknowledged PUBLISH, to a peer
// that discards everything.
func BenchmarkPublish(b *testing.B) {
	for _, wsMode := range []bool{false, true} {
		name := "rawsocket"
		if wsMode {
			name = "websocket"
		}
		b.Run(name, func(b *testing.B) {
			f := startFake(b, wsMode, nil)
			c, fc := connectFake(b, f, Config{})
			go func() { _, _ = io.Copy(io.Discard, fc.conn) }()
			ctx := context.Background()
			args := wamp.List{"hello", int64(42)}
			kwargs := wamp.Dict{"k": "v"}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := c.Publish(ctx, "com.example.topic", args, kwargs, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			_ = fc.conn.Close()
			<-c.Done()
		})
	}
}

// BenchmarkCall measures a call round trip through an in-process nexus router.
func BenchmarkCall(b *testing.B) {
	nr := startRouter(b, routerOptions{})
	ctx := context.Background()
	callee, err := Connect(ctx, nr.rs, Config{Realm: testRealm, Serializer: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer callee.Close()
	caller, err := Connect(ctx, nr.rs, Config{Realm: testRealm, Serializer: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer caller.Close()
	_, err = callee.Register(ctx, "com.example.echo", func(ctx context.Context, inv *Invocation) (*Result, error) {
		return &Result{Args: inv.Args}, nil
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	args := wamp.List{int64(1)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := caller.Call(ctx, "com.example.echo", args, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}
