package store

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// appendForever is the helper process of TestKill9LosesNoAcknowledgedAppend: 8 goroutines
// append to one topic under the default (group) policy and print "seq payload" for every
// acknowledged append, until the process is killed.
func appendForever(dir string) {
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	for w := range 8 {
		go func() {
			for i := 0; ; i++ {
				p := fmt.Sprintf("%d-%d", w, i)
				seq, err := s.Append("crash", Event{Codec: "json", Payload: []byte(p)})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintln(out, seq, p)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	select {}
}

func TestKill9LosesNoAcknowledgedAppend(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STORE_TEST_APPENDER="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[uint64]string{}
	sc := bufio.NewScanner(stdout)
	for len(acked) < 2000 && sc.Scan() {
		seq, p, ok := strings.Cut(sc.Text(), " ")
		n, err := strconv.ParseUint(seq, 10, 64)
		if !ok || err != nil {
			t.Fatalf("helper said %q", sc.Text())
		}
		acked[n] = p
	}
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()
	if len(acked) < 2000 {
		t.Fatalf("helper stopped after %d appends", len(acked))
	}
	s := open(t, dir)
	defer s.Close()
	got, err := s.Range("crash", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	stored := make(map[uint64]string, len(got))
	for i, e := range got {
		if e.Seq != uint64(i+1) {
			t.Fatalf("gap in the log after the crash: event %d has seq %d", i, e.Seq)
		}
		stored[e.Seq] = string(e.Payload)
	}
	for seq, p := range acked {
		if stored[seq] != p {
			t.Errorf("acknowledged append %d (%s) is %q after kill -9", seq, p, stored[seq])
		}
	}
	next := mustAppend(t, s, "crash", Event{})
	if next != uint64(len(got)+1) {
		t.Errorf("first append after the crash: seq %d, want %d", next, len(got)+1)
	}
	t.Logf("%d acknowledged, %d stored", len(acked), len(got))
}
