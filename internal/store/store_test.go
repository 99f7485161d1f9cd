package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv("STORE_TEST_HOLD_LOCK"); dir != "" {
		holdLock(dir)
		return
	}
	if dir := os.Getenv("STORE_TEST_APPENDER"); dir != "" {
		appendForever(dir)
		return
	}
	goleak.VerifyTestMain(m)
}

// holdLock is the helper process of TestLockedByAnotherProcess: it opens the store, says so,
// and keeps it open until its standard input closes.
func holdLock(dir string) {
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
	s.Close()
	os.Exit(0)
}

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func TestTokensPersistAcrossReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := open(t, dir)
	tok := ClientToken{ClientID: "c1", Created: t0, Expires: t0.Add(time.Hour)}
	if err := s.CreateToken("secret-token", tok); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken("secret-token", tok); !errors.Is(err, ErrExists) {
		t.Errorf("CreateToken twice = %v, want ErrExists", err)
	}
	id := Identity{Realm: "realm1", AuthID: "alice", AuthRole: "user", AuthMethod: "ticket", AuthProvider: "static",
		AuthExtra: map[string]any{"n": int64(3), "f": 1.5, "l": []any{"x", int64(-2)}}, At: t0}
	if err := s.SetTokenIdentity("secret-token", id); err != nil {
		t.Fatal(err)
	}
	if err := s.RefreshToken("secret-token", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir)
	defer s.Close()
	got, err := s.Token("secret-token")
	if err != nil {
		t.Fatal(err)
	}
	want := ClientToken{ClientID: "c1", Created: t0, Expires: t0.Add(2 * time.Hour), Identity: &id}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after reopen: token =\n%+v %+v\nwant\n%+v %+v", got, got.Identity, want, want.Identity)
	}
	if _, err := s.Token("other"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown token: %v, want ErrNotFound", err)
	}
	if err := s.RefreshToken("other", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("refresh unknown token: %v, want ErrNotFound", err)
	}
}

// Only hashes reach the disk: the token and ticket values must not appear in any file.
func TestSecretsNotStoredInClear(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	const token, ticket = "TOKEN-VALUE-8f3a9c", "TICKET-VALUE-77c1e2"
	if err := s.CreateToken(token, ClientToken{ClientID: "cid", Expires: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTicket(ticket, Ticket{Realm: "r", AuthID: "bob", AuthRole: "user", Expires: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	found := false
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), token) || strings.Contains(string(b), ticket) {
			t.Errorf("%s contains a secret in clear", p)
		}
		if strings.Contains(string(b), "bob") {
			found = true // the record itself was written (so the check above looked at real data)
		}
		return nil
	})
	if !found {
		t.Error("the ticket record is in no file: the test checked nothing")
	}
}

func TestRevoke(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	for i, authid := range []string{"alice", "alice", "bob", "alic"} {
		tok := fmt.Sprintf("tok%d", i)
		if err := s.CreateToken(tok, ClientToken{ClientID: tok, Expires: t0}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetTokenIdentity(tok, Identity{AuthID: authid, At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	// tok0 later authenticated as someone else: revoking alice must not touch it.
	if err := s.SetTokenIdentity("tok0", Identity{AuthID: "carol", At: t0}); err != nil {
		t.Fatal(err)
	}
	n, err := s.RevokeAuthID("alice")
	if err != nil || n != 1 {
		t.Fatalf("RevokeAuthID(alice) = %d, %v; want 1", n, err)
	}
	for tok, want := range map[string]bool{"tok0": false, "tok1": true, "tok2": false, "tok3": false} {
		got, err := s.Token(tok)
		if err != nil || got.Revoked != want {
			t.Errorf("%s: revoked = %v (%v), want %v", tok, got.Revoked, err, want)
		}
	}
	if err := s.RevokeToken("tok2"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Token("tok2"); !got.Revoked {
		t.Error("RevokeToken did not revoke")
	}
	if n, err := s.RevokeAuthID("alice"); err != nil || n != 0 {
		t.Errorf("second RevokeAuthID(alice) = %d, %v; want 0", n, err)
	}
}

func TestSweep(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	for i := range 5 {
		tok := fmt.Sprintf("tok%d", i)
		if err := s.CreateToken(tok, ClientToken{ClientID: tok, Expires: t0.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetTokenIdentity(tok, Identity{AuthID: "u", At: t0}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutTicket(tok, Ticket{AuthID: "u", Expires: t0.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	// tok0 gets a longer life: the sweep must follow the refreshed expiry.
	if err := s.RefreshToken("tok0", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	tokens, tickets, err := s.Sweep(t0.Add(2*time.Minute + time.Second))
	if err != nil || tokens != 2 || tickets != 3 {
		t.Fatalf("Sweep = %d tokens, %d tickets, %v; want 2, 3", tokens, tickets, err)
	}
	for i, want := range []bool{true, false, false, true, true} {
		_, err := s.Token(fmt.Sprintf("tok%d", i))
		if (err == nil) != want {
			t.Errorf("tok%d present = %v, want %v", i, err == nil, want)
		}
	}
	// Swept tokens are gone from the authid index too: revoking finds only live ones.
	if n, err := s.RevokeAuthID("u"); err != nil || n != 3 {
		t.Errorf("RevokeAuthID after sweep = %d, %v; want 3", n, err)
	}
	if _, err := s.ConsumeTicket("tok1", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("swept ticket: %v, want ErrNotFound", err)
	}
	if _, err := s.ConsumeTicket("tok4", t0); err != nil {
		t.Errorf("live ticket: %v", err)
	}
}

func TestTicketConsumedOnce(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	want := Ticket{Realm: "realm1", AuthID: "alice", AuthRole: "user", AuthExtra: map[string]any{"plan": "gold", "n": int64(7)},
		Created: t0, Expires: t0.Add(5 * time.Minute)}
	if err := s.PutTicket("tkt", want); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTicket("tkt", want); !errors.Is(err, ErrExists) {
		t.Errorf("PutTicket twice = %v, want ErrExists", err)
	}
	// Survives a restart.
	s.Close()
	s = open(t, dir)
	defer s.Close()

	const n = 16
	var wg sync.WaitGroup
	results := make(chan error, n)
	for range n {
		wg.Go(func() {
			got, err := s.ConsumeTicket("tkt", t0)
			if err == nil && !reflect.DeepEqual(got, want) {
				err = fmt.Errorf("ticket = %+v, want %+v", got, want)
			}
			results <- err
		})
	}
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrNotFound):
			t.Error(err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent consumers succeeded, want exactly 1", ok)
	}
	// Still used after a restart.
	s.Close()
	s = open(t, dir)
	defer s.Close()
	if _, err := s.ConsumeTicket("tkt", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("after restart: %v, want ErrNotFound", err)
	}
}

func TestTicketExpired(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	if err := s.PutTicket("tkt", Ticket{AuthID: "a", Expires: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumeTicket("tkt", t0); !errors.Is(err, ErrExpired) {
		t.Errorf("at expiry: %v, want ErrExpired", err)
	}
	if _, err := s.ConsumeTicket("tkt", t0.Add(-time.Hour)); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired ticket is deleted: %v, want ErrNotFound", err)
	}
}

// A closed, failed or never-opened store is an ordinary error, never a panic.
func TestUnavailable(t *testing.T) {
	s := open(t, t.TempDir())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	var nilStore *Store
	for _, st := range []*Store{s, nilStore} {
		checks := map[string]error{}
		_, checks["Token"] = st.Token("x")
		checks["CreateToken"] = st.CreateToken("x", ClientToken{})
		checks["RefreshToken"] = st.RefreshToken("x", t0)
		checks["SetTokenIdentity"] = st.SetTokenIdentity("x", Identity{})
		checks["RevokeToken"] = st.RevokeToken("x")
		_, checks["RevokeAuthID"] = st.RevokeAuthID("x")
		_, _, checks["Sweep"] = st.Sweep(t0)
		checks["PutTicket"] = st.PutTicket("x", Ticket{})
		_, checks["ConsumeTicket"] = st.ConsumeTicket("x", t0)
		for op, err := range checks {
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("%s on %v store: %v, want ErrUnavailable", op, st, err)
			}
		}
	}
	if nilStore.Close() != nil || nilStore.Dir() != "" {
		t.Error("nil store Close/Dir")
	}
	// A fatal storage error marks the store failed instead of exiting the process.
	s2 := open(t, t.TempDir())
	defer s2.Close()
	func() {
		defer func() { recover() }()
		pebbleLogger{s2}.Fatalf("MANIFEST sync failed: %s", "disk gone")
	}()
	if _, err := s2.Token("x"); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "disk gone") {
		t.Errorf("after a fatal error: %v, want ErrUnavailable naming the cause", err)
	}
}

func TestOpenTwiceInProcess(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	_, err := Open(dir, Options{})
	if !errors.Is(err, ErrLocked) {
		t.Errorf("second Open = %v, want ErrLocked", err)
	}
	s.Close()
	s = open(t, dir) // the lock is released by Close
	s.Close()
}

func TestLockedByAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STORE_TEST_HOLD_LOCK="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("helper: %q", line)
	}
	_, err = Open(dir, Options{})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Open while another process holds the store = %v, want ErrLocked", err)
	}
	if msg := err.Error(); !strings.Contains(msg, dir) || !strings.Contains(msg, "locked by another process") {
		t.Errorf("message %q should name the directory and say it is locked", msg)
	}
	stdin.Close()
	cmd.Wait()
	s := open(t, dir) // free again once the other process is gone
	s.Close()
}

func TestOpenErrors(t *testing.T) {
	t.Run("corrupt", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "CURRENT"), []byte("MANIFEST-000099\n"), 0o600)
		os.WriteFile(filepath.Join(dir, "MANIFEST-000099"), []byte("this is not a manifest at all, just some text"), 0o600)
		_, err := Open(dir, Options{})
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("Open(corrupt) = %v, want ErrCorrupt", err)
		}
		// The lock was released despite the failure.
		if _, err := Open(dir, Options{}); errors.Is(err, ErrLocked) {
			t.Errorf("a failed Open kept the lock: %v", err)
		}
	})
	t.Run("not a directory", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, nil, 0o600)
		if _, err := Open(filepath.Join(f, "sub"), Options{}); err == nil || !strings.Contains(err.Error(), "cannot open data directory") {
			t.Errorf("Open(under a file) = %v", err)
		}
	})
	t.Run("permission", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores permission bits")
		}
		dir := filepath.Join(t.TempDir(), "ro")
		os.Mkdir(dir, 0o500)
		if _, err := Open(filepath.Join(dir, "data"), Options{}); !errors.Is(err, ErrPermission) {
			t.Errorf("Open(read-only parent) = %v, want ErrPermission", err)
		}
	})
	t.Run("newer schema", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir)
		s.db.Set(schemaKey, []byte{0, 0, 0, SchemaVersion + 1}, nil)
		s.Close()
		if _, err := Open(dir, Options{}); !errors.Is(err, ErrNewerSchema) {
			t.Errorf("Open(newer schema) = %v, want ErrNewerSchema", err)
		}
	})
	t.Run("empty name", func(t *testing.T) {
		if _, err := Open("", Options{}); err == nil {
			t.Error("Open(\"\") succeeded")
		}
	})
}

// The classification of errors that a root test process cannot provoke.
func TestOpenErrorKinds(t *testing.T) {
	tests := []struct {
		err  error
		kind error
	}{
		{&fs.PathError{Op: "mkdir", Path: "/x", Err: syscall.EACCES}, ErrPermission},
		{&fs.PathError{Op: "open", Path: "/x/LOCK", Err: syscall.EROFS}, nil},
		{syscall.EAGAIN, ErrLocked},
		{syscall.EACCES, ErrLocked}, // fcntl F_SETLK reports a held lock as EACCES on some systems
		{errors.New("lock held by current process"), ErrLocked},
	}
	for _, tt := range tests {
		err := openError("/x", tt.err)
		var oe *OpenError
		if !errors.As(err, &oe) || oe.Kind != tt.kind {
			t.Errorf("openError(%v) kind = %v, want %v", tt.err, oe.Kind, tt.kind)
		}
		if !errors.Is(err, tt.err) {
			t.Errorf("openError(%v) does not wrap the cause", tt.err)
		}
	}
}

func TestKeys(t *testing.T) {
	h := digest("x")
	kinds := map[byte]string{}
	for _, k := range [][]byte{tokenKey(h), tokenAuthIDKey("a", h), tokenExpiryKey(t0, h), ticketKey(h), ticketExpiryKey(t0, h),
		{kindSubscription}, {kindEvent}, {kindEventHead}, schemaKey} {
		if o, dup := kinds[k[0]]; dup {
			t.Errorf("kind %q used twice (%s)", k[0], o)
		}
		kinds[k[0]] = string(k)
	}
	// Length prefixes keep "ab" and "abc" apart although one is a prefix of the other.
	if p := tokenAuthIDPrefix("ab"); strings.HasPrefix(string(tokenAuthIDKey("abc", h)), string(p)) {
		t.Error(`the key of authid "abc" starts with the prefix of "ab"`)
	}
	// Time order is byte order.
	if string(tokenExpiryKey(t0, h)) >= string(tokenExpiryKey(t0.Add(time.Nanosecond), h)) {
		t.Error("expiry keys are not ordered by time")
	}
	for _, tt := range []struct{ in, want string }{{"ab", "ac"}, {"a\xff", "b"}, {"\xff\xff", ""}} {
		if got := string(prefixEnd([]byte(tt.in))); got != tt.want {
			t.Errorf("prefixEnd(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSweepEveryStops(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.SweepEvery(ctx, time.Millisecond); close(done) }()
	if err := s.PutTicket("t", Ticket{Expires: time.Now().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	h := digest("t")
	for {
		_, closer, err := s.db.Get(ticketKey(h))
		if err != nil {
			break // swept by the background loop
		}
		closer.Close()
		if time.Now().After(deadline) {
			t.Fatal("background sweep never ran")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}
