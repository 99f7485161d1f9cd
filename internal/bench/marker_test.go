package bench

import (
	"bytes"
	"math"
	"testing"

	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

func TestMarkerRoundTrip(t *testing.T) {
	cases := []marker{
		{seq: 0, intended: 0, source: 0},
		{seq: 1, intended: 1_700_000_000_123_456_789, source: 7},
		{seq: math.MaxUint64, intended: math.MaxInt64, source: math.MaxUint32},
	}
	for _, m := range cases {
		for _, size := range []int{0, MarkerLen, 100, 4096} {
			b := appendMarker([]byte("prefix"), m, size)
			s := b[len("prefix"):]
			if want := max(size, MarkerLen); len(s) != want {
				t.Errorf("%+v size %d: marker is %d bytes, want %d", m, size, len(s), want)
			}
			got, off, ok := findMarker(b)
			if !ok || got != m || off != len("prefix") {
				t.Errorf("%+v size %d: findMarker = %+v at %d, %v", m, size, got, off, ok)
			}
		}
	}
}

// A subscriber finds the marker in the raw EVENT of every serializer without decoding it.
func TestMarkerInEveryEncoding(t *testing.T) {
	m := marker{seq: 42, intended: 1_800_000_000_000_000_000, source: 3}
	payload := string(appendMarker(nil, m, 100))
	ev := &wamp.Event{Subscription: 1 << 53, Publication: 12345, Details: wamp.Dict{"topic": "a.b"},
		Args: wamp.List{payload}, Kwargs: wamp.Dict{"k": "gwb:not-a-marker"}}
	for _, ser := range codec.All() {
		b, err := ser.Encode(nil, ev)
		if err != nil {
			t.Fatal(err)
		}
		got, off, ok := findMarker(b)
		if !ok || got != m {
			t.Errorf("%s: findMarker = %+v, %v; want %+v", ser.Name(), got, ok, m)
			continue
		}
		if !bytes.Equal(b[off:off+len(payload)], []byte(payload)) {
			t.Errorf("%s: the marker is not verbatim in the frame", ser.Name())
		}
	}
}

func TestFindMarkerRejectsMalformed(t *testing.T) {
	good := string(appendMarker(nil, marker{seq: 5, intended: 6, source: 7}, MarkerLen))
	bad := []string{
		"",
		"gwb:",
		good[:MarkerLen-1],                 // truncated
		"gwb:000000000000000G" + good[20:], // not hex
		"gwb:000000000000000A" + good[20:], // upper case
		good[:20] + "-" + good[21:],        // wrong separator
		good[:21] + "8000000000000000" + good[37:],       // intended time beyond int64
		"gwb:00000000000000050000000000000000600000007:", // separators missing
	}
	for _, s := range bad {
		if m, _, ok := findMarker([]byte(s)); ok {
			t.Errorf("findMarker(%q) = %+v, want no marker", s, m)
		}
	}
	// A malformed candidate before a good one does not hide it.
	b := []byte(`["gwb:zz","gwb:` + good[4:] + `"]`)
	if m, off, ok := findMarker(b); !ok || m.seq != 5 || off != 11 {
		t.Errorf("findMarker after a decoy = %+v at %d, %v", m, off, ok)
	}
}
