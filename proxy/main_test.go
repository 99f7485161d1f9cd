package proxy

import (
	"context"
	"encoding/json"
	"reflect"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gateway-dev/gateway/internal/webapp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ctx returns a context that ends with the test (at most 20s).
func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// call is one operation the fake gateway received.
type call struct {
	op   string
	body []byte
}

// fakeInvoker stands in for the gateway's Service behind the real representatives: it records
// each operation and answers with fn.
type fakeInvoker struct {
	mu    sync.Mutex
	calls []call
	fn    func(op string, body []byte) (any, error)
}

func (f *fakeInvoker) Invoke(_ context.Context, op string, body []byte) (any, error) {
	f.mu.Lock()
	f.calls = append(f.calls, call{op, append([]byte(nil), body...)})
	f.mu.Unlock()
	return f.fn(op, body)
}

// last returns the last call.
func (f *fakeInvoker) last(t *testing.T) call {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		t.Fatal("the gateway received no operation")
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeInvoker) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// sameJSON reports whether two JSON texts hold the same value (numbers compared as float64).
func sameJSON(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if len(got) == 0 {
		got = []byte("{}")
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("the gateway received invalid JSON %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %q: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

// The fake gateway's answers.
var (
	ticketExpiry = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	bigInt       = int64(9007199254740993) // beyond float64's integers, and XML-RPC's int
	bigPub       = uint64(4503599627370497)
)

// gatewayAnswers answers every operation like the gateway would, and fails some on purpose:
// describe_class "missing" (invalid argument with details) and call "com.example.fail" (a callee
// error with a payload).
func gatewayAnswers(op string, body []byte) (any, error) {
	var req map[string]any
	_ = json.Unmarshal(body, &req)
	switch op {
	case "publish":
		return webapp.PublishResponse{Publication: 4503599627370497}, nil
	case "publish_batch":
		return webapp.PublishBatchResponse{Results: []webapp.BatchResult{
			{Publication: 7},
			{Error: &webapp.Error{URI: "wamp.error.invalid_argument", Message: "amount must be an int", Details: map[string]any{"field": "amount"}}},
		}}, nil
	case "issue_ticket":
		return webapp.IssueTicketResponse{Ticket: "tkt-1", Expires: ticketExpiry, AuthID: "alice", AuthRole: "user", Realm: "realm1"}, nil
	case "revoke":
		return webapp.RevokeResponse{Sessions: 1, Tickets: 2, Tokens: 3}, nil
	case "sessions":
		return webapp.SessionsResponse{Sessions: []map[string]any{{"session": 123456789012, "authid": "alice", "authrole": "user"}}}, nil
	case "kill_session":
		return webapp.KillSessionResponse{Killed: true}, nil
	case "call":
		if req["procedure"] == "com.example.fail" {
			return nil, &webapp.Error{URI: "com.example.oops", Message: "callee failed", Args: []any{1, "x"}, Kwargs: map[string]any{"why": "because"}}
		}
		return webapp.CallResponse{Args: []any{1, 2.5, "x"}, Kwargs: map[string]any{"big": bigInt, "nested": map[string]any{"l": []any{true, nil}}}}, nil
	case "event_classes":
		return webapp.EventClassesResponse{Classes: []map[string]any{{"name": "order.created", "topic": "com.shop.order.created"}}}, nil
	case "describe_class":
		if req["class"] == "missing" {
			return nil, &webapp.Error{URI: "wamp.error.invalid_argument", Message: `no event class "missing"`, Details: map[string]any{"class": "missing"}}
		}
		return webapp.DescribeClassResponse{Class: map[string]any{"name": "order.created", "fields": map[string]any{"amount": "int"}}}, nil
	case "define_class":
		def, _ := req["class"].(map[string]any)
		if _, typed := def["fields"].(map[string]any)["amount"].(string); !typed {
			return nil, &webapp.Error{URI: "wamp.error.invalid_argument", Message: `class.fields.amount: unknown type "integer" (did you mean "int"?)`}
		}
		return webapp.DefineClassResponse{Class: map[string]any{"name": def["name"], "topic": def["topic"]}, Replaced: true}, nil
	case "health":
		return webapp.HealthResponse{Status: "ok", Store: "none", Realm: "realm1"}, nil
	case "stats":
		return webapp.StatsResponse{Realm: "realm1", Sessions: 2, Subscriptions: 3, Registrations: 1, Publications: 10, Uptime: 12.5}, nil
	}
	return nil, webapp.Errorf(webapp.ErrNoSuchOperation, "no operation %q", op)
}

func newGateway() *fakeInvoker { return &fakeInvoker{fn: gatewayAnswers} }
