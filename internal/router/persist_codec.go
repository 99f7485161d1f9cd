package router

import (
	"fmt"

	"github.com/gateway-dev/gateway/internal/store"
	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

// persistCodec names the encoding of publications in persistent-subscription logs: an EVENT in
// MessagePack whose Details hold the concrete topic ("t"), the publication's EVENT details
// ("d": publisher disclosure, passthru keys) and its subscriber black/white lists ("f"), which a
// replay applies to the returning session.
const persistCodec = "msgpack+topic"

// encodePersisted encodes what a log keeps of p.
func encodePersisted(p *publication) ([]byte, error) {
	d := wamp.Dict{"t": string(p.topic)}
	if len(p.details) > 0 {
		d["d"] = p.details
	}
	if f := p.filter; f != nil {
		lists := wamp.Dict{}
		for key, set := range map[string]map[wamp.ID]struct{}{"exclude": f.exclude, "eligible": f.eligible} {
			if set != nil {
				l := make(wamp.List, 0, len(set))
				for id := range set {
					l = append(l, id)
				}
				lists[key] = l
			}
		}
		for key, set := range map[string]map[string]struct{}{
			"exclude_authid": f.excludeAuthID, "eligible_authid": f.eligibleAuthID,
			"exclude_authrole": f.excludeAuthRole, "eligible_authrole": f.eligibleAuthRole,
		} {
			if set != nil {
				l := make(wamp.List, 0, len(set))
				for s := range set {
					l = append(l, s)
				}
				lists[key] = l
			}
		}
		d["f"] = lists
	}
	return codec.MsgPackSerializer.Encode(nil, &wamp.Event{Subscription: 1, Publication: p.id, Details: d, Args: p.args, Kwargs: p.kwargs})
}

// decodePersisted reads back what encodePersisted wrote. The publication has no publisher
// session and, when rl is not nil, the event class of its topic in rl.
func decodePersisted(rl *Realm, se store.StoredEvent) (*publication, error) {
	if se.Codec != persistCodec {
		return nil, fmt.Errorf("stored event %d in unknown codec %q", se.Seq, se.Codec)
	}
	m, err := codec.MsgPackSerializer.Decode(se.Payload)
	if err != nil {
		return nil, fmt.Errorf("stored event %d: %w", se.Seq, err)
	}
	ev, ok := m.(*wamp.Event)
	if !ok {
		return nil, fmt.Errorf("stored event %d is a %s, not an EVENT", se.Seq, m.MessageType())
	}
	topic, ok := ev.Details["t"].(string)
	if !ok || topic == "" {
		return nil, fmt.Errorf("stored event %d has no topic", se.Seq)
	}
	p := &publication{id: ev.Publication, topic: wamp.URI(topic), args: ev.Args, kwargs: ev.Kwargs}
	if v, present := ev.Details["d"]; present {
		d, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("stored event %d: details are a %T", se.Seq, v)
		}
		p.details = d
	}
	if v, present := ev.Details["f"]; present {
		lists, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("stored event %d: subscriber lists are a %T", se.Seq, v)
		}
		if p.filter, err = parseDeliveryFilter(lists); err != nil {
			return nil, fmt.Errorf("stored event %d: %w", se.Seq, err)
		}
	}
	if rl != nil {
		p.class = rl.Events().ByTopic(topic)
	}
	return p, nil
}
