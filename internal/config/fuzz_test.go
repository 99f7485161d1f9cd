package config

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, that failures are always *Errors, and that
// every reported line exists in the input.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("../../docs/examples/gateway.toml"); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"[server]\nlog_level = \"debug\"\nshutdown_grace = \"1s\"\n",
		"[[listeners]]\naddress = \":0\"\n[[listeners]]\nunix = \"g.sock\"\nunix_mode = \"0600\"\n",
		"listeners = [{address = \"127.0.0.1:0\", websocket_path = \"/x\"}]\n",
		"[limits]\nmax_message_size = \"1KiB\"\nmax_queue_bytes = 4096\nping_interval = 0\n",
		"[[realms]]\nname = \"a\"\n[[realms]]\nname = \"a\"\nstrict_uris = true\n",
		"a.b.c = 1\n[a.b]\nd = 2\n",
		"[[a.b]]\n[a]\nx = 1\n[[a.b]]\ny = [1, 2, {z = 3}]\n",
		"x = [[1], [\"a\"]]\n\"quoted key\" = 1979-05-27\n",
		"[server\nlog_level = info\n",
		"[[realms]]\nname = \"r\"\n[[realms.event_classes]]\nname = \"a\"\ntopic = \"a\"\nextends = \"b\"\n" +
			"visibility = [\"x\"]\nretention = { max_events = 1 }\nfields = { x = { type = \"list\", items = { type = \"object\", fields = { y = \"enum\" } } } }\n" +
			"[[realms.event_classes]]\nname = \"b\"\ntopic = \"a.b\"\nextends = \"a\"\nfields.x = \"int\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.toml", data)
		if err == nil {
			if c == nil {
				t.Fatal("Parse returned neither config nor error")
			}
			return
		}
		var errs *Errors
		if !errors.As(err, &errs) || len(errs.List) == 0 {
			t.Fatalf("error %T %v is not a non-empty *Errors", err, err)
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, e := range errs.List {
			if e.Line < 0 || e.Line > lines || e.File != "f.toml" || e.Msg == "" {
				t.Fatalf("bad problem %+v for a %d-line input", e, lines)
			}
		}
	})
}
