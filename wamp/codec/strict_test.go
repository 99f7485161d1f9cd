package codec

import (
	"errors"
	"strings"
	"testing"

	"github.com/gateway-dev/gateway/wamp"
)

// Every serializer refuses the same malformed messages, with an error that wraps ErrInvalidMessage
// and says what is wrong.
func TestDecodeRefusesMalformedMessages(t *testing.T) {
	cases := []struct {
		frame string // JSON text, converted for the binary serializers
		want  string // substring of the error
	}{
		{`{"a": 1}`, "frame is not a"},
		{`"hello"`, "frame is not a"},
		{`16`, "frame is not a"},
		{`[]`, "empty message array"},
		{`["16", 1, {}, "t"]`, "element 0 (message type) must be an integer, got a string"},
		{`[null]`, "element 0 (message type) must be an integer, got null"},
		{`[999, 1]`, "unknown message type 999"},
		{`[7, 1, {}]`, "unknown message type 7"},
		{`[-16, 1, {}, "t"]`, "unknown message type -16"},
		{`[16.5, 1, {}, "t"]`, "unknown message type 16.5"},

		// Arity.
		{`[16, 1, {}]`, "PUBLISH: got 3 elements, want 4 to 6"},
		{`[16, 1, {}, "t", [], {}, 1]`, "PUBLISH: got 7 elements, want 4 to 6"},
		{`[8, 48, 1, {}]`, "ERROR: got 4 elements, want 5 to 7"},
		{`[8, 48, 1, {}, "e", [], {}, 1]`, "ERROR: got 8 elements, want 5 to 7"},
		{`[36, 1, 2]`, "EVENT: got 3 elements, want 4 to 6"},
		{`[48, 1, {}]`, "CALL: got 3 elements, want 4 to 6"},
		{`[50, 1]`, "RESULT: got 2 elements, want 3 to 5"},
		{`[70, 1, {}, [], {}, 1]`, "YIELD: got 6 elements, want 3 to 5"},
		{`[68, 1, 2]`, "INVOCATION: got 3 elements, want 4 to 6"},
		{`[35]`, "UNSUBSCRIBED: got 1 elements, want 2 to 3"},
		{`[67, 1, {}, 1]`, "UNREGISTERED: got 4 elements, want 2 to 3"},
		{`[32, 1, {}, "t", []]`, "SUBSCRIBE: got 5 elements, want 4"},
		{`[17, 1]`, "PUBLISHED: got 2 elements, want 3"},
		{`[1, "realm1"]`, "HELLO: got 2 elements, want 3"},
		{`[2, 1, {}, {}]`, "WELCOME: got 4 elements, want 3"},
		{`[6, {}, "wamp.close.normal", 1]`, "GOODBYE: got 4 elements, want 3"},
		{`[49, 1]`, "CANCEL: got 2 elements, want 3"},

		// Element types.
		{`[16, 1, {}, 5]`, "PUBLISH: element 3 (Topic) must be a string, got 5"},
		{`[16, 1, [], "t"]`, "PUBLISH: element 2 (Options) must be a dict, got a list"},
		{`[16, 1, null, "t"]`, "PUBLISH: element 2 (Options) must be a dict, got null"},
		{`[16, 1, {}, "t", {}]`, "PUBLISH: element 4 (Arguments) must be a list, got a dict"},
		{`[16, 1, {}, "t", [], []]`, "PUBLISH: element 5 (ArgumentsKw) must be a dict, got a list"},
		{`[16, "1", {}, "t"]`, "PUBLISH: element 1 (Request) must be an ID (integer in [1, 2^53]), got a string"},
		{`[16, 0, {}, "t"]`, "PUBLISH: element 1 (Request) must be an ID (integer in [1, 2^53]), got 0"},
		{`[16, -1, {}, "t"]`, "got -1"},
		{`[16, 1.5, {}, "t"]`, "got 1.5"},
		{`[16, 9007199254740993, {}, "t"]`, "got 9007199254740993"},
		{`[16, 18446744073709551615, {}, "t"]`, "got 18446744073709551615"},
		{`[16, true, {}, "t"]`, "got a boolean"},
		{`[8, 999, 1, {}, "e"]`, "ERROR: element 1 (REQUEST.Type) must be a WAMP message type code, got 999"},
		{`[8, "CALL", 1, {}, "e"]`, "ERROR: element 1 (REQUEST.Type) must be a WAMP message type code"},
		{`[8, 48, 1, {}, 5]`, "ERROR: element 4 (Error) must be a string"},
		{`[1, 5, {}]`, "HELLO: element 1 (Realm) must be a string"},
		{`[1, "realm1", []]`, "HELLO: element 2 (Details) must be a dict"},
		{`[2, 0, {}]`, "WELCOME: element 1 (Session) must be an ID"},
		{`[3, {}, 5]`, "ABORT: element 2 (Reason) must be a string"},
		{`[3, "x", "wamp.error.no_such_realm"]`, "ABORT: element 1 (Details) must be a dict"},
		{`[4, 5, {}]`, "CHALLENGE: element 1 (AuthMethod) must be a string"},
		{`[4, "wampcra", "x"]`, "CHALLENGE: element 2 (Extra) must be a dict"},
		{`[5, {}, {}]`, "AUTHENTICATE: element 1 (Signature) must be a string"},
		{`[5, "sig", []]`, "AUTHENTICATE: element 2 (Extra) must be a dict"},
		{`[6, [], "r"]`, "GOODBYE: element 1 (Details) must be a dict"},
		{`[17, 1, 0]`, "PUBLISHED: element 2 (Publication) must be an ID"},
		{`[33, 1, "s"]`, "SUBSCRIBED: element 2 (Subscription) must be an ID"},
		{`[34, 1, 0]`, "UNSUBSCRIBE: element 2 (Subscription) must be an ID"},
		{`[35, 0]`, "UNSUBSCRIBED: element 1 (Request) must be an ID (integer in [1, 2^53], or 0 when Details follow), got 0"},
		{`[35, 1, []]`, "UNSUBSCRIBED: element 2 (Details) must be a dict"},
		{`[36, 1, 0, {}]`, "EVENT: element 2 (Publication) must be an ID"},
		{`[36, 1, 2, {}, "x"]`, "EVENT: element 4 (Arguments) must be a list, got a string"},
		{`[48, 1, {}, 5]`, "CALL: element 3 (Procedure) must be a string"},
		{`[49, 1, 1]`, "CANCEL: element 2 (Options) must be a dict"},
		{`[50, 1, {}, {}]`, "RESULT: element 3 (Arguments) must be a list"},
		{`[64, 1, {}, null]`, "REGISTER: element 3 (Procedure) must be a string"},
		{`[65, 1, -5]`, "REGISTERED: element 2 (Registration) must be an ID"},
		{`[66, 1, 1.25]`, "UNREGISTER: element 2 (Registration) must be an ID"},
		{`[67, 0]`, "UNREGISTERED: element 1 (Request) must be an ID"},
		{`[68, 1, 2, {}, [], "kw"]`, "INVOCATION: element 5 (ArgumentsKw) must be a dict"},
		{`[69, 1, []]`, "INTERRUPT: element 2 (Options) must be a dict"},
		{`[70, 1, {}, [], 1]`, "YIELD: element 4 (ArgumentsKw) must be a dict"},
	}
	for _, s := range All() {
		for _, c := range cases {
			b := frameFromJSON(t, s, c.frame)
			m, err := s.Decode(b)
			if err == nil {
				t.Errorf("%s: Decode(%s) = %#v, want error containing %q", s.Name(), c.frame, m, c.want)
				continue
			}
			if !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("%s: Decode(%s) error %q does not wrap ErrInvalidMessage", s.Name(), c.frame, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: Decode(%s) error %q, want it to contain %q", s.Name(), c.frame, err, c.want)
			}
		}
	}
}

func TestDecodeAcceptsEdgeCases(t *testing.T) {
	cases := []struct {
		frame string
		want  wamp.Message
	}{
		{`[16, 1, {}, "t"]`, &wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: "t"}},
		{`[16, 9007199254740992, {}, "t"]`, &wamp.Publish{Request: wamp.MaxID, Options: wamp.Dict{}, Topic: "t"}},
		// Integral floats are accepted where an ID is expected (some peers send them).
		{`[16, 1.0, {}, "t"]`, &wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: "t"}},
		{`[16, 1e3, {}, "t"]`, &wamp.Publish{Request: 1000, Options: wamp.Dict{}, Topic: "t"}},
		{`[16.0, 1, {}, ""]`, &wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: ""}},
		{`[35, 0, {"subscription": 7, "reason": "wamp.error.revoked"}]`,
			&wamp.Unsubscribed{Details: wamp.Dict{"subscription": int64(7), "reason": "wamp.error.revoked"}}},
		{`[35, 9, {}]`, &wamp.Unsubscribed{Request: 9, Details: wamp.Dict{}}},
		{`[67, 0, {}]`, &wamp.Unregistered{Details: wamp.Dict{}}},
		{`[67, 12]`, &wamp.Unregistered{Request: 12}},
		{`[8, 64, 3, {}, "wamp.error.procedure_already_exists", [1], {"x": "y"}]`, &wamp.Error{RequestType: wamp.REGISTER,
			Request: 3, Details: wamp.Dict{}, Error: "wamp.error.procedure_already_exists", Args: wamp.List{int64(1)}, Kwargs: wamp.Dict{"x": "y"}}},
	}
	for _, s := range All() {
		for _, c := range cases {
			m, err := s.Decode(frameFromJSON(t, s, c.frame))
			if err != nil {
				t.Errorf("%s: Decode(%s): %v", s.Name(), c.frame, err)
				continue
			}
			if !msgEqual(m, c.want) {
				t.Errorf("%s: Decode(%s) = %#v, want %#v", s.Name(), c.frame, m, c.want)
			}
		}
	}
}

// refuse checks that Decode fails with ErrInvalidMessage and an error mentioning want.
func refuse(t *testing.T, s Serializer, b []byte, want string) {
	t.Helper()
	m, err := s.Decode(b)
	if err == nil {
		t.Errorf("%s: Decode(%s) = %#v, want error containing %q", s.Name(), show(s, b), m, want)
		return
	}
	if !errors.Is(err, ErrInvalidMessage) || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: Decode(%s) error %q, want ErrInvalidMessage containing %q", s.Name(), show(s, b), err, want)
	}
}

func TestJSONDecodeStrictness(t *testing.T) {
	s := JSONSerializer
	for _, c := range []struct{ frame, want string }{
		{`[16, 1, {}, "t"] x`, "trailing bytes"},
		{`[16, 1, {}, "t"][`, "trailing bytes"},
		{`[16, 1, {}, "t"`, "unexpected end"},
		{`[16, 1, {}, "t`, "unexpected end"},
		{`[16, 1, {"a": 1, "a": 2}, "t"]`, `duplicate dict key "a"`},
		{"[16, 1, {}, \"t\xff\"]", "invalid UTF-8"},
		{"[16, 1, {\"k\xc3\": 1}, \"t\"]", "invalid UTF-8"},
		{"[16, 1, {}, \"a\tb\"]", "control character"},
		{`[16, 1, {}, "t", ["\u0000not base64!"]]`, "not valid base64"},
		{`[16, 1, {}, "t", ["\x"]]`, "invalid escape"},
		{`[16, 1, {}, "t", ["\u12"]]`, `invalid \u escape`},
		{`[16, 01, {}, "t"]`, "invalid character"},
		{`[16, 1., {}, "t"]`, "invalid number"},
		{`[16, 1, {}, "t", [1e400]]`, "out of range"},
		{`[16, 1, {}, "t", [-]]`, "invalid character"},
		{`[16, 1, {}, "t", [+1]]`, "invalid character"},
		{`[16, 1, {}, "t", [NaN]]`, "invalid character"},
		{`[16, 1, {}, "t", [tru]]`, "invalid literal"},
		{`[16, 1, {}, "t", [1,]]`, "invalid character"},
		{`[16, 1, {}, "t", [1 2]]`, "after list element"},
		{`[16, 1, {,}, "t"]`, "dict key"},
		{`[16, 1, {"a" 1}, "t"]`, "after dict key"},
		{`[16, 1, {"a": 1,}, "t"]`, "dict key"},
		{`[16, 1, {1: 1}, "t"]`, "dict key"},
		{`[16 1, {}, "t"]`, "after array element"},
		{"\ufeff[16, 1, {}, \"t\"]", "frame is not a JSON array"},
		{``, "frame is not a JSON array"},
		{`   `, "frame is not a JSON array"},
	} {
		refuse(t, s, []byte(c.frame), c.want)
	}
	// Whitespace around and inside the message is fine.
	if _, err := s.Decode([]byte(" \n\t[ 16 ,\r\n1, { } ,\"t\" ]\n ")); err != nil {
		t.Errorf("whitespace: %v", err)
	}
}

func TestMsgPackDecodeStrictness(t *testing.T) {
	s := MsgPackSerializer
	valid := frameFromJSON(t, s, `[16, 1, {}, "t"]`) // 94 10 01 80 a1 74
	for _, c := range []struct {
		frame []byte
		want  string
	}{
		{append(append([]byte{}, valid...), 0xc0), "1 trailing bytes"},
		{valid[:len(valid)-1], "unexpected end"},
		{[]byte{0x94, 0x10, 0x01, 0x81, 0x01, 0x01, 0xa1, 't'}, "dict key must be a string, got MessagePack int"},
		{[]byte{0x94, 0x10, 0x01, 0x81, 0xc4, 0x01, 'k', 0x01, 0xa1, 't'}, "dict key must be a string, got MessagePack bin"},
		{[]byte{0x94, 0x10, 0x01, 0x82, 0xa1, 'k', 0x01, 0xa1, 'k', 0x02, 0xa1, 't'}, `duplicate dict key "k"`},
		{[]byte{0x94, 0x10, 0x01, 0x80, 0xa1, 0xff}, "not valid UTF-8"},
		{[]byte{0x94, 0x10, 0x01, 0x81, 0xa1, 0xff, 0x01, 0xa1, 't'}, "not valid UTF-8"},
		{[]byte{0x95, 0x10, 0x01, 0x80, 0xa1, 't', 0x91, 0xd4, 0x01, 0x00}, "MessagePack ext values are not supported"},
		{[]byte{0x95, 0x10, 0x01, 0x80, 0xa1, 't', 0x91, 0xd6, 0xff, 0, 0, 0, 0}, "not supported"}, // timestamp
		{[]byte{0x95, 0x10, 0x01, 0x80, 0xa1, 't', 0x91, 0xc1}, "invalid MessagePack type byte 0xc1"},
		// An array header claiming more elements than there are bytes is refused before allocating.
		{[]byte{0x95, 0x10, 0x01, 0x80, 0xa1, 't', 0xdd, 0x00, 0x01, 0xff, 0xff}, "unexpected end"},
		{[]byte{0x95, 0x10, 0x01, 0x80, 0xa1, 't', 0xdd, 0xff, 0xff, 0xff, 0xff}, "more than 131072 entries"},
		{[]byte{0x95, 0x10, 0x01, 0x80, 0xa1, 't', 0x91, 0xdf, 0x00, 0x01, 0x00, 0x00}, "unexpected end"},
		{[]byte{0x94, 0x10, 0x01, 0x80}, "unexpected end"},
		{[]byte{0x80}, "frame is not a MessagePack array"},
		{nil, "frame is not a MessagePack array"},
	} {
		refuse(t, s, c.frame, c.want)
	}
	// Integers in any width and signedness, and float32, decode to the normalised types.
	b := []byte{0x94, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0x10, 0xd3, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x80, 0xa1, 't'}
	if m, err := s.Decode(b); err != nil || m.(*wamp.Publish).Request != 1 {
		t.Errorf("uint64/int64 encoded small ints: %v, %v", m, err)
	}
}

func TestCBORDecodeStrictness(t *testing.T) {
	s := CBORSerializer
	valid := frameFromJSON(t, s, `[16, 1, {}, "t"]`) // 84 10 01 a0 61 74
	for _, c := range []struct {
		frame []byte
		want  string
	}{
		{append(append([]byte{}, valid...), 0xf6), "extraneous data"},
		{valid[:len(valid)-1], "unexpected"},
		{[]byte{0x84, 0x10, 0x01, 0xa1, 0x01, 0x01, 0x61, 't'}, "dict key must be a string, got CBOR positive integer"},
		{[]byte{0x84, 0x10, 0x01, 0xa1, 0x41, 'k', 0x01, 0x61, 't'}, "dict key must be a string, got CBOR byte string"},
		{[]byte{0x84, 0x10, 0x01, 0xa2, 0x61, 'k', 0x01, 0x61, 'k', 0x02, 0x61, 't'}, "duplicate map key"},
		{[]byte{0x84, 0x10, 0x01, 0xa0, 0x61, 0xff}, "UTF-8"},
		{[]byte{0x85, 0x10, 0x01, 0xa0, 0x61, 't', 0x81, 0xc1, 0x01}, "tag"},
		{[]byte{0x85, 0x10, 0x01, 0xa0, 0x61, 't', 0x81, 0xf0}, "simple value"},
		{[]byte{0x85, 0x10, 0x01, 0xa0, 0x61, 't', 0x81, 0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "out of range"},
		{[]byte{0x85, 0x10, 0x01, 0xa0, 0x61, 't', 0x9a, 0xff, 0xff, 0xff, 0xff}, "exceeded max number of elements"},
		{[]byte{0xa0}, "frame is not a CBOR array"},
		{[]byte{0xc1, 0x84, 0x10, 0x01, 0xa0, 0x61, 't'}, "frame is not a CBOR array"},
		{nil, "unexpected end"},
	} {
		refuse(t, s, c.frame, c.want)
	}
	// Indefinite-length items, undefined and half-precision floats are accepted.
	b := []byte{0x9f, 0x10, 0x01, 0xbf, 0x61, 'u', 0xf7, 0xff, 0x61, 't', 0x82, 0xf9, 0x3c, 0x00, 0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0, 0xff}
	m, err := s.Decode(b)
	if err != nil {
		t.Fatalf("indefinite lengths: %v", err)
	}
	want := &wamp.Publish{Request: 1, Options: wamp.Dict{"u": nil}, Topic: "t", Args: wamp.List{1.0, uint64(1 << 63)}}
	if !msgEqual(m, want) {
		t.Errorf("got %#v, want %#v", m, want)
	}
}

// nested returns a JSON list nested n levels deep.
func nested(n int) string {
	return strings.Repeat("[", n) + strings.Repeat("]", n)
}

// Nesting is limited to MaxDepth levels, counting the message array, in all three serializers.
func TestNestingLimit(t *testing.T) {
	for _, s := range All() {
		// The message array is level 1 and Arguments level 2.
		ok := `[16, 1, {}, "t", ` + nested(MaxDepth-1) + `]`
		if _, err := s.Decode(frameFromJSON(t, s, ok)); err != nil {
			t.Errorf("%s: nesting of exactly %d levels refused: %v", s.Name(), MaxDepth, err)
		}
		tooDeep := `[16, 1, {}, "t", ` + nested(MaxDepth) + `]`
		refuse(t, s, frameFromJSON(t, s, tooDeep), "")
		if _, err := s.Decode(frameFromJSON(t, s, tooDeep)); err == nil || !strings.Contains(err.Error(), "nest") {
			t.Errorf("%s: error %v does not mention nesting", s.Name(), err)
		}

		// Encoding refuses the same depth, and cyclic values.
		var deep any = []any{}
		for range MaxDepth - 2 {
			deep = []any{deep}
		}
		if _, err := s.Encode(nil, &wamp.Event{Subscription: 1, Publication: 1, Args: deep.([]any)}); err != nil {
			t.Errorf("%s: encoding %d levels: %v", s.Name(), MaxDepth, err)
		}
		if _, err := s.Encode(nil, &wamp.Event{Subscription: 1, Publication: 1, Args: []any{deep}}); err == nil {
			t.Errorf("%s: encoding %d levels succeeded", s.Name(), MaxDepth+1)
		}
		cyclic := map[string]any{}
		cyclic["self"] = cyclic
		if _, err := s.Encode(nil, &wamp.Event{Subscription: 1, Publication: 1, Kwargs: cyclic}); err == nil {
			t.Errorf("%s: encoding a cyclic map succeeded", s.Name())
		}
	}
}

func TestContainerLengthLimit(t *testing.T) {
	long := "[" + strings.Repeat("0,", MaxContainerLen) + "0]"
	for _, s := range All() {
		refuse(t, s, frameFromJSON(t, s, `[16, 1, {}, "t", `+long+`]`), "")
	}
	exact := "[" + strings.Repeat("0,", MaxContainerLen-1) + "0]"
	for _, s := range All() {
		if _, err := s.Decode(frameFromJSON(t, s, `[16, 1, {}, "t", `+exact+`]`)); err != nil {
			t.Errorf("%s: list of %d entries refused: %v", s.Name(), MaxContainerLen, err)
		}
	}
}
