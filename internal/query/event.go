package query

import (
	"strings"
	"sync"
)

// Meta is the metadata of an event that filters can address as _topic, _class and _publisher. An
// empty string is a missing field.
type Meta struct {
	Topic     string // topic URI the event was published to
	Class     string // event class name, "" when the topic has no class
	Publisher string // publisher authid, "" when not disclosed
}

func (m Meta) lookup(path string) (value, bool) {
	var s string
	switch path {
	case FieldTopic:
		s = m.Topic
	case FieldClass:
		s = m.Class
	case FieldPublisher:
		s = m.Publisher
	default:
		return value{}, false
	}
	if s == "" {
		return value{}, true
	}
	return stringValue(s), true
}

// Event is an event prepared for matching: its kwargs and metadata, plus scratch space that Match
// fills with the attributes the Index's filters refer to (extracted once per event and Index). An
// Event is not safe for concurrent use; reuse it with Reset or return it with Release.
type Event struct {
	kwargs map[string]any
	meta   Meta
	gen    uint64 // bumped by Reset

	// resolution scratch, valid for (owner, ver, gen)
	owner   *Index
	ver     uint64
	resGen  uint64
	slots   []value  // by field id
	present []uint32 // field ids set in slots
	buf     []byte   // nested path scratch
	seen    []*filterEntry
}

var eventPool = sync.Pool{New: func() any { return new(Event) }}

// NewEvent returns a pooled Event for kwargs (the decoded ArgumentsKw, which must not change while
// the Event is in use) and meta. Call Release when done.
func NewEvent(kwargs map[string]any, meta Meta) *Event {
	ev := eventPool.Get().(*Event)
	ev.Reset(kwargs, meta)
	return ev
}

// Reset makes ev describe another event, keeping its scratch space.
func (ev *Event) Reset(kwargs map[string]any, meta Meta) {
	ev.kwargs, ev.meta = kwargs, meta
	ev.gen++
}

// Release returns ev to the pool; ev must not be used afterwards.
func (ev *Event) Release() {
	ev.kwargs, ev.meta, ev.owner = nil, Meta{}, nil
	clear(ev.seen)
	ev.seen = ev.seen[:0]
	eventPool.Put(ev)
}

// resolve extracts the attributes idx refers to into ev.slots. The caller holds idx.mu (read).
func (ev *Event) resolve(idx *Index) {
	if ev.owner == idx && ev.ver == idx.version && ev.resGen == ev.gen {
		return
	}
	for _, id := range ev.present {
		if int(id) < len(ev.slots) {
			ev.slots[id] = value{}
		}
	}
	ev.present = ev.present[:0]
	if n := len(idx.names); len(ev.slots) < n {
		ev.slots = append(ev.slots, make([]value, n-len(ev.slots))...)
	}
	ev.owner, ev.ver, ev.resGen = idx, idx.version, ev.gen
	if len(idx.roots) <= len(ev.kwargs) {
		for _, r := range idx.roots {
			if x, ok := ev.kwargs[r.name]; ok {
				ev.set(idx, r.info, r.name, x)
			}
		}
	} else {
		for k, x := range ev.kwargs {
			if len(k) > 0 && k[0] == '_' || strings.IndexByte(k, '.') >= 0 {
				continue
			}
			if fi, ok := idx.fields[k]; ok {
				ev.set(idx, fi, k, x)
			}
		}
	}
	for _, m := range idx.metaIDs {
		if v, _ := ev.meta.lookup(m.name); v.present() {
			ev.slots[m.id] = v
			ev.present = append(ev.present, m.id)
		}
	}
}

func (ev *Event) set(idx *Index, fi *fieldInfo, path string, x any) {
	if fi.id != noField {
		ev.slots[fi.id] = fromAny(x)
		ev.present = append(ev.present, fi.id)
	}
	if fi.inner > 0 {
		if m, ok := x.(map[string]any); ok {
			ev.buf = append(ev.buf[:0], path...)
			ev.nested(idx, m, 1)
		}
	}
}

// nested walks a nested object whose path prefix is in ev.buf.
func (ev *Event) nested(idx *Index, m map[string]any, depth int) {
	if depth > 32 {
		return
	}
	base := len(ev.buf)
	for k, x := range m {
		if strings.IndexByte(k, '.') >= 0 {
			continue // not addressable
		}
		ev.buf = append(append(ev.buf[:base], '.'), k...)
		fi, ok := idx.fields[string(ev.buf)]
		if !ok {
			continue
		}
		if fi.id != noField {
			ev.slots[fi.id] = fromAny(x)
			ev.present = append(ev.present, fi.id)
		}
		if fi.inner > 0 {
			if sub, ok := x.(map[string]any); ok {
				ev.nested(idx, sub, depth+1)
			}
		}
	}
	ev.buf = ev.buf[:base]
}
