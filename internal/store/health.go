package store

import "github.com/cockroachdb/pebble/v2"

// Health reports whether the store accepts durable writes: nil, or an error matching
// ErrUnavailable that says why (closed, storage failure, not opened).
func (s *Store) Health() error {
	return s.do("health check", func(*pebble.DB) error { return nil })
}
