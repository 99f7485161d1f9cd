package router

import (
	"encoding/base32"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/gateway-dev/gateway/internal/query"
	"github.com/gateway-dev/gateway/wamp"
)

// optFilter is the SUBSCRIBE option that carries a content filter (docs/EVENTS.md): a string in the
// filter language, or its JSON form as a dictionary.
const optFilter = "x_filter"

// filterCache keeps compiled filter strings: compiling costs 50-260 µs (mostly cel-go's parser),
// and many clients subscribe with the same few filters. It is cleared when full.
var filterCache struct {
	sync.Mutex
	m map[filterKey]*query.Filter
}

type filterKey struct {
	src    string
	schema *query.Schema
}

const filterCacheSize = 4096

func compileCached(src string, schema *query.Schema) (*query.Filter, error) {
	k := filterKey{src, schema}
	filterCache.Lock()
	f := filterCache.m[k]
	filterCache.Unlock()
	if f != nil {
		return f, nil
	}
	f, err := query.Compile(src, schema)
	if err != nil {
		return nil, err
	}
	filterCache.Lock()
	if filterCache.m == nil || len(filterCache.m) >= filterCacheSize {
		filterCache.m = make(map[filterKey]*query.Filter, filterCacheSize)
	}
	filterCache.m[k] = f
	filterCache.Unlock()
	return f, nil
}

// compileFilter compiles an x_filter option value. A filter that matches everything is no filter.
// With a schema (the topic's event class), the filter is type-checked against the class's fields.
func compileFilter(v any, schema *query.Schema) (*query.Filter, error) {
	var f *query.Filter
	var err error
	switch x := v.(type) {
	case string:
		f, err = compileCached(x, schema)
	case map[string]any:
		var b []byte
		if b, err = json.Marshal(x); err == nil {
			f, err = query.CompileJSON(b, schema)
		}
	default:
		return nil, fmt.Errorf("option %q must be a filter expression (string) or its JSON form (dictionary), got %T", optFilter, v)
	}
	if err != nil {
		return nil, fmt.Errorf("invalid %s: %w", optFilter, err)
	}
	if f.MatchesAll() {
		return nil, nil
	}
	return f, nil
}

// queryTopicPrefix starts the topics gateway.query.topic derives: the rest is the original topic and
// the filter, base32-encoded, so the router needs no state to resolve them and they survive restarts.
const queryTopicPrefix = "gateway.query."

var queryTopicEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func encodeQueryTopic(topic wamp.URI, filter string) wamp.URI {
	return wamp.URI(queryTopicPrefix + queryTopicEncoding.EncodeToString([]byte(string(topic)+"\x00"+filter)))
}

// decodeQueryTopic resolves a derived topic into the original topic and filter source.
func decodeQueryTopic(u wamp.URI) (wamp.URI, string, bool) {
	rest, ok := strings.CutPrefix(string(u), queryTopicPrefix)
	if !ok {
		return "", "", false
	}
	b, err := queryTopicEncoding.DecodeString(rest)
	if err != nil {
		return "", "", false
	}
	topic, filter, ok := strings.Cut(string(b), "\x00")
	return wamp.URI(topic), filter, ok
}

// queryTopic implements gateway.query.topic(topic, filter) → derived topic: a topic that receives
// exactly the events of topic that match filter, for clients that cannot pass x_filter.
func queryTopic(rl *Realm, caller *Session, args wamp.List, _ wamp.Dict) metaResult {
	topic, bad := argString(args, 0, "topic")
	if bad != nil {
		return *bad
	}
	src, bad := argString(args, 1, "filter")
	if bad != nil {
		return *bad
	}
	if !rl.uri.valid(wamp.URI(topic), false, false) {
		return fail(wamp.ErrInvalidURI, "invalid topic URI %q", topic)
	}
	var schema *query.Schema
	if c := rl.Events().ByTopic(topic); c != nil {
		schema = c.Schema()
	}
	if _, err := compileFilter(src, schema); err != nil {
		return fail(wamp.ErrInvalidArgument, "%v", err)
	}
	return ok(string(encodeQueryTopic(wamp.URI(topic), src)))
}
