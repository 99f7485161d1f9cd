package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/gateway-dev/gateway/client"
	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

// A session that registers a procedure, calls it, subscribes to a topic and publishes to it.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c, err := client.Connect(ctx, "ws://127.0.0.1:8080/ws", client.Config{
		Realm:      "realm1",
		Serializer: codec.MsgPack,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	// A callee: the handler runs in its own goroutine for each call.
	_, err = c.Register(ctx, "com.example.add", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		a, ok1 := inv.Args[0].(int64)
		b, ok2 := inv.Args[1].(int64)
		if len(inv.Args) != 2 || !ok1 || !ok2 {
			return nil, &client.RPCError{URI: wamp.ErrInvalidArgument, Args: wamp.List{"want two integers"}}
		}
		return &client.Result{Args: wamp.List{a + b}}, nil
	}, nil)
	if err != nil {
		log.Fatal(err)
	}

	// A caller.
	res, err := c.Call(ctx, "com.example.add", wamp.List{2, 3}, nil, nil)
	switch {
	case client.IsError(err, wamp.ErrInvalidArgument):
		log.Fatal("bad arguments: ", err)
	case err != nil:
		log.Fatal(err)
	}
	fmt.Println("2 + 3 =", res.Args[0])

	// A subscriber and a publisher (exclude_me=false: the publisher receives its own event).
	events := make(chan *wamp.Event, 1)
	sub, err := c.Subscribe(ctx, "com.example.news", func(ev *wamp.Event) { events <- ev }, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Unsubscribe(ctx)
	_, err = c.Publish(ctx, "com.example.news", wamp.List{"hello"}, wamp.Dict{"from": "example"},
		wamp.Dict{"acknowledge": true, "exclude_me": false})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("event:", (<-events).Args[0])
}

// Progressive results: the callee sends partial results, the caller receives them before the
// final one.
func ExampleWithProgress() {
	ctx := context.Background()
	c, err := client.Connect(ctx, "rs://127.0.0.1:8080", client.Config{Realm: "realm1"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	_, err = c.Register(ctx, "com.example.countdown", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		for i := 3; i > 0 && inv.ReceiveProgress(); i-- {
			if err := inv.SendProgress(wamp.List{i}, nil); err != nil {
				return nil, err
			}
		}
		return &client.Result{Args: wamp.List{"liftoff"}}, nil
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.Call(ctx, "com.example.countdown", nil, nil, nil, client.WithProgress(func(r *wamp.Result) {
		fmt.Println(r.Args[0])
	}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Args[0])
}

// Progressive call invocations: the caller sends its input in chunks; the callee reads them with
// Invocation.Next.
func ExampleClient_CallStream() {
	ctx := context.Background()
	c, err := client.Connect(ctx, "ws+unix:///run/gateway.sock#/ws", client.Config{Realm: "realm1"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	_, err = c.Register(ctx, "com.example.upload", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		n := len(inv.Args)
		for inv.Progressive() {
			chunk, err := inv.Next(ctx)
			if err != nil {
				return nil, err
			}
			n += len(chunk.Args)
		}
		return &client.Result{Args: wamp.List{n}}, nil
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	s, err := c.CallStream(ctx, "com.example.upload", nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, part := range []string{"a", "b", "c"} {
		if err := s.Send(wamp.List{part}, nil); err != nil {
			log.Fatal(err)
		}
	}
	res, err := s.Finish(wamp.List{"d"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("items received:", res.Args[0])
}
