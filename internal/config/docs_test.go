package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	examplePath = filepath.Join("..", "..", "docs", "examples", "gateway.toml")
	docPath     = filepath.Join("..", "..", "docs", "CONFIG.md")
)

// The shipped example must load, and it shows the defaults plus a second, strict realm.
func TestExampleLoads(t *testing.T) {
	c, err := Load(examplePath)
	if err != nil {
		t.Fatalf("Load(%s):\n%v", examplePath, err)
	}
	want := Default()
	want.Webapp = exampleWebapp()
	app := realmWithDefaults(Realm{Name: "com.example.app", StrictURIs: true, MaxSessions: 1000, AllowDisclose: true})
	app.EventClasses = exampleEventClasses()
	want.Realms = append(want.Realms, app)
	want.File = examplePath
	c.lines = nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("example =\n%+v\nwant\n%+v", c, want)
	}
}

// exampleWebapp is the [webapp] section of docs/examples/gateway.toml.
func exampleWebapp() Webapp {
	w := baseWebapp()
	w.HTTP = &WebappHTTP{LoopbackWithoutCredentials: true, SignatureWindow: DefaultWebappSignatureWindow}
	return w
}

// exampleEventClasses are the event classes of docs/examples/gateway.toml.
func exampleEventClasses() []EventClass {
	strict := true
	return []EventClass{{
		Name:        "chat.message",
		Topic:       "com.example.chat.message",
		Description: "A message posted to a chat room.",
		Strict:      &strict,
		Visibility:  EventVisibility{Kind: VisibilityPublic},
		Retention:   &EventRetention{MaxEvents: 1000, MaxAge: 24 * time.Hour},
		Fields: EventFields{
			{Name: "room", Type: TypeString, Required: true},
			{Name: "text", Type: TypeString, Required: true},
			{Name: "sent_at", Type: TypeTimestamp, Required: true},
			{Name: "priority", Type: TypeEnum, Values: []string{"low", "normal", "high"}},
			{Name: "tags", Type: TypeList, Items: &EventField{Type: TypeString}},
			{Name: "author", Type: TypeObject, Required: true, Fields: EventFields{
				{Name: "id", Type: TypeInt},
				{Name: "name", Type: TypeString, Required: true},
			}},
		},
	}, {
		Name:       "chat.message.private",
		Topic:      "com.example.chat.message.private",
		Extends:    "chat.message",
		Visibility: EventVisibility{Kind: VisibilityAuthenticated},
		Fields:     EventFields{{Name: "recipient", Type: TypeString, Required: true}},
	}}
}

// Every setting must be documented in docs/CONFIG.md and shown in the example, so a new key
// cannot be added without its documentation.
func TestDocsCoverEveryKey(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	keys := knownKeys(reflect.TypeFor[Config](), "")
	if len(keys) < 20 {
		t.Fatalf("knownKeys found only %d keys: %v", len(keys), keys)
	}
	arrays := arraysOfTables(reflect.TypeFor[Config](), "")
	for _, k := range keys {
		section, name := splitLast(k)
		header := "`[" + section + "]`"
		if arrays[section] {
			header = "`[[" + section + "]]`"
		}
		// The section is a heading of its own (## or deeper); its body ends at the next heading.
		loc := regexp.MustCompile(`(?m)^##+ ` + regexp.QuoteMeta(header) + `\s*$`).FindIndex(doc)
		if loc == nil {
			t.Errorf("%s: CONFIG.md has no section ## %s", k, header)
			continue
		}
		body := string(doc[loc[1]:])
		if j := regexp.MustCompile(`(?m)^#`).FindStringIndex(body); j != nil {
			body = body[:j[0]]
		}
		if !strings.Contains(body, "| `"+name+"` |") {
			t.Errorf("%s: not in the table of CONFIG.md section %s", k, header)
		}
		if !regexp.MustCompile(`(?m)^#? ?` + regexp.QuoteMeta(name) + ` = `).Match(example) {
			t.Errorf("%s: not shown in %s", k, examplePath)
		}
	}
}

// arraysOfTables returns the dotted paths of the arrays of tables in struct type t.
func arraysOfTables(t reflect.Type, prefix string) map[string]bool {
	out := map[string]bool{}
	for _, f := range fields(t) {
		p := childPath(prefix, f.name)
		ft := t.Field(f.index).Type
		if isArrayOfTables(ft) {
			out[p] = true
			ft = ft.Elem()
		}
		if f.table {
			ft = ft.Elem()
		}
		if !isLeaf(ft) {
			for k := range arraysOfTables(ft, p) {
				out[k] = true
			}
		}
	}
	return out
}

// The TOML example in CONFIG.md must be valid too (its TLS files do not exist, so only they may
// be reported).
func TestDocExampleParses(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Example\n.*?```toml\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("CONFIG.md has no ```toml block under ## Example")
	}
	_, err = Parse(filepath.Join(t.TempDir(), "gateway.toml"), m[1])
	errs, ok := err.(*Errors)
	if !ok {
		t.Fatalf("Parse(doc example) = %v, want only TLS file errors", err)
	}
	for _, e := range errs.List {
		if e.Key != "listeners[0].tls_cert" && e.Key != "listeners[0].tls_key" {
			t.Errorf("doc example: unexpected problem %v", e)
		}
	}
}

// shortDuration writes d as configuration files do: "5m" rather than Go's "5m0s".
func shortDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return d.String()
}

// The defaults stated in CONFIG.md tables match Default().
func TestDocDefaults(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	want := map[string]string{
		"shutdown_grace":    "`\"" + d.Server.ShutdownGrace.String() + "\"`",
		"log_level":         "`\"info\"`",
		"log_format":        "`\"" + d.Server.LogFormat + "\"`",
		"websocket_path":    "`\"" + DefaultWebSocketPath + "\"`",
		"max_message_size":  "`\"" + formatSize(d.Limits.MaxMessageSize) + "\"`",
		"handshake_timeout": "`\"" + d.Limits.HandshakeTimeout.String() + "\"`",
		"hello_timeout":     "`\"" + d.Limits.HelloTimeout.String() + "\"`",
		"ping_interval":     "`\"" + d.Limits.PingInterval.String() + "\"`",
		"ping_timeout":      "`\"" + d.Limits.PingTimeout.String() + "\"`",
		"write_timeout":     "`\"" + d.Limits.WriteTimeout.String() + "\"`",
		"max_queue_bytes":   "`\"" + formatSize(d.Limits.MaxQueueBytes) + "\"`",
		"strict_uris":       "`false`",
		"max_sessions":      "`0`",
		"allow_disclose":    "`true`",
		"max_body":          "`\"" + formatSize(d.Webapp.MaxBody) + "\"`",
		"call_timeout":      "`\"" + shortDuration(d.Webapp.CallTimeout) + "\"`",
		"max_call_timeout":  "`\"" + shortDuration(d.Webapp.MaxCallTimeout) + "\"`",
		"signature_window":  "`\"" + shortDuration(DefaultWebappSignatureWindow) + "\"`",
		"prefetch":          "`" + strconv.Itoa(DefaultWebappAMQPPrefetch) + "`",
		"dedup_window":      "`\"" + shortDuration(DefaultWebappDedupWindow) + "\"`",
		"subject_prefix":    "`\"" + DefaultWebappSubjectPrefix + "\"`",
		"queue_group":       "`\"" + DefaultWebappQueueGroup + "\"`",
	}
	if d.Server.ShutdownGrace != 5*time.Second {
		t.Fatal("test assumes a 5s shutdown grace")
	}
	for key, def := range want {
		row := regexp.MustCompile("(?m)^\\| `" + key + "` \\| [^|]+ \\| ([^|]+) \\|").FindSubmatch(doc)
		if row == nil {
			t.Errorf("%s: no table row in CONFIG.md", key)
			continue
		}
		if got := strings.TrimSpace(string(row[1])); got != def {
			t.Errorf("%s: CONFIG.md says default %s, Default() has %s", key, got, def)
		}
	}
}
