package webapp

import (
	"time"

	"github.com/gateway-dev/gateway/wamp"
)

// The request and response bodies of the operations. JSON transports carry them as they are; XML-RPC
// passes the request fields positionally (Operation.Params) and answers the response as a struct (or,
// for publish, the bare publication id). Unknown fields in a request are an error (ErrMalformed).

// PublishRequest is the body of publish (and one element of publish_batch).
type PublishRequest struct {
	// Topic is the topic URI. Leave it empty and set Options.Class to publish on an event class's topic.
	Topic  string    `json:"topic,omitempty"`
	Args   wamp.List `json:"args,omitempty"`
	Kwargs wamp.Dict `json:"kwargs,omitempty"`
	// Options: class (event class name, instead of topic), retain (bool), exclude/eligible (session
	// ids), exclude_authid/eligible_authid, exclude_authrole/eligible_authrole (strings), disclose_me
	// (bool: EVENT.Details.publisher* name the web-app's session), message_id (string: with
	// at-least-once transports, a repeated id within the dedup window is answered without publishing
	// again).
	Options wamp.Dict `json:"options,omitempty"`
}

// PublishResponse answers publish.
type PublishResponse struct {
	Publication wamp.ID `json:"publication"`
	// Duplicate is true when options.message_id was seen before: nothing was published again and
	// Publication is the first publication's id.
	Duplicate bool `json:"duplicate,omitempty"`
}

// PublishBatchRequest is the body of publish_batch.
type PublishBatchRequest struct {
	Publications []PublishRequest `json:"publications"`
}

// PublishBatchResponse answers publish_batch: one result per publication, in order. A failed element
// does not stop the others.
type PublishBatchResponse struct {
	Results []BatchResult `json:"results"`
}

// BatchResult is one publish_batch element's outcome: Publication, or Error.
type BatchResult struct {
	Publication wamp.ID `json:"publication,omitempty"`
	Duplicate   bool    `json:"duplicate,omitempty"`
	Error       *Error  `json:"error,omitempty"`
}

// IssueTicketRequest is the body of issue_ticket.
type IssueTicketRequest struct {
	AuthID   string `json:"authid"`
	AuthRole string `json:"authrole"`
	// TTL is the ticket's lifetime in seconds (default 60).
	TTL       float64   `json:"ttl,omitempty"`
	AuthExtra wamp.Dict `json:"authextra,omitempty"`
}

// IssueTicketResponse answers issue_ticket.
type IssueTicketResponse struct {
	Ticket   string    `json:"ticket"`
	Expires  time.Time `json:"expires"`
	AuthID   string    `json:"authid"`
	AuthRole string    `json:"authrole"`
	Realm    string    `json:"realm"`
}

// RevokeRequest is the body of revoke.
type RevokeRequest struct {
	AuthID string `json:"authid"`
}

// RevokeResponse answers revoke with what was revoked.
type RevokeResponse struct {
	Sessions int `json:"sessions"`
	Tickets  int `json:"tickets"`
	Tokens   int `json:"tokens"`
}

// SessionsRequest is the body of sessions; empty filters match everything.
type SessionsRequest struct {
	AuthID   string `json:"authid,omitempty"`
	AuthRole string `json:"authrole,omitempty"`
}

// SessionsResponse answers sessions with each session's description (as wamp.session.get).
type SessionsResponse struct {
	Sessions []wamp.Dict `json:"sessions"`
}

// KillSessionRequest is the body of kill_session.
type KillSessionRequest struct {
	Session wamp.ID `json:"session"`
	// Reason is the GOODBYE reason URI (default wamp.close.killed); Message its text.
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// KillSessionResponse answers kill_session.
type KillSessionResponse struct {
	Killed bool `json:"killed"`
}

// CallRequest is the body of call.
type CallRequest struct {
	Procedure string    `json:"procedure"`
	Args      wamp.List `json:"args,omitempty"`
	Kwargs    wamp.Dict `json:"kwargs,omitempty"`
	// Options: timeout (ms; default 10000, at most the configured maximum), and the CALL options a
	// caller may give (e.g. disclose_me).
	Options wamp.Dict `json:"options,omitempty"`
}

// CallResponse answers call with the RESULT's payload.
type CallResponse struct {
	Args   wamp.List `json:"args,omitempty"`
	Kwargs wamp.Dict `json:"kwargs,omitempty"`
}

// EventClassesResponse answers event_classes.
type EventClassesResponse struct {
	Classes []wamp.Dict `json:"classes"`
}

// DescribeClassRequest is the body of describe_class.
type DescribeClassRequest struct {
	Class string `json:"class"`
}

// DescribeClassResponse answers describe_class (as gateway.event.describe).
type DescribeClassResponse struct {
	Class wamp.Dict `json:"class"`
}

// DefineClassRequest is the body of define_class: one event class with the keys of a
// [[realms.event_classes]] table (name, topic, extends, description, strict, visibility, retention,
// fields), fields in the inline ({"amount": "int"}) or the detailed form ({"amount": {"type": "int",
// "required": true}}). A class of the same name is replaced. The class lasts until the gateway
// restarts: put it in the configuration file to keep it.
type DefineClassRequest struct {
	Class map[string]any `json:"class"`
}

// DefineClassResponse answers define_class with the new class's description (as
// gateway.event.describe) and whether it replaced a class of the same name.
type DefineClassResponse struct {
	Class    wamp.Dict `json:"class"`
	Replaced bool      `json:"replaced"`
}

// HealthResponse answers health.
type HealthResponse struct {
	// Status is "ok", or "degraded" when the store refuses durable writes.
	Status string `json:"status"`
	Store  string `json:"store"` // "ok", "unavailable: <reason>" or "none"
	Realm  string `json:"realm"`
}

// StatsResponse answers stats.
type StatsResponse struct {
	Realm         string  `json:"realm"`
	Sessions      int     `json:"sessions"`
	Subscriptions int     `json:"subscriptions"`
	Registrations int     `json:"registrations"`
	Publications  uint64  `json:"publications"` // publish operations accepted since start
	Uptime        float64 `json:"uptime"`       // seconds
}
