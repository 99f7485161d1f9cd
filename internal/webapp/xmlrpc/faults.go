package xmlrpc

import (
	"errors"

	"github.com/gateway-dev/gateway/internal/webapp"
)

// FaultNotWellFormed is the faultCode of a request that is not well-formed XML: the "parse error"
// code of the xmlrpc-epi fault code specification. Every other fault's code is the HTTP status the
// HTTP/JSON representative would answer for the same error (webapp.HTTPStatus).
const FaultNotWellFormed = -32700

// fault is the code and string of a <fault>.
type fault struct {
	code int
	msg  string
}

// faultOf returns the fault for an operation error: the HTTP-equivalent status, and
// "<error URI>: <message>".
func faultOf(err error) fault {
	e := webapp.AsError(err)
	return fault{code: webapp.HTTPStatus(e), msg: string(e.URI) + ": " + e.Message}
}

// decodeFault returns the fault for a request that DecodeCall refused.
func decodeFault(err error) fault {
	switch {
	case errors.Is(err, ErrLimit):
		return faultOf(&webapp.Error{URI: webapp.ErrTooLarge, Message: err.Error()})
	case errors.Is(err, ErrNotWellFormed):
		f := faultOf(&webapp.Error{URI: webapp.ErrMalformed, Message: err.Error()})
		f.code = FaultNotWellFormed
		return f
	}
	return faultOf(&webapp.Error{URI: webapp.ErrMalformed, Message: err.Error()})
}
