package codec

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/gateway-dev/gateway/wamp"
)

// samplePayloads are Args/Kwargs combinations in normalised form.
var (
	sampleArgs = wamp.List{int64(1), "two", 3.5, true, nil, []byte{0, 1, 0xff}, wamp.List{int64(-4), "x"},
		wamp.Dict{"k": "v"}, uint64(1 << 63), int64(-1 << 63), 1e300, -0.25, "ünïcode ✓ \"quoted\"\n", []any{}}
	sampleKwargs = wamp.Dict{"a": int64(1), "nested": wamp.Dict{"list": wamp.List{"x", 2.5}}, "empty": wamp.Dict{},
		"bin": []byte("raw"), "null": nil}
	sampleDetails = wamp.Dict{"publisher": int64(12345), "topic": "com.example.topic", "flag": false}
)

type payloadCase struct {
	name   string
	args   wamp.List
	kwargs wamp.Dict
}

var payloadCases = []payloadCase{
	{"none", nil, nil},
	{"args", sampleArgs, nil},
	{"kwargs", nil, sampleKwargs},
	{"both", sampleArgs, sampleKwargs},
}

// sampleMessages returns one or more messages of every type, in the normalised form a decoder
// returns (non-nil dicts, absent payloads nil).
func sampleMessages() []wamp.Message {
	d := sampleDetails
	e := wamp.Dict{}
	ms := []wamp.Message{
		&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"subscriber": wamp.Dict{}, "publisher": wamp.Dict{}}}},
		&wamp.Welcome{Session: 9129137332, Details: wamp.Dict{"roles": wamp.Dict{"broker": wamp.Dict{}}}},
		&wamp.Abort{Details: wamp.Dict{"message": "bye"}, Reason: wamp.URI("wamp.error.no_such_realm")},
		&wamp.Challenge{AuthMethod: "wampcra", Extra: wamp.Dict{"challenge": "{}"}},
		&wamp.Authenticate{Signature: "gir1mSx+deCDUV7FgLvsQNTi6n3W/Z/WcZ/OT9RwdZY=", Extra: e},
		&wamp.Goodbye{Details: e, Reason: "wamp.close.normal"},
		&wamp.Published{Request: 1, Publication: wamp.MaxID},
		&wamp.Subscribe{Request: 2, Options: wamp.Dict{"match": "prefix"}, Topic: "com.example"},
		&wamp.Subscribed{Request: 2, Subscription: 5512315355},
		&wamp.Unsubscribe{Request: 3, Subscription: 5512315355},
		&wamp.Unsubscribed{Request: 3},
		&wamp.Unsubscribed{Request: 0, Details: wamp.Dict{"subscription": int64(5512315355), "reason": "wamp.error.revoked"}},
		&wamp.Unsubscribed{Request: 4, Details: e},
		&wamp.Cancel{Request: 7814135, Options: wamp.Dict{"mode": "kill"}},
		&wamp.Register{Request: 5, Options: e, Procedure: "com.example.add"},
		&wamp.Registered{Request: 5, Registration: 2103333224},
		&wamp.Unregister{Request: 6, Registration: 2103333224},
		&wamp.Unregistered{Request: 6},
		&wamp.Unregistered{Request: 0, Details: wamp.Dict{"registration": int64(2103333224)}},
		&wamp.Interrupt{Request: 6131533, Options: e},
	}
	for _, p := range payloadCases {
		ms = append(ms,
			&wamp.Error{RequestType: wamp.CALL, Request: 7814135, Details: d, Error: "com.myapp.error", Args: p.args, Kwargs: p.kwargs},
			&wamp.Publish{Request: 239714735, Options: wamp.Dict{"acknowledge": true}, Topic: "com.myapp.topic1", Args: p.args, Kwargs: p.kwargs},
			&wamp.Event{Subscription: 5512315355, Publication: 4429313566, Details: d, Args: p.args, Kwargs: p.kwargs},
			&wamp.Call{Request: 7814135, Options: e, Procedure: "com.myapp.proc", Args: p.args, Kwargs: p.kwargs},
			&wamp.Result{Request: 7814135, Details: wamp.Dict{"progress": true}, Args: p.args, Kwargs: p.kwargs},
			&wamp.Invocation{Request: 6131533, Registration: 9823526, Details: d, Args: p.args, Kwargs: p.kwargs},
			&wamp.Yield{Request: 6131533, Options: e, Args: p.args, Kwargs: p.kwargs},
		)
	}
	return ms
}

func TestRoundTripEveryMessageType(t *testing.T) {
	seen := map[wamp.MessageType]bool{}
	for _, s := range All() {
		for i, m := range sampleMessages() {
			seen[m.MessageType()] = true
			t.Run(fmt.Sprintf("%s/%d_%s", s.Name(), i, m.MessageType()), func(t *testing.T) {
				b := mustEncode(t, s, m)
				got, err := s.Decode(b)
				if err != nil {
					t.Fatalf("decode %s: %v", show(s, b), err)
				}
				if !msgEqual(m, got) {
					t.Fatalf("round trip changed the message:\n sent %#v\n  got %#v", m, got)
				}
			})
		}
	}
	for code, sp := range specs {
		if sp != nil && !seen[wamp.MessageType(code)] {
			t.Errorf("no round-trip sample for %s", sp.typ)
		}
	}
}

// The wire layout follows the spec: empty payloads are omitted, Arguments is sent (possibly empty)
// when ArgumentsKw is not, nil dicts are sent as {}, and revocations carry Details.
func TestEncodeLayout(t *testing.T) {
	cases := []struct {
		m    wamp.Message
		want string
	}{
		{&wamp.Event{Subscription: 1, Publication: 2}, `[36,1,2,{}]`},
		{&wamp.Event{Subscription: 1, Publication: 2, Args: wamp.List{}, Kwargs: wamp.Dict{}}, `[36,1,2,{}]`},
		{&wamp.Event{Subscription: 1, Publication: 2, Args: wamp.List{"a"}}, `[36,1,2,{},["a"]]`},
		{&wamp.Event{Subscription: 1, Publication: 2, Kwargs: wamp.Dict{"k": int64(1)}}, `[36,1,2,{},[],{"k":1}]`},
		{&wamp.Publish{Request: 1, Topic: "t", Args: wamp.List{1.0}}, `[16,1,{},"t",[1.0]]`},
		{&wamp.Error{RequestType: wamp.CALL, Request: 9, Error: "e"}, `[8,48,9,{},"e"]`},
		{&wamp.Result{Request: 3}, `[50,3,{}]`},
		{&wamp.Yield{Request: 3, Kwargs: wamp.Dict{"x": nil}}, `[70,3,{},[],{"x":null}]`},
		{&wamp.Unsubscribed{Request: 5}, `[35,5]`},
		{&wamp.Unsubscribed{Request: 0}, `[35,0,{}]`},
		{&wamp.Unregistered{Request: 0, Details: wamp.Dict{"reason": "r"}}, `[67,0,{"reason":"r"}]`},
		{&wamp.Unregistered{Request: 7, Details: wamp.Dict{}}, `[67,7,{}]`},
		{&wamp.Hello{Realm: "realm1"}, `[1,"realm1",{}]`},
	}
	for _, c := range cases {
		got, err := JSONSerializer.Encode(nil, c.m)
		if err != nil {
			t.Errorf("encode %#v: %v", c.m, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("encode %#v = %s, want %s", c.m, got, c.want)
		}
		// The binary serializers must lay out the same elements.
		for _, s := range []Serializer{MsgPackSerializer, CBORSerializer} {
			want := frameFromJSON(t, s, c.want)
			if b := mustEncode(t, s, c.m); !bytes.Equal(b, want) {
				t.Errorf("%s: encode %#v = %x, want %x", s.Name(), c.m, b, want)
			}
		}
	}
}

// Decoding treats an empty Arguments list and an empty ArgumentsKw dict like absent ones, so that
// decode → encode → decode is stable.
func TestDecodeEmptyPayloadIsAbsent(t *testing.T) {
	for _, s := range All() {
		m, err := s.Decode(frameFromJSON(t, s, `[16, 1, {}, "t", [], {}]`))
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		p := m.(*wamp.Publish)
		if p.Args != nil || p.Kwargs != nil {
			t.Errorf("%s: Args %#v Kwargs %#v, want both nil", s.Name(), p.Args, p.Kwargs)
		}
		m, err = s.Decode(frameFromJSON(t, s, `[36, 1, 2, {}, [], {"a": 1}]`))
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		if e := m.(*wamp.Event); e.Args != nil || !equalValues(map[string]any(e.Kwargs), map[string]any{"a": int64(1)}) {
			t.Errorf("%s: got %#v", s.Name(), e)
		}
	}
}

func TestEncodeAppendsToDst(t *testing.T) {
	for _, s := range All() {
		prefix := []byte("prefix")
		m := &wamp.Published{Request: 1, Publication: 2}
		b, err := s.Encode(prefix, m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, prefix) || !bytes.Equal(b[len(prefix):], mustEncode(t, s, m)) {
			t.Errorf("%s: Encode did not append to dst: %q", s.Name(), b)
		}
		// On error the destination comes back without partial output.
		bad := &wamp.Event{Subscription: 1, Publication: 2, Args: wamp.List{"ok", make(chan int)}}
		b, err = s.Encode(prefix, bad)
		if err == nil {
			t.Errorf("%s: encoding a channel succeeded", s.Name())
		}
		if string(b) != "prefix" {
			t.Errorf("%s: Encode left partial output on error: %q", s.Name(), b)
		}
	}
}

func TestEncodeRefusesInvalidMessages(t *testing.T) {
	cases := []wamp.Message{
		nil,
		(*wamp.Event)(nil),
		&wamp.Event{Subscription: 0, Publication: 1},
		&wamp.Published{Request: 1, Publication: wamp.MaxID + 1},
		&wamp.Welcome{Session: 0},
		&wamp.Error{RequestType: 99, Request: 1, Error: "e"},
		&wamp.Unsubscribed{Request: wamp.MaxID + 1},
		unknownMessage{},
	}
	for _, s := range All() {
		for _, m := range cases {
			if b, err := s.Encode(nil, m); err == nil {
				t.Errorf("%s: Encode(%#v) = %s, want error", s.Name(), m, show(s, b))
			}
		}
	}
}

type unknownMessage struct{}

func (unknownMessage) MessageType() wamp.MessageType { return 99 }

func TestRegistry(t *testing.T) {
	all := All()
	want := []struct {
		id          ID
		name, proto string
		binary      bool
	}{
		{JSON, "json", "wamp.2.json", false},
		{MsgPack, "msgpack", "wamp.2.msgpack", true},
		{CBOR, "cbor", "wamp.2.cbor", true},
	}
	if len(all) != len(want) {
		t.Fatalf("All() has %d serializers, want %d", len(all), len(want))
	}
	for i, w := range want {
		s := all[i]
		if s.ID() != w.id || s.Name() != w.name || s.Subprotocol() != w.proto || s.Binary() != w.binary {
			t.Errorf("All()[%d] = %v %v %v %v, want %+v", i, s.ID(), s.Name(), s.Subprotocol(), s.Binary(), w)
		}
		if got, ok := ByID(w.id); !ok || got.Name() != w.name {
			t.Errorf("ByID(%d) = %v, %v", w.id, got, ok)
		}
		if got, ok := BySubprotocol(w.proto); !ok || got.ID() != w.id {
			t.Errorf("BySubprotocol(%q) = %v, %v", w.proto, got, ok)
		}
	}
	for _, id := range []ID{0, 4, 255} {
		if _, ok := ByID(id); ok {
			t.Errorf("ByID(%d) found a serializer", id)
		}
	}
	for _, p := range []string{"", "wamp.2.JSON", "wamp.2.ubjson", "wamp.2.json.batched"} {
		if _, ok := BySubprotocol(p); ok {
			t.Errorf("BySubprotocol(%q) found a serializer", p)
		}
	}
	if JSONSerializer.ID() != JSON || MsgPackSerializer.ID() != MsgPack || CBORSerializer.ID() != CBOR {
		t.Error("exported serializer variables have the wrong ids")
	}
}
