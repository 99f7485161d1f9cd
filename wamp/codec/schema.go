package codec

import (
	"errors"
	"fmt"
	"math"

	"github.com/gateway-dev/gateway/wamp"
)

// This file holds the one table of WAMP message layouts that the three serializers share: decoders
// turn a frame into its top-level elements ([]any of normalised values) and call spec.build;
// encoders call messageFields and write the fields in their format.

// kind is the type an element of a message array must have.
type kind uint8

const (
	kindType     kind = iota // element 0: the message type code
	kindID                   // integer in [1, 2^53]
	kindRevokeID             // like kindID, but 0 is allowed when a Details dict follows
	kindReqType              // integer that is a known message type (ERROR's REQUEST.Type)
	kindString               // string (URI or plain string)
	kindDict                 // map with string keys
	kindList                 // array
)

type element struct {
	name string
	kind kind
}

// spec is the layout of one message type.
type spec struct {
	typ      wamp.MessageType
	min, max int       // allowed element counts, including the type code
	elems    []element // len(elems) == max; elems[0] is the type code
}

// maxElems is the largest number of elements any message has (ERROR).
const maxElems = 7

var (
	eType    = element{"message type", kindType}
	eRequest = element{"Request", kindID}
	eDetails = element{"Details", kindDict}
	eOptions = element{"Options", kindDict}
	eArgs    = element{"Arguments", kindList}
	eKwargs  = element{"ArgumentsKw", kindDict}
	eReason  = element{"Reason", kindString}
	eRevoke  = element{"Request", kindRevokeID}
)

func mk(t wamp.MessageType, min int, elems ...element) *spec {
	return &spec{typ: t, min: min, max: len(elems) + 1, elems: append([]element{eType}, elems...)}
}

// specs is indexed by message type code.
var specs = func() (s [int(wamp.YIELD) + 1]*spec) {
	for _, sp := range []*spec{
		mk(wamp.HELLO, 3, element{"Realm", kindString}, eDetails),
		mk(wamp.WELCOME, 3, element{"Session", kindID}, eDetails),
		mk(wamp.ABORT, 3, eDetails, eReason),
		mk(wamp.CHALLENGE, 3, element{"AuthMethod", kindString}, element{"Extra", kindDict}),
		mk(wamp.AUTHENTICATE, 3, element{"Signature", kindString}, element{"Extra", kindDict}),
		mk(wamp.GOODBYE, 3, eDetails, eReason),
		mk(wamp.ERROR, 5, element{"REQUEST.Type", kindReqType}, eRequest, eDetails, element{"Error", kindString}, eArgs, eKwargs),
		mk(wamp.PUBLISH, 4, eRequest, eOptions, element{"Topic", kindString}, eArgs, eKwargs),
		mk(wamp.PUBLISHED, 3, eRequest, element{"Publication", kindID}),
		mk(wamp.SUBSCRIBE, 4, eRequest, eOptions, element{"Topic", kindString}),
		mk(wamp.SUBSCRIBED, 3, eRequest, element{"Subscription", kindID}),
		mk(wamp.UNSUBSCRIBE, 3, eRequest, element{"Subscription", kindID}),
		mk(wamp.UNSUBSCRIBED, 2, eRevoke, eDetails),
		mk(wamp.EVENT, 4, element{"Subscription", kindID}, element{"Publication", kindID}, eDetails, eArgs, eKwargs),
		mk(wamp.CALL, 4, eRequest, eOptions, element{"Procedure", kindString}, eArgs, eKwargs),
		mk(wamp.CANCEL, 3, eRequest, eOptions),
		mk(wamp.RESULT, 3, eRequest, eDetails, eArgs, eKwargs),
		mk(wamp.REGISTER, 4, eRequest, eOptions, element{"Procedure", kindString}),
		mk(wamp.REGISTERED, 3, eRequest, element{"Registration", kindID}),
		mk(wamp.UNREGISTER, 3, eRequest, element{"Registration", kindID}),
		mk(wamp.UNREGISTERED, 2, eRevoke, eDetails),
		mk(wamp.INVOCATION, 4, eRequest, element{"Registration", kindID}, eDetails, eArgs, eKwargs),
		mk(wamp.INTERRUPT, 3, eRequest, eOptions),
		mk(wamp.YIELD, 3, eRequest, eOptions, eArgs, eKwargs),
	} {
		s[sp.typ] = sp
	}
	return s
}()

// invalid wraps a decoding error of serializer ser so that it matches ErrInvalidMessage.
func invalid(ser string, err error) error {
	return fmt.Errorf("%s: %w: %w", ser, ErrInvalidMessage, err)
}

var errEmpty = errors.New("empty message array")

// integer returns v as a non-negative integer when v is one (an int64, a uint64, or an integral
// float64, as JSON peers may send).
func integer(v any) (uint64, bool) {
	switch x := v.(type) {
	case int64:
		return uint64(x), x >= 0
	case uint64:
		return x, true
	case float64:
		if x >= 0 && x < math.MaxUint64 && x == math.Trunc(x) {
			return uint64(x), true
		}
	}
	return 0, false
}

// specFor returns the layout for the message whose element 0 is v.
func specFor(v any) (*spec, error) {
	code, ok := integer(v)
	if !ok {
		if _, isFloat := v.(float64); isFloat || isInt(v) {
			return nil, fmt.Errorf("unknown message type %s", describe(v))
		}
		return nil, fmt.Errorf("element 0 (message type) must be an integer, got %s", describe(v))
	}
	if code >= uint64(len(specs)) || specs[code] == nil {
		return nil, fmt.Errorf("unknown message type %d", code)
	}
	return specs[code], nil
}

func isInt(v any) bool {
	switch v.(type) {
	case int64, uint64:
		return true
	}
	return false
}

// tooMany is the error for a message array with more than s.max elements.
func (s *spec) tooMany() error {
	return s.arityErr(s.max + 1)
}

func (s *spec) arityErr(n int) error {
	if s.min == s.max {
		return fmt.Errorf("%s: got %d elements, want %d", s.typ, n, s.max)
	}
	return fmt.Errorf("%s: got %d elements, want %d to %d", s.typ, n, s.min, s.max)
}

// elemErr adds the message type and element position to an error met while decoding element i.
func (s *spec) elemErr(i int, err error) error {
	if i < len(s.elems) {
		return fmt.Errorf("%s: element %d (%s): %w", s.typ, i, s.elems[i].name, err)
	}
	return fmt.Errorf("%s: element %d: %w", s.typ, i, err)
}

// check validates the element count and the type of every element.
func (s *spec) check(e []any) error {
	n := len(e)
	if n < s.min || n > s.max {
		return s.arityErr(n)
	}
	for i := 1; i < n; i++ {
		el := &s.elems[i]
		v := e[i]
		var want string
		switch el.kind {
		case kindID, kindRevokeID:
			u, ok := integer(v)
			if ok && u >= 1 && u <= uint64(wamp.MaxID) {
				continue
			}
			if ok && u == 0 && el.kind == kindRevokeID && n == 3 {
				continue
			}
			want = "an ID (integer in [1, 2^53])"
			if el.kind == kindRevokeID {
				want = "an ID (integer in [1, 2^53], or 0 when Details follow)"
			}
		case kindReqType:
			if u, ok := integer(v); ok && u < 1<<16 && wamp.MessageType(u).Known() {
				continue
			}
			want = "a WAMP message type code"
		case kindString:
			if _, ok := v.(string); ok {
				continue
			}
			want = "a string"
		case kindDict:
			if _, ok := v.(map[string]any); ok {
				continue
			}
			want = "a dict"
		case kindList:
			if _, ok := v.([]any); ok {
				continue
			}
			want = "a list"
		}
		return fmt.Errorf("%s: element %d (%s) must be %s, got %s", s.typ, i, el.name, want, describe(v))
	}
	return nil
}

// build checks e against s and returns the message. e[0] has already been matched to s.
func (s *spec) build(e []any) (wamp.Message, error) {
	if err := s.check(e); err != nil {
		return nil, err
	}
	switch s.typ {
	case wamp.HELLO:
		return &wamp.Hello{Realm: uri(e[1]), Details: dict(e[2])}, nil
	case wamp.WELCOME:
		return &wamp.Welcome{Session: id(e[1]), Details: dict(e[2])}, nil
	case wamp.ABORT:
		return &wamp.Abort{Details: dict(e[1]), Reason: uri(e[2])}, nil
	case wamp.CHALLENGE:
		return &wamp.Challenge{AuthMethod: e[1].(string), Extra: dict(e[2])}, nil
	case wamp.AUTHENTICATE:
		return &wamp.Authenticate{Signature: e[1].(string), Extra: dict(e[2])}, nil
	case wamp.GOODBYE:
		return &wamp.Goodbye{Details: dict(e[1]), Reason: uri(e[2])}, nil
	case wamp.ERROR:
		return &wamp.Error{RequestType: wamp.MessageType(id(e[1])), Request: id(e[2]), Details: dict(e[3]),
			Error: uri(e[4]), Args: args(e, 5), Kwargs: kwargs(e, 6)}, nil
	case wamp.PUBLISH:
		return &wamp.Publish{Request: id(e[1]), Options: dict(e[2]), Topic: uri(e[3]), Args: args(e, 4), Kwargs: kwargs(e, 5)}, nil
	case wamp.PUBLISHED:
		return &wamp.Published{Request: id(e[1]), Publication: id(e[2])}, nil
	case wamp.SUBSCRIBE:
		return &wamp.Subscribe{Request: id(e[1]), Options: dict(e[2]), Topic: uri(e[3])}, nil
	case wamp.SUBSCRIBED:
		return &wamp.Subscribed{Request: id(e[1]), Subscription: id(e[2])}, nil
	case wamp.UNSUBSCRIBE:
		return &wamp.Unsubscribe{Request: id(e[1]), Subscription: id(e[2])}, nil
	case wamp.UNSUBSCRIBED:
		return &wamp.Unsubscribed{Request: id(e[1]), Details: optDict(e, 2)}, nil
	case wamp.EVENT:
		return &wamp.Event{Subscription: id(e[1]), Publication: id(e[2]), Details: dict(e[3]), Args: args(e, 4), Kwargs: kwargs(e, 5)}, nil
	case wamp.CALL:
		return &wamp.Call{Request: id(e[1]), Options: dict(e[2]), Procedure: uri(e[3]), Args: args(e, 4), Kwargs: kwargs(e, 5)}, nil
	case wamp.CANCEL:
		return &wamp.Cancel{Request: id(e[1]), Options: dict(e[2])}, nil
	case wamp.RESULT:
		return &wamp.Result{Request: id(e[1]), Details: dict(e[2]), Args: args(e, 3), Kwargs: kwargs(e, 4)}, nil
	case wamp.REGISTER:
		return &wamp.Register{Request: id(e[1]), Options: dict(e[2]), Procedure: uri(e[3])}, nil
	case wamp.REGISTERED:
		return &wamp.Registered{Request: id(e[1]), Registration: id(e[2])}, nil
	case wamp.UNREGISTER:
		return &wamp.Unregister{Request: id(e[1]), Registration: id(e[2])}, nil
	case wamp.UNREGISTERED:
		return &wamp.Unregistered{Request: id(e[1]), Details: optDict(e, 2)}, nil
	case wamp.INVOCATION:
		return &wamp.Invocation{Request: id(e[1]), Registration: id(e[2]), Details: dict(e[3]), Args: args(e, 4), Kwargs: kwargs(e, 5)}, nil
	case wamp.INTERRUPT:
		return &wamp.Interrupt{Request: id(e[1]), Options: dict(e[2])}, nil
	case wamp.YIELD:
		return &wamp.Yield{Request: id(e[1]), Options: dict(e[2]), Args: args(e, 3), Kwargs: kwargs(e, 4)}, nil
	}
	return nil, fmt.Errorf("unknown message type %d", int(s.typ))
}

// Accessors for elements that check has validated.

func id(v any) wamp.ID {
	u, _ := integer(v)
	return wamp.ID(u)
}

func uri(v any) wamp.URI { return wamp.URI(v.(string)) }

func dict(v any) wamp.Dict { return v.(map[string]any) }

func optDict(e []any, i int) wamp.Dict {
	if i < len(e) {
		return dict(e[i])
	}
	return nil
}

// args returns the Arguments at e[i]; an absent or empty list is nil, as the spec treats both alike.
func args(e []any, i int) wamp.List {
	if i < len(e) {
		if l := e[i].([]any); len(l) > 0 {
			return l
		}
	}
	return nil
}

// kwargs returns the ArgumentsKw at e[i]; an absent or empty dict is nil.
func kwargs(e []any, i int) wamp.Dict {
	if i < len(e) {
		if d := dict(e[i]); len(d) > 0 {
			return d
		}
	}
	return nil
}

// Encoding side.

type fieldKind uint8

const (
	fInt    fieldKind = iota // type code, request type or ID: n
	fString                  // s
	fDict                    // d (nil encodes as an empty dict)
	fList                    // l (nil encodes as an empty list)
)

// field is one element of a message array to encode.
type field struct {
	kind fieldKind
	n    uint64
	s    string
	d    map[string]any
	l    []any
}

// fieldBuilder lays out a message as fields in a fixed array (kept inline so that an encoder's
// builder stays on its stack); the first error sticks.
type fieldBuilder struct {
	f   [maxElems]field
	n   int
	typ wamp.MessageType
	err error
}

func (b *fieldBuilder) int(n uint64) {
	b.f[b.n] = field{kind: fInt, n: n}
	b.n++
}

func (b *fieldBuilder) id(name string, v wamp.ID) {
	if !v.Valid() && b.err == nil {
		b.err = fmt.Errorf("%s: %s %d is outside [1, 2^53]", b.typ, name, uint64(v))
	}
	b.int(uint64(v))
}

func (b *fieldBuilder) str(s string) {
	b.f[b.n] = field{kind: fString, s: s}
	b.n++
}

func (b *fieldBuilder) dict(d map[string]any) {
	b.f[b.n] = field{kind: fDict, d: d}
	b.n++
}

// payload appends Arguments and ArgumentsKw as the spec asks: both omitted when empty, Arguments
// (possibly empty) sent when ArgumentsKw is not empty.
func (b *fieldBuilder) payload(args []any, kwargs map[string]any) {
	if len(args) > 0 || len(kwargs) > 0 {
		b.f[b.n] = field{kind: fList, l: args}
		b.n++
	}
	if len(kwargs) > 0 {
		b.dict(kwargs)
	}
}

// revocable appends the Request of UNSUBSCRIBED/UNREGISTERED and its optional Details: Details are
// sent when present or when Request is 0 (a router revocation, which must carry Details).
func (b *fieldBuilder) revocable(req wamp.ID, details map[string]any) {
	if req == 0 {
		b.int(0)
		b.dict(details)
		return
	}
	b.id("Request", req)
	if details != nil {
		b.dict(details)
	}
}

var errNilMessage = errors.New("nil message")

// fill lays out m's elements in b.f[:b.n].
func (b *fieldBuilder) fill(m wamp.Message) error {
	if m == nil {
		return errNilMessage
	}
	b.typ = m.MessageType()
	b.int(uint64(b.typ))
	switch m := m.(type) {
	case *wamp.Hello:
		if m == nil {
			return errNilMessage
		}
		b.str(string(m.Realm))
		b.dict(m.Details)
	case *wamp.Welcome:
		if m == nil {
			return errNilMessage
		}
		b.id("Session", m.Session)
		b.dict(m.Details)
	case *wamp.Abort:
		if m == nil {
			return errNilMessage
		}
		b.dict(m.Details)
		b.str(string(m.Reason))
	case *wamp.Challenge:
		if m == nil {
			return errNilMessage
		}
		b.str(m.AuthMethod)
		b.dict(m.Extra)
	case *wamp.Authenticate:
		if m == nil {
			return errNilMessage
		}
		b.str(m.Signature)
		b.dict(m.Extra)
	case *wamp.Goodbye:
		if m == nil {
			return errNilMessage
		}
		b.dict(m.Details)
		b.str(string(m.Reason))
	case *wamp.Error:
		if m == nil {
			return errNilMessage
		}
		if !m.RequestType.Known() {
			return fmt.Errorf("ERROR: unknown REQUEST.Type %d", int(m.RequestType))
		}
		b.int(uint64(m.RequestType))
		b.id("Request", m.Request)
		b.dict(m.Details)
		b.str(string(m.Error))
		b.payload(m.Args, m.Kwargs)
	case *wamp.Publish:
		if m == nil {
			return errNilMessage
		}
		b.id("Request", m.Request)
		b.dict(m.Options)
		b.str(string(m.Topic))
		b.payload(m.Args, m.Kwargs)
	case *wamp.Published:
		if m == nil {
			return errNilMessage
		}
		b.id("Request", m.Request)
		b.id("Publication", m.Publication)
	case *wamp.Subscribe:
		if m == nil {
			return errNilMessage
		}
		b.id("Request", m.Request)
		b.dict(m.Options)
		b.str(string(m.Topic))
	case *wamp.Subscribed:
		if m == nil {
			return errNilMessage
		}
		b.id("Request", m.Request)
		b.id("Subscription", m.Subscription)
	case *wamp.Unsubscribe:
		if m == nil {
			return errNilMessage
		}
		b.id("Request", m.Request)
		b.id("Subscription", m.Subscription)
	case *wamp.Unsubscribed:
		if m == nil {
			return errNilMessage
		}
		b.revocable(m.Request, m.Details)
	case *wamp.Event:
		if m == nil {
			return errNilMessage
		}
		b.id("Subscription", m.Subscription)
		b.id("Publication", m.Publication)
		b.dict(m.Details)
		b.payload(m.Args, m.Kwargs)
	case *wamp.Call:
		if m == nil {
			return errNilMessage
		}
		b.id("Request", m.Request)
		b.dict(m.Options)
		b.str(string(m.Procedure))
		b.payload(m.Args, m.Kwargs)
	case *wamp.Cancel:
		if m == nil {
			return errNilMessage
		}
		b.id("Request", m.Request)
		b.dict(m.Options)
	case *wamp.Result:
		if m == nil {
			return errNilMessage
		}
		b.id("Request", m.Request)
		b.dict(m.Details)
		b.payload(m.Args, m.Kwargs)
	case *wamp.Register:
		if m == nil {
			return errNilMessage
		}
		b.id("Request", m.Request)
		b.dict(m.Options)
		b.str(string(m.Procedure))
	case *wamp.Registered:
		if m == nil {
			return errNilMessage
		}
		b.id("Request", m.Request)
		b.id("Registration", m.Registration)
	case *wamp.Unregister:
		if m == nil {
			return errNilMessage
		}
		b.id("Request", m.Request)
		b.id("Registration", m.Registration)
	case *wamp.Unregistered:
		if m == nil {
			return errNilMessage
		}
		b.revocable(m.Request, m.Details)
	case *wamp.Invocation:
		if m == nil {
			return errNilMessage
		}
		b.id("Request", m.Request)
		b.id("Registration", m.Registration)
		b.dict(m.Details)
		b.payload(m.Args, m.Kwargs)
	case *wamp.Interrupt:
		if m == nil {
			return errNilMessage
		}
		b.id("Request", m.Request)
		b.dict(m.Options)
	case *wamp.Yield:
		if m == nil {
			return errNilMessage
		}
		b.id("Request", m.Request)
		b.dict(m.Options)
		b.payload(m.Args, m.Kwargs)
	default:
		return fmt.Errorf("unsupported message type %T", m)
	}
	return b.err
}
