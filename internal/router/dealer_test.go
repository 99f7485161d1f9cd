package router

import (
	"strings"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

// answer reads an INVOCATION and answers it with YIELD.
func (c *testClient) answer(args wamp.List) *wamp.Invocation {
	c.t.Helper()
	inv := recvAs[*wamp.Invocation](c)
	c.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: args})
	return inv
}

func TestCallAndResult(t *testing.T) {
	r := newRouter(t)
	callee, caller := join(t, r), join(t, r)
	regID := callee.register("com.example.add", nil)
	req := caller.call("com.example.add", nil, wamp.List{int64(2), int64(3)}, wamp.Dict{"k": true})
	inv := recvAs[*wamp.Invocation](callee)
	if inv.Registration != regID || len(inv.Args) != 2 || inv.Kwargs["k"] != true {
		t.Fatalf("INVOCATION %+v", inv)
	}
	if _, has := inv.Details["caller"]; has {
		t.Fatal("caller disclosed without disclose_me")
	}
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: wamp.List{int64(5)}})
	res := recvAs[*wamp.Result](caller)
	if res.Request != req || res.Args[0] != int64(5) {
		t.Fatalf("RESULT %+v", res)
	}
}

func TestCalleeErrorReachesCaller(t *testing.T) {
	r := newRouter(t)
	callee, caller := join(t, r), join(t, r)
	callee.register("p", nil)
	req := caller.call("p", nil, nil, nil)
	inv := recvAs[*wamp.Invocation](callee)
	callee.send(&wamp.Error{RequestType: wamp.INVOCATION, Request: inv.Request, Details: wamp.Dict{}, Error: "com.example.oops", Args: wamp.List{"bad", int64(1)}, Kwargs: wamp.Dict{"why": "x"}})
	e := recvAs[*wamp.Error](caller)
	if e.Request != req || e.RequestType != wamp.CALL || e.Error != "com.example.oops" || e.Args[0] != "bad" || e.Kwargs["why"] != "x" {
		t.Fatalf("ERROR %+v", e)
	}
}

func TestNoSuchProcedureAndAlreadyExists(t *testing.T) {
	r := newRouter(t)
	a, b := join(t, r), join(t, r)
	a.callError("nobody.home", nil, nil, wamp.ErrNoSuchProcedure)
	a.register("p", nil)
	req := b.nextReq()
	b.send(&wamp.Register{Request: req, Options: wamp.Dict{}, Procedure: "p"})
	if e := recvAs[*wamp.Error](b); e.Error != wamp.ErrProcedureAlreadyExists || e.RequestType != wamp.REGISTER {
		t.Fatalf("%+v", e)
	}
	req = b.nextReq()
	b.send(&wamp.Register{Request: req, Options: wamp.Dict{}, Procedure: "wamp.session.count"})
	if e := recvAs[*wamp.Error](b); e.Error != wamp.ErrInvalidURI {
		t.Fatalf("register reserved: %+v", e)
	}
}

func TestUnregister(t *testing.T) {
	r := newRouter(t)
	callee, caller := join(t, r), join(t, r)
	id := callee.register("p", nil)
	req := callee.nextReq()
	callee.send(&wamp.Unregister{Request: req, Registration: id})
	if u := recvAs[*wamp.Unregistered](callee); u.Request != req {
		t.Fatal(u)
	}
	caller.callError("p", nil, nil, wamp.ErrNoSuchProcedure)
	req = callee.nextReq()
	callee.send(&wamp.Unregister{Request: req, Registration: id})
	if e := recvAs[*wamp.Error](callee); e.Error != wamp.ErrNoSuchRegistration {
		t.Fatal(e)
	}
}

func TestSharedRegistration(t *testing.T) {
	for _, policy := range []string{"roundrobin", "first", "last", "random"} {
		t.Run(policy, func(t *testing.T) {
			r := newRouter(t)
			callees := []*testClient{join(t, r), join(t, r), join(t, r)}
			var regID wamp.ID
			for _, c := range callees {
				id := c.register("shared", wamp.Dict{"invoke": policy})
				if regID != 0 && id != regID {
					t.Fatal("shared registration got different IDs")
				}
				regID = id
			}
			caller := join(t, r)
			hits := make([]int, len(callees))
			for i := 0; i < 9; i++ {
				caller.call("shared", nil, nil, nil)
				got := -1
				for got < 0 {
					for j, c := range callees {
						select {
						case m := <-c.conn.out:
							inv := m.(*wamp.Invocation)
							c.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
							got = j
						default:
						}
					}
				}
				hits[got]++
				recvAs[*wamp.Result](caller)
			}
			switch policy {
			case "roundrobin":
				if hits[0] != 3 || hits[1] != 3 || hits[2] != 3 {
					t.Fatalf("roundrobin hits %v", hits)
				}
			case "first":
				if hits[0] != 9 {
					t.Fatalf("first hits %v", hits)
				}
			case "last":
				if hits[2] != 9 {
					t.Fatalf("last hits %v", hits)
				}
			}
		})
	}
}

func TestSharedRegistrationPolicyConflicts(t *testing.T) {
	r := newRouter(t)
	a, b := join(t, r), join(t, r)
	a.register("p", wamp.Dict{"invoke": "roundrobin"})
	for opts, want := range map[string]wamp.URI{
		"random": ErrProcedureExistsWithDifferentPolicy,
		"single": wamp.ErrProcedureAlreadyExists,
	} {
		req := b.nextReq()
		b.send(&wamp.Register{Request: req, Options: wamp.Dict{"invoke": opts}, Procedure: "p"})
		if e := recvAs[*wamp.Error](b); e.Error != want {
			t.Fatalf("invoke %s: %+v", opts, e)
		}
	}
	req := a.nextReq()
	a.send(&wamp.Register{Request: req, Options: wamp.Dict{"invoke": "roundrobin"}, Procedure: "p"})
	if e := recvAs[*wamp.Error](a); e.Error != wamp.ErrProcedureAlreadyExists {
		t.Fatalf("same session twice: %+v", e)
	}
}

func TestPatternRegistrationPrecedence(t *testing.T) {
	r := newRouter(t)
	exact, prefixShort, prefixLong, wildA, wildB := join(t, r), join(t, r), join(t, r), join(t, r), join(t, r)
	exact.register("a.b.c", nil)
	prefixShort.register("a", wamp.Dict{"match": "prefix"})
	prefixLong.register("a.b", wamp.Dict{"match": "prefix"})
	wildA.register("x..z", wamp.Dict{"match": "wildcard"})
	wildB.register("x.y.", wamp.Dict{"match": "wildcard"})
	caller := join(t, r)
	for _, tc := range []struct {
		proc wamp.URI
		want *testClient
	}{
		{"a.b.c", exact}, {"a.b.d", prefixLong}, {"a.c", prefixShort}, {"x.y.z", wildB}, {"x.q.z", wildA},
	} {
		caller.call(tc.proc, nil, nil, nil)
		inv := tc.want.answer(nil)
		if tc.want != exact && inv.Details["procedure"] != string(tc.proc) {
			t.Fatalf("%s: details %v", tc.proc, inv.Details)
		}
		recvAs[*wamp.Result](caller)
	}
}

func TestCallerDisclosure(t *testing.T) {
	r := newRouter(t)
	callee, caller := join(t, r), join(t, r)
	callee.register("p", nil)
	caller.call("p", wamp.Dict{"disclose_me": true}, nil, nil)
	inv := callee.answer(nil)
	if id, _ := asID(inv.Details["caller"]); id != caller.id || inv.Details["caller_authrole"] != "anonymous" {
		t.Fatalf("details %v", inv.Details)
	}
	recvAs[*wamp.Result](caller)

	always := newRouter(t, RealmConfig{Name: "realm1", AlwaysDiscloseCaller: true})
	ce, cr := join(t, always), join(t, always)
	ce.register("p", nil)
	cr.call("p", nil, nil, nil)
	if inv := ce.answer(nil); inv.Details["caller"] == nil {
		t.Fatalf("always_disclose_caller: %v", inv.Details)
	}
}

func TestProgressiveCallResults(t *testing.T) {
	r := newRouter(t)
	callee, caller := join(t, r), join(t, r)
	callee.register("p", nil)
	req := caller.call("p", wamp.Dict{"receive_progress": true}, nil, nil)
	inv := recvAs[*wamp.Invocation](callee)
	if inv.Details["receive_progress"] != true {
		t.Fatalf("details %v", inv.Details)
	}
	for i := 0; i < 3; i++ {
		callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{"progress": true}, Args: wamp.List{int64(i)}})
	}
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: wamp.List{"done"}})
	for i := 0; i < 3; i++ {
		res := recvAs[*wamp.Result](caller)
		if res.Request != req || res.Details["progress"] != true || res.Args[0] != int64(i) {
			t.Fatalf("progress %d: %+v", i, res)
		}
	}
	final := recvAs[*wamp.Result](caller)
	if final.Details["progress"] == true || final.Args[0] != "done" {
		t.Fatalf("final %+v", final)
	}
}

func TestProgressiveCallInvocations(t *testing.T) {
	r := newRouter(t)
	callee, caller := join(t, r), join(t, r)
	callee.register("upload", nil)
	req := caller.nextReq()
	for i := 0; i < 3; i++ {
		caller.send(&wamp.Call{Request: req, Options: wamp.Dict{"progress": true}, Procedure: "upload", Args: wamp.List{int64(i)}})
	}
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "upload", Args: wamp.List{"end"}})
	var invID wamp.ID
	for i := 0; i < 4; i++ {
		inv := recvAs[*wamp.Invocation](callee)
		if invID == 0 {
			invID = inv.Request
		} else if inv.Request != invID {
			t.Fatal("progressive chunks went to different invocation IDs")
		}
		if (i < 3) != (inv.Details["progress"] == true) {
			t.Fatalf("chunk %d details %v", i, inv.Details)
		}
	}
	callee.send(&wamp.Yield{Request: invID, Options: wamp.Dict{}, Args: wamp.List{"ok"}})
	if res := recvAs[*wamp.Result](caller); res.Request != req {
		t.Fatal(res)
	}
	// A late continuation of the completed call is ignored.
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{"progress": true}, Procedure: "upload"})
	callee.expectNothing()
	caller.expectNothing()
}

func TestProgressiveInvocationsNeedCalleeSupport(t *testing.T) {
	r := newRouter(t)
	plain := joinWith(t, r, codec.JSON, wamp.Dict{"roles": wamp.Dict{"callee": wamp.Dict{}}})
	plain.register("p", nil)
	caller := join(t, r)
	caller.callError("p", wamp.Dict{"progress": true}, nil, wamp.ErrFeatureNotSupported)

	// A caller that did not announce the feature commits a protocol violation.
	rude := joinWith(t, r, codec.JSON, wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}})
	rude.call("p", wamp.Dict{"progress": true}, nil, nil)
	rude.expectAbort(wamp.ErrProtocolViolation)
}

func TestCallTimeout(t *testing.T) {
	r := newRouter(t)
	callee, caller := join(t, r), join(t, r)
	callee.register("slow", nil)
	req := caller.call("slow", wamp.Dict{"timeout": int64(30)}, nil, nil)
	inv := recvAs[*wamp.Invocation](callee)
	e := recvAs[*wamp.Error](caller)
	if e.Request != req || e.Error != wamp.ErrCanceled {
		t.Fatalf("timeout ERROR %+v", e)
	}
	intr := recvAs[*wamp.Interrupt](callee)
	if intr.Request != inv.Request || intr.Options["mode"] != "killnowait" {
		t.Fatalf("INTERRUPT %+v", intr)
	}
	// The late answer is dropped.
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
	caller.expectNothing()
}

func TestCancelModes(t *testing.T) {
	r := newRouter(t)
	callee, caller := join(t, r), join(t, r)
	callee.register("p", nil)

	t.Run("skip", func(t *testing.T) {
		req := caller.call("p", nil, nil, nil)
		inv := recvAs[*wamp.Invocation](callee)
		caller.send(&wamp.Cancel{Request: req, Options: wamp.Dict{"mode": "skip"}})
		if e := recvAs[*wamp.Error](caller); e.Error != wamp.ErrCanceled || e.Request != req {
			t.Fatal(e)
		}
		callee.expectNothing() // no INTERRUPT
		callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
		caller.expectNothing()
	})
	t.Run("killnowait", func(t *testing.T) {
		req := caller.call("p", nil, nil, nil)
		inv := recvAs[*wamp.Invocation](callee)
		caller.send(&wamp.Cancel{Request: req, Options: wamp.Dict{"mode": "killnowait"}})
		if e := recvAs[*wamp.Error](caller); e.Error != wamp.ErrCanceled {
			t.Fatal(e)
		}
		if i := recvAs[*wamp.Interrupt](callee); i.Request != inv.Request || i.Options["mode"] != "killnowait" {
			t.Fatal(i)
		}
	})
	t.Run("kill", func(t *testing.T) {
		req := caller.call("p", nil, nil, nil)
		inv := recvAs[*wamp.Invocation](callee)
		caller.send(&wamp.Cancel{Request: req, Options: wamp.Dict{"mode": "kill"}})
		if i := recvAs[*wamp.Interrupt](callee); i.Request != inv.Request || i.Options["mode"] != "kill" {
			t.Fatal(i)
		}
		caller.expectNothing() // waits for the callee
		callee.send(&wamp.Error{RequestType: wamp.INVOCATION, Request: inv.Request, Details: wamp.Dict{}, Error: wamp.ErrCanceled})
		if e := recvAs[*wamp.Error](caller); e.Error != wamp.ErrCanceled || e.Request != req {
			t.Fatal(e)
		}
	})
	t.Run("callee without canceling gets skip", func(t *testing.T) {
		plain := joinWith(t, r, codec.JSON, wamp.Dict{"roles": wamp.Dict{"callee": wamp.Dict{}}})
		plain.register("plain", nil)
		req := caller.call("plain", nil, nil, nil)
		recvAs[*wamp.Invocation](plain)
		caller.send(&wamp.Cancel{Request: req, Options: wamp.Dict{"mode": "kill"}})
		if e := recvAs[*wamp.Error](caller); e.Error != wamp.ErrCanceled {
			t.Fatal(e)
		}
		plain.expectNothing()
	})
}

func TestCalleeLeavingFailsPendingCalls(t *testing.T) {
	r := newRouter(t)
	callee, caller := join(t, r), join(t, r)
	callee.register("p", nil)
	req := caller.call("p", nil, nil, nil)
	recvAs[*wamp.Invocation](callee)
	callee.conn.Close(0, "")
	e := recvAs[*wamp.Error](caller)
	if e.Request != req || e.Error != wamp.ErrCanceled {
		t.Fatal(e)
	}
	deadline := time.Now().Add(time.Second)
	for {
		req := caller.call("p", nil, nil, nil)
		e := recvAs[*wamp.Error](caller)
		if e.Request == req && e.Error == wamp.ErrNoSuchProcedure {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("registration survived its callee")
		}
	}
}

func TestCallerLeavingInterruptsCallee(t *testing.T) {
	r := newRouter(t)
	callee, caller := join(t, r), join(t, r)
	callee.register("p", nil)
	caller.call("p", nil, nil, nil)
	inv := recvAs[*wamp.Invocation](callee)
	caller.conn.Close(0, "")
	if i := recvAs[*wamp.Interrupt](callee); i.Request != inv.Request {
		t.Fatal(i)
	}
}

func TestDuplicateCallRequestIsProtocolViolation(t *testing.T) {
	r := newRouter(t)
	callee, caller := join(t, r), join(t, r)
	callee.register("p", nil)
	caller.send(&wamp.Call{Request: 7, Options: wamp.Dict{}, Procedure: "p"})
	caller.send(&wamp.Call{Request: 7, Options: wamp.Dict{}, Procedure: "p"})
	caller.expectAbort(wamp.ErrProtocolViolation)
}

func TestTooBigResultBecomesError(t *testing.T) {
	r := newRouter(t)
	callee, caller := join(t, r), join(t, r)
	caller.conn.maxLen = 200
	callee.register("p", nil)
	req := caller.call("p", nil, nil, nil)
	callee.answer(wamp.List{strings.Repeat("x", 1000)})
	if e := recvAs[*wamp.Error](caller); e.Error != wamp.ErrPayloadSizeExceeded || e.Request != req {
		t.Fatal(e)
	}
}

func TestPayloadPassthruRPC(t *testing.T) {
	r := newRouter(t)
	callee, caller := join(t, r), join(t, r)
	callee.register("e2e", nil)
	req := caller.call("e2e", wamp.Dict{"ppt_scheme": "x_app", "ppt_cipher": "xsalsa20poly1305"}, wamp.List{[]byte("sealed")}, nil)
	inv := recvAs[*wamp.Invocation](callee)
	if inv.Details["ppt_scheme"] != "x_app" || inv.Details["ppt_cipher"] != "xsalsa20poly1305" || string(inv.Args[0].([]byte)) != "sealed" {
		t.Fatalf("INVOCATION %+v", inv)
	}
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{"ppt_scheme": "x_app"}, Args: wamp.List{[]byte("reply")}})
	res := recvAs[*wamp.Result](caller)
	if res.Request != req || res.Details["ppt_scheme"] != "x_app" {
		t.Fatalf("RESULT %+v", res)
	}

	plainCallee := joinWith(t, r, codec.JSON, wamp.Dict{"roles": wamp.Dict{"callee": wamp.Dict{}}})
	plainCallee.register("plain", nil)
	caller.callError("plain", wamp.Dict{"ppt_scheme": "x_app"}, wamp.List{[]byte("x")}, wamp.ErrFeatureNotSupported)
}
