package interop

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gateway-dev/gateway/client"
	"github.com/gateway-dev/gateway/proxy"
	"github.com/gateway-dev/gateway/wamp"
)

// The web-app proxies' tests: a gateway whose [webapp] section serves HTTP/JSON and XML-RPC (an API
// key and an HMAC key), AMQP (the local RabbitMQ) and NATS (an embedded server); the Python proxy's
// suite (clients/python/test_gateway_proxy.py) and the Go proxy (package proxy) drive it with the
// gateway's own configuration file, and WAMP clients check what arrives.

const (
	proxyRealm     = "com.example.webapp"
	proxyAPIKey    = "proxy-api-key-0123456789abcdef"
	proxyKeyID     = "webapp1"
	proxyKeySecret = "proxy-hmac-secret-0123456789abcdef"
	// proxyAMQPURL is the local RabbitMQ (GATEWAY_TEST_AMQP_URL overrides it).
	proxyAMQPURL = "amqp://guest:guest@127.0.0.1:5672/"
)

// proxyGateway is the gateway under test and what its configuration enables.
type proxyGateway struct {
	r          *router
	transports []proxy.Transport // the representatives configured
	amqpErr    error             // why AMQP is not configured
}

func TestWebappProxies(t *testing.T) {
	gw := startProxyGateway(t)
	t.Run("python", func(t *testing.T) {
		need(t, "AutobahnPython", pythonDeps())
		runPythonProxyTests(t, gw, "", "test_gateway_proxy.SignTest", "test_gateway_proxy.ConfigTest",
			"test_gateway_proxy.HTTPUnitTest", "test_gateway_proxy.XMLRPCUnitTest")
		for _, tr := range []proxy.Transport{proxy.TransportHTTP, proxy.TransportXMLRPC, proxy.TransportAMQP} {
			t.Run(string(tr), func(t *testing.T) {
				if tr == proxy.TransportAMQP {
					need(t, "RabbitMQ", gw.amqpErr)
					need(t, "pika (python3-pika)", pikaDep())
				}
				runPythonProxyTests(t, gw, tr, "test_gateway_proxy.IntegrationTest")
			})
		}
	})
	t.Run("go", func(t *testing.T) {
		for _, tr := range []proxy.Transport{proxy.TransportHTTP, proxy.TransportXMLRPC, proxy.TransportAMQP, proxy.TransportNATS} {
			t.Run(string(tr), func(t *testing.T) {
				if tr == proxy.TransportAMQP {
					need(t, "RabbitMQ", gw.amqpErr)
				}
				goProxySuite(t, gw, tr)
			})
		}
	})
}

// startProxyGateway starts RabbitMQ if needed, an embedded NATS server and the gateway.
func startProxyGateway(t *testing.T) *proxyGateway {
	t.Helper()
	if testing.Short() && !required {
		t.Skip("interop suites are skipped in -short mode")
	}
	gw := &proxyGateway{transports: []proxy.Transport{proxy.TransportHTTP, proxy.TransportXMLRPC, proxy.TransportNATS}}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "webapp1.key")
	if err := os.WriteFile(keyFile, []byte(proxyKeySecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ns := startNATSServer(t)
	prefix := "gwtest." + randomHex(4)
	amqpSection := ""
	amqpURL := os.Getenv("GATEWAY_TEST_AMQP_URL")
	if amqpURL == "" {
		amqpURL = proxyAMQPURL
	}
	if gw.amqpErr = ensureRabbitMQ(amqpURL); gw.amqpErr == nil {
		queue := "gwtest.proxy." + randomHex(4)
		amqpSection = fmt.Sprintf("\n[webapp.amqp]\nurl = %q\nqueue = %q\n", amqpURL, queue)
		gw.transports = append(gw.transports, proxy.TransportAMQP)
		t.Cleanup(func() { deleteAMQPQueue(amqpURL, queue) }) // runs after the gateway stopped
	}
	// The suites refuse tickets on purpose (reused, revoked), more often than the default failure
	// limit per address allows.
	body := fmt.Sprintf(`[auth]
max_failures = 0

[[realms]]
name = %q

[realms.auth]
methods = ["ticket", "anonymous"]

[realms.auth.ticket]
accept = ["one_time"]

[[realms.roles]]
name = "user"
[[realms.roles.permissions]]
uri = ""
match = "prefix"
allow = ["subscribe", "publish", "call", "register"]

[[realms.roles]]
name = "anonymous"
[[realms.roles.permissions]]
uri = ""
match = "prefix"
allow = ["subscribe", "publish", "call", "register"]

[[realms.event_classes]]
name = "order.created"
topic = "com.shop.order.created"
fields = { amount = "int" }

[webapp]
call_timeout = "5s"

[webapp.http]
api_keys = ["env:GATEWAY_TEST_WEBAPP_KEY"]

[[webapp.http.hmac_keys]]
id = %q
secret = "file:%s"

[webapp.nats]
url = %q
subject_prefix = %q
%s
[webapp.proxy]
transport = "http"
key_id = %q
timeout = "15s"
`, proxyRealm, proxyKeyID, keyFile, ns.ClientURL(), prefix, amqpSection, proxyKeyID)
	gw.r = startConfiguredGateway(t, body, "GATEWAY_TEST_WEBAPP_KEY="+proxyAPIKey)
	if gw.r.cfgPath == "" {
		t.Fatal("the harness did not record the gateway's configuration file")
	}
	return gw
}

// startNATSServer runs an embedded NATS server on a random loopback port until the test ends.
func startNATSServer(t *testing.T) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("the embedded NATS server did not start")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// rabbitMu serializes the start of RabbitMQ between tests.
var rabbitMu sync.Mutex

// ensureRabbitMQ connects to the broker at url, starting the local RabbitMQ (rabbitmq-server
// -detached, as the CI script does) when it is not running.
func ensureRabbitMQ(url string) error {
	rabbitMu.Lock()
	defer rabbitMu.Unlock()
	probe := func() error {
		conn, err := amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
		if err != nil {
			return err
		}
		return conn.Close()
	}
	err := probe()
	if err == nil || url != proxyAMQPURL {
		return err
	}
	bin, lookErr := exec.LookPath("rabbitmq-server")
	if lookErr != nil {
		return fmt.Errorf("RabbitMQ is not running at %s and rabbitmq-server is not installed: %w", url, err)
	}
	if out, runErr := runCommand(30*time.Second, "", nil, bin, "-detached"); runErr != nil {
		return fmt.Errorf("starting RabbitMQ: %v\n%s", runErr, out)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		if err = probe(); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("RabbitMQ did not accept connections at %s within 90s: %w", url, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// deleteAMQPQueue removes the queue the gateway declared and its dead-letter companions.
func deleteAMQPQueue(url, queue string) {
	conn, err := amqp.Dial(url)
	if err != nil {
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return
	}
	for _, q := range []string{queue, queue + ".dead"} {
		_, _ = ch.QueueDelete(q, false, false, false)
	}
	_ = ch.ExchangeDelete(queue+".dlx", false, false)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

var pikaDep = sync.OnceValue(func() error {
	out, err := runCommand(30*time.Second, "", nil, python, "-c", "import pika")
	if err != nil {
		return fmt.Errorf("%s cannot import pika: %w\n%s", python, err, out)
	}
	return nil
})

// unittestLine is one "test_x (module.Class.test_x) ... ok" line of unittest -v.
var unittestLine = regexp.MustCompile(`^(\w+) \(([\w.]+)\)(?: \[.*\])? \.\.\. (ok|FAIL|ERROR|expected failure|skipped '(.*)')$`)

// failureHeader starts the report of a failed test: "FAIL: test_x (module.Class.test_x)".
var failureHeader = regexp.MustCompile(`^(FAIL|ERROR): (\w+) \(([\w.]+)\)`)

// runPythonProxyTests runs unittest targets of clients/python/test_gateway_proxy.py against the
// gateway (transport "" runs them without GATEWAY_PROXY_CONFIG: the unit tests) and turns each
// test into a subtest.
func runPythonProxyTests(t *testing.T, gw *proxyGateway, transport proxy.Transport, targets ...string) {
	t.Helper()
	env := []string{"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"}
	if transport != "" {
		env = append(env, "GATEWAY_PROXY_CONFIG="+gw.r.cfgPath, "GATEWAY_PROXY_TRANSPORT="+string(transport),
			"GATEWAY_PROXY_WS_URL="+gw.r.wsURL, "GATEWAY_PROXY_REALM="+proxyRealm)
	}
	dir := filepath.Join(moduleRoot, "clients", "python")
	out, err := runCommand(suiteTimeout, dir, env, python, append([]string{"-m", "unittest", "-v"}, targets...)...)
	details := map[string]string{}
	var current string
	for _, line := range strings.Split(out, "\n") {
		if m := failureHeader.FindStringSubmatch(line); m != nil {
			current = m[3]
			continue
		}
		if current != "" {
			if strings.HasPrefix(line, "=====") || strings.HasPrefix(line, "Ran ") {
				current = ""
				continue
			}
			details[current] += line + "\n"
		}
	}
	ran, failed := 0, 0
	for _, line := range strings.Split(out, "\n") {
		m := unittestLine.FindStringSubmatch(strings.TrimRight(line, "\r"))
		if m == nil {
			continue
		}
		ran++
		name, id, status, reason := m[1], m[2], m[3], m[4]
		if status == "FAIL" || status == "ERROR" {
			failed++
		}
		t.Run(name, func(t *testing.T) {
			switch {
			case status == "ok":
			case strings.HasPrefix(status, "skipped"):
				t.Skip(reason)
			default:
				t.Errorf("%s %s\n%s", status, id, details[id])
			}
		})
	}
	switch {
	case ran == 0:
		t.Errorf("the Python proxy tests reported nothing (exit: %v)", err)
	case err != nil && failed == 0:
		t.Errorf("the Python proxy tests failed (%v) although no test reported a failure", err)
	case err == nil && failed > 0:
		t.Errorf("the Python proxy tests exited 0 despite %d failures", failed)
	}
	if t.Failed() {
		t.Logf("--- python output ---\n%s", out)
		t.Logf("--- gateway output (tail) ---\n%s", gw.r.log.tail(4096))
	}
}

// goProxySuite drives the Go proxy over transport, with Go WAMP clients checking what arrives.
func goProxySuite(t *testing.T, gw *proxyGateway, transport proxy.Transport) {
	cfg, err := proxy.LoadConfigFor(gw.r.cfgPath, transport)
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	s := &proxySuite{t: t, gw: gw, p: p}
	if transport == proxy.TransportNATS {
		s.waitReady() // the representative subscribes asynchronously
	}
	t.Run("health_stats", s.healthStats)
	t.Run("publish", s.publish)
	t.Run("publish_options", s.publishOptions)
	t.Run("publish_class", s.publishClass)
	t.Run("publish_batch", s.publishBatch)
	t.Run("ticket_sessions_kill", s.ticketSessionsKill)
	t.Run("revoke", s.revoke)
	t.Run("call", s.call)
	t.Run("credentials", s.credentials)
}

type proxySuite struct {
	t  *testing.T
	gw *proxyGateway
	p  *proxy.Proxy
}

func (s *proxySuite) ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func (s *proxySuite) uri(name string) string {
	return "com.example.proxy.go." + string(s.p.Transport()) + "." + name + "." + randomHex(4)
}

func (s *proxySuite) waitReady() {
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := s.p.Health(s.ctx(s.t))
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the %s representative never answered: %v", s.p.Transport(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// wampClient connects a WAMP client (anonymous, or with a ticket) that is closed with the test.
func (s *proxySuite) wampClient(t *testing.T, authid, ticket string) (*client.Client, error) {
	cfg := client.Config{Realm: proxyRealm, DialTimeout: 5 * time.Second}
	if ticket != "" {
		cfg.HelloDetails = wamp.Dict{"authmethods": []any{"ticket"}, "authid": authid}
		cfg.Authenticate = func(*wamp.Challenge) (*wamp.Authenticate, error) {
			return &wamp.Authenticate{Signature: ticket}, nil
		}
	}
	c, err := client.Connect(s.ctx(t), s.gw.r.wsURL, cfg)
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	return c, err
}

func (s *proxySuite) subscriber(t *testing.T, topic string) (*client.Client, chan *wamp.Event) {
	c, err := s.wampClient(t, "", "")
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan *wamp.Event, 16)
	if _, err := c.Subscribe(s.ctx(t), topic, func(e *wamp.Event) { events <- e }, nil); err != nil {
		t.Fatal(err)
	}
	return c, events
}

func nextProxyEvent(t *testing.T, events chan *wamp.Event) *wamp.Event {
	t.Helper()
	select {
	case e := <-events:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
		return nil
	}
}

func wantProxyError(t *testing.T, err error, uri string, status int) *proxy.Error {
	t.Helper()
	var e *proxy.Error
	if !errors.As(err, &e) || e.URI != uri || (status != 0 && e.Status != status) {
		t.Fatalf("got %v, want %s (status %d)", err, uri, status)
	}
	return e
}

func (s *proxySuite) healthStats(t *testing.T) {
	h, err := s.p.Health(s.ctx(t))
	if err != nil || h.Status != "ok" || h.Realm != proxyRealm {
		t.Fatalf("Health = %+v, %v", h, err)
	}
	st, err := s.p.Stats(s.ctx(t))
	if err != nil || st.Realm != proxyRealm || st.Uptime <= 0 {
		t.Fatalf("Stats = %+v, %v", st, err)
	}
}

func (s *proxySuite) publish(t *testing.T) {
	topic := s.uri("news")
	_, events := s.subscriber(t, topic)
	args := []any{1, "two", 2.5, true, nil}
	kwargs := map[string]any{"big": int64(9007199254740993), "nested": map[string]any{"l": []any{1, "x"}}}
	pub, err := s.p.Publish(s.ctx(t), topic, args, kwargs, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := nextProxyEvent(t, events)
	wantArgs := wamp.List{int64(1), "two", 2.5, true, nil}
	if uint64(e.Publication) != pub || !reflect.DeepEqual(e.Args, wantArgs) || e.Kwargs["big"] != int64(9007199254740993) {
		t.Errorf("EVENT %d %#v %#v; published %d", e.Publication, e.Args, e.Kwargs, pub)
	}
	if l := e.Kwargs["nested"].(map[string]any)["l"].([]any); l[0] != int64(1) || l[1] != "x" {
		t.Errorf("nested %#v", l)
	}
}

func (s *proxySuite) publishOptions(t *testing.T) {
	topic := s.uri("filtered")
	c, events := s.subscriber(t, topic)
	me := uint64(c.SessionID())
	ctx := s.ctx(t)
	for _, opts := range []*proxy.PublishOptions{{Exclude: []uint64{me}}, {EligibleAuthRole: []string{"nobody"}}} {
		if _, err := s.p.Publish(ctx, topic, []any{"filtered out"}, nil, opts); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.p.Publish(ctx, topic, []any{"eligible"}, nil, &proxy.PublishOptions{Eligible: []uint64{me}, DiscloseMe: true}); err != nil {
		t.Fatal(err)
	}
	e := nextProxyEvent(t, events) // one publisher's events arrive in order
	if len(e.Args) != 1 || e.Args[0] != "eligible" || e.Details["publisher"] == nil {
		t.Errorf("EVENT %#v %#v, want the eligible one with its publisher disclosed", e.Args, e.Details)
	}
}

func (s *proxySuite) publishClass(t *testing.T) {
	ctx := s.ctx(t)
	classes, err := s.p.EventClasses(ctx)
	if err != nil || len(classes) != 1 || classes[0]["name"] != "order.created" {
		t.Fatalf("EventClasses = %v, %v", classes, err)
	}
	desc, err := s.p.DescribeClass(ctx, "order.created")
	if err != nil || desc["topic"] != "com.shop.order.created" {
		t.Fatalf("DescribeClass = %v, %v", desc, err)
	}
	_, events := s.subscriber(t, "com.shop.order.created")
	pub, err := s.p.Publish(ctx, "", nil, map[string]any{"amount": 5}, &proxy.PublishOptions{Class: "order.created"})
	if err != nil {
		t.Fatal(err)
	}
	if e := nextProxyEvent(t, events); uint64(e.Publication) != pub || e.Kwargs["amount"] != int64(5) {
		t.Errorf("EVENT %d %#v", e.Publication, e.Kwargs)
	}
	_, err = s.p.Publish(ctx, "", nil, map[string]any{"amount": 5}, &proxy.PublishOptions{Class: "no.such.class"})
	wantProxyError(t, err, "wamp.error.invalid_argument", 422)
	_, err = s.p.Publish(ctx, "", nil, map[string]any{"amount": "five"}, &proxy.PublishOptions{Class: "order.created"})
	wantProxyError(t, err, "wamp.error.invalid_argument", 422)
	_, err = s.p.DescribeClass(ctx, "no.such.class")
	wantProxyError(t, err, "wamp.error.invalid_argument", 422)
}

func (s *proxySuite) publishBatch(t *testing.T) {
	topic := s.uri("batch")
	_, events := s.subscriber(t, topic)
	res, err := s.p.PublishBatch(s.ctx(t), []proxy.Publication{
		{Topic: topic, Args: []any{1}},
		{Kwargs: map[string]any{"amount": 1}, Options: &proxy.PublishOptions{Class: "no.such.class"}},
		{Topic: topic, Args: []any{2}},
	})
	if err != nil || len(res) != 3 {
		t.Fatalf("PublishBatch = %+v, %v", res, err)
	}
	if res[1].Err == nil || res[1].Err.URI != "wamp.error.invalid_argument" || res[0].Err != nil || res[2].Err != nil {
		t.Errorf("results %+v", res)
	}
	for i, want := range []int64{1, 2} {
		e := nextProxyEvent(t, events)
		if e.Args[0] != want || uint64(e.Publication) != res[2*i].Publication {
			t.Errorf("event %d: %#v publication %d, want %d", i, e.Args, e.Publication, res[2*i].Publication)
		}
	}
}

func (s *proxySuite) ticketSessionsKill(t *testing.T) {
	ctx := s.ctx(t)
	authid := "alice-" + randomHex(4)
	tk, err := s.p.IssueTicket(ctx, authid, "user", 30*time.Second, map[string]any{"tier": "gold"})
	if err != nil || tk.AuthID != authid || tk.AuthRole != "user" || tk.Realm != proxyRealm || time.Until(tk.Expires) <= 0 {
		t.Fatalf("IssueTicket = %+v, %v", tk, err)
	}
	c, err := s.wampClient(t, authid, tk.Ticket)
	if err != nil {
		t.Fatalf("joining with the ticket: %v", err)
	}
	if c.Details()["authrole"] != "user" || c.Details()["authid"] != authid {
		t.Errorf("WELCOME details %v", c.Details())
	}
	if _, err := s.wampClient(t, authid, tk.Ticket); err == nil {
		t.Error("a one-time ticket was accepted twice")
	}
	sessions, err := s.p.Sessions(ctx, proxy.SessionFilter{AuthID: authid})
	if err != nil || len(sessions) != 1 || sessions[0]["session"] != int64(c.SessionID()) {
		t.Fatalf("Sessions = %v, %v; want session %d", sessions, err, c.SessionID())
	}
	killed, err := s.p.KillSession(ctx, uint64(c.SessionID()), "wamp.close.killed", "bye")
	if err != nil || !killed {
		t.Fatalf("KillSession = %v, %v", killed, err)
	}
	select {
	case <-c.Done():
		var ce *client.CloseError
		if !errors.As(c.Err(), &ce) || ce.Reason != "wamp.close.killed" {
			t.Errorf("session ended with %v, want wamp.close.killed", c.Err())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the killed session is still open")
	}
	_, err = s.p.KillSession(ctx, uint64(c.SessionID()), "", "")
	wantProxyError(t, err, "wamp.error.no_such_session", 422)
}

func (s *proxySuite) revoke(t *testing.T) {
	ctx := s.ctx(t)
	authid := "bob-" + randomHex(4)
	first, err := s.p.IssueTicket(ctx, authid, "user", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.wampClient(t, authid, first.Ticket)
	if err != nil {
		t.Fatal(err)
	}
	unused, err := s.p.IssueTicket(ctx, authid, "user", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.p.Revoke(ctx, authid)
	if err != nil || r.Sessions != 1 || r.Tickets != 1 {
		t.Fatalf("Revoke = %+v, %v", r, err)
	}
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the revoked session is still open")
	}
	if _, err := s.wampClient(t, authid, unused.Ticket); err == nil {
		t.Error("a revoked ticket was accepted")
	}
}

func (s *proxySuite) call(t *testing.T) {
	ctx := s.ctx(t)
	callee, err := s.wampClient(t, "", "")
	if err != nil {
		t.Fatal(err)
	}
	add, fail := s.uri("add"), s.uri("fail")
	if _, err := callee.Register(ctx, add, func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		var sum int64
		for _, a := range inv.Args {
			n, _ := a.(int64)
			sum += n
		}
		return &client.Result{Args: wamp.List{sum}, Kwargs: inv.Kwargs}, nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := callee.Register(ctx, fail, func(context.Context, *client.Invocation) (*client.Result, error) {
		return nil, &client.RPCError{URI: "com.example.oops", Args: wamp.List{1, "x"}, Kwargs: wamp.Dict{"why": "because"}}
	}, nil); err != nil {
		t.Fatal(err)
	}
	res, err := s.p.Call(ctx, add, []any{2, 3, int64(1) << 40}, map[string]any{"echo": "x"}, 5*time.Second)
	if err != nil || len(res.Args) != 1 || res.Args[0] != int64(5+1<<40) || res.Kwargs["echo"] != "x" {
		t.Fatalf("Call = %+v, %v", res, err)
	}
	_, err = s.p.Call(ctx, fail, nil, nil, 0)
	e := wantProxyError(t, err, "com.example.oops", 422)
	if s.p.Transport() != proxy.TransportXMLRPC && (!reflect.DeepEqual(e.Args, []any{int64(1), "x"}) || e.Kwargs["why"] != "because") {
		t.Errorf("callee payload %#v %#v", e.Args, e.Kwargs)
	}
	_, err = s.p.Call(ctx, s.uri("nobody"), nil, nil, 0)
	wantProxyError(t, err, "wamp.error.no_such_procedure", 422)
}

// credentials checks the HTTP credentials: the API key from the same file works, wrong ones are
// refused, and so is a request without credentials (the gateway has no loopback exemption here).
// AMQP and NATS authenticate at the broker.
func (s *proxySuite) credentials(t *testing.T) {
	tr := s.p.Transport()
	if tr != proxy.TransportHTTP && tr != proxy.TransportXMLRPC {
		t.Skipf("%s requests are authenticated by the broker, not the gateway", tr)
	}
	cfg, err := proxy.LoadConfigFor(s.gw.r.cfgPath, tr)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		edit   func(*proxy.Config)
		reject bool
	}{
		{"api key", func(c *proxy.Config) { c.KeyID, c.Secret, c.APIKey = "", "", proxyAPIKey }, false},
		{"wrong api key", func(c *proxy.Config) { c.KeyID, c.Secret, c.APIKey = "", "", "wrong-api-key-0123456789" }, true},
		{"wrong secret", func(c *proxy.Config) { c.Secret = "wrong-secret-0123456789" }, true},
		{"unknown key id", func(c *proxy.Config) { c.KeyID = "nobody" }, true},
		{"no credentials", func(c *proxy.Config) { c.KeyID, c.Secret = "", "" }, true},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			cc := cfg
			c.edit(&cc)
			p, err := proxy.New(cc)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			_, err = p.Health(s.ctx(t))
			if c.reject {
				wantProxyError(t, err, proxy.ErrUnauthenticated, 401)
			} else if err != nil {
				t.Fatal(err)
			}
		})
	}
}
