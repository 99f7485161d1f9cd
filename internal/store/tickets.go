package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Ticket is a one-time ticket: who may authenticate with it, where, and until when. The ticket
// itself is not stored, only its SHA-256.
type Ticket struct {
	Realm     string         `json:"realm"`
	AuthID    string         `json:"authid"`
	AuthRole  string         `json:"authrole"`
	AuthExtra map[string]any `json:"authextra,omitempty"`
	Created   time.Time      `json:"c"`
	Expires   time.Time      `json:"e"`
}

// PutTicket stores a new one-time ticket (fsynced: it is handed out right after). It fails with
// ErrExists if the same ticket value is stored already.
func (s *Store) PutTicket(ticket string, t Ticket) error {
	h := digest(ticket)
	data, err := json.Marshal(&t)
	if err != nil {
		return fmt.Errorf("store: encode ticket: %w", err)
	}
	return s.do("store ticket", func(db *pebble.DB) error {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		if _, closer, err := db.Get(ticketKey(h)); err == nil {
			closer.Close()
			return ErrExists
		} else if !errors.Is(err, pebble.ErrNotFound) {
			return err
		}
		b := db.NewBatch()
		defer b.Close()
		if err := b.Set(ticketKey(h), data, nil); err != nil {
			return err
		}
		if err := b.Set(ticketExpiryKey(t.Expires, h), nil, nil); err != nil {
			return err
		}
		return b.Commit(pebble.Sync)
	})
}

// ConsumeTicket deletes the ticket and returns what it was issued for. Of any number of
// concurrent calls with the same ticket at most one succeeds; the deletion is fsynced before
// it returns, so a ticket is never accepted twice, even across a crash. An unknown (or already
// used) ticket gives ErrNotFound; an expired one is deleted and gives ErrExpired.
func (s *Store) ConsumeTicket(ticket string, now time.Time) (Ticket, error) {
	h := digest(ticket)
	var t Ticket
	err := s.do("consume ticket", func(db *pebble.DB) error {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		v, closer, err := db.Get(ticketKey(h))
		if errors.Is(err, pebble.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		derr := decodeJSON(v, &t)
		closer.Close()
		b := db.NewBatch()
		defer b.Close()
		if err := b.Delete(ticketKey(h), nil); err != nil {
			return err
		}
		if derr == nil {
			if err := b.Delete(ticketExpiryKey(t.Expires, h), nil); err != nil {
				return err
			}
		}
		if err := b.Commit(pebble.Sync); err != nil {
			return err
		}
		if derr != nil {
			return fmt.Errorf("corrupt ticket record: %w", derr)
		}
		if t.AuthExtra != nil {
			normalize(t.AuthExtra)
		}
		if !now.Before(t.Expires) {
			return ErrExpired
		}
		return nil
	})
	if err != nil {
		return Ticket{}, err
	}
	return t, nil
}

// SweepTickets deletes the tickets that expired before now and returns how many.
func (s *Store) SweepTickets(now time.Time) (int, error) {
	n := 0
	err := s.do("sweep tickets", func(db *pebble.DB) error {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		lower := []byte{kindTicketExp}
		upper := appendTime([]byte{kindTicketExp}, now)
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
		if err != nil {
			return err
		}
		b := db.NewBatch()
		defer b.Close()
		for it.First(); it.Valid(); it.Next() {
			k := it.Key()
			if len(k) != 1+8+hashLen {
				continue
			}
			var h [hashLen]byte
			copy(h[:], k[9:])
			if err := b.Delete(ticketKey(h), nil); err != nil {
				it.Close()
				return err
			}
			if err := b.Delete(k, nil); err != nil {
				it.Close()
				return err
			}
			n++
		}
		if err := it.Close(); err != nil {
			return err
		}
		return b.Commit(noSync)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Sweep deletes expired tokens and tickets.
func (s *Store) Sweep(now time.Time) (tokens, tickets int, err error) {
	tokens, err = s.SweepTokens(now)
	if err != nil {
		return tokens, 0, err
	}
	tickets, err = s.SweepTickets(now)
	return tokens, tickets, err
}

// SweepEvery calls Sweep every interval until ctx is done, logging failures and what it
// removed. Run it in its own goroutine; it returns when ctx is done.
func (s *Store) SweepEvery(ctx context.Context, interval time.Duration) {
	if s == nil {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			tokens, tickets, err := s.Sweep(now)
			if err != nil {
				s.log.Warn("store: sweep of expired tokens and tickets failed", "err", err)
			} else if tokens+tickets > 0 {
				s.log.Debug("store: swept expired records", "tokens", tokens, "tickets", tickets)
			}
		}
	}
}
