package interop

import (
	"reflect"
	"testing"
)

// TestParseSuiteOutput checks the reading of the client suites' line protocol, on which every client
// suite's verdict rests.
func TestParseSuiteOutput(t *testing.T) {
	out := "noise from a library\n" +
		"PASS pubsub_args_kwargs\n" +
		"FAIL cancel: timed out after 5.0s waiting for INTERRUPT\n" +
		"    Traceback (most recent call last):\n" +
		"    File x\n" +
		"DIAG something on stderr\n" +
		"    indented noise after a non-FAIL line\n" +
		"PASS large_payload\n" +
		"python-websocket/json: 2 passed, 1 failed\n"
	results, passed, failed, summary := parseSuiteOutput(out)
	want := []scenarioResult{
		{name: "pubsub_args_kwargs", pass: true},
		{name: "cancel", detail: "timed out after 5.0s waiting for INTERRUPT\n    Traceback (most recent call last):\n    File x"},
		{name: "large_payload", pass: true},
	}
	if !reflect.DeepEqual(results, want) {
		t.Errorf("results:\n got %#v\nwant %#v", results, want)
	}
	if passed != 2 || failed != 1 || !summary {
		t.Errorf("summary: got passed=%d failed=%d found=%v, want 2, 1, true", passed, failed, summary)
	}

	if _, _, _, summary := parseSuiteOutput("PASS a\nFAIL b: overall timeout of 60s exceeded\n"); summary {
		t.Error("found a summary line in output that has none")
	}
}

func TestKnownGapsApplyOnlyToNexus(t *testing.T) {
	if _, ok := knownGap("gateway", "autobahn-js", "websocket", "progressive_results"); ok {
		t.Error("a nexus gap excused a failure of our gateway")
	}
	if _, ok := knownGap("nexus", "autobahn-js", "websocket", "progressive_results"); !ok {
		t.Error("wildcard transport entry not applied")
	}
	if _, ok := knownGap("nexus", "python", "websocket", "meta_session_count_get"); ok {
		t.Error("rawsocket-only gap applied to websocket")
	}
}
