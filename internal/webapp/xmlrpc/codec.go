package xmlrpc

import (
	"errors"
	"fmt"
)

// Default decoding limits (Limits fields left at zero take these).
const (
	// DefaultMaxDepth is how deeply structs and arrays may nest.
	DefaultMaxDepth = 64
	// DefaultMaxValues is how many <value> elements one message may hold.
	DefaultMaxValues = 100_000
)

// Limits bound what a decoder accepts besides the size of the message itself.
type Limits struct {
	// MaxDepth is the deepest nesting of structs and arrays (a scalar parameter is depth 0).
	MaxDepth int
	// MaxValues is the number of <value> elements in the whole message, members and items included.
	MaxValues int
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxValues <= 0 {
		l.MaxValues = DefaultMaxValues
	}
	return l
}

// Kinds of decoding errors; every error the decoders return wraps exactly one of them.
var (
	// ErrNotWellFormed: the input is not well-formed XML (syntax, invalid UTF-8, characters XML
	// cannot carry, unbalanced elements, truncated input).
	ErrNotWellFormed = errors.New("XML not well formed")
	// ErrInvalid: well-formed XML that is not a valid XML-RPC message (unknown element or value type,
	// bad scalar, DOCTYPE, unsupported charset).
	ErrInvalid = errors.New("not a valid XML-RPC message")
	// ErrLimit: the message nests deeper or holds more values than Limits allow.
	ErrLimit = errors.New("XML-RPC limit exceeded")
)

// Call is a decoded <methodCall>.
type Call struct {
	Method string
	// Params are the decoded parameters (see the package documentation for the Go types).
	Params []any
}

// Fault is a decoded <fault>: the error answer of a method call.
type Fault struct {
	Code   int
	String string
}

// Error makes a Fault an error: "XML-RPC fault <code>: <string>".
func (f *Fault) Error() string { return fmt.Sprintf("XML-RPC fault %d: %s", f.Code, f.String) }
