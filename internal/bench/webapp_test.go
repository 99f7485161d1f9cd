package bench

import (
	"errors"
	"flag"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/wamp"
)

// feeder hands synthetic EVENT frames to a subscriber reader, as the engine would.
type feeder struct {
	t  *testing.T
	x  *webappRun
	rd *webappReader
}

func newFeeder(t *testing.T, workers int) *feeder {
	tg, err := parseTarget("ws://127.0.0.1:1/ws", "json", "realm1")
	if err != nil {
		t.Fatal(err)
	}
	x := &webappRun{runner: &runner{o: Options{Scenario: Webapp}, t: tg, report: &Report{}, progress: &strings.Builder{}}}
	x.cur.Store(&stepState{winStart: 0, winEnd: math.MaxInt64})
	rd := &webappReader{x: x, s: newWebappSub(0, workers), trackers: make([]seqTracker, workers), every: 1}
	for i := range rd.trackers {
		rd.trackers[i] = newSeqTracker(false)
	}
	return &feeder{t: t, x: x, rd: rd}
}

// event delivers publication seq of worker w.
func (f *feeder) event(w int, seq uint64) {
	f.t.Helper()
	m := appendMarker(nil, marker{seq: seq, intended: time.Now().UnixNano(), source: uint32(w)}, 100)
	b, err := f.x.t.ser.Encode(nil, &wamp.Event{Subscription: 1, Publication: 7, Details: wamp.Dict{}, Args: wamp.List{string(m)}})
	if err != nil {
		f.t.Fatal(err)
	}
	if !f.rd.message(b, time.Now().UnixNano()) {
		f.t.Fatal("the reader stopped reading")
	}
}

func TestWebappTallyCountsLossPerSubscriber(t *testing.T) {
	// Worker 0 had 4 publications acknowledged (0..3), worker 1 one (0); its second request failed
	// after the gateway had taken it, so publication 1 of worker 1 arrives but is not acknowledged.
	acked := []uint64{4, 1}
	complete := newFeeder(t, 2)
	for _, e := range [][2]uint64{{0, 0}, {1, 0}, {0, 1}, {0, 2}, {1, 1}, {0, 3}} {
		complete.event(int(e[0]), e[1])
	}
	lossy := newFeeder(t, 2)
	for _, e := range [][2]uint64{{0, 0}, {0, 1}, {0, 3}, {0, 3}, {1, 1}} { // 0/2 and 1/0 missing, 0/3 twice
		lossy.event(int(e[0]), e[1])
	}
	late := newFeeder(t, 2)
	for _, e := range [][2]uint64{{0, 1}, {0, 0}, {0, 2}, {0, 3}, {1, 0}} { // 0/0 after 0/1
		late.event(int(e[0]), e[1])
	}
	var res WebappResult
	res.Publishes = 5
	res.tally([]*webappSub{complete.rd.s, lossy.rd.s, late.rd.s}, acked)
	if res.Acknowledged != 5 || res.Expected != 15 {
		t.Errorf("acknowledged %d, expected %d; want 5 and 15", res.Acknowledged, res.Expected)
	}
	if res.Lost != 2 || res.Received != 13 || res.SubscribersWithLoss != 1 {
		t.Errorf("lost %d, received %d, subscribers with loss %d; want 2, 13, 1", res.Lost, res.Received, res.SubscribersWithLoss)
	}
	if res.Duplicates != 1 || res.Reorders != 1 {
		t.Errorf("duplicates %d, reorders %d; want 1 and 1", res.Duplicates, res.Reorders)
	}
	res.judge()
	if res.Pass || !strings.Contains(res.Failure, "2 deliveries lost (1 subscribers)") || !strings.Contains(res.Failure, "1 duplicates, 1 reorders") {
		t.Errorf("verdict pass=%v %q", res.Pass, res.Failure)
	}
	if n := complete.x.cur.Load().delivered.Load(); n != 6 {
		t.Errorf("%d deliveries counted in the window, want 6", n)
	}

	var clean WebappResult
	clean.Publishes = 5
	clean.tally([]*webappSub{complete.rd.s}, acked)
	if clean.judge(); !clean.Pass || clean.Lost != 0 || clean.Received != 5 {
		t.Errorf("complete subscriber: %+v", clean)
	}
}

func TestWebappReaderEndsOnGoodbye(t *testing.T) {
	f := newFeeder(t, 1)
	b, _ := f.x.t.ser.Encode(nil, &wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrCloseRealm})
	if f.rd.message(b, time.Now().UnixNano()) {
		t.Error("the reader keeps reading after GOODBYE")
	}
	if !f.rd.s.disconnected.Load() {
		t.Error("GOODBYE not counted as a disconnection")
	}
	var res WebappResult
	res.Publishes = 1
	res.tally([]*webappSub{f.rd.s}, []uint64{1})
	if res.judge(); res.Pass || res.Disconnected != 1 || res.Lost != 1 {
		t.Errorf("disconnected %d, lost %d, pass %v", res.Disconnected, res.Lost, res.Pass)
	}
	if !f.rd.message([]byte(`[36,1,2,{},["no marker"]]`), 0) || f.rd.s.unmarked.Load() != 1 {
		t.Error("an EVENT without a marker is not counted as unmarked")
	}
}

func TestWebappAnswers(t *testing.T) {
	for _, tt := range []struct {
		name   string
		parse  func() (wamp.ID, error)
		id     wamp.ID
		errHas string
	}{
		{"http ok", func() (wamp.ID, error) { return parseHTTPAnswer(200, []byte(`{"publication":9007199254740992}`)) }, 1 << 53, ""},
		{"http error", func() (wamp.ID, error) {
			return parseHTTPAnswer(422, []byte(`{"error":"wamp.error.invalid_uri","message":"bad topic"}`))
		}, 0, "HTTP 422: wamp.error.invalid_uri: bad topic"},
		{"http not json", func() (wamp.ID, error) { return parseHTTPAnswer(502, []byte("<html>bad gateway")) }, 0, `HTTP 502: "<html>bad gateway"`},
		{"http 200 without id", func() (wamp.ID, error) { return parseHTTPAnswer(200, []byte(`{}`)) }, 0, "without a publication id"},
		{"envelope ok", func() (wamp.ID, error) { return parseEnvelope([]byte(`{"result":{"publication":42}}`)) }, 42, ""},
		{"envelope error", func() (wamp.ID, error) {
			return parseEnvelope([]byte(`{"error":"wamp.error.unavailable","message":"store","details":{},"status":503}`))
		}, 0, "wamp.error.unavailable: store (status 503)"},
		{"envelope other result", func() (wamp.ID, error) { return parseEnvelope([]byte(`{"result":{"killed":true}}`)) }, 0, "without a publication id"},
		{"envelope garbage", func() (wamp.ID, error) { return parseEnvelope([]byte(`nope`)) }, 0, "not a JSON envelope"},
		{"xmlrpc int", func() (wamp.ID, error) {
			return parseXMLRPCAnswer(200, []byte(`<?xml version="1.0"?><methodResponse><params><param><value><int>17</int></value></param></params></methodResponse>`))
		}, 17, ""},
		{"xmlrpc i8", func() (wamp.ID, error) {
			return parseXMLRPCAnswer(200, []byte(`<methodResponse><params><param><value><i8>5327384721939453</i8></value></param></params></methodResponse>`))
		}, 5327384721939453, ""},
		{"xmlrpc fault", func() (wamp.ID, error) {
			return parseXMLRPCAnswer(200, []byte(`<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>422</int></value></member><member><name>faultString</name><value><string>wamp.error.invalid_uri: bad</string></value></member></struct></value></fault></methodResponse>`))
		}, 0, "XML-RPC fault: wamp.error.invalid_uri: bad"},
		{"xmlrpc no value", func() (wamp.ID, error) {
			return parseXMLRPCAnswer(200, []byte(`<methodResponse><params><param><value><string>x</string></value></param></params></methodResponse>`))
		}, 0, "without an integer result"},
		{"xmlrpc 401", func() (wamp.ID, error) { return parseXMLRPCAnswer(401, []byte(`unauthenticated`)) }, 0, "HTTP 401"},
	} {
		id, err := tt.parse()
		if tt.errHas == "" && (err != nil || id != tt.id) {
			t.Errorf("%s: %d, %v; want %d", tt.name, id, err, tt.id)
		}
		if tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas) || id != 0) {
			t.Errorf("%s: %d, %v; want an error mentioning %q", tt.name, id, err, tt.errHas)
		}
	}
}

func FuzzWebappAnswers(f *testing.F) {
	for _, s := range []string{
		`{"publication":1}`, `{"error":"x","message":"y"}`, `{"result":{"publication":5}}`,
		`{"result":null}`, `<methodResponse><params><param><value><i8>3</i8></value></param></params></methodResponse>`,
		`<methodResponse><fault><name>faultString</name><string>`, `<methodResponse><int>`, "\xff\xfe",
	} {
		f.Add(200, []byte(s))
		f.Add(500, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, b []byte) {
		check := func(name string, id wamp.ID, err error) {
			if (err == nil) != (id != 0) {
				t.Errorf("%s: id %d with error %v: an answer is an id or an error", name, id, err)
			}
			if err != nil && len(err.Error()) > 1000 {
				t.Errorf("%s: error of %d bytes", name, len(err.Error()))
			}
		}
		id, err := parseHTTPAnswer(status, b)
		check("http", id, err)
		id, err = parseEnvelope(b)
		check("envelope", id, err)
		id, err = parseXMLRPCAnswer(status, b)
		check("xmlrpc", id, err)
		if err != nil && status == 200 && !errors.Is(err, errNoXMLRPCValue) && !strings.Contains(err.Error(), "XML-RPC fault") {
			t.Errorf("xmlrpc: unexpected kind of error %v", err)
		}
	})
}

func TestWebappOptions(t *testing.T) {
	base := Options{Scenario: Webapp, URL: "ws://127.0.0.1:9/ws"}
	o, err := base.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.Subscribers != 0 || o.Rate != 0 || o.Transport != TransportHTTP || o.Concurrency != DefaultWebappConcurrency ||
		o.WebappURL != "http://127.0.0.1:9" || !strings.HasPrefix(o.Topic, "bench.") {
		t.Errorf("defaults: subscribers %d, rate %v, transport %q, concurrency %d, web-app URL %q, topic %q",
			o.Subscribers, o.Rate, o.Transport, o.Concurrency, o.WebappURL, o.Topic)
	}
	for _, tt := range []struct {
		change func(*Options)
		errHas string
	}{
		{func(o *Options) { o.Transport = "smtp" }, "unknown web-app transport"},
		{func(o *Options) { o.Transport = TransportAMQP; o.AMQPURL = "amqp://h/" }, "--amqp-queue"},
		{func(o *Options) { o.Transport = TransportAMQP; o.AMQPURL = "http://h/"; o.AMQPQueue = "q" }, "amqp://"},
		{func(o *Options) { o.Transport = TransportNATS }, "--nats-url"},
		{func(o *Options) { o.Transport = TransportNATS; o.NATSURL = "nats://h:1"; o.NATSPrefix = "a.>" }, "subject prefix"},
		{func(o *Options) { o.Topic = `a."b` }, "plain URI"},
		{func(o *Options) { o.Topic = "a..b" }, "plain URI"},
		{func(o *Options) { o.Concurrency = -1 }, "concurrency"},
		{func(o *Options) { o.Subscribers = -1 }, "subscribers"},
		{func(o *Options) { o.WebappURL = "ftp://x" }, "http://host:port"},
	} {
		o := base
		tt.change(&o)
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), tt.errHas) {
			t.Errorf("%+v: %v, want an error mentioning %q", o.WebappOptions, err, tt.errHas)
		}
	}
}

func TestWebappFlags(t *testing.T) {
	o := Options{Scenario: Webapp, URL: "ws://127.0.0.1:9/ws"}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	WebappFlags(fs, &o.WebappOptions)
	err := fs.Parse([]string{"--transport", "amqp", "--amqp-url", "amqp://u:p@h:1/", "--amqp-queue", "q",
		"--concurrency", "7", "--topic", "com.x.y", "--api-key", "k", "--nats-url", "nats://h:2", "--nats-prefix", "p.q",
		"--webapp-url", "http://h:3"})
	if err != nil {
		t.Fatal(err)
	}
	want := WebappOptions{Transport: TransportAMQP, WebappURL: "http://h:3", APIKey: "k", AMQPURL: "amqp://u:p@h:1/",
		AMQPQueue: "q", NATSURL: "nats://h:2", NATSPrefix: "p.q", Concurrency: 7, Topic: "com.x.y"}
	if o.WebappOptions != want {
		t.Errorf("parsed %+v, want %+v", o.WebappOptions, want)
	}
	if err := o.Validate(); err != nil {
		t.Errorf("parsed options do not validate: %v", err)
	}
	for _, name := range []string{"--transport", "--webapp-url", "--amqp-queue", "--nats-prefix", "--concurrency", "--topic"} {
		if !strings.Contains(WebappUsage, name) {
			t.Errorf("WebappUsage does not document %s", name)
		}
	}
}
