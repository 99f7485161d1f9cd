package proxy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

func FuzzDecodeEnvelope(f *testing.F) {
	f.Add([]byte(`{"result":{"publication":1}}`))
	f.Add([]byte(`{"error":"wamp.error.invalid_argument","message":"m","details":{"a":1},"status":422,"args":[1],"kwargs":{"k":2}}`))
	f.Add([]byte(`{"error":5}`))
	f.Add([]byte(`{"result":null}`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := decodeEnvelope(data)
		var e *Error
		switch {
		case errors.As(err, &e):
			if e.URI == "" || e.Status == 0 {
				t.Fatalf("incomplete error %+v", e)
			}
		case err == nil:
			if !json.Valid(res) {
				t.Fatalf("result %q is not JSON", res)
			}
		}
	})
}

// FuzzConfigFile feeds arbitrary TOML documents to the rules of LoadConfig: they never panic, and
// every refusal names a key or the file.
func FuzzConfigFile(f *testing.F) {
	f.Add("[webapp.http]\naddress = \":9100\"\napi_keys = [\"k\"]\n")
	f.Add("[[listeners]]\naddress = \"0.0.0.0:1\"\ntls_cert = \"c\"\n[webapp.http]\n[[webapp.http.hmac_keys]]\nid = \"a\"\nsecret = \"s\"\n[webapp.proxy]\nkey_id = \"a\"\n")
	f.Add("[webapp.amqp]\nurl = \"amqp://h/\"\nqueue = \"q\"\nexchange = \"x\"\nbinding_key = \"a.*\"\n")
	f.Add("[webapp.nats]\nurl = \"nats://h:1\"\ntoken = \"t\"\n[webapp.proxy]\ntransport = \"nats\"\ntimeout = \"1s\"\n")
	f.Add("webapp = [1, 2]\nlisteners = \"x\"\n")
	f.Fuzz(func(t *testing.T, doc string) {
		root := map[string]any{}
		if toml.Unmarshal([]byte(doc), &root) != nil {
			return
		}
		fl := &file{path: "fuzz.toml", dir: t.TempDir()}
		cfg, err := fl.config(root, "")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.toml") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if _, err := cfg.withDefaults(); err != nil && !strings.HasPrefix(err.Error(), "proxy: ") {
			t.Fatalf("unprefixed error %q", err)
		}
	})
}
