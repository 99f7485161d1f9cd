package httpauth

import (
	"crypto/sha256"
	"errors"
	"sync"
	"time"
)

var (
	errReplayed  = errors.New("nonce already used")
	errCacheFull = errors.New("replay cache full")
)

// nonceKey identifies a (key id, nonce) pair: a truncated SHA-256 of both, so that an entry costs
// the same whatever the nonce's length.
type nonceKey [16]byte

// replayEntry is a remembered nonce and when it may be forgotten (unix nanoseconds).
type replayEntry struct {
	expires int64
	key     nonceKey
}

// replayCache remembers the nonces of accepted signed requests until their timestamp leaves the
// window (after which the timestamp check refuses a replay anyway). It holds at most max entries.
type replayCache struct {
	mu   sync.Mutex
	seen map[nonceKey]struct{}
	heap []replayEntry // min-heap on expires
	max  int
}

func newReplayCache(max int) *replayCache {
	return &replayCache{seen: make(map[nonceKey]struct{}), max: max}
}

// add records nonce under keyID until expires, first dropping the entries that expired before now.
// It returns errReplayed if the pair is already recorded, errCacheFull if max unexpired entries are.
func (rc *replayCache) add(keyID, nonce string, expires, now time.Time) error {
	k := makeNonceKey(keyID, nonce)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.expire(now.UnixNano())
	if _, dup := rc.seen[k]; dup {
		return errReplayed
	}
	if len(rc.heap) >= rc.max {
		return errCacheFull
	}
	rc.seen[k] = struct{}{}
	rc.push(replayEntry{expires: expires.UnixNano(), key: k})
	return nil
}

// len returns the number of remembered nonces.
func (rc *replayCache) len() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.heap)
}

// makeNonceKey hashes nonce and keyID. A NUL separates them: nonces are printable ASCII, so the
// pair is unambiguous whatever the key id holds.
func makeNonceKey(keyID, nonce string) nonceKey {
	var buf [384]byte
	b := append(buf[:0], nonce...)
	b = append(b, 0)
	b = append(b, keyID...)
	sum := sha256.Sum256(b)
	var k nonceKey
	copy(k[:], sum[:])
	return k
}

// expire drops the entries that expired before now (unix nanoseconds).
func (rc *replayCache) expire(now int64) {
	for len(rc.heap) > 0 && rc.heap[0].expires < now {
		delete(rc.seen, rc.heap[0].key)
		rc.pop()
	}
	if len(rc.heap) == 0 && cap(rc.heap) > 1024 {
		rc.heap = nil // give back the memory of a past burst
		rc.seen = make(map[nonceKey]struct{})
	}
}

// push adds e to the heap.
func (rc *replayCache) push(e replayEntry) {
	rc.heap = append(rc.heap, e)
	i := len(rc.heap) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if rc.heap[parent].expires <= rc.heap[i].expires {
			break
		}
		rc.heap[parent], rc.heap[i] = rc.heap[i], rc.heap[parent]
		i = parent
	}
}

// pop removes the heap's first (earliest-expiring) entry.
func (rc *replayCache) pop() {
	last := len(rc.heap) - 1
	rc.heap[0] = rc.heap[last]
	rc.heap = rc.heap[:last]
	i := 0
	for {
		smallest, l, r := i, 2*i+1, 2*i+2
		if l < last && rc.heap[l].expires < rc.heap[smallest].expires {
			smallest = l
		}
		if r < last && rc.heap[r].expires < rc.heap[smallest].expires {
			smallest = r
		}
		if smallest == i {
			return
		}
		rc.heap[i], rc.heap[smallest] = rc.heap[smallest], rc.heap[i]
		i = smallest
	}
}
