package interop

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// persistConfig is the configuration of the persistence suites: client tokens on (a persistent
// subscription belongs to a client token), an anonymous realm with an event class that keeps
// history (for get_events).
const persistConfig = `
[client_token]
enabled = true

[[realms]]
name = "realm1"

[[realms.event_classes]]
name = "history"
topic = "com.interop.history"
retention = { max_events = 10 }
fields.n = "int"
`

// launchPersistGateway starts a gateway with persistConfig on the data in dir (a restart when dir
// was used before); the test stops it at the end unless it is gone already (killed).
func launchPersistGateway(t *testing.T, dir string) *router {
	t.Helper()
	g, err := launchGateway(dir, persistConfig, nil)
	if err != nil {
		t.Fatalf("starting the gateway: %v", err)
	}
	t.Cleanup(func() {
		if g.exited() != nil {
			return
		}
		if err := g.stop(); err != nil {
			t.Errorf("%v\n--- gateway output (tail) ---\n%s", err, g.log.tail(8192))
		}
	})
	return g
}

// TestPersistentSubscriptionAutobahnPython: an AutobahnPython client persists a subscription
// through gateway.subscription.persist and leaves; 1000 acknowledged events are published; it
// comes back with its client token and subscribes again: all 1000 in order, exactly once, then
// live ones. The same across a graceful restart of the gateway, and across kill -9 of the gateway
// while publishing (every acknowledged event arrives).
func TestPersistentSubscriptionAutobahnPython(t *testing.T) {
	if testing.Short() && !required {
		t.Skip("interop suites are skipped in -short mode")
	}
	need(t, "AutobahnPython", pythonDeps())
	_, err := gatewayBinary()
	need(t, "gateway binary", err)
	for _, c := range []struct{ transport, ser string }{{"websocket", "json"}, {"rawsocket", "msgpack"}} {
		t.Run(c.transport+"/"+c.ser, func(t *testing.T) { persistScenario(t, c.transport, c.ser) })
	}
}

func persistScenario(t *testing.T, transport, ser string) {
	dir := t.TempDir()
	state, acked := filepath.Join(dir, "token"), filepath.Join(dir, "acked")
	topic := "com.interop.persist." + ser
	script := filepath.Join(pythonDir(), "persist_suite.py")
	env := []string{"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"}
	url := func(g *router) string {
		if transport == "rawsocket" {
			return g.rsURL
		}
		return g.wsURL
	}
	step := func(g *router, name string, args ...string) bool {
		return t.Run(name, func(t *testing.T) {
			all := append([]string{script, "--url", url(g), "--serializer", ser, "--topic", topic, "--state", state, "--timeout", "90"}, args...)
			runClientSuite(t, g, "persist-python", transport, pythonDir(), env, python, all...)
		})
	}

	g := launchPersistGateway(t, dir)
	if !step(g, "persist", "--step", "persist") ||
		!step(g, "publish_1000", "--step", "publish", "--from", "1", "--to", "1000") ||
		!step(g, "resume", "--step", "resume", "--from", "1", "--to", "1000", "--live", "5") {
		return
	}

	// A graceful restart between publications: the record and the log come back.
	if !step(g, "publish_before_restart", "--step", "publish", "--from", "1006", "--to", "1500") {
		return
	}
	if err := g.stop(); err != nil {
		t.Fatalf("%v\n%s", err, g.log.tail(8192))
	}
	g = launchPersistGateway(t, dir)
	if !step(g, "publish_after_restart", "--step", "publish", "--from", "1501", "--to", "2000") ||
		!step(g, "resume_after_restart", "--step", "resume", "--from", "1006", "--to", "2000", "--live", "5") {
		return
	}

	// kill -9 while publishing: every publication acknowledged before the kill must arrive.
	n := publishUntilKilled(t, g, script, url(g), ser, topic, acked, 2006)
	t.Logf("%d publications acknowledged before kill -9", n)
	g = launchPersistGateway(t, dir)
	step(g, "resume_after_kill", "--step", "resume", "--from", "2006", "--acked", acked, "--live", "5")
}

// publishUntilKilled runs the publish step from first on with --progress, kills the gateway with
// SIGKILL after 300 acknowledgements, and writes every "ACKED n" line the publisher printed (all
// acknowledged before the kill) to ackedFile; it returns their number.
func publishUntilKilled(t *testing.T, g *router, script, url, ser, topic, ackedFile string, first int) int {
	t.Helper()
	cmd := exec.Command(python, script, "--url", url, "--serializer", ser, "--topic", topic, "--step", "publish",
		"--from", strconv.Itoa(first), "--to", strconv.Itoa(first+1000000), "--window", "20", "--progress", "--timeout", "60")
	cmd.Dir = pythonDir()
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}()
	var lines, other []string
	sc := bufio.NewScanner(out)
	killed := false
	deadline := time.AfterFunc(60*time.Second, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	defer deadline.Stop()
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "ACKED ") {
			other = append(other, line)
			continue
		}
		lines = append(lines, line)
		if len(lines) == 300 && !killed {
			if err := g.cmd.Process.Kill(); err != nil {
				t.Fatalf("kill -9 of the gateway: %v", err)
			}
			<-g.done
			killed = true
			// The publisher prints what it had received before the kill, then waits in vain.
			time.AfterFunc(5*time.Second, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
		}
	}
	if !killed {
		t.Fatalf("the publisher stopped after %d acknowledgements:\n%s\n--- gateway ---\n%s",
			len(lines), strings.Join(other, "\n"), g.log.tail(4096))
	}
	if err := os.WriteFile(ackedFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return len(lines)
}

// TestPersistentSubscriptionAutobahnJS runs interop/js/persist_suite.js (Autobahn|JS): x_persistent,
// the forget procedure, get_events and get_retained, over WebSocket with each serializer.
func TestPersistentSubscriptionAutobahnJS(t *testing.T) {
	need(t, "Autobahn|JS", nodeDeps())
	g := startConfiguredGateway(t, persistConfig)
	script := filepath.Join(jsDir(), "persist_suite.js")
	for _, ser := range serializers {
		t.Run("websocket/"+ser, func(t *testing.T) {
			runClientSuite(t, g, "persist-js", "websocket", jsDir(), nil, "node", script,
				"--url", g.wsURL, "--realm", realm, "--serializer", ser, "--timeout", "60")
		})
	}
}
