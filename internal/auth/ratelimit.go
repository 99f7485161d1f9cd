package auth

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// maxTrackedAddrs bounds the limiter's memory: beyond it, addresses whose budget is full again
// are forgotten first, then arbitrary ones.
const maxTrackedAddrs = 1 << 16

// Limiter throttles failed authentications per remote address with a token bucket: an address
// has a budget of maxFailures failures, refilled continuously over window (one failure's worth
// every window/maxFailures). While the budget is below one failure, authentication attempts
// from the address are refused with wamp.error.not_authorized. Successes do not refill it.
//
// IPv4 addresses count one by one, IPv6 addresses per /64 network (one host usually has a whole
// /64). Connections over Unix sockets are not limited (they come from the same host). Behind a
// reverse proxy every client has the proxy's address, so the limit applies to all together.
//
// A nil *Limiter allows everything. Its methods are safe for concurrent use.
type Limiter struct {
	burst  float64
	per    time.Duration // time to regain one failure
	now    func() time.Time
	mu     sync.Mutex
	bucket map[netip.Prefix]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewLimiter returns a limiter allowing maxFailures failures per window and address, or nil
// (no limit) when maxFailures is 0.
func NewLimiter(maxFailures int, window time.Duration) *Limiter {
	if maxFailures <= 0 || window <= 0 {
		return nil
	}
	return &Limiter{
		burst:  float64(maxFailures),
		per:    window / time.Duration(maxFailures),
		now:    time.Now,
		bucket: map[netip.Prefix]*bucket{},
	}
}

// addrKey returns the key an address is counted under; false for addresses that are not limited.
func addrKey(addr net.Addr) (netip.Prefix, bool) {
	var ap netip.AddrPort
	switch a := addr.(type) {
	case *net.TCPAddr:
		ap = a.AddrPort()
	case nil:
		return netip.Prefix{}, false
	default:
		p, err := netip.ParseAddrPort(addr.String())
		if err != nil {
			return netip.Prefix{}, false // Unix sockets and the like
		}
		ap = p
	}
	ip := ap.Addr().Unmap()
	if !ip.IsValid() {
		return netip.Prefix{}, false
	}
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p, true
}

// refill brings b up to date at now and returns its budget.
func (l *Limiter) refill(b *bucket, now time.Time) float64 {
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(l.burst, b.tokens+float64(el)/float64(l.per))
		b.last = now
	}
	return b.tokens
}

// Allow reports whether addr may try to authenticate now, and if not, how long until it may.
func (l *Limiter) Allow(addr net.Addr) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	key, ok := addrKey(addr)
	if !ok {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket[key]
	if b == nil {
		return true, 0
	}
	t := l.refill(b, l.now())
	if t >= 1 {
		return true, 0
	}
	wait := time.Duration((1 - t) * float64(l.per))
	return false, max(wait, time.Second).Round(time.Second)
}

// Failure records a failed authentication from addr.
func (l *Limiter) Failure(addr net.Addr) {
	if l == nil {
		return
	}
	key, ok := addrKey(addr)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.bucket[key]
	if b == nil {
		if len(l.bucket) >= maxTrackedAddrs {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.bucket[key] = b
	}
	l.refill(b, now)
	b.tokens = max(b.tokens-1, 0)
}

// evict forgets addresses whose budget is full; if none is, an arbitrary eighth of them.
func (l *Limiter) evict(now time.Time) {
	for k, b := range l.bucket {
		if l.refill(b, now) >= l.burst {
			delete(l.bucket, k)
		}
	}
	n := len(l.bucket) / 8
	for k := range l.bucket {
		if len(l.bucket) < maxTrackedAddrs || n == 0 {
			break
		}
		delete(l.bucket, k)
		n--
	}
}

// Tracked returns the number of addresses with a recent failure (for metrics and tests).
func (l *Limiter) Tracked() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.bucket)
}
