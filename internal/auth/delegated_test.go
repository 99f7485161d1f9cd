package auth

import (
	"encoding/json"
	"github.com/gateway-dev/gateway/wamp"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// A stand-in for the Django view of docs/AUTH.md: it reads its own session cookie.
func TestDelegated(t *testing.T) {
	type call struct {
		body   map[string]any
		header http.Header
	}
	calls := make(chan call, 10)
	mux := http.NewServeMux()
	mux.HandleFunc("/wamp/auth", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		calls <- call{body, r.Header.Clone()}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if r.Header.Get("X-Gateway-Secret") != "gw-shared" {
			http.Error(w, "who are you", http.StatusForbidden)
			return
		}
		c, err := r.Cookie("sessionid")
		switch {
		case err != nil:
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message": "please log in to example.com first"}`)
		case c.Value == "alice-session":
			io.WriteString(w, `{"authid": "alice", "authrole": "user", "authextra": {"name": "Alice", "uid": 17}}`)
		case c.Value == "slow":
			time.Sleep(300 * time.Millisecond)
		case c.Value == "broken":
			io.WriteString(w, `{"authid": "alice"}`)
		case c.Value == "notjson":
			io.WriteString(w, `<html>login</html>`)
		case c.Value == "crash":
			http.Error(w, "boom", http.StatusInternalServerError)
		case c.Value == "redirect":
			http.Redirect(w, r, "/accounts/login/", http.StatusFound)
		default:
			w.WriteHeader(http.StatusForbidden)
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := parseConfig(t, "", `
[[realms]]
name = "realm1"
[realms.auth]
methods = ["delegated"]
[realms.auth.delegated]
url = "`+srv.URL+`/wamp/auth"
headers = ["Authorization", "x-requested-with"]
timeout = "100ms"
secret = "gw-shared"
`)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	a, _ := realmAuth(t, c, Deps{HTTPClient: &http.Client{Transport: tr}})
	login := func(cookie string, extra wamp.Dict) (*Identity, error) {
		h := http.Header{"User-Agent": {"test"}, "X-Requested-With": {"XMLHttpRequest"}, "Authorization": {"Bearer abc"}}
		if cookie != "" {
			h.Set("Cookie", "csrftoken=zzz; sessionid="+cookie)
		}
		info := *testPeer
		info.Header = h
		details := wamp.Dict{"authmethods": []any{"delegated"}, "authid": "hint"}
		if extra != nil {
			details["authextra"] = extra
		}
		req, err := ParseHello("realm1", details, &info)
		if err != nil {
			t.Fatal(err)
		}
		req.ClientToken = &ClientToken{ClientID: "cid-1"}
		id, ch, err := a.Authenticate(t.Context(), req)
		if ch != nil {
			t.Fatal("delegated sent a challenge")
		}
		return id, err
	}

	id, err := login("alice-session", wamp.Dict{"x": "y"})
	want := &Identity{AuthID: "alice", AuthRole: "user", AuthMethod: "delegated", AuthProvider: "delegated", AuthExtra: wamp.Dict{"name": "Alice", "uid": int64(17)}}
	if err != nil || !reflect.DeepEqual(id, want) {
		t.Fatalf("logged in: %+v, %v; want %+v", id, err, want)
	}
	got := <-calls
	wantBody := map[string]any{
		"realm": "realm1", "authid": "hint", "authmethods": []any{"delegated"}, "authextra": map[string]any{"x": "y"},
		"client_id": "cid-1", "transport": map[string]any{"type": "websocket", "peer": "192.0.2.7:40000", "tls": false},
	}
	if !reflect.DeepEqual(got.body, wantBody) {
		t.Errorf("body = %v\nwant %v", got.body, wantBody)
	}
	if got.header.Get("Cookie") != "csrftoken=zzz; sessionid=alice-session" || got.header.Get("Authorization") != "Bearer abc" ||
		got.header.Get("X-Requested-With") != "XMLHttpRequest" || got.header.Get("User-Agent") == "test" {
		t.Errorf("forwarded headers = %v (only Cookie and the configured ones)", got.header)
	}

	refusals := []struct {
		cookie string
		uri    wamp.URI
		msg    string
	}{
		{"", wamp.ErrNotAuthorized, "please log in to example.com first"},
		{"mallory", wamp.ErrNotAuthorized, "the web application refused the session"},
		{"redirect", wamp.ErrNotAuthorized, "the web application refused the session"},
		{"slow", wamp.ErrAuthenticationFailed, "did not answer in time"},
		{"broken", wamp.ErrAuthenticationFailed, "invalid answer"},
		{"notjson", wamp.ErrAuthenticationFailed, "invalid answer"},
		{"crash", wamp.ErrAuthenticationFailed, "failed"},
	}
	for _, r := range refusals {
		_, err := login(r.cookie, nil)
		if e := authErr(t, err, r.uri); !strings.Contains(e.Message, r.msg) {
			t.Errorf("cookie %q: message %q, want %q", r.cookie, e.Message, r.msg)
		}
		<-calls
	}

	// Not logged in (401) but anonymous offered too: public access. 403 refuses outright.
	info := *testPeer
	for cookie, wantAnon := range map[string]bool{"": true, "sessionid=mallory": false} {
		info.Header = http.Header{}
		if cookie != "" {
			info.Header.Set("Cookie", cookie)
		}
		req, _ := ParseHello("realm1", wamp.Dict{"authmethods": []any{"delegated", "anonymous"}}, &info)
		a.Add(NewAnonymous("anonymous"))
		id, _, err := a.Authenticate(t.Context(), req)
		<-calls
		if wantAnon && (err != nil || id.AuthMethod != "anonymous") {
			t.Errorf("401 with anonymous offered: %+v, %v", id, err)
		}
		if !wantAnon {
			authErr(t, err, wamp.ErrNotAuthorized)
		}
	}

	// An unreachable service.
	srv.Close()
	_, err = login("alice-session", nil)
	if e := authErr(t, err, wamp.ErrAuthenticationFailed); !strings.Contains(e.Message, "unreachable") {
		t.Errorf("unreachable: %q", e.Message)
	}
}
