package router

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gateway-dev/gateway/internal/auth"
	"github.com/gateway-dev/gateway/internal/config"
	"github.com/gateway-dev/gateway/internal/peer"
	"github.com/gateway-dev/gateway/internal/store"
	"github.com/gateway-dev/gateway/wamp"
	"github.com/gateway-dev/gateway/wamp/codec"
)

// Benchmarks of persistent subscriptions (docs/PERFORMANCE.md). The data directory is in TMPDIR:
// the numbers mean something only on a real disk.

// countConn is a peer.Conn that counts what it is sent and signals when the count reaches want.
// With reportQueue it reports an always-empty queue (a client that reads at once), so a replay is
// not rate-bounded.
type countConn struct {
	nopConn
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (c *countConn) Send([]byte) error {
	if c.n.Add(1) == c.want {
		close(c.done)
	}
	return nil
}

type queueCountConn struct{ *countConn }

func (c *queueCountConn) QueuedBytes() int { return 0 }

// joinConn joins a session over c, presenting token.
func joinConn(b *testing.B, r *Router, c peer.Conn, token string) *Session {
	b.Helper()
	s := r.Accept(c).(*Session)
	s.Receive(encodeMsg(b, codec.JSONSerializer, &wamp.Hello{Realm: "realm1",
		Details: wamp.Dict{"roles": allClientRoles, "authextra": wamp.Dict{"client_token": token}}}))
	if !s.live() {
		b.Fatal("session did not join")
	}
	return s
}

func benchEnv(b *testing.B, dir string, mode store.SyncMode) (*Router, *store.Store, *auth.Tokens) {
	b.Helper()
	opts := StoreOptions(&config.Store{MaxBacklog: 1 << 30}, nil)
	opts.Sync.Mode = mode
	st, err := store.Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	tokens := auth.NewTokens(st, config.ClientToken{Enabled: true})
	r, err := New(Config{Realms: []RealmConfig{{Name: "realm1", Store: st}}, Tokens: tokens, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return r, st, tokens
}

func benchStop(r *Router, st *store.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r.Shutdown(ctx)
	r.Realm("realm1").broker.pers.replays.Wait()
	st.Close()
}

// BenchmarkDurablePublish measures acknowledged publications per second to a topic with a
// persistent subscription whose client is away (each is stored, fsynced in groups, before
// PUBLISHED), with 1, 16 and 64 concurrent publishers; "ordinary" is the same without the
// persistent subscription (no store write).
func BenchmarkDurablePublish(b *testing.B) {
	for _, persistent := range []bool{true, false} {
		for _, pubs := range []int{1, 16, 64} {
			name := fmt.Sprintf("persistent/publishers=%d", pubs)
			if !persistent {
				name = fmt.Sprintf("ordinary/publishers=%d", pubs)
			}
			b.Run(name, func(b *testing.B) {
				r, st, tokens := benchEnv(b, b.TempDir(), store.SyncGroup)
				defer benchStop(r, st)
				if persistent {
					ct, err := tokens.Resolve()
					if err != nil {
						b.Fatal(err)
					}
					s := joinConn(b, r, &nopConn{ser: codec.JSONSerializer, info: peer.Info{RemoteAddr: &net.TCPAddr{}}}, ct.Value)
					s.Receive(encodeMsg(b, codec.JSONSerializer, &wamp.Subscribe{Request: 1, Options: wamp.Dict{"x_persistent": true}, Topic: "bench.durable"}))
					s.Receive(encodeMsg(b, codec.JSONSerializer, &wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrCloseRealm}))
				}
				msg := encodeMsg(b, codec.JSONSerializer, &wamp.Publish{Request: 1, Options: wamp.Dict{"acknowledge": true},
					Topic: "bench.durable", Args: wamp.List{string(make100())}})
				sessions := make([]*Session, pubs)
				for i := range sessions {
					sessions[i] = benchSession(b, r, codec.JSONSerializer)
				}
				var left atomic.Int64
				left.Store(int64(b.N))
				b.ResetTimer()
				var wg sync.WaitGroup
				for _, s := range sessions {
					wg.Go(func() {
						for left.Add(-1) >= 0 {
							s.Receive(msg) // returns once the event is stored and PUBLISHED queued
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

// BenchmarkBacklogReplay measures the time from SUBSCRIBE to the last EVENT of a 100k-event
// backlog (100-byte events) for a returning client; "paced" is a connection that does not report
// its queue, whose replay is bounded to replayRate.
func BenchmarkBacklogReplay(b *testing.B) {
	const backlog = 100000
	for _, paced := range []bool{false, true} {
		name := "fast-client"
		if paced {
			name = "paced"
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			r, st, tokens := benchEnv(b, dir, store.SyncNone)
			id := logID{topic: "bench.backlog", match: matchExact}
			key := r.Realm("realm1").broker.logKey(id)
			payload, err := encodePersisted(&publication{id: 1, topic: id.topic, args: wamp.List{string(make100())}})
			if err != nil {
				b.Fatal(err)
			}
			batch := make([]store.LogAppend, 1000)
			for i := range batch {
				batch[i] = store.LogAppend{Topic: key, Event: store.Event{PublicationID: uint64(i + 1), Codec: persistCodec, Payload: payload}}
			}
			for range backlog / len(batch) {
				if _, err := st.AppendBatch(batch); err != nil {
					b.Fatal(err)
				}
			}
			clients := make([]*auth.ClientToken, b.N)
			for i := range clients {
				if clients[i], err = tokens.Resolve(); err != nil {
					b.Fatal(err)
				}
				k := r.Realm("realm1").broker.subKey(clients[i].ClientID, id)
				if err := st.PutSubscription(store.Subscription{Key: k, Delivered: map[string]uint64{key: 0}}); err != nil {
					b.Fatal(err)
				}
			}
			benchStop(r, st) // restart: the router loads the records
			r, st, _ = benchEnv(b, dir, store.SyncNone)
			defer benchStop(r, st)
			sub := encodeMsg(b, codec.JSONSerializer, &wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: id.topic})
			var total time.Duration
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				cc := &countConn{nopConn: nopConn{ser: codec.JSONSerializer, info: peer.Info{RemoteAddr: &net.TCPAddr{}}}, done: make(chan struct{})}
				var c peer.Conn = &queueCountConn{cc}
				if paced {
					c = cc
				}
				s := joinConn(b, r, c, clients[i].Value)
				cc.n.Store(0) // WELCOME
				cc.want = 1 + backlog
				b.StartTimer()
				start := time.Now()
				s.Receive(sub)
				select {
				case <-cc.done:
				case <-time.After(time.Minute):
					b.Fatal("backlog not delivered within a minute")
				}
				total += time.Since(start)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/100k-backlog")
			b.ReportMetric(float64(b.N*backlog)/total.Seconds(), "events/s")
		})
	}
}
