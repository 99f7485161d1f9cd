package proxy

import (
	"context"
	"errors"
)

// PublishOptions are the options of a publication. The zero value publishes to every subscriber
// but the web-app's own session.
type PublishOptions struct {
	// Class publishes on an event class's topic (leave the topic empty); the gateway checks the
	// payload against the class's fields.
	Class string
	// Retain keeps the event as the topic's retained event.
	Retain bool
	// Exclude and Eligible are session ids that must not, or only may, receive the event.
	Exclude, Eligible []uint64
	// ExcludeAuthID, EligibleAuthID, ExcludeAuthRole and EligibleAuthRole filter receivers by
	// authid and authrole.
	ExcludeAuthID, EligibleAuthID     []string
	ExcludeAuthRole, EligibleAuthRole []string
	// DiscloseMe names the web-app's session in EVENT.Details (publisher, publisher_authid, ...).
	DiscloseMe bool
	// MessageID makes the publication idempotent over the at-least-once transports (AMQP): a
	// repeated id within the gateway's dedup window is answered with the first publication's id
	// without publishing again. Over AMQP it is also the message's message_id.
	MessageID string
}

// dict returns the options as the request's "options" object, nil when there are none.
func (o *PublishOptions) dict() map[string]any {
	if o == nil {
		return nil
	}
	m := map[string]any{}
	put := func(k string, v any, set bool) {
		if set {
			m[k] = v
		}
	}
	put("class", o.Class, o.Class != "")
	put("retain", true, o.Retain)
	put("exclude", o.Exclude, len(o.Exclude) > 0)
	put("eligible", o.Eligible, len(o.Eligible) > 0)
	put("exclude_authid", o.ExcludeAuthID, len(o.ExcludeAuthID) > 0)
	put("eligible_authid", o.EligibleAuthID, len(o.EligibleAuthID) > 0)
	put("exclude_authrole", o.ExcludeAuthRole, len(o.ExcludeAuthRole) > 0)
	put("eligible_authrole", o.EligibleAuthRole, len(o.EligibleAuthRole) > 0)
	put("disclose_me", true, o.DiscloseMe)
	put("message_id", o.MessageID, o.MessageID != "")
	if len(m) == 0 {
		return nil
	}
	return m
}

// publishRequest builds the request fields of one publication.
func publishRequest(r *request, topic string, args []any, kwargs map[string]any, opts *PublishOptions) *request {
	return r.set("topic", topic).set("args", args).set("kwargs", kwargs).set("options", opts.dict())
}

// Publish publishes an event on topic (or, with opts.Class, on an event class's topic) and returns
// the publication id, which subscribers see in EVENT.Publication.
func (p *Proxy) Publish(ctx context.Context, topic string, args []any, kwargs map[string]any, opts *PublishOptions) (uint64, error) {
	if topic == "" && (opts == nil || opts.Class == "") {
		return 0, errors.New("proxy: publish needs a topic or an event class (PublishOptions.Class)")
	}
	r := publishRequest(newRequest("publish"), topic, args, kwargs, opts)
	if opts != nil && opts.MessageID != "" {
		r.messageID = opts.MessageID
	}
	var res struct {
		Publication uint64 `json:"publication"`
	}
	if err := p.do(ctx, r, 0, &res); err != nil {
		return 0, err
	}
	return res.Publication, nil
}

// Publication is one event of PublishBatch.
type Publication struct {
	Topic   string
	Args    []any
	Kwargs  map[string]any
	Options *PublishOptions
}

// BatchResult is the outcome of one publication of PublishBatch: its id, or Err.
type BatchResult struct {
	Publication uint64
	// Duplicate is true when Options.MessageID was seen before (nothing was published again).
	Duplicate bool
	// Err is why the gateway refused this publication (the others are published all the same).
	Err *Error
}

// PublishBatch publishes several events in order and returns one result per event. An event the
// gateway refuses does not stop the others: its BatchResult carries the error.
func (p *Proxy) PublishBatch(ctx context.Context, pubs []Publication) ([]BatchResult, error) {
	list := make([]map[string]any, 0, len(pubs))
	for _, pub := range pubs {
		list = append(list, publishRequest(newRequest("publish"), pub.Topic, pub.Args, pub.Kwargs, pub.Options).fields)
	}
	r := newRequest("publish_batch")
	r.fields["publications"] = list
	var res struct {
		Results []struct {
			Publication uint64 `json:"publication"`
			Duplicate   bool   `json:"duplicate"`
			Error       *Error `json:"error"`
		} `json:"results"`
	}
	if err := p.do(ctx, r, 0, &res); err != nil {
		return nil, err
	}
	out := make([]BatchResult, 0, len(res.Results))
	for _, x := range res.Results {
		if x.Error != nil {
			x.Error.Status = statusOf(x.Error.URI)
			x.Error.Details, _ = fromNumbers(x.Error.Details).(map[string]any)
			x.Error.Args, _ = fromNumbers(x.Error.Args).([]any)
			x.Error.Kwargs, _ = fromNumbers(x.Error.Kwargs).(map[string]any)
		}
		out = append(out, BatchResult{Publication: x.Publication, Duplicate: x.Duplicate, Err: x.Error})
	}
	return out, nil
}
