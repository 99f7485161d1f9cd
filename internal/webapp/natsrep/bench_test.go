package natsrep

import (
	"testing"
	"time"
)

// BenchmarkNATSPublish measures publish requests answered per second through an embedded NATS
// server (one client connection, 16 requesters per CPU in parallel) with a fake Invoker.
func BenchmarkNATSPublish(b *testing.B) {
	s := runServer(b, nil)
	startRep(b, s, &fakeInvoker{}, Config{})
	nc := client(b, s)
	body := []byte(`{"topic":"bench.topic","args":[1,2,3]}`)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := nc.Request("gateway.api.publish", body, 5*time.Second); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
