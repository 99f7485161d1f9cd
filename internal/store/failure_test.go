package store

import (
	"errors"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// TestFailingDiskRefusesDurableWrites simulates a disk that stops accepting writes (full or
// failed): durable writes fail with an error, nothing panics or hangs, and reads of what was
// written before are refused too: pebble treats a failed commit as fatal, so the store stays
// unavailable until the gateway restarts on a healthy disk.
func TestFailingDiskRefusesDurableWrites(t *testing.T) {
	toggle := &errorfs.Toggle{Injector: errorfs.ErrInjected.If(errorfs.Writes)}
	s := openOpts(t, t.TempDir(), Options{wrapFS: func(fs vfs.FS) vfs.FS { return errorfs.Wrap(fs, toggle) }})
	for i := 1; i <= 5; i++ {
		mustAppend(t, s, "f", ev(i))
	}
	k := SubKey{Owner: "c", Topic: "f", Match: "exact"}
	if err := s.PutSubscription(Subscription{Key: k}); err != nil {
		t.Fatal(err)
	}
	toggle.On()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = s.Append("f", ev(10+i)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			t.Errorf("append %d on a failing disk succeeded", i)
		} else if !errors.Is(err, ErrUnavailable) {
			t.Errorf("append %d on a failing disk: %v, want ErrUnavailable", i, err)
		}
	}
	t.Log(errs[0])
	if err := s.Ack(k, 3); err == nil {
		t.Error("Ack on a failing disk succeeded")
	}
	if err := s.Retain("f", StoredEvent{Seq: 1}); err == nil {
		t.Error("Retain on a failing disk succeeded")
	}
	if _, err := s.Range("f", 1, 0); !errors.Is(err, ErrUnavailable) {
		t.Errorf("read after a fatal write error: %v", err)
	}
	toggle.Off()
	if _, err := s.Append("f", ev(1)); !errors.Is(err, ErrUnavailable) {
		t.Errorf("append after the disk recovered, before a restart: %v", err)
	}
	s.Close() // must not hang or panic; its error is not interesting here
}
