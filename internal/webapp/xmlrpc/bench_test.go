package xmlrpc

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gateway-dev/gateway/internal/webapp"
)

// BenchmarkPublishCodec decodes the gateway.publish call Python sends and encodes the answer.
func BenchmarkPublishCodec(b *testing.B) {
	doc := readSample(b, "publish")
	out := make([]byte, 0, 512)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		call, err := DecodeCall(doc, Limits{})
		if err != nil || len(call.Params) != 4 {
			b.Fatal(call, err)
		}
		if out, err = AppendResponse(out[:0], uint64(testPublication)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublishHandler runs the whole representative for that call: decoding, the JSON request,
// the (fake) operation and the answer.
func BenchmarkPublishHandler(b *testing.B) {
	h, inv := newTestHandler(b, Config{})
	inv.result = func(string) (any, error) { return webapp.PublishResponse{Publication: testPublication}, nil }
	doc := string(readSample(b, "publish"))
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/RPC2", strings.NewReader(doc))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<i8>") {
			b.Fatal(rec.Body.String())
		}
	}
}
