package codec

// The serializers. They are stateless values, safe for concurrent use; ByID, BySubprotocol and All
// return the package's own values, unaffected by reassignment of these variables.
var (
	// JSONSerializer is the WAMP JSON serializer: subprotocol "wamp.2.json", RawSocket id 1, text
	// frames.
	//
	// Decoding is a strict hand-written RFC 8259 parser: invalid UTF-8, control characters in
	// strings, duplicate dict keys, numbers out of float64 range and anything after the message but
	// whitespace are refused. Integer literals become int64 (uint64 above math.MaxInt64, float64
	// beyond uint64); literals with a fraction or exponent become float64, even when integral (1.0).
	// Escaped lone surrogates become U+FFFD. Following the WAMP convention, a string value that
	// starts with "\u0000" carries the base64 (standard alphabet, padded or not) of binary data and
	// decodes to []byte.
	//
	// Encoding writes []byte the same way, refuses NaN and infinities, refuses plain strings that
	// start with U+0000 (a JSON peer would read them as binary), writes floats so that they read back
	// as floats (1.0, not 1; float32 with 32-bit precision), and replaces invalid UTF-8 in strings
	// with U+FFFD as encoding/json does.
	JSONSerializer Serializer = jsonSerializer{}

	// MsgPackSerializer is the WAMP MessagePack serializer: subprotocol "wamp.2.msgpack", RawSocket
	// id 2, binary frames.
	//
	// Decoding accepts nil, bool, every integer format (int64; uint64 above math.MaxInt64), float32
	// and float64 (as float64; NaN and infinities included), str (must be valid UTF-8), bin (copied
	// into a new []byte), arrays and maps whose keys are str. Extension types (the timestamp
	// extension included) and non-str map keys are refused.
	//
	// Encoding writes integers in their shortest form (non-negative ones as unsigned formats),
	// float64 as float64 and float32 as float32, and replaces invalid UTF-8 in strings with U+FFFD.
	MsgPackSerializer Serializer = msgpackSerializer{}

	// CBORSerializer is the WAMP CBOR serializer: subprotocol "wamp.2.cbor", RawSocket id 3, binary
	// frames.
	//
	// Decoding uses github.com/fxamacker/cbor/v2: integers become int64 (uint64 above
	// math.MaxInt64; below math.MinInt64 refused), every float width float64 (NaN and infinities
	// included), byte strings a new []byte, text strings must be valid UTF-8, undefined decodes as
	// nil, and tags, other simple values and non-text map keys are refused. Indefinite-length items
	// are accepted.
	//
	// Encoding is hand-written: definite lengths, shortest integer heads, float64 as float64 and
	// float32 as float32, invalid UTF-8 in strings replaced with U+FFFD.
	CBORSerializer Serializer = cborSerializer{}
)

// All returns every serializer in the server's preference order: JSON, MessagePack, CBOR.
// The caller may modify the returned slice.
func All() []Serializer {
	return []Serializer{jsonSerializer{}, msgpackSerializer{}, cborSerializer{}}
}

// ByID returns the serializer with the given RawSocket serializer id.
func ByID(id ID) (Serializer, bool) {
	switch id {
	case JSON:
		return jsonSerializer{}, true
	case MsgPack:
		return msgpackSerializer{}, true
	case CBOR:
		return cborSerializer{}, true
	}
	return nil, false
}

// BySubprotocol returns the serializer for a WebSocket subprotocol such as "wamp.2.json".
// The match is exact (subprotocol tokens are case-sensitive).
func BySubprotocol(p string) (Serializer, bool) {
	switch p {
	case "wamp.2.json":
		return jsonSerializer{}, true
	case "wamp.2.msgpack":
		return msgpackSerializer{}, true
	case "wamp.2.cbor":
		return cborSerializer{}, true
	}
	return nil, false
}
