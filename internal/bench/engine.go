package bench

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

// Reader engines.
const (
	EngineEpoll     = "epoll"     // one epoll loop reads every subscriber (Linux; the default there)
	EngineGoroutine = "goroutine" // one goroutine per subscriber connection
)

// handler receives the messages of one connection from an engine, one call at a time.
type handler interface {
	// message handles one WAMP message received at now (unix ns); b is valid during the call.
	// Returning false stops reading the connection and closes it.
	message(b []byte, now int64) bool
	// failed reports that the connection broke (not closed on purpose).
	failed(err error)
}

// engine reads many connections and hands their messages to handlers.
type engine interface {
	// add starts reading c, beginning with the bytes it already holds.
	add(c *conn, h handler) error
	// remove stops reading c and closes it.
	remove(c *conn)
	// close closes every connection still read and waits until reading has stopped.
	close()
}

// newEngine returns the named engine ("" picks epoll on Linux, else goroutines).
func newEngine(name string) (engine, error) {
	switch name {
	case "":
		if runtime.GOOS == "linux" {
			return newEpollEngine()
		}
		return newGoEngine(), nil
	case EngineEpoll:
		return newEpollEngine()
	case EngineGoroutine:
		return newGoEngine(), nil
	}
	return nil, fmt.Errorf("unknown reader engine %q (epoll or goroutine)", name)
}

// goEngine reads each connection with its own goroutine and blocking reads.
type goEngine struct {
	mu    sync.Mutex
	conns map[*conn]struct{}
	wg    sync.WaitGroup
}

func newGoEngine() *goEngine { return &goEngine{conns: make(map[*conn]struct{})} }

func (e *goEngine) add(c *conn, h handler) error {
	e.mu.Lock()
	e.conns[c] = struct{}{}
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			b, err := c.readMessage()
			if err != nil {
				if !c.closing.Load() {
					h.failed(err)
				}
				return
			}
			if !h.message(b, time.Now().UnixNano()) {
				c.close()
				return
			}
		}
	}()
	return nil
}

func (e *goEngine) remove(c *conn) {
	e.mu.Lock()
	delete(e.conns, c)
	e.mu.Unlock()
	c.close()
}

func (e *goEngine) close() {
	e.mu.Lock()
	for c := range e.conns {
		c.close()
	}
	clear(e.conns)
	e.mu.Unlock()
	e.wg.Wait()
}
