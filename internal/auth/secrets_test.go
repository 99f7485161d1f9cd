package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gateway-dev/gateway/wamp"
)

// Secrets (from the file, the environment or a secret file) must never show up in error
// messages sent to clients, in errors for the log, in log output, or when the configuration is
// printed or encoded.
func TestSecretsNeverLeak(t *testing.T) {
	dir := t.TempDir()
	const (
		ticketSecret = "TICKET-SECRET-9b1e"
		craSecret    = "CRA-SECRET-44d0"
		jwtSecret    = "JWT-SECRET-0123456789abcdef0123456789"
		gwSecret     = "GATEWAY-SECRET-7f2a"
	)
	t.Setenv("TEST_TICKET_SECRET", ticketSecret)
	writeFile(t, filepath.Join(dir, "cra.secret"), craSecret+"\n")
	c := parseConfig(t, dir, `
[[realms]]
name = "realm1"
[realms.auth]
methods = ["ticket", "wampcra", "delegated"]
[realms.auth.ticket]
accept = ["static", "jwt"]
[[realms.auth.ticket.principals]]
authid = "backend"
role = "backend"
secret = "env:TEST_TICKET_SECRET"
[realms.auth.ticket.jwt]
algorithm = "HS256"
secret = "`+jwtSecret+`"
[[realms.auth.wampcra.principals]]
authid = "peter"
role = "user"
secret = "file:cra.secret"
[realms.auth.delegated]
url = "http://127.0.0.1:1/auth"
secret = "`+gwSecret+`"
timeout = "1s"
`)
	if got := c.Realms[0].Auth.WAMPCRA.Principals[0].Secret.Value(); got != craSecret {
		t.Fatalf("file secret = %q (trailing newline must be removed)", got)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	a, _ := realmAuth(t, c, Deps{Logger: logger, HTTPClient: &http.Client{Transport: tr}})

	var out []string
	record := func(err error) {
		if err == nil {
			t.Error("an attempt with a wrong credential succeeded")
			return
		}
		out = append(out, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprint(err.(*Error).Abort()))
	}
	// Wrong tickets, including ones that differ from the secret by one character.
	for _, tk := range []string{ticketSecret + "x", ticketSecret[:len(ticketSecret)-1], craSecret, "a.b.c"} {
		_, err := answer(t, a, hello(t, "realm1", wamp.Dict{"authmethods": []any{"ticket"}, "authid": "backend"}), func(wamp.Dict) string { return tk })
		record(err)
	}
	_, err := answer(t, a, hello(t, "realm1", wamp.Dict{"authmethods": []any{"wampcra"}, "authid": "peter"}), func(e wamp.Dict) string {
		out = append(out, fmt.Sprint(e)) // the CHALLENGE itself
		return SignCRA([]byte("wrong"), e["challenge"].(string))
	})
	record(err)
	_, _, err = a.Authenticate(context.Background(), hello(t, "realm1", wamp.Dict{"authmethods": []any{"delegated"}}))
	record(err)

	cfgText, _ := json.Marshal(c)
	out = append(out, logs.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c.Realms[0].Auth), string(cfgText))
	all := strings.Join(out, "\n")
	if !strings.Contains(logs.String(), "authentication failed") {
		t.Fatalf("nothing was logged, the check is void: %q", logs.String())
	}
	for _, s := range []string{ticketSecret, craSecret, jwtSecret, gwSecret} {
		if strings.Contains(all, s) {
			t.Errorf("secret %q leaked into:\n%s", s, all)
		}
	}
}
