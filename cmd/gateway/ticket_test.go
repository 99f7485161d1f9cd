package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/internal/store"
)

func runTicketCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestTicketIssue(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "gateway.toml")
	os.WriteFile(cfgPath, []byte(`
[store]
data_dir = "state"
[[realms]]
name = "realm1"
[realms.auth]
methods = ["ticket"]
[realms.auth.ticket]
accept = ["one_time"]
[[realms.roles]]
name = "user"
[[realms]]
name = "static.only"
`), 0o600)

	code, out, errOut := runTicketCmd("ticket", "issue", "--config", cfgPath, "--realm", "realm1", "--authid", "alice", "--ttl", "10m", "--authextra", `{"plan":"gold"}`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || len(lines[0]) != 43 || !strings.HasPrefix(lines[1], "expires ") {
		t.Fatalf("output %q: want the ticket, then its expiry", out)
	}
	exp, err := time.Parse(time.RFC3339, strings.TrimPrefix(lines[1], "expires "))
	if err != nil || exp.Before(time.Now().Add(9*time.Minute)) || exp.After(time.Now().Add(11*time.Minute)) {
		t.Errorf("expiry %q", lines[1])
	}

	// The ticket is in the store (next to the configuration file), usable once.
	st, err := store.Open(filepath.Join(dir, "state"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := st.ConsumeTicket(lines[0], time.Now())
	if err != nil || rec.AuthID != "alice" || rec.AuthRole != "user" || rec.Realm != "realm1" || rec.AuthExtra["plan"] != "gold" {
		t.Errorf("stored ticket: %+v, %v", rec, err)
	}

	// While another process (here: this one) has the data directory open: a clear error.
	code, _, errOut = runTicketCmd("ticket", "issue", "--config", cfgPath, "--realm", "realm1", "--authid", "alice")
	if code != 1 || !strings.Contains(errOut, "in use by another process") || !strings.Contains(errOut, "running gateway") {
		t.Errorf("locked: exit %d, %q", code, errOut)
	}
	st.Close()

	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"ticket"}, 2, "missing subcommand"},
		{[]string{"ticket", "revoke"}, 2, `unknown subcommand "revoke"`},
		{[]string{"ticket", "issue", "--config", cfgPath, "--authid", "a"}, 2, "--realm is required"},
		{[]string{"ticket", "issue", "--config", cfgPath, "--realm", "realm1"}, 2, "--authid is required"},
		{[]string{"ticket", "issue", "--config", cfgPath, "--realm", "realm1", "--authid", "a", "--ttl", "-1s"}, 2, "--ttl must be positive"},
		{[]string{"ticket", "issue", "--config", cfgPath, "--realm", "realm1", "--authid", "a", "--authextra", "[1]"}, 2, "JSON object"},
		{[]string{"ticket", "issue", "--config", cfgPath, "--realm", "nope", "--authid", "a"}, 1, `no realm "nope"`},
		{[]string{"ticket", "issue", "--config", cfgPath, "--realm", "static.only", "--authid", "a"}, 1, "does not accept one-time tickets"},
		{[]string{"ticket", "issue", "--config", cfgPath, "--realm", "realm1", "--authid", "a", "--role", "admin"}, 1, `role "admin" is not defined`},
	} {
		code, _, errOut := runTicketCmd(c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, %q; want %d and %q", c.args, code, errOut, c.code, c.msg)
		}
	}
	if code, out, _ := runTicketCmd("ticket", "issue", "-h"); code != 0 || !strings.Contains(out, "one-time ticket") {
		t.Errorf("ticket issue -h: %d %q", code, out)
	}
}
