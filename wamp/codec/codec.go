// Package codec implements the WAMP v2 serializers: JSON, MessagePack and CBOR.
//
// Every serializer decodes strictly: a frame that is not a WAMP message array, has an unknown message
// type, the wrong number of elements, an element of the wrong type, or an ID outside [1, 2^53] yields
// an error that wraps ErrInvalidMessage, which a router answers with ABORT wamp.error.protocol_violation.
//
// Decoded payload values are normalised across serializers: nil, bool, int64 (uint64 only for integers
// above math.MaxInt64), float64, string, []byte, []any and map[string]any.
//
// Errors name the message type, the element and what is wrong, e.g. "json: invalid WAMP message:
// PUBLISH: element 3 (Topic) must be a string, got 5". Integral floats are accepted as IDs (some peers
// send them); UNSUBSCRIBED and UNREGISTERED may carry Request 0 when Details follow (a router
// revocation). An empty Arguments list or ArgumentsKw dict decodes as nil, like an absent one; Details
// and Options always decode as non-nil maps. Dict keys must be strings and unique, nesting is limited
// to MaxDepth levels and lists and dicts to MaxContainerLen entries. Decoded values never alias the
// input buffer.
//
// Encode appends to dst without allocating for the message envelope and returns dst unextended on
// error. It writes nil Details and Options as {}, omits empty Arguments and ArgumentsKw as the spec
// says (Arguments is sent, possibly as [], when ArgumentsKw is not empty), sends Details for
// UNSUBSCRIBED and UNREGISTERED when set or when Request is 0, and refuses IDs outside [1, 2^53].
// Payload values may be the normalised types, the other Go integer and float types, []string,
// map[string]string, wamp.ID, wamp.URI and json.Number (fast path); named basic types, slices, arrays,
// pointers and maps with string keys (by reflection); and anything else that encoding/json can marshal
// (structs, other maps, types with their own JSON or text encoding), which goes through encoding/json
// so that every serializer sends what a JSON peer would get ([]byte inside a struct becomes base64
// text there). Channels, functions, complex numbers, cycles and nesting beyond MaxDepth make Encode
// fail. Map key order is not fixed.
package codec

import (
	"errors"

	"github.com/gateway-dev/gateway/wamp"
)

// ErrInvalidMessage is wrapped by every decoding error caused by the peer's input.
var ErrInvalidMessage = errors.New("invalid WAMP message")

// ID identifies a serializer; its value is the RawSocket serializer id from the spec.
type ID byte

// Serializer ids, as used in the RawSocket handshake.
const (
	JSON    ID = 1
	MsgPack ID = 2
	CBOR    ID = 3
)

// Serializer encodes and decodes WAMP messages.
// Implementations are safe for concurrent use.
type Serializer interface {
	// ID returns the RawSocket serializer id (1 JSON, 2 MessagePack, 3 CBOR).
	ID() ID
	// Name returns the short name: "json", "msgpack" or "cbor".
	Name() string
	// Subprotocol returns the WebSocket subprotocol, e.g. "wamp.2.json".
	Subprotocol() string
	// Binary reports whether messages are sent as binary (true) or text (false) WebSocket frames.
	Binary() bool
	// Encode appends the encoding of m to dst and returns the extended slice.
	Encode(dst []byte, m wamp.Message) ([]byte, error)
	// Decode parses one complete message. Errors caused by the input wrap ErrInvalidMessage.
	Decode(b []byte) (wamp.Message, error)
}
