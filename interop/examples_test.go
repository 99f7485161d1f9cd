package interop

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// exampleOutput is what both README examples print: the event they published to themselves, then the
// result of the procedure they registered and called.
var exampleOutput = []string{"event received: Hello, world!", "call result: 5"}

// TestReadmeExamples runs interop/examples/hello.py and hello.js (the README's examples) against the
// router, with GATEWAY_URL pointing at it, and checks what they print.
func TestReadmeExamples(t *testing.T) {
	r := needRouter(t)
	dir := filepath.Join(moduleRoot, "interop", "examples")
	t.Run("python", func(t *testing.T) {
		need(t, "AutobahnPython", pythonDeps())
		out, err := runCommand(60*time.Second, dir, []string{"GATEWAY_URL=" + r.wsURL, "PYTHONDONTWRITEBYTECODE=1"},
			python, "hello.py")
		checkExampleOutput(t, out, err)
	})
	t.Run("js", func(t *testing.T) {
		need(t, "Autobahn|JS", nodeDeps())
		env := []string{"GATEWAY_URL=" + r.wsURL, "NODE_PATH=" + filepath.Join(jsDir(), "node_modules")}
		out, err := runCommand(60*time.Second, dir, env, "node", "hello.js")
		checkExampleOutput(t, out, err)
	})
}

func checkExampleOutput(t *testing.T, out string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("example failed: %v\n%s", err, out)
	}
	var got []string
	for _, line := range strings.Split(out, "\n") {
		for _, want := range exampleOutput {
			if strings.TrimSpace(line) == want {
				got = append(got, want)
			}
		}
	}
	if strings.Join(got, "\n") != strings.Join(exampleOutput, "\n") {
		t.Errorf("example printed %q among its lines, want %q in that order; output:\n%s", got, exampleOutput, out)
	}
}
