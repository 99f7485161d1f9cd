package interop

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/client"
	"github.com/gateway-dev/gateway/wamp"
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

// TestReadmeWebappCurl runs the README's curl command (the web-app publishing over HTTP) against a
// gateway with the zero-configuration web-app interface, and checks that a WAMP subscriber gets it.
func TestReadmeWebappCurl(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(moduleRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)\ncurl -s (http://127\.0\.0\.1:8080/api/v1/publish[^\n]*\\\n[^\n]*)\n`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no curl command publishing to http://127.0.0.1:8080/api/v1/publish")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		need(t, "curl", err)
	}
	r := startConfiguredGateway(t, "[webapp.http]\nloopback_without_credentials = true\n\n[[realms]]\nname = \"realm1\"\n")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := client.Connect(ctx, r.wsURL, client.Config{Realm: realm})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	events := make(chan *wamp.Event, 1)
	if _, err := sub.Subscribe(ctx, "com.example.hello", func(e *wamp.Event) { events <- e }, nil); err != nil {
		t.Fatal(err)
	}
	command := "curl -s " + strings.Replace(string(m[1]), "127.0.0.1:8080", r.rsAddr, 1)
	out, err := runCommand(30*time.Second, moduleRoot, nil, "bash", "-c", command)
	if err != nil || !strings.Contains(out, `"publication":`) {
		t.Fatalf("%s\n%v\n%s", command, err, out)
	}
	select {
	case e := <-events:
		if len(e.Args) != 1 || e.Args[0] != "Hello from the web-app" {
			t.Errorf("event %v", e.Args)
		}
	case <-ctx.Done():
		t.Fatal("the subscriber got no event")
	}
}
