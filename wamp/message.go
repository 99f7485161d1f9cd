// Package wamp defines the WAMP v2 message types, identifiers, URIs and the
// standard error and close reasons shared by the router, the serializers and
// the Go client.
package wamp

import "fmt"

// MessageType is the numeric code that starts every WAMP message.
type MessageType int

// WAMP v2 message type codes (Basic and Advanced Profile).
const (
	HELLO        MessageType = 1
	WELCOME      MessageType = 2
	ABORT        MessageType = 3
	CHALLENGE    MessageType = 4
	AUTHENTICATE MessageType = 5
	GOODBYE      MessageType = 6
	ERROR        MessageType = 8
	PUBLISH      MessageType = 16
	PUBLISHED    MessageType = 17
	SUBSCRIBE    MessageType = 32
	SUBSCRIBED   MessageType = 33
	UNSUBSCRIBE  MessageType = 34
	UNSUBSCRIBED MessageType = 35
	EVENT        MessageType = 36
	CALL         MessageType = 48
	CANCEL       MessageType = 49
	RESULT       MessageType = 50
	REGISTER     MessageType = 64
	REGISTERED   MessageType = 65
	UNREGISTER   MessageType = 66
	UNREGISTERED MessageType = 67
	INVOCATION   MessageType = 68
	INTERRUPT    MessageType = 69
	YIELD        MessageType = 70
)

var typeNames = map[MessageType]string{
	HELLO: "HELLO", WELCOME: "WELCOME", ABORT: "ABORT", CHALLENGE: "CHALLENGE",
	AUTHENTICATE: "AUTHENTICATE", GOODBYE: "GOODBYE", ERROR: "ERROR", PUBLISH: "PUBLISH",
	PUBLISHED: "PUBLISHED", SUBSCRIBE: "SUBSCRIBE", SUBSCRIBED: "SUBSCRIBED",
	UNSUBSCRIBE: "UNSUBSCRIBE", UNSUBSCRIBED: "UNSUBSCRIBED", EVENT: "EVENT", CALL: "CALL",
	CANCEL: "CANCEL", RESULT: "RESULT", REGISTER: "REGISTER", REGISTERED: "REGISTERED",
	UNREGISTER: "UNREGISTER", UNREGISTERED: "UNREGISTERED", INVOCATION: "INVOCATION",
	INTERRUPT: "INTERRUPT", YIELD: "YIELD",
}

// String returns the message type's name as the spec spells it, e.g. "PUBLISH".
func (t MessageType) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("MessageType(%d)", int(t))
}

// Known reports whether t is a message type this package can represent.
func (t MessageType) Known() bool { _, ok := typeNames[t]; return ok }

// ID is a WAMP session, publication, subscription, registration or request
// identifier. Valid IDs lie in [1, MaxID].
type ID uint64

// MaxID is the largest valid WAMP ID, 2^53.
const MaxID ID = 1 << 53

// Valid reports whether id lies in [1, 2^53].
func (id ID) Valid() bool { return id >= 1 && id <= MaxID }

// URI is a WAMP URI (topic, procedure, error or close reason).
type URI string

// Dict is a WAMP dictionary (Details, Options, Kwargs).
// Decoded values are nil, bool, int64, uint64 (only above MaxInt64), float64,
// string, []byte, []any and map[string]any.
type Dict = map[string]any

// List is a WAMP list (Args).
type List = []any

// Message is any WAMP message.
type Message interface {
	// MessageType returns the message's type code.
	MessageType() MessageType
}

// Hello is sent by a client to open a session: [HELLO, Realm|uri, Details|dict].
type Hello struct {
	Realm   URI
	Details Dict
}

// Welcome opens a session: [WELCOME, Session|id, Details|dict].
type Welcome struct {
	Session ID
	Details Dict
}

// Abort refuses or ends a session: [ABORT, Details|dict, Reason|uri].
type Abort struct {
	Details Dict
	Reason  URI
}

// Challenge asks the client to authenticate: [CHALLENGE, AuthMethod|string, Extra|dict].
type Challenge struct {
	AuthMethod string
	Extra      Dict
}

// Authenticate answers a challenge: [AUTHENTICATE, Signature|string, Extra|dict].
type Authenticate struct {
	Signature string
	Extra     Dict
}

// Goodbye closes a session: [GOODBYE, Details|dict, Reason|uri].
type Goodbye struct {
	Details Dict
	Reason  URI
}

// Error answers a request with an error:
// [ERROR, REQUEST.Type|int, REQUEST.Request|id, Details|dict, Error|uri, Arguments|list, ArgumentsKw|dict].
type Error struct {
	RequestType MessageType
	Request     ID
	Details     Dict
	Error       URI
	Args        List
	Kwargs      Dict
}

// Publish publishes an event: [PUBLISH, Request|id, Options|dict, Topic|uri, Arguments|list, ArgumentsKw|dict].
type Publish struct {
	Request ID
	Options Dict
	Topic   URI
	Args    List
	Kwargs  Dict
}

// Published acknowledges a publish: [PUBLISHED, PUBLISH.Request|id, Publication|id].
type Published struct {
	Request     ID
	Publication ID
}

// Subscribe subscribes to a topic: [SUBSCRIBE, Request|id, Options|dict, Topic|uri].
type Subscribe struct {
	Request ID
	Options Dict
	Topic   URI
}

// Subscribed acknowledges a subscribe: [SUBSCRIBED, SUBSCRIBE.Request|id, Subscription|id].
type Subscribed struct {
	Request      ID
	Subscription ID
}

// Unsubscribe ends a subscription: [UNSUBSCRIBE, Request|id, SUBSCRIBED.Subscription|id].
type Unsubscribe struct {
	Request      ID
	Subscription ID
}

// Unsubscribed acknowledges an unsubscribe: [UNSUBSCRIBED, UNSUBSCRIBE.Request|id] or, when the router
// revokes a subscription, [UNSUBSCRIBED, 0, Details|dict].
type Unsubscribed struct {
	Request ID
	Details Dict
}

// Event delivers a publication:
// [EVENT, SUBSCRIBED.Subscription|id, PUBLISHED.Publication|id, Details|dict, Arguments|list, ArgumentsKw|dict].
type Event struct {
	Subscription ID
	Publication  ID
	Details      Dict
	Args         List
	Kwargs       Dict
}

// Call calls a procedure: [CALL, Request|id, Options|dict, Procedure|uri, Arguments|list, ArgumentsKw|dict].
type Call struct {
	Request   ID
	Options   Dict
	Procedure URI
	Args      List
	Kwargs    Dict
}

// Cancel cancels a call: [CANCEL, CALL.Request|id, Options|dict].
type Cancel struct {
	Request ID
	Options Dict
}

// Result returns a call's (possibly progressive) result:
// [RESULT, CALL.Request|id, Details|dict, YIELD.Arguments|list, YIELD.ArgumentsKw|dict].
type Result struct {
	Request ID
	Details Dict
	Args    List
	Kwargs  Dict
}

// Register registers a procedure: [REGISTER, Request|id, Options|dict, Procedure|uri].
type Register struct {
	Request   ID
	Options   Dict
	Procedure URI
}

// Registered acknowledges a register: [REGISTERED, REGISTER.Request|id, Registration|id].
type Registered struct {
	Request      ID
	Registration ID
}

// Unregister ends a registration: [UNREGISTER, Request|id, REGISTERED.Registration|id].
type Unregister struct {
	Request      ID
	Registration ID
}

// Unregistered acknowledges an unregister: [UNREGISTERED, UNREGISTER.Request|id] or, when the router
// revokes a registration, [UNREGISTERED, 0, Details|dict].
type Unregistered struct {
	Request ID
	Details Dict
}

// Invocation asks a callee to run a procedure:
// [INVOCATION, Request|id, REGISTERED.Registration|id, Details|dict, CALL.Arguments|list, CALL.ArgumentsKw|dict].
type Invocation struct {
	Request      ID
	Registration ID
	Details      Dict
	Args         List
	Kwargs       Dict
}

// Interrupt asks a callee to stop an invocation: [INTERRUPT, INVOCATION.Request|id, Options|dict].
type Interrupt struct {
	Request ID
	Options Dict
}

// Yield returns an invocation's (possibly progressive) result:
// [YIELD, INVOCATION.Request|id, Options|dict, Arguments|list, ArgumentsKw|dict].
type Yield struct {
	Request ID
	Options Dict
	Args    List
	Kwargs  Dict
}

// MessageType implementations.
func (*Hello) MessageType() MessageType        { return HELLO }
func (*Welcome) MessageType() MessageType      { return WELCOME }
func (*Abort) MessageType() MessageType        { return ABORT }
func (*Challenge) MessageType() MessageType    { return CHALLENGE }
func (*Authenticate) MessageType() MessageType { return AUTHENTICATE }
func (*Goodbye) MessageType() MessageType      { return GOODBYE }
func (*Error) MessageType() MessageType        { return ERROR }
func (*Publish) MessageType() MessageType      { return PUBLISH }
func (*Published) MessageType() MessageType    { return PUBLISHED }
func (*Subscribe) MessageType() MessageType    { return SUBSCRIBE }
func (*Subscribed) MessageType() MessageType   { return SUBSCRIBED }
func (*Unsubscribe) MessageType() MessageType  { return UNSUBSCRIBE }
func (*Unsubscribed) MessageType() MessageType { return UNSUBSCRIBED }
func (*Event) MessageType() MessageType        { return EVENT }
func (*Call) MessageType() MessageType         { return CALL }
func (*Cancel) MessageType() MessageType       { return CANCEL }
func (*Result) MessageType() MessageType       { return RESULT }
func (*Register) MessageType() MessageType     { return REGISTER }
func (*Registered) MessageType() MessageType   { return REGISTERED }
func (*Unregister) MessageType() MessageType   { return UNREGISTER }
func (*Unregistered) MessageType() MessageType { return UNREGISTERED }
func (*Invocation) MessageType() MessageType   { return INVOCATION }
func (*Interrupt) MessageType() MessageType    { return INTERRUPT }
func (*Yield) MessageType() MessageType        { return YIELD }
