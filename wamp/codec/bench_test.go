package codec

import (
	"testing"

	"github.com/gateway-dev/gateway/wamp"
)

// benchEvent is a typical EVENT: publisher disclosure in Details, a few args and kwargs.
func benchEvent() *wamp.Event {
	return &wamp.Event{
		Subscription: 5512315355,
		Publication:  4429313566,
		Details:      wamp.Dict{"publisher": int64(3335656), "topic": "com.example.sensor.temperature"},
		Args:         wamp.List{"sensor-17", int64(42), 21.5},
		Kwargs: wamp.Dict{"unit": "celsius", "ok": true, "tags": wamp.List{"indoor", "lab"},
			"ts": int64(1735689600123)},
	}
}

// BenchmarkEncodeEvent measures the hot path: one EVENT encoded once per subscription per serializer.
func BenchmarkEncodeEvent(b *testing.B) {
	m := benchEvent()
	for _, s := range All() {
		b.Run(s.Name(), func(b *testing.B) {
			buf := mustEncode(b, s, m)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = s.Encode(buf[:0], m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodePublish measures decoding of one inbound PUBLISH.
func BenchmarkDecodePublish(b *testing.B) {
	e := benchEvent()
	m := &wamp.Publish{Request: 239714735, Options: wamp.Dict{"acknowledge": true, "exclude_me": false},
		Topic: "com.example.sensor.temperature", Args: e.Args, Kwargs: e.Kwargs}
	for _, s := range All() {
		b.Run(s.Name(), func(b *testing.B) {
			frame := mustEncode(b, s, m)
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Decode(frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
