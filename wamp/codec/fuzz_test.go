package codec

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The fuzz targets check that Decode never panics, fails only with ErrInvalidMessage, and that a
// decoded message survives encode → decode unchanged in every serializer (the JSON encoder may
// refuse only values JSON cannot carry: NaN, infinities and strings starting with U+0000).

func FuzzDecodeJSON(f *testing.F)    { fuzzDecode(f, JSONSerializer) }
func FuzzDecodeMsgPack(f *testing.F) { fuzzDecode(f, MsgPackSerializer) }
func FuzzDecodeCBOR(f *testing.F)    { fuzzDecode(f, CBORSerializer) }

// malformedSeeds are frames (as JSON text) that every decoder must refuse.
var malformedSeeds = []string{
	`{}`, `[]`, `[null]`, `["x"]`, `[999, 1]`, `[16, 1, {}]`, `[16, 1, {}, 5]`, `[16, 0, {}, "t"]`,
	`[16, 9007199254740993, {}, "t"]`, `[16, 1.5, {}, "t"]`, `[16, 1, [], "t"]`, `[16, 1, {}, "t", {}]`,
	`[35, 0]`, `[8, 999, 1, {}, "e"]`, `[36, 1, 2, {}, [], [], 1]`, `[16, 1, {}, "t", [[[[[[[[1]]]]]]]]]`,
}

func fuzzDecode(f *testing.F, s Serializer) {
	for _, m := range sampleMessages() {
		f.Add(mustEncode(f, s, m))
	}
	for _, text := range malformedSeeds {
		f.Add(frameFromJSON(f, s, text))
	}
	for _, b := range vectorBytes(f, s.Name()) {
		f.Add(b)
	}
	if s.ID() == JSON {
		for _, text := range []string{`[16, 1, {"a": 1, "a": 2}, "t"]`, "[16, 1, {}, \"\xff\"]", `[16, 1, {}, "t"] x`,
			`[16, 1, {}, "t", ["\u0000AAH/", "\ud83d", 1e400, -0, 1.0, 18446744073709551616]]`} {
			f.Add([]byte(text))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := s.Decode(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("error does not wrap ErrInvalidMessage: %v", err)
			}
			return
		}
		if s.ID() == JSON && !json.Valid(b) {
			t.Fatalf("decoded input that encoding/json finds invalid: %q", b)
		}
		for _, s2 := range All() {
			enc, err := s2.Encode(nil, m)
			if err != nil {
				if s2.ID() == JSON && s.ID() != JSON && (errors.Is(err, errNonFinite) || errors.Is(err, errNulString)) {
					continue
				}
				t.Fatalf("%s: cannot encode decoded message %#v: %v", s2.Name(), m, err)
			}
			if s2.ID() == JSON && !json.Valid(enc) {
				t.Fatalf("json: encoded invalid JSON %q", enc)
			}
			m2, err := s2.Decode(enc)
			if err != nil {
				t.Fatalf("%s: cannot decode our encoding %s of %#v: %v", s2.Name(), show(s2, enc), m, err)
			}
			if !msgEqual(m, m2) {
				t.Fatalf("%s: round trip changed\n %#v\ninto\n %#v", s2.Name(), m, m2)
			}
		}
	})
}

// vectorBytes returns the byte variants of the spec's test vectors for one serializer.
func vectorBytes(tb testing.TB, serializer string) [][]byte {
	files, _ := filepath.Glob("testdata/vectors/*.json")
	var out [][]byte
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		var vf vectorFile
		if err := json.Unmarshal(raw, &vf); err != nil {
			tb.Fatal(err)
		}
		for _, sample := range vf.Samples {
			for _, v := range sample.Serializers[serializer] {
				b, err := hex.DecodeString(v.BytesHex)
				if err != nil {
					tb.Fatal(err)
				}
				out = append(out, b)
			}
		}
	}
	return out
}
