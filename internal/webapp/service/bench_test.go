package service_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/gateway-dev/gateway/internal/router"
	"github.com/gateway-dev/gateway/internal/webapp/service"
)

// BenchmarkPublish is one web-app publish through the Service (decoding, validation, the router's
// PUBLISH path) with no subscriber: the gateway's share of a representative's publish.
func BenchmarkPublish(b *testing.B) {
	r, err := router.New(router.Config{Realms: []router.RealmConfig{{Name: "realm1"}}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	svc, err := service.New(service.Config{Router: r, Realm: "realm1", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		svc.Close()
		r.Shutdown(context.Background())
	}()
	body := []byte(`{"topic": "com.example.orders", "args": ["` + string(make([]byte, 0)) + `order 42 was created by alice at noon, 100 bytes of payload for the benchmark"], "kwargs": {"order": 42, "amount": 19.99, "tags": ["a", "b"]}, "options": {"eligible_authid": ["alice"]}}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Invoke(ctx, "publish", body); err != nil {
			b.Fatal(err)
		}
	}
}
