package interop

import (
	"path/filepath"
	"testing"
)

// TestAutobahnPython runs interop/python/wamp_suite.py (AutobahnPython on Twisted, Debian's packages)
// over WebSocket and RawSocket with each serializer.
func TestAutobahnPython(t *testing.T) {
	r := needRouter(t)
	need(t, "AutobahnPython", pythonDeps())
	script := filepath.Join(pythonDir(), "wamp_suite.py")
	env := []string{"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"}
	for _, transport := range []string{"websocket", "rawsocket"} {
		url := r.wsURL
		if transport == "rawsocket" {
			url = r.rsURL
		}
		for _, ser := range serializers {
			t.Run(transport+"/"+ser, func(t *testing.T) {
				runClientSuite(t, r, "python", transport, pythonDir(), env, python, script,
					"--url", url, "--realm", realm, "--serializer", ser, "--timeout", "60")
			})
		}
	}
}

// TestAutobahnJS runs interop/js/autobahn_suite.js (npm autobahn 26) over WebSocket with each serializer,
// and over RawSocket with JSON (the only serializer Autobahn|JS speaks there).
func TestAutobahnJS(t *testing.T) {
	r := needRouter(t)
	need(t, "Autobahn|JS", nodeDeps())
	script := filepath.Join(jsDir(), "autobahn_suite.js")
	type run struct{ transport, url, ser string }
	var runs []run
	for _, ser := range serializers {
		runs = append(runs, run{"websocket", r.wsURL, ser})
	}
	runs = append(runs, run{"rawsocket", r.rsURL, "json"})
	for _, c := range runs {
		t.Run(c.transport+"/"+c.ser, func(t *testing.T) {
			runClientSuite(t, r, "autobahn-js", c.transport, jsDir(), nil, "node", script,
				"--url", c.url, "--realm", realm, "--serializer", c.ser, "--timeout", "60")
		})
	}
}

// TestWampy runs interop/js/wampy_suite.js (npm wampy) over WebSocket with each serializer.
func TestWampy(t *testing.T) {
	r := needRouter(t)
	need(t, "wampy", nodeDeps())
	script := filepath.Join(jsDir(), "wampy_suite.js")
	for _, ser := range serializers {
		t.Run("websocket/"+ser, func(t *testing.T) {
			runClientSuite(t, r, "wampy", "websocket", jsDir(), nil, "node", script,
				"--url", r.wsURL, "--realm", realm, "--serializer", ser, "--timeout", "60")
		})
	}
}
