package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseStorePersistence(t *testing.T) {
	c, err := Parse("gateway.toml", []byte(`
[store]
sync = "always"
max_persistent_subscriptions = 10
max_backlog = 5000

[[store.retention]]
topic = "com.example."
match = "prefix"
max_events = 1000
max_age = "24h"
max_bytes = "64MiB"

[[store.retention]]
topic = "com.example.chat.message"
max_events = 10
`))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Store
	if s.SyncMode() != SyncAlways || s.PersistentSubscriptionLimit() != 10 || s.BacklogLimit() != 5000 {
		t.Errorf("store settings %+v", s)
	}
	want := []RetentionRule{
		{Topic: "com.example.", Match: MatchPrefix, MaxEvents: 1000, MaxAge: 24 * time.Hour, MaxBytes: 64 << 20},
		{Topic: "com.example.chat.message", Match: MatchExact, MaxEvents: 10},
	}
	if !reflect.DeepEqual(s.Retention, want) {
		t.Errorf("retention rules = %+v, want %+v", s.Retention, want)
	}
	// First match in file order wins.
	if r := s.RetentionFor("com.example.chat.message"); r == nil || r.MaxEvents != 1000 {
		t.Errorf("RetentionFor(com.example.chat.message) = %+v, want the prefix rule", r)
	}
	if r := s.RetentionFor("org.other"); r != nil {
		t.Errorf("RetentionFor(org.other) = %+v, want none", r)
	}

	d := Default().Store
	if d.SyncMode() != SyncGroup || d.PersistentSubscriptionLimit() != DefaultMaxPersistentSubscriptions || d.BacklogLimit() != DefaultMaxBacklog {
		t.Errorf("defaults: sync %q, limit %d, backlog %d", d.SyncMode(), d.PersistentSubscriptionLimit(), d.BacklogLimit())
	}
}

func TestRetentionRuleMatches(t *testing.T) {
	cases := []struct {
		rule  RetentionRule
		topic string
		want  bool
	}{
		{RetentionRule{Topic: "a.b", Match: MatchExact}, "a.b", true},
		{RetentionRule{Topic: "a.b", Match: MatchExact}, "a.b.c", false},
		{RetentionRule{Topic: "a.", Match: MatchPrefix}, "a.b.c", true},
		{RetentionRule{Topic: "a.", Match: MatchPrefix}, "b.a", false},
		{RetentionRule{Topic: "a..c", Match: MatchWildcard}, "a.x.c", true},
		{RetentionRule{Topic: "a..c", Match: MatchWildcard}, "a.x.y.c", false},
	}
	for _, c := range cases {
		if got := c.rule.Matches(c.topic); got != c.want {
			t.Errorf("%+v.Matches(%q) = %v, want %v", c.rule, c.topic, got, c.want)
		}
	}
}

func TestStorePersistenceErrors(t *testing.T) {
	lines := errorLines(t, "gateway.toml", `
[store]
sync = "sometimes"
max_persistent_subscriptions = -1
max_backlog = -5

[[store.retention]]
topic = "com..bad"
max_events = 10

[[store.retention]]
topic = "com.x"
match = "regex"
max_events = 1

[[store.retention]]
topic = "com.y"

[[store.retention]]
topic = "com.z"
match = "wildcard"
max_age = "1h"
`)
	want := []string{
		`gateway.toml:3: store.sync: invalid sync policy "sometimes"`,
		"gateway.toml:4: store.max_persistent_subscriptions: must not be negative",
		"gateway.toml:5: store.max_backlog: must not be negative",
		`gateway.toml:8: store.retention[0].topic: invalid exact topic "com..bad"`,
		`gateway.toml:13: store.retention[1].match: invalid match policy "regex"`,
		"gateway.toml:16: store.retention[2]: a retention rule needs at least one of max_events, max_age or max_bytes",
		`gateway.toml:20: store.retention[3].topic: invalid wildcard topic "com.z": has no empty component`,
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("problem %d = %q\nwant it to start with %q", i, lines[i], w)
		}
	}
}
