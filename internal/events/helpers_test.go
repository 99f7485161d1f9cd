package events

import (
	"testing"

	"github.com/gateway-dev/gateway/internal/config"
)

// classesTOML parses the [[realms.event_classes]] sections src of one realm, which may define
// roles too.
func classesTOML(t testing.TB, src string) []config.EventClass {
	t.Helper()
	c, err := config.Parse("test.toml", []byte("[[realms]]\nname = \"realm1\"\n"+src))
	if err != nil {
		t.Fatalf("config:\n%v", err)
	}
	return c.Realms[0].EventClasses
}

// registry builds the registry of the classes in src (see classesTOML).
func registry(t testing.TB, src string) *Registry {
	t.Helper()
	r, err := NewRegistry(classesTOML(t, src))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// chatClasses is a small hierarchy used by several tests: chat.message with every field type,
// chat.message.private (authenticated, narrows priority, adds recipient), and
// chat.message.private.staff (staff and admin roles only).
const chatClasses = `
[[realms.event_classes]]
name = "chat.message"
topic = "com.example.chat.message"
description = "A message posted to a chat room."
retention = { max_events = 1000, max_age = "24h" }
[realms.event_classes.fields]
room = { type = "string", required = true, description = "room id" }
text = { type = "string", required = true }
sent_at = { type = "timestamp", required = true }
priority = { type = "enum", values = ["low", "normal", "high"] }
score = "float"
count = "int"
pinned = "bool"
tags = { type = "list", items = "string" }
author = { type = "object", required = true, fields = { id = "int", name = { type = "string", required = true } } }
attachments = { type = "list", items = { type = "object", fields = { url = { type = "string", required = true }, size = "int" } } }

[[realms.event_classes]]
name = "chat.message.private"
topic = "com.example.chat.message.private"
extends = "chat.message"
visibility = "authenticated"
[realms.event_classes.fields]
recipient = { type = "string", required = true }
priority = { type = "enum", values = ["normal", "high"], required = true }

[[realms.event_classes]]
name = "chat.message.private.staff"
topic = "com.example.chat.message.private.staff"
extends = "chat.message.private"
visibility = ["staff", "admin"]
strict = false

[[realms.event_classes]]
name = "presence"
topic = "com.example.presence"
fields = { user = { type = "string", required = true }, online = { type = "bool", required = true } }
`

// validMessage returns a valid chat.message event (a fresh map each time).
func validMessage() map[string]any {
	return map[string]any{
		"room":     "room-42",
		"text":     "hello",
		"sent_at":  int64(1714564800),
		"priority": "high",
		"score":    0.5,
		"count":    int64(3),
		"pinned":   false,
		"tags":     []any{"a", "b", "c"},
		"author":   map[string]any{"id": int64(7), "name": "Ann"},
		"attachments": []any{
			map[string]any{"url": "https://x/1.png", "size": int64(100)},
			map[string]any{"url": "https://x/2.png"},
		},
	}
}
