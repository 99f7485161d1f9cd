package codec

import (
	"testing"

	"github.com/gateway-dev/gateway/wamp"
)

// wampy (through msgpackr) encodes JavaScript undefined as fixext 1 type 0; such dict entries are absent.
func TestMsgPackJavaScriptUndefined(t *testing.T) {
	// [32, 1, {"match": undefined, "x": [undefined]}, "a.b"]
	b := []byte{0x94, 0x20, 0x01, 0x82,
		0xa5, 'm', 'a', 't', 'c', 'h', 0xd4, 0x00, 0x00,
		0xa1, 'x', 0x91, 0xd4, 0x00, 0x00,
		0xa3, 'a', '.', 'b'}
	m, err := MsgPackSerializer.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	s := m.(*wamp.Subscribe)
	if _, has := s.Options["match"]; has {
		t.Fatalf("undefined dict entry kept: %v", s.Options)
	}
	if l := s.Options["x"].([]any); len(l) != 1 || l[0] != nil {
		t.Fatalf("undefined list element: %v", s.Options["x"])
	}
	// Other extension types are still refused.
	b[10] = 0x05
	if _, err := MsgPackSerializer.Decode(b); err == nil {
		t.Fatal("extension type 5 accepted")
	}
}
