package router

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

// defineRouter is a realm built from class definitions only (New builds the registry).
func defineRouter(t *testing.T) *Router {
	t.Helper()
	cfg, err := config.Parse("test.toml", []byte(classesTOML))
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{Realms: []RealmConfig{{Name: "realm1", EventClasses: cfg.Realms[0].EventClasses}},
		HelloTimeout: time.Second, GoodbyeTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// DefineEventClass swaps the schema publications are checked against; a refused definition
// changes nothing.
func TestDefineEventClass(t *testing.T) {
	r := defineRouter(t)
	rl := r.Realm("realm1")
	c := joinWith(t, r, codec.JSON, wamp.Dict{"roles": allClientRoles})
	publishOK := func(kwargs wamp.Dict) error {
		c.publish("com.example.pay", wamp.Dict{"acknowledge": true}, nil, kwargs)
		if e, ok := c.recv().(*wamp.Error); ok {
			return &Error{URI: e.Error, Args: e.Args}
		}
		return nil
	}
	if err := publishOK(wamp.Dict{"amount": "x"}); err != nil {
		t.Fatalf("a topic without class was checked: %v", err)
	}
	replaced, err := rl.DefineEventClass(config.EventClass{Name: "pay", Topic: "com.example.pay",
		Fields: config.EventFields{{Name: "amount", Type: config.TypeInt, Required: true}}})
	if err != nil || replaced {
		t.Fatalf("DefineEventClass = %v, %v", replaced, err)
	}
	if err := publishOK(wamp.Dict{"amount": "x"}); err == nil {
		t.Fatal("a publication violating the new class was accepted")
	}
	if err := publishOK(wamp.Dict{"amount": int64(1)}); err != nil {
		t.Fatal(err)
	}
	replaced, err = rl.DefineEventClass(config.EventClass{Name: "pay", Topic: "com.example.pay",
		Fields: config.EventFields{{Name: "amount", Type: config.TypeString, Required: true}}})
	if err != nil || !replaced {
		t.Fatalf("redefinition = %v, %v", replaced, err)
	}
	if err := publishOK(wamp.Dict{"amount": "x"}); err != nil {
		t.Fatalf("the redefined class refused %v", err)
	}
	_, err = rl.DefineEventClass(config.EventClass{Name: "other", Topic: "com.example.pay"})
	if err == nil || !strings.Contains(err.Error(), `already the topic of class "pay"`) {
		t.Fatalf("duplicate topic: %v", err)
	}
	if n := rl.Events().Len(); n != 3 {
		t.Fatalf("%d classes after a refused definition, want 3", n)
	}
	if got := len(rl.EventClassContext().EventClasses); got != 3 {
		t.Fatalf("the realm keeps %d definitions, want 3", got)
	}
}

// Definitions race with publications and with each other without data races or lost classes.
func TestDefineEventClassConcurrent(t *testing.T) {
	r := defineRouter(t)
	rl := r.Realm("realm1")
	c := joinWith(t, r, codec.JSON, wamp.Dict{"roles": allClientRoles})
	var wg sync.WaitGroup
	const n = 20
	for i := range n {
		wg.Go(func() {
			name := "c" + string(rune('a'+i))
			if _, err := rl.DefineEventClass(config.EventClass{Name: name, Topic: "com.example." + name}); err != nil {
				t.Error(err)
			}
		})
	}
	for range n {
		c.publish("com.example.chat.message", wamp.Dict{"acknowledge": true}, nil, wamp.Dict{"room": "r"})
		recvAs[*wamp.Published](c)
	}
	wg.Wait()
	if got := rl.Events().Len(); got != 2+n {
		t.Fatalf("%d classes, want %d", got, 2+n)
	}
}
