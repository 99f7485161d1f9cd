package router

import (
	"reflect"
	"testing"

	"github.com/gateway-dev/gateway/internal/store"
	"github.com/gateway-dev/gateway/wamp"
)

func TestPersistedPublicationRoundTrip(t *testing.T) {
	f, err := parseDeliveryFilter(wamp.Dict{"eligible_authid": []any{"alice"}, "exclude": []any{int64(7)}})
	if err != nil {
		t.Fatal(err)
	}
	p := &publication{
		id: 42, topic: "com.x.y", args: wamp.List{"a", int64(1)}, kwargs: wamp.Dict{"k": "v"},
		details: wamp.Dict{"publisher_authid": "bob"}, filter: f,
	}
	b, err := encodePersisted(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodePersisted(nil, store.StoredEvent{Seq: 1, Event: store.Event{Codec: persistCodec, Payload: b}})
	if err != nil {
		t.Fatal(err)
	}
	if got.id != p.id || got.topic != p.topic || !reflect.DeepEqual(got.args, p.args) ||
		!reflect.DeepEqual(got.kwargs, p.kwargs) || !reflect.DeepEqual(got.details, p.details) {
		t.Errorf("decoded %+v, want %+v", got, p)
	}
	if !reflect.DeepEqual(got.filter, p.filter) {
		t.Errorf("subscriber lists %+v, want %+v", got.filter, p.filter)
	}
	if _, err := decodePersisted(nil, store.StoredEvent{Event: store.Event{Codec: "json", Payload: b}}); err == nil {
		t.Error("an event in another codec was accepted")
	}
}

// FuzzDecodePersisted: whatever a log holds (a damaged disk, a foreign record), reading it back
// returns a publication or an error, never a panic.
func FuzzDecodePersisted(f *testing.F) {
	for _, p := range []*publication{
		{id: 1, topic: "t"},
		{id: 2, topic: "com.a", args: wamp.List{int64(1)}, kwargs: wamp.Dict{"x": []any{"y"}}, details: wamp.Dict{"ppt_scheme": "x"}},
	} {
		b, err := encodePersisted(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x95, 0x24, 0x01, 0x02, 0x81, 0xa1, 0x74, 0xa0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePersisted(nil, store.StoredEvent{Event: store.Event{Codec: persistCodec, Payload: b}})
		if err == nil && (p == nil || p.topic == "") {
			t.Fatalf("accepted an event without a topic: %+v", p)
		}
	})
}
