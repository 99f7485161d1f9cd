package service

import (
	"context"
	"errors"
	"strings"

	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/webapp"
	"github.com/gateway-dev/gateway/wamp"
)

// defineClassOp implements define_class: it validates the class by the configuration's rules in
// the context of the realm and swaps it into the realm's registry. The class is not persisted.
func (s *Service) defineClassOp(_ context.Context, body []byte) (any, error) {
	var req webapp.DefineClassRequest
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	if req.Class == nil {
		return nil, webapp.Errorf(webapp.ErrMalformed, "class is required: an object with the keys of [[realms.event_classes]]")
	}
	def, err := config.ParseEventClass(s.realm.EventClassContext(), req.Class)
	if err != nil {
		return nil, invalidClass(err)
	}
	replaced, err := s.realm.DefineEventClass(def)
	if err != nil {
		// Another definition changed the realm between the two checks.
		return nil, invalidClass(err)
	}
	c := s.realm.Events().ByName(def.Name)
	if c == nil { // classes are never removed; kept so that a future removal cannot panic here
		return nil, webapp.Errorf(webapp.ErrInternal, "event class %q vanished after its definition", def.Name)
	}
	s.cfg.Logger.Info("event class defined", "class", def.Name, "topic", def.Topic, "replaced", replaced)
	return &webapp.DefineClassResponse{Class: c.Describe(), Replaced: replaced}, nil
}

// invalidClass turns a definition's problems into wamp.error.invalid_argument, one problem per
// "; "-separated part, each naming its key ("class.fields.amount: unknown type ...").
func invalidClass(err error) *webapp.Error {
	var list *config.Errors
	if !errors.As(err, &list) {
		return webapp.Errorf(wamp.ErrInvalidArgument, "%v", err)
	}
	msgs := make([]string, len(list.List))
	problems := make([]any, len(list.List))
	for i, e := range list.List {
		msgs[i] = e.Error()
		problems[i] = map[string]any{"key": e.Key, "message": e.Msg}
	}
	return &webapp.Error{URI: wamp.ErrInvalidArgument, Message: strings.Join(msgs, "; "), Details: map[string]any{"problems": problems}}
}
