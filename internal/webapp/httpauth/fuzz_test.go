package httpauth

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/internal/webapp"
)

// FuzzCheck feeds arbitrary header values to Check: it must never panic, and must answer nil or a
// *webapp.Error; a request it accepts must carry the right credentials.
func FuzzCheck(f *testing.F) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	f.Add("app1", ts, "n1", Sign("secret-one", "POST", "/api/v1/publish", time.Now().Unix(), "n1", []byte(`{}`)), "", "203.0.113.1:1", []byte(`{}`))
	f.Add("", "", "", "", "Bearer k", "127.0.0.1:1", []byte(nil))
	f.Add("app1", "-9223372036854775808", "\x00", "ZZ", "Basic", "[::1]:1", []byte("x"))
	f.Add("", "", "", "", "", "[::1", []byte(""))
	c := New(Config{APIKeys: []string{"k"}, HMACKeys: hmacCfg.HMACKeys, AllowLoopback: true})
	f.Fuzz(func(t *testing.T, keyID, ts, nonce, sig, authz, remoteAddr string, body []byte) {
		r := &http.Request{Method: http.MethodPost, URL: &url.URL{Path: "/api/v1/publish"}, Header: http.Header{}, RemoteAddr: remoteAddr, Body: http.NoBody}
		for name, v := range map[string]string{HeaderKeyID: keyID, HeaderTimestamp: ts, HeaderNonce: nonce, HeaderSignature: sig, "Authorization": authz} {
			if v != "" {
				r.Header.Set(name, v)
			}
		}
		err := c.Check(r, body)
		if err == nil {
			signedOK := keyID == "app1" || keyID == "app2"
			bearerOK := !isSigned(r.Header) && bytes.Contains([]byte(authz), []byte("k"))
			loopOK := !isSigned(r.Header) && authz == "" && IsLoopback(remoteAddr)
			if !signedOK && !bearerOK && !loopOK {
				t.Fatalf("accepted a request with key id %q, authorization %q from %q", keyID, authz, remoteAddr)
			}
			return
		}
		var e *webapp.Error
		if !errors.As(err, &e) {
			t.Fatalf("Check = %T %v, want *webapp.Error", err, err)
		}
	})
}
