// Package codec implements the WAMP v2 serializers: JSON, MessagePack and CBOR.
//
// Every serializer decodes strictly: a frame that is not a WAMP message array, has an unknown message
// type, the wrong number of elements, an element of the wrong type, or an ID outside [1, 2^53] yields
// an error that wraps ErrInvalidMessage, which a router answers with ABORT wamp.error.protocol_violation.
//
// Decoded payload values are normalised across serializers: nil, bool, int64 (uint64 only for integers
// above math.MaxInt64), float64, string, []byte, []any and map[string]any.
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
