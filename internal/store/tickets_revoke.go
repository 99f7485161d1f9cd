package store

import (
	"encoding/json"

	"github.com/cockroachdb/pebble/v2"
)

// RevokeTickets deletes every unused one-time ticket issued for authid on realm ("" for every
// realm) and returns how many. The deletion is fsynced: a revoked ticket is never accepted
// afterwards, even across a crash.
func (s *Store) RevokeTickets(realm, authid string) (int, error) {
	n := 0
	err := s.do("revoke tickets", func(db *pebble.DB) error {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{kindTicket}, UpperBound: []byte{kindTicket + 1}})
		if err != nil {
			return err
		}
		b := db.NewBatch()
		defer b.Close()
		for it.First(); it.Valid(); it.Next() {
			var t Ticket
			if json.Unmarshal(it.Value(), &t) != nil || t.AuthID != authid || (realm != "" && t.Realm != realm) {
				continue
			}
			k := it.Key()
			if len(k) != 1+hashLen {
				continue
			}
			var h [hashLen]byte
			copy(h[:], k[1:])
			if err := b.Delete(ticketKey(h), nil); err != nil {
				it.Close()
				return err
			}
			if err := b.Delete(ticketExpiryKey(t.Expires, h), nil); err != nil {
				it.Close()
				return err
			}
			n++
		}
		if err := it.Close(); err != nil {
			return err
		}
		return b.Commit(pebble.Sync)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
