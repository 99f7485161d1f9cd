package store

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAppend measures appends/s of 100-byte events to one topic for each sync policy,
// with 1 and 64 concurrent appenders. Set the data directory's file system with TMPDIR: the
// numbers mean something only on a real disk, not on tmpfs.
func BenchmarkAppend(b *testing.B) {
	policies := []struct {
		name string
		p    SyncPolicy
	}{
		{"group", SyncPolicy{Mode: SyncGroup}},
		{"group-2ms", SyncPolicy{Mode: SyncGroup, Window: 2 * time.Millisecond}},
		{"always", SyncPolicy{Mode: SyncAlways}},
		{"none", SyncPolicy{Mode: SyncNone}},
	}
	for _, pol := range policies {
		for _, conc := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/%d", pol.name, conc), func(b *testing.B) {
				s, err := Open(b.TempDir(), Options{Sync: pol.p})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				e := Event{PublicationID: 1, Codec: "json", Payload: make([]byte, 100), Time: time.Now()}
				var left atomic.Int64
				left.Store(int64(b.N))
				b.ResetTimer()
				var wg sync.WaitGroup
				for range conc {
					wg.Go(func() {
						for left.Add(-1) >= 0 {
							if _, err := s.Append("bench", e); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
				b.ReportMetric(float64(b.N)/float64(max(1, s.com.commits.Load())), "appends/commit")
			})
		}
	}
}
