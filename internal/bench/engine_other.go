//go:build !linux

package bench

import "errors"

func newEpollEngine() (engine, error) {
	return nil, errors.New("the epoll reader engine needs Linux; use the goroutine engine")
}
