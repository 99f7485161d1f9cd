package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/wamp"
)

// defineClass runs define_class with the JSON definition def and returns the answer.
func defineClass(t *testing.T, s *Server, def string) (map[string]any, error) {
	t.Helper()
	return invoke(t, s, "define_class", `{"class": `+def+`}`)
}

// A class defined at run time is published to by name, validates payloads, and can be redefined
// while its subscribers stay connected and keep receiving.
func TestWebappDefineClass(t *testing.T) {
	s := startTOML(t, webappRealm)
	sub := connect(t, s.Endpoints()[0].WebSocketURL, 0, nil)

	res, err := defineClass(t, s, `{"name": "payment.received", "topic": "com.shop.payment.received",
		"description": "A payment.", "fields": {"amount": {"type": "int", "required": true}, "currency": "string"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if c := res["class"].(map[string]any); res["replaced"] != false || c["name"] != "payment.received" || c["topic"] != "com.shop.payment.received" || c["description"] != "A payment." {
		t.Fatalf("define_class answered %v", res)
	}
	events := subscribeChan(t, sub, "com.shop.payment.received")
	if _, err := invoke(t, s, "publish", `{"kwargs": {"amount": 5, "currency": "EUR"}, "options": {"class": "payment.received"}}`); err != nil {
		t.Fatal(err)
	}
	if e := nextEvent(t, events); e.Kwargs["amount"] != int64(5) || e.Kwargs["currency"] != "EUR" {
		t.Fatalf("event %v", e.Kwargs)
	}
	_, err = invoke(t, s, "publish", `{"kwargs": {"amount": "five"}, "options": {"class": "payment.received"}}`)
	wantOpError(t, err, wamp.ErrInvalidArgument, "amount")
	if webapp.HTTPStatus(err) != 422 {
		t.Errorf("schema violation status %d, want 422", webapp.HTTPStatus(err))
	}
	// A WAMP publisher is held to the new schema too.
	if _, err := sub.Publish(ctx(t), "com.shop.payment.received", nil, wamp.Dict{"currency": "EUR"}, wamp.Dict{"acknowledge": true}); err == nil || !strings.Contains(err.Error(), "amount") {
		t.Fatalf("WAMP publication without the required amount: %v", err)
	}

	// Redefined: amount becomes a float and a required reference appears.
	res, err = defineClass(t, s, `{"name": "payment.received", "topic": "com.shop.payment.received",
		"fields": {"amount": {"type": "float", "required": true}, "reference": {"type": "string", "required": true}}}`)
	if err != nil {
		t.Fatal(err)
	}
	if res["replaced"] != true {
		t.Fatalf("redefinition answered %v", res)
	}
	_, err = invoke(t, s, "publish", `{"kwargs": {"amount": 5, "currency": "EUR"}, "options": {"class": "payment.received"}}`)
	wantOpError(t, err, wamp.ErrInvalidArgument, "reference")
	if _, err := invoke(t, s, "publish", `{"kwargs": {"amount": 2.5, "reference": "r-1"}, "options": {"class": "payment.received"}}`); err != nil {
		t.Fatal(err)
	}
	if e := nextEvent(t, events); e.Kwargs["reference"] != "r-1" || e.Kwargs["amount"] != 2.5 {
		t.Fatalf("event after the redefinition %v", e.Kwargs)
	}
	noEvent(t, events)

	res, err = invoke(t, s, "event_classes", nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range res["classes"].([]any) {
		names = append(names, c.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "order.created,payment.received" {
		t.Errorf("event_classes lists %v", names)
	}
	res, err = invoke(t, s, "describe_class", map[string]any{"class": "payment.received"})
	if err != nil || len(res["class"].(map[string]any)["fields"].([]any)) != 2 {
		t.Errorf("describe_class after the redefinition: %v %v", res, err)
	}
}

// A subclass of a configured class inherits its fields; a redefinition that narrows a class's
// visibility applies to the subscribers it no longer admits.
func TestWebappDefineClassInheritanceAndVisibility(t *testing.T) {
	s := startTOML(t, webappRealm)
	anon := connect(t, s.Endpoints()[0].WebSocketURL, 0, nil)
	parent := subscribeChan(t, anon, "com.shop.order.created")

	if _, err := defineClass(t, s, `{"name": "order.created.gift", "topic": "com.shop.order.created.gift", "extends": "order.created",
		"fields": {"note": "string"}}`); err != nil {
		t.Fatal(err)
	}
	_, err := invoke(t, s, "publish", `{"kwargs": {"amount": "x", "note": "hi"}, "options": {"class": "order.created.gift"}}`)
	wantOpError(t, err, wamp.ErrInvalidArgument, "amount")
	if _, err := invoke(t, s, "publish", `{"kwargs": {"amount": 3, "note": "hi"}, "options": {"class": "order.created.gift"}}`); err != nil {
		t.Fatal(err)
	}
	if e := nextEvent(t, parent); e.Kwargs["note"] != "hi" {
		t.Fatalf("the parent's subscriber got %v", e.Kwargs)
	}

	vip := subscribeChan(t, anon, "com.shop.vip")
	if _, err := defineClass(t, s, `{"name": "vip", "topic": "com.shop.vip"}`); err != nil {
		t.Fatal(err)
	}
	if _, err := invoke(t, s, "publish", `{"options": {"class": "vip"}}`); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, vip)
	if _, err := defineClass(t, s, `{"name": "vip", "topic": "com.shop.vip", "visibility": ["user"]}`); err != nil {
		t.Fatal(err)
	}
	if _, err := invoke(t, s, "publish", `{"options": {"class": "vip"}}`); err != nil {
		t.Fatal(err)
	}
	noEvent(t, vip) // the anonymous subscriber may no longer see the class
	// ... but it is still connected and receives the other classes' events.
	if _, err := invoke(t, s, "publish", `{"kwargs": {"amount": 1}, "options": {"class": "order.created"}}`); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, parent)
}

// Invalid definitions are refused with wamp.error.invalid_argument naming the key, and change nothing.
func TestWebappDefineClassRefused(t *testing.T) {
	s := startTOML(t, webappRealm)
	for _, tc := range []struct{ def, part string }{
		{`{"name": "pay", "topic": "com.pay", "fields": {"amount": "integer"}}`, `class.fields.amount: unknown type "integer" (did you mean "int"?)`},
		{`{"name": "pay", "fields": {"amount": "int"}}`, `class: topic is required`},
		{`{"name": "pay", "topic": "com.shop.order.created"}`, `class.topic: topic "com.shop.order.created" is already the topic of class "order.created"`},
		{`{"name": "pay", "topic": "com.pay", "extends": "order.create"}`, `class.extends: unknown class "order.create" (did you mean "order.created"?)`},
		{`{"name": "pay", "topic": "com.pay", "visibility": ["staff"]}`, `class.visibility[0]: role "staff" is not defined`},
		{`{"name": "pay", "topic": "com.pay", "colour": "red"}`, `class.colour: unknown key`},
		{`{"name": "pay", "topic": "com.shop.order.created.pay"}`, `lies under the topic of class "order.created"`},
	} {
		_, err := defineClass(t, s, tc.def)
		wantOpError(t, err, wamp.ErrInvalidArgument, tc.part)
		var e *webapp.Error
		if errors.As(err, &e); webapp.HTTPStatus(err) != 422 || e.Details["problems"] == nil {
			t.Errorf("%s: status %d, details %v", tc.def, webapp.HTTPStatus(err), e.Details)
		}
	}
	for _, body := range []string{`{}`, `{"class": "pay"}`, `{"class": {"name": "x"}, "extra": 1}`} {
		_, err := invoke(t, s, "define_class", body)
		wantOpError(t, err, webapp.ErrMalformed, "")
	}
	res, err := invoke(t, s, "event_classes", nil)
	if err != nil || len(res["classes"].([]any)) != 1 {
		t.Fatalf("the refused definitions changed the classes: %v %v", res, err)
	}
}
