// Package store is the gateway's embedded durable store: one pebble database in the data
// directory, opened once per process (pebble locks the directory). It keeps client identity
// tokens, one-time tickets, persistent subscriptions, per-topic event logs and retained events.
//
// Every operation returns an error instead of panicking: after Close, after a fatal storage
// error, or on a nil *Store, operations fail with an error that matches ErrUnavailable, so the
// gateway can keep serving live traffic without its durable state.
//
// # Key layout
//
// Every key starts with one byte naming the kind of record, so each kind is a contiguous key
// range that can be scanned or dropped (DeleteRange) without touching the others, and a new
// kind never needs a migration. Variable-length parts are written as a 2-byte big-endian length
// followed by the bytes ("str" below), so no separator byte is reserved and a prefix never
// matches a longer name. Integers are big-endian, so byte order is numeric order. Secrets are
// never stored: tokens and tickets are keyed by SHA-256 of their value ("hash", 32 bytes).
//
//	kind  key                                      value
//	0x00  0x00 "schema"                            uint32 schema version (SchemaVersion)
//	'T'   'T' hash(token)                          client token record (JSON)
//	'A'   'A' str(authid) hash(token)              empty: tokens by last authenticated authid
//	'X'   'X' uint64(expiry unix ns) hash(token)   empty: tokens by expiry, for Sweep
//	'O'   'O' hash(ticket)                         one-time ticket record (JSON)
//	'Y'   'Y' uint64(expiry unix ns) hash(ticket)  empty: tickets by expiry, for Sweep
//
//	'S'   'S' str(owner) str(topic) str(match) str(filter)
//	                                               persistent subscription (JSON: authid,
//	                                               created, last delivered seq per topic)
//	'E'   'E' str(topic) uint64(seq)               event log entry (binary, see encodeEvent);
//	                                               retention drops the oldest with one
//	                                               DeleteRange ['E' topic old, 'E' topic new)
//	'H'   'H' topic                                event log head: uint64 next seq, oldest
//	                                               retained seq, retained bytes, oldest time
//	'R'   'R' topic                                retained event: uint64(seq) encoded event
//
// 'H' and 'R' keys end with the raw topic so that topics can be listed by URI prefix. Event
// logs are named by topic only: a gateway serving several realms passes a topic name that
// includes the realm.
//
// # Event logs and durability
//
// Appends go through one committer goroutine, which assigns per-topic sequence numbers and
// commits concurrent appends as one pebble batch: under the default SyncGroup policy they
// share one fsync and each Append returns once its event is on disk. Retention is applied by
// the committer right after each commit to the topics it touched, before the appends return
// (opportunistic trimming, no timer): it drops the oldest events beyond the count, age or byte
// bound with one DeleteRange, unsynced (a lost trim is redone by the next). Trim applies it to
// a topic that gets no more appends (age bounds); the caller schedules that.
//
// When the store cannot write (closed, failed disk, fatal pebble error) durable writes return
// an error matching ErrUnavailable and never panic; callers must keep live traffic flowing
// (deliver events without sequence numbers) and refuse only what needs durability.
package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// SchemaVersion is the version of the key layout this package writes. A data directory written
// by a newer version is refused rather than misread.
const SchemaVersion = 1

// Errors. Match them with errors.Is.
var (
	// ErrUnavailable: the store is closed, failed, or was never opened.
	ErrUnavailable = errors.New("store unavailable")
	// ErrLocked: another process (or another Store in this process) has the data directory open.
	ErrLocked = errors.New("data directory is locked by another process")
	// ErrPermission: the data directory cannot be created, read or written.
	ErrPermission = errors.New("no permission to use the data directory")
	// ErrCorrupt: the data directory's content is damaged or not a gateway store.
	ErrCorrupt = errors.New("data directory is corrupt")
	// ErrNewerSchema: the data directory was written by a newer gateway.
	ErrNewerSchema = errors.New("data directory was written by a newer gateway version")
	// ErrNotFound: no such token or ticket.
	ErrNotFound = errors.New("not found")
	// ErrExpired: the ticket existed but had expired (it is deleted all the same).
	ErrExpired = errors.New("expired")
	// ErrExists: a record with this key exists already.
	ErrExists = errors.New("already exists")
)

// OpenError explains why Open failed. It matches ErrLocked, ErrPermission, ErrCorrupt or
// ErrNewerSchema (Kind) and the underlying error with errors.Is.
type OpenError struct {
	Dir  string
	Kind error // one of the Err* values above, or nil when the cause is not classified
	Err  error
}

func (e *OpenError) Error() string {
	msg := "store: cannot open data directory " + e.Dir + ": "
	switch e.Kind {
	case ErrLocked:
		return msg + "it is locked by another process (is a gateway already running on it?)"
	case nil:
		return msg + e.Err.Error()
	}
	return msg + e.Kind.Error() + ": " + e.Err.Error()
}

// Unwrap returns the classification and the cause.
func (e *OpenError) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.Err}
	}
	return []error{e.Kind, e.Err}
}

// Options configure Open.
type Options struct {
	// Logger receives pebble's messages (info at debug level); nil discards them.
	Logger *slog.Logger
	// Sync is the durability policy of appends and other durable writes (default: group
	// commit, see SyncPolicy).
	Sync SyncPolicy
	// Retention returns the retention of a topic's event log when none was registered with
	// SetRetention; nil keeps everything.
	Retention func(topic string) Retention
	// MaxSubscriptionsPerClient bounds the persistent subscriptions of one owner; 0 means
	// DefaultMaxSubscriptionsPerClient, negative means no limit.
	MaxSubscriptionsPerClient int

	// wrapFS, in tests, wraps the file system pebble uses (to inject failures).
	wrapFS func(vfs.FS) vfs.FS
}

// Store is an open data directory. Its methods are safe for concurrent use.
type Store struct {
	dir  string
	log  *slog.Logger
	mu   sync.RWMutex // guards db against Close; operations hold it shared
	db   *pebble.DB   // nil once closed
	lock *pebble.Lock
	fsc  io.Closer              // stops the disk-health checker of the file system wrapper
	wmu  sync.Mutex             // serialises read-modify-write updates
	dead atomic.Pointer[string] // set by a fatal pebble error; operations then fail

	policy    SyncPolicy
	com       *committer // sequences and group-commits appends
	maxSubs   int
	retFunc   func(string) Retention
	retMu     sync.RWMutex
	retention map[string]Retention // registered with SetRetention
}

// Open opens (creating if needed) the store in dir. The directory is locked until Close;
// opening it while another process has it open fails with ErrLocked.
func Open(dir string, opts Options) (s *Store, err error) {
	if dir == "" {
		return nil, &OpenError{Dir: dir, Err: errors.New("no directory given")}
	}
	if abs, aerr := filepath.Abs(dir); aerr == nil {
		dir = abs
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, openError(dir, err)
	}
	lock, err := pebble.LockDirectory(dir, vfs.Default)
	if err != nil {
		return nil, openError(dir, err)
	}
	s = &Store{dir: dir, log: log, lock: lock, policy: opts.Sync, retFunc: opts.Retention, maxSubs: opts.MaxSubscriptionsPerClient}
	if s.maxSubs == 0 {
		s.maxSubs = DefaultMaxSubscriptionsPerClient
	}
	// The disk-health wrapper logs writes that stall; pebble would add it too, but could not
	// stop its goroutine when Open fails.
	fsys, fsc := vfs.WithDiskHealthChecks(vfs.Default, 5*time.Second, nil, func(info vfs.DiskSlowInfo) {
		log.Warn("store: slow disk", "path", info.Path, "op", info.OpType.String(), "duration", info.Duration)
	})
	s.fsc = fsc
	if opts.wrapFS != nil {
		fsys = opts.wrapFS(fsys)
	}
	defer func() {
		if r := recover(); r != nil { // pebble reports some corruption by panicking
			err = openError(dir, fmt.Errorf("%w: %v", ErrCorrupt, r))
		}
		if err != nil {
			lock.Close()
			fsc.Close()
			s = nil
		}
	}()
	popts := &pebble.Options{
		FS:                 fsys,
		Lock:               lock,
		Logger:             pebbleLogger{s},
		FormatMajorVersion: pebble.FormatNewest,
	}
	db, err := pebble.Open(dir, popts)
	if err != nil {
		return nil, openError(dir, err)
	}
	s.db = db
	if err := s.checkSchema(); err != nil {
		db.Close()
		return nil, err
	}
	s.com = newCommitter(s, opts.Sync)
	go s.com.run()
	return s, nil
}

// openError classifies an error from creating, locking or opening the directory.
func openError(dir string, err error) error {
	var kind error
	var errno syscall.Errno
	switch {
	case errors.Is(err, ErrCorrupt), errors.Is(err, ErrNewerSchema):
		// already classified; keep the message
		return &OpenError{Dir: dir, Err: err}
	case errors.Is(err, fs.ErrPermission) && isPathError(err):
		kind = ErrPermission
	case errors.As(err, &errno) && (errno == syscall.EAGAIN || errno == syscall.EACCES),
		strings.Contains(err.Error(), "lock held by current process"):
		kind = ErrLocked
	case errors.Is(err, fs.ErrPermission):
		kind = ErrPermission
	case pebble.IsCorruptionError(err):
		kind = ErrCorrupt
	case strings.Contains(err.Error(), "pebble:"):
		// pebble reports unreadable MANIFEST/OPTIONS files and unknown formats with
		// unclassified errors: the directory's content is not a usable store.
		kind = ErrCorrupt
	}
	return &OpenError{Dir: dir, Kind: kind, Err: err}
}

func isPathError(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe)
}

var schemaKey = []byte("\x00schema")

// checkSchema writes the schema version into a new store and refuses newer ones.
func (s *Store) checkSchema() error {
	v, closer, err := s.db.Get(schemaKey)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], SchemaVersion)
		if err := s.db.Set(schemaKey, b[:], pebble.Sync); err != nil {
			return openError(s.dir, err)
		}
		return nil
	case err != nil:
		return openError(s.dir, err)
	}
	defer closer.Close()
	if len(v) != 4 {
		return &OpenError{Dir: s.dir, Kind: ErrCorrupt, Err: fmt.Errorf("bad schema record (%d bytes)", len(v))}
	}
	if got := binary.BigEndian.Uint32(v); got > SchemaVersion {
		return &OpenError{Dir: s.dir, Kind: ErrNewerSchema, Err: fmt.Errorf("schema %d, this gateway understands up to %d", got, SchemaVersion)}
	}
	return nil
}

// Dir returns the absolute path of the data directory.
func (s *Store) Dir() string {
	if s == nil {
		return ""
	}
	return s.dir
}

// Close flushes and closes the store and releases the directory lock. Operations after Close
// fail with ErrUnavailable. Close is idempotent.
func (s *Store) Close() error {
	if s == nil {
		return nil
	}
	if s.com != nil {
		s.com.stop() // before taking mu: the committer's last group holds it shared
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	db := s.db
	s.db = nil
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("store: close: %v", r)
			}
		}()
		return db.Close()
	}()
	if lerr := s.lock.Close(); err == nil && lerr != nil {
		err = lerr
	}
	s.fsc.Close()
	if err != nil {
		return fmt.Errorf("store: close %s: %w", s.dir, err)
	}
	return nil
}

// fatalPanic is what the pebble logger panics with on a fatal error, so the operation that hit
// it can turn it into an error.
type fatalPanic struct{ msg string }

// do runs op with the database, turning "closed", "failed" and pebble panics into errors
// matching ErrUnavailable. what names the operation for messages.
func (s *Store) do(what string, op func(db *pebble.DB) error) (err error) {
	if s == nil {
		return fmt.Errorf("store: %s: %w (not opened)", what, ErrUnavailable)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return fmt.Errorf("store: %s: %w (closed)", what, ErrUnavailable)
	}
	if dead := s.dead.Load(); dead != nil {
		return fmt.Errorf("store: %s: %w (storage failure: %s)", what, ErrUnavailable, *dead)
	}
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(fatalPanic); ok {
				err = fmt.Errorf("store: %s: %w (storage failure: %s)", what, ErrUnavailable, f.msg)
				return
			}
			err = fmt.Errorf("store: %s: %w (%v)", what, ErrUnavailable, r)
		}
	}()
	if err := op(s.db); err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrExpired) || errors.Is(err, ErrExists) || errors.Is(err, ErrLimit) {
			return err
		}
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}

// pebbleLogger sends pebble's messages to slog. A fatal message marks the store failed and
// panics with fatalPanic instead of exiting the process; do recovers it when it happens in an
// operation.
type pebbleLogger struct{ s *Store }

func (l pebbleLogger) Infof(format string, args ...any) {
	l.s.log.Debug("store: " + fmt.Sprintf(format, args...))
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.s.log.Error("store: " + fmt.Sprintf(format, args...))
}

func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.s.log.Error("store: fatal storage error; durable state is unavailable until restart", "err", msg)
	l.s.dead.Store(&msg)
	panic(fatalPanic{msg})
}
