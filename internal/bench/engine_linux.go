package bench

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// epollEngine reads every connection from one goroutine: a level-triggered epoll set whose own
// descriptor waits in Go's network poller, so the loop parks like any goroutine. A ready
// connection costs one read(2), which may carry several messages; the goroutine engine needs a
// second read that returns EAGAIN plus a goroutine switch per message, which doubled the load
// client's CPU per delivery when each connection gets one message at a time.
type epollEngine struct {
	file *os.File // the epoll descriptor
	rc   syscall.RawConn
	epfd int
	done chan struct{}

	mu    sync.Mutex
	slots []*epSlot
	free  []int32
}

// epSlot is a connection registered with the engine. The epoll event carries the slot index and
// generation, so that an event for a connection already removed is ignored.
type epSlot struct {
	mu   sync.Mutex // held while the connection is read, and to remove it
	c    *conn
	h    handler
	fd   int
	gen  int32
	open bool
}

func newEpollEngine() (engine, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("epoll: %w", err)
	}
	f := os.NewFile(uintptr(fd), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("epoll: %w", err)
	}
	e := &epollEngine{file: f, rc: rc, epfd: fd, done: make(chan struct{})}
	go e.loop()
	return e, nil
}

// rawFD returns the descriptor of a TCP connection.
func rawFD(c *conn) (int, error) {
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return -1, errors.New("epoll engine: connection has no file descriptor")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return -1, err
	}
	return fd, nil
}

func (e *epollEngine) add(c *conn, h handler) error {
	fd, err := rawFD(c)
	if err != nil {
		return err
	}
	// Messages that arrived with the set-up replies.
	now := time.Now().UnixNano()
	for {
		p, ok, err := c.nextMessage()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if !h.message(p, now) {
			c.close()
			return nil
		}
	}
	e.mu.Lock()
	var idx int32
	if n := len(e.free); n > 0 {
		idx, e.free = e.free[n-1], e.free[:n-1]
	} else {
		idx = int32(len(e.slots))
		e.slots = append(e.slots, &epSlot{})
	}
	s := e.slots[idx]
	e.mu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.c, s.h, s.fd, s.open = c, h, fd, true
	c.slot = int(idx)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: idx, Pad: s.gen}
	if err := syscall.EpollCtl(e.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		s.open = false
		e.release(idx)
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	return nil
}

func (e *epollEngine) release(idx int32) {
	e.mu.Lock()
	e.free = append(e.free, idx)
	e.mu.Unlock()
}

// dropLocked unregisters and closes the slot's connection; s.mu is held.
func (e *epollEngine) dropLocked(s *epSlot) {
	if !s.open {
		return
	}
	syscall.EpollCtl(e.epfd, syscall.EPOLL_CTL_DEL, s.fd, nil)
	s.open = false
	s.c.close()
	e.release(int32(s.c.slot))
}

func (e *epollEngine) remove(c *conn) {
	e.mu.Lock()
	var s *epSlot
	if c.slot >= 0 && c.slot < len(e.slots) {
		s = e.slots[c.slot]
	}
	e.mu.Unlock()
	if s != nil {
		s.mu.Lock()
		if s.c == c {
			e.dropLocked(s)
		}
		s.mu.Unlock()
	}
	c.close()
}

func (e *epollEngine) close() {
	e.file.Close() // ends the loop
	<-e.done
	e.mu.Lock()
	slots := e.slots
	e.mu.Unlock()
	for _, s := range slots {
		s.mu.Lock()
		if s.open {
			s.open = false
			s.c.close()
		}
		s.mu.Unlock()
	}
}

func (e *epollEngine) loop() {
	defer close(e.done)
	events := make([]syscall.EpollEvent, 256)
	for {
		var n int
		err := e.rc.Read(func(fd uintptr) bool {
			var werr error
			n, werr = syscall.EpollWait(int(fd), events, 0)
			if werr != nil {
				n = 0
				return true // EINTR: try again
			}
			return n > 0 // none ready: park until the epoll descriptor is readable
		})
		if err != nil {
			return // closed
		}
		for i := range events[:n] {
			ev := &events[i]
			e.mu.Lock()
			s := e.slots[ev.Fd]
			e.mu.Unlock()
			s.mu.Lock()
			if s.open && s.gen == ev.Pad {
				e.service(s)
			}
			s.mu.Unlock()
		}
	}
}

// service reads a ready connection once and hands over every complete message; s.mu is held.
func (e *epollEngine) service(s *epSlot) {
	c := s.c
	c.makeRoom()
	n, err := syscall.Read(s.fd, c.rbuf[c.rend:])
	if n > 0 {
		c.rend += n
		now := time.Now().UnixNano()
		for {
			p, ok, perr := c.nextMessage()
			if perr != nil {
				e.fail(s, perr)
				return
			}
			if !ok {
				return
			}
			if !s.h.message(p, now) {
				e.dropLocked(s)
				return
			}
		}
	}
	switch {
	case err == syscall.EAGAIN || err == syscall.EINTR:
		return
	case err == nil: // n == 0: end of stream
		err = io.EOF
	}
	e.fail(s, err)
}

func (e *epollEngine) fail(s *epSlot, err error) {
	closing := s.c.closing.Load()
	e.dropLocked(s)
	if !closing {
		s.h.failed(err)
	}
}
