package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gateway-dev/gateway/wamp"
)

// Settings of [store] for persistent subscriptions and event logs (docs/PERSISTENCE.md).

// Sync policies of durable writes ([store] sync).
const (
	// SyncGroup fsyncs every commit and gathers concurrent writes into one commit.
	SyncGroup = "group"
	// SyncAlways commits and fsyncs every write on its own.
	SyncAlways = "always"
)

// Defaults of the persistent-subscription limits.
const (
	DefaultMaxPersistentSubscriptions = 100
	DefaultMaxBacklog                 = 100000
)

// Match policies of a retention rule, as in SUBSCRIBE.Options.match.
const (
	MatchExact    = wamp.MatchExact
	MatchPrefix   = wamp.MatchPrefix
	MatchWildcard = wamp.MatchWildcard
)

// RetentionRule bounds the event logs of the topics it matches ([[store.retention]]): the logs
// of persistent subscriptions and the event history. A zero bound is no bound of that kind; a
// rule needs at least one.
type RetentionRule struct {
	// Topic is the URI, prefix or wildcard pattern the rule applies to.
	Topic string `toml:"topic"`
	// Match is how Topic matches: "exact" (default), "prefix" or "wildcard".
	Match string `toml:"match"`
	// MaxEvents keeps at most this many events per log.
	MaxEvents int `toml:"max_events"`
	// MaxAge drops events older than this.
	MaxAge time.Duration `toml:"max_age"`
	// MaxBytes keeps at most this many bytes of stored events per log.
	MaxBytes int64 `toml:"max_bytes,size"`
}

func (r *RetentionRule) setDefaults() { r.Match = MatchExact }

// Matches reports whether the rule applies to topic. For the log of a prefix or wildcard
// subscription, topic is the subscription's pattern, matched as if it were a topic.
func (r *RetentionRule) Matches(topic string) bool {
	return wamp.Matches(r.Match, wamp.URI(r.Topic), wamp.URI(topic))
}

// SyncMode returns Sync, or SyncGroup when it is empty.
func (s *Store) SyncMode() string {
	if s.Sync == "" {
		return SyncGroup
	}
	return s.Sync
}

// PersistentSubscriptionLimit returns MaxPersistentSubscriptions, or its default when it is 0.
func (s *Store) PersistentSubscriptionLimit() int {
	if s.MaxPersistentSubscriptions == 0 {
		return DefaultMaxPersistentSubscriptions
	}
	return s.MaxPersistentSubscriptions
}

// BacklogLimit returns MaxBacklog, or its default when it is 0.
func (s *Store) BacklogLimit() int {
	if s.MaxBacklog == 0 {
		return DefaultMaxBacklog
	}
	return s.MaxBacklog
}

// RetentionFor returns the first rule (in file order) that matches topic, or nil.
func (s *Store) RetentionFor(topic string) *RetentionRule {
	for i := range s.Retention {
		if s.Retention[i].Matches(topic) {
			return &s.Retention[i]
		}
	}
	return nil
}

// persist checks the persistence settings of [store].
func (v *checker) persist(s *Store) {
	switch s.Sync {
	case "", SyncGroup, SyncAlways:
	default:
		v.report("store.sync", "invalid sync policy %q: use %q (fsync in groups, the default) or %q (fsync every write)", s.Sync, SyncGroup, SyncAlways)
	}
	if s.MaxPersistentSubscriptions < 0 {
		v.report("store.max_persistent_subscriptions", "must not be negative (0 means the default, %d)", DefaultMaxPersistentSubscriptions)
	}
	if s.MaxBacklog < 0 {
		v.report("store.max_backlog", "must not be negative (0 means the default, %d)", DefaultMaxBacklog)
	}
	for i := range s.Retention {
		v.retentionRule("store.retention["+strconv.Itoa(i)+"]", &s.Retention[i])
	}
}

func (v *checker) retentionRule(p string, r *RetentionRule) {
	switch r.Match {
	case MatchExact, MatchPrefix, MatchWildcard:
		if err := checkPattern(r.Topic, r.Match); err != nil {
			v.report(p+".topic", "invalid %s topic %q: %v", r.Match, r.Topic, err)
		}
	default:
		v.report(p+".match", "invalid match policy %q: use exact, prefix or wildcard", r.Match)
	}
	if r.MaxEvents < 0 {
		v.report(p+".max_events", "must not be negative")
	}
	if r.MaxAge < 0 {
		v.report(p+".max_age", "must not be negative")
	}
	if r.MaxBytes < 0 {
		v.report(p+".max_bytes", "must not be negative")
	}
	if r.MaxEvents <= 0 && r.MaxAge <= 0 && r.MaxBytes <= 0 {
		v.report(p, "a retention rule needs at least one of max_events, max_age or max_bytes")
	}
}

// checkPattern reports why topic is not a valid pattern for match: an exact topic is a URI, a
// prefix is a non-empty beginning of one, a wildcard pattern is a URI whose components may be
// empty (each empty component matches any one component).
func checkPattern(topic, match string) error {
	switch match {
	case MatchPrefix:
		if topic == "" {
			return errors.New("must not be empty")
		}
		for _, r := range topic {
			if r == '#' || unicode.IsSpace(r) || unicode.IsControl(r) {
				return fmt.Errorf("contains %q", r)
			}
		}
		return nil
	case MatchWildcard:
		if !strings.Contains(topic, "..") && !strings.HasPrefix(topic, ".") && !strings.HasSuffix(topic, ".") {
			return errors.New(`has no empty component: a wildcard pattern such as "com.example..status" needs one (or use match = "exact")`)
		}
		for i, comp := range strings.Split(topic, ".") {
			if comp == "" {
				continue
			}
			if err := checkURI(comp, false); err != nil {
				return fmt.Errorf("component %d %v", i+1, err)
			}
		}
		return nil
	}
	return checkURI(topic, false)
}
