package host

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFreePortAndReady(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if Ready(addr) {
		t.Fatalf("%s is ready before anyone listens", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the free port %d cannot be listened on: %v", port, err)
	}
	if !Ready(addr) {
		t.Errorf("%s is not ready while listening", addr)
	}
	ln.Close()
}

func TestReadFirstLineAndFileText(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cpuinfo")
	os.WriteFile(p, []byte("processor\t: 0\nmodel name\t: Test CPU @ 1GHz\nmodel name\t: other\n"), 0o600)
	if got := ReadFirstLine(p, "model name"); got != "Test CPU @ 1GHz" {
		t.Errorf("ReadFirstLine = %q", got)
	}
	if got := ReadFirstLine(p, "flags"); got != "" {
		t.Errorf("ReadFirstLine of a missing key = %q", got)
	}
	if got := FileText(filepath.Join(t.TempDir(), "none")); got != "" {
		t.Errorf("FileText of a missing file = %q", got)
	}
}

func TestMachineBusyIsAShare(t *testing.T) {
	if b := MachineBusy(100 * time.Millisecond); b < 0 || b > 1 {
		t.Errorf("MachineBusy = %v, want a share in [0, 1]", b)
	}
}

func TestStartWaitsForTheServerAndStopEndsIt(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	dir := t.TempDir()
	p, err := Start(t.Context(), "http.server", []string{"/usr/bin/python3", "-m", "http.server", strconv.Itoa(port), "--bind", "127.0.0.1"},
		filepath.Join(dir, "server.log"), addr)
	if err != nil {
		t.Fatal(err)
	}
	if !Ready(addr) || p.PID() <= 0 {
		t.Fatalf("Start returned before %s was ready (pid %d)", addr, p.PID())
	}
	p.Stop()
	if Ready(addr) {
		t.Errorf("%s still accepts connections after Stop", addr)
	}
	if _, err := Start(t.Context(), "false", []string{"false"}, filepath.Join(dir, "false.log"), addr); err == nil || !strings.Contains(err.Error(), "exited at start") {
		t.Errorf("a process that exits at once: %v", err)
	}
}
