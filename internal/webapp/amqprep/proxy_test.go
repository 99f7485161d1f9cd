package amqprep

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// faultProxy forwards TCP connections to the broker and can cut them all and refuse new ones, to
// make the broker vanish for this test's clients only (other tests keep using the shared broker).
type faultProxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu      sync.Mutex
	refuse  bool
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
	closing bool
}

// newFaultProxy listens on a random loopback port in front of the test broker.
func newFaultProxy(t *testing.T) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{t: t, ln: ln, target: brokerHost(), conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// brokerHost is host:port of the test broker's URL.
func brokerHost() string {
	u := brokerURL()
	rest := u[strings.Index(u, "://")+3:]
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest = rest[i+1:]
	}
	if i := strings.Index(rest, "/"); i >= 0 {
		rest = rest[:i]
	}
	if !strings.Contains(rest, ":") {
		rest += ":5672"
	}
	return rest
}

// url is the broker URL through the proxy.
func (p *faultProxy) url() string {
	return strings.Replace(brokerURL(), brokerHost(), p.ln.Addr().String(), 1)
}

// cut closes every forwarded connection and refuses new ones until restore.
func (p *faultProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = true
	for c := range p.conns {
		_ = c.Close()
	}
}

// restore accepts connections again.
func (p *faultProxy) restore() {
	p.mu.Lock()
	p.refuse = false
	p.mu.Unlock()
}

func (p *faultProxy) close() {
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	_ = p.ln.Close()
	p.cut()
	p.wg.Wait()
}

func (p *faultProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.refuse || p.closing {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.mu.Unlock()
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

// pipe copies src to dst; when either side ends, both are closed.
func (p *faultProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}
