package bench

import (
	"testing"

	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

func TestPeekHeadEverySerializer(t *testing.T) {
	msgs := []struct {
		m     wamp.Message
		first uint64
	}{
		{&wamp.Published{Request: 1, Publication: 2}, 1},
		{&wamp.Published{Request: 200, Publication: 2}, 200},
		{&wamp.Result{Request: 70000, Details: wamp.Dict{}, Args: wamp.List{"x"}}, 70000},
		{&wamp.Invocation{Request: 1 << 40, Registration: 9, Details: wamp.Dict{}}, 1 << 40},
		{&wamp.Invocation{Request: 1 << 53, Registration: 9, Details: wamp.Dict{}}, 1 << 53},
		{&wamp.Error{RequestType: wamp.CALL, Request: 5, Details: wamp.Dict{}, Error: "wamp.error.no_such_procedure"}, uint64(wamp.CALL)},
		{&wamp.Welcome{Session: 23, Details: wamp.Dict{}}, 23},
	}
	for _, ser := range codec.All() {
		for _, tt := range msgs {
			b, err := ser.Encode(nil, tt.m)
			if err != nil {
				t.Fatal(err)
			}
			typ, first, ok := peekHead(ser.ID(), b)
			if !ok || typ != uint64(tt.m.MessageType()) || first != tt.first {
				t.Errorf("%s %s: peekHead = %d, %d, %v; want %d, %d", ser.Name(), tt.m.MessageType(),
					typ, first, ok, tt.m.MessageType(), tt.first)
			}
		}
	}
}

func TestPeekHeadRefusesWhatItCannotRead(t *testing.T) {
	bad := []struct {
		ser codec.ID
		b   string
	}{
		{codec.JSON, ``},
		{codec.JSON, `{}`},
		{codec.JSON, `[17]`},
		{codec.JSON, `[17, -1, 2]`},
		{codec.JSON, `[17, 1.5, 2]`},
		{codec.JSON, `[17, 1e3, 2]`},
		{codec.JSON, `["17", 1, 2]`},
		{codec.JSON, `[17, 12345678901234567, 2]`}, // 17 digits: beyond WAMP ids
		{codec.MsgPack, "\x91\x11"},                // one element
		{codec.MsgPack, "\x93\x11\xff\x02"},        // negative fixint
		{codec.MsgPack, "\x93\x11\xd0\x80\x02"},    // negative int8
		{codec.MsgPack, "\x93\x11\xcd\x01"},        // truncated uint16
		{codec.CBOR, "\x83\x11\x20\x02"},           // negative integer
		{codec.CBOR, "\x83\x11\x19\x01"},           // truncated uint16
		{codec.CBOR, "\xa1\x11\x01"},               // a map
		{0, "[1,2]"},
	}
	for _, tt := range bad {
		if typ, first, ok := peekHead(tt.ser, []byte(tt.b)); ok {
			t.Errorf("peekHead(%d, %q) = %d, %d; want not ok", tt.ser, tt.b, typ, first)
		}
	}
	if typ, first, ok := peekHead(codec.JSON, []byte(" [ 50 ,\n 7 ,{}]")); !ok || typ != 50 || first != 7 {
		t.Errorf("JSON with white space: %d %d %v", typ, first, ok)
	}
}
