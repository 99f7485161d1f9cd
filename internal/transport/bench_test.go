package transport

import (
	"bufio"
	"encoding/binary"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkFanout measures one message Sent to N WebSocket connections over loopback, with the
// clients reading everything.
func BenchmarkFanout(b *testing.B) {
	const conns = 64
	ts := startServer(b, Config{PingInterval: -1}, newAcceptor(false))
	var got atomic.Int64
	var wg sync.WaitGroup
	sessions := make([]*testSession, conns)
	clients := make([]net.Conn, conns)
	for i := range conns {
		c, _ := dialWS(b, ts.addr, "wamp.2.json")
		clients[i] = c
		sessions[i] = ts.acc.next(b)
		wg.Go(func() {
			br := bufio.NewReaderSize(c, 64<<10)
			for { // zero-allocation frame skipping, so that B/op shows the server's allocations
				h, err := br.Peek(2)
				if err != nil {
					return
				}
				n, skip := int(h[1]&0x7F), 2
				switch n {
				case 126:
					ext, err := br.Peek(4)
					if err != nil {
						return
					}
					n, skip = int(binary.BigEndian.Uint16(ext[2:])), 4
				case 127:
					ext, err := br.Peek(10)
					if err != nil {
						return
					}
					n, skip = int(binary.BigEndian.Uint64(ext[2:])), 10
				}
				if _, err := br.Discard(skip + n); err != nil {
					return
				}
				got.Add(1)
			}
		})
	}
	msg := []byte(`[36,5512315355,4429313566,{},["a payload of about one hundred bytes, roughly the size of a small event"]]`)
	b.SetBytes(int64(len(msg)) * conns)
	b.ReportAllocs()
	var sent int64
	for b.Loop() {
		for _, s := range sessions {
			if err := s.conn.Send(msg); err != nil {
				b.Fatal(err)
			}
		}
		sent += conns
		if sent%(1024*conns) == 0 {
			for got.Load() < sent-256*conns { // keep the queues bounded
				runtime.Gosched()
			}
		}
	}
	for got.Load() < sent {
		runtime.Gosched()
	}
	b.StopTimer()
	b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "deliveries/s")
	for _, c := range clients {
		c.Close()
	}
	wg.Wait()
	ts.shutdown(b)
}
