// Package interop holds the suites that drive real third-party WAMP clients — AutobahnPython (Twisted),
// Autobahn|JS, wampy and the nexus Go client — against the gateway binary, plus the README examples.
//
// The package has no non-test code. Its TestMain builds ./cmd/gateway once, starts it on a free
// loopback port (WebSocket at /ws and RawSocket on the same port) and stops it at the end. Set
// GATEWAY_TEST_ROUTER=nexus to run the same suites against a nexus router (nexusd) instead, for
// comparison; GATEWAY_NEXUSD may name a prebuilt nexusd binary.
//
// The authentication suites (auth_test.go: interop/python/auth_suite.py, interop/js/auth_suite.js)
// each start a gateway of their own with a realm that requires authentication and defines roles.
// So do the persistent-subscription suites (persist_test.go: interop/python/persist_suite.py,
// interop/js/persist_suite.js; AutobahnPython across reconnects, a restart and kill -9), the web-app
// proxies (proxy_test.go: clients/python/test_gateway_proxy.py and package proxy over HTTP/JSON,
// XML-RPC, AMQP and NATS) and the Django example (django_test.go: examples/django).
//
// The Python and Node suites live in interop/python and interop/js; scripts/install-test-deps installs
// what they need. Tests whose dependencies are missing are skipped, unless GATEWAY_INTEROP=required
// (set by scripts/test), which makes them fail instead.
package interop
