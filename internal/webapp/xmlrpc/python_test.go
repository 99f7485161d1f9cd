package xmlrpc

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/internal/webapp/httpauth"
)

// python is Debian's interpreter (the one the interop suites use); xmlrpc.client is in its stdlib.
const python = "/usr/bin/python3"

// TestPythonClient runs interop/python/xmlrpc_codec_check.py: Python's xmlrpc.client calling the
// representative over HTTP (publish, faults, multicall, every type through an echo, introspection).
func TestPythonClient(t *testing.T) {
	if _, err := os.Stat(python); err != nil {
		if os.Getenv("GATEWAY_INTEROP") == "required" {
			t.Fatalf("%s: %v (GATEWAY_INTEROP=required)", python, err)
		}
		t.Skipf("%s: %v", python, err)
	}
	h, _ := newTestHandler(t, Config{Auth: httpauth.New(httpauth.Config{APIKeys: []string{"py-key"}})})
	srv := httptest.NewServer(h)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	script := filepath.Join("..", "..", "..", "interop", "python", "xmlrpc_codec_check.py")
	out, err := exec.CommandContext(ctx, python, script, srv.URL+"/RPC2", "py-key").CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	for _, want := range []string{
		"publish 1099511627783\n",
		`fault 404 gateway.error.no_such_operation: no method "gateway.publsh": did you mean "gateway.publish"?` + "\n",
		"fault 403 wamp.error.not_authorized: alice may not call app.denied\n",
		"fault 400 gateway.error.malformed_request: gateway.revoke takes at most 1 param (authid); got 2 params\n",
		"fault 401 gateway.error.unauthenticated: credentials required",
		`fault 404 gateway.error.no_such_operation: no method "gateway.nope"`,
		"multicall ok\n",
		"echo ok 16\n",
		"id as double ok\n",
		"ALL OK\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
