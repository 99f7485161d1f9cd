package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// ClientToken is the stored state of a client identity token. The token itself is not stored,
// only its SHA-256.
type ClientToken struct {
	// ClientID identifies the client across connections (shown in session details).
	ClientID string    `json:"cid"`
	Created  time.Time `json:"c"`
	// Expires is when the token stops being recognised.
	Expires time.Time `json:"e"`
	// Revoked tokens are never recognised again.
	Revoked bool `json:"r,omitempty"`
	// Identity is the client's last authentication with a credential (not cookie or
	// anonymous); nil before the first.
	Identity *Identity `json:"id,omitempty"`
}

// Identity is an authentication remembered with a client token (for the cookie method).
type Identity struct {
	Realm        string         `json:"realm"`
	AuthID       string         `json:"authid"`
	AuthRole     string         `json:"authrole"`
	AuthMethod   string         `json:"authmethod"`
	AuthProvider string         `json:"authprovider"`
	AuthExtra    map[string]any `json:"authextra,omitempty"`
	// At is when the client authenticated.
	At time.Time `json:"at"`
}

// Writes of tokens are not fsynced: losing the last ones in a power failure only means those
// clients get fresh tokens. Revocations are fsynced.
var noSync = pebble.NoSync

// getToken reads the record of token hash h.
func getToken(db *pebble.DB, h [hashLen]byte) (ClientToken, error) {
	var t ClientToken
	v, closer, err := db.Get(tokenKey(h))
	if errors.Is(err, pebble.ErrNotFound) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, err
	}
	defer closer.Close()
	if err := decodeJSON(v, &t); err != nil {
		return t, fmt.Errorf("corrupt token record: %w", err)
	}
	if t.Identity != nil && t.Identity.AuthExtra != nil {
		normalize(t.Identity.AuthExtra)
	}
	return t, nil
}

// putToken writes t under h into b, keeping the indexes in step with the previous record old
// (nil for a new token).
func putToken(b *pebble.Batch, h [hashLen]byte, t *ClientToken, old *ClientToken) error {
	data, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode token record: %w", err)
	}
	if err := b.Set(tokenKey(h), data, nil); err != nil {
		return err
	}
	if old == nil || !old.Expires.Equal(t.Expires) {
		if old != nil {
			if err := b.Delete(tokenExpiryKey(old.Expires, h), nil); err != nil {
				return err
			}
		}
		if err := b.Set(tokenExpiryKey(t.Expires, h), nil, nil); err != nil {
			return err
		}
	}
	oldID, newID := "", ""
	if old != nil && old.Identity != nil {
		oldID = old.Identity.AuthID
	}
	if t.Identity != nil {
		newID = t.Identity.AuthID
	}
	if oldID != newID || old == nil {
		if oldID != "" {
			if err := b.Delete(tokenAuthIDKey(oldID, h), nil); err != nil {
				return err
			}
		}
		if newID != "" {
			if err := b.Set(tokenAuthIDKey(newID, h), nil, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteToken removes t (stored under h) and its index entries into b.
func deleteToken(b *pebble.Batch, h [hashLen]byte, t *ClientToken) error {
	if err := b.Delete(tokenKey(h), nil); err != nil {
		return err
	}
	if err := b.Delete(tokenExpiryKey(t.Expires, h), nil); err != nil {
		return err
	}
	if t.Identity != nil && t.Identity.AuthID != "" {
		return b.Delete(tokenAuthIDKey(t.Identity.AuthID, h), nil)
	}
	return nil
}

// CreateToken stores a new token. It fails with ErrExists if the token is known already.
func (s *Store) CreateToken(token string, t ClientToken) error {
	h := digest(token)
	return s.do("create token", func(db *pebble.DB) error {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		if _, err := getToken(db, h); err == nil {
			return ErrExists
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		b := db.NewBatch()
		defer b.Close()
		if err := putToken(b, h, &t, nil); err != nil {
			return err
		}
		return b.Commit(noSync)
	})
}

// Token returns the record of token; ErrNotFound when it is unknown (or was swept). Expired
// and revoked records are returned as they are: the caller decides.
func (s *Store) Token(token string) (ClientToken, error) {
	h := digest(token)
	var t ClientToken
	err := s.do("read token", func(db *pebble.DB) error {
		var err error
		t, err = getToken(db, h)
		return err
	})
	return t, err
}

// update applies change to the record of token under the write lock. sync selects fsync.
func (s *Store) update(what, token string, sync bool, change func(t *ClientToken)) error {
	h := digest(token)
	return s.do(what, func(db *pebble.DB) error {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		old, err := getToken(db, h)
		if err != nil {
			return err
		}
		t := old
		change(&t)
		b := db.NewBatch()
		defer b.Close()
		if err := putToken(b, h, &t, &old); err != nil {
			return err
		}
		opts := noSync
		if sync {
			opts = pebble.Sync
		}
		return b.Commit(opts)
	})
}

// RefreshToken sets the expiry of token.
func (s *Store) RefreshToken(token string, expires time.Time) error {
	return s.update("refresh token", token, false, func(t *ClientToken) { t.Expires = expires })
}

// SetTokenIdentity records the identity the token's client authenticated as.
func (s *Store) SetTokenIdentity(token string, id Identity) error {
	return s.update("remember identity", token, false, func(t *ClientToken) { t.Identity = &id })
}

// RevokeToken marks token revoked: it is never recognised again.
func (s *Store) RevokeToken(token string) error {
	return s.update("revoke token", token, true, func(t *ClientToken) { t.Revoked = true })
}

// RevokeAuthID revokes every token whose last authenticated identity has this authid (in any
// realm) and returns how many it revoked.
func (s *Store) RevokeAuthID(authid string) (int, error) {
	n := 0
	err := s.do("revoke tokens by authid", func(db *pebble.DB) error {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		prefix := tokenAuthIDPrefix(authid)
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
		if err != nil {
			return err
		}
		var hashes [][hashLen]byte
		for it.First(); it.Valid(); it.Next() {
			k := it.Key()
			if len(k) != len(prefix)+hashLen {
				continue // a longer authid sharing the prefix cannot happen (length-prefixed)
			}
			var h [hashLen]byte
			copy(h[:], k[len(prefix):])
			hashes = append(hashes, h)
		}
		if err := it.Close(); err != nil {
			return err
		}
		b := db.NewBatch()
		defer b.Close()
		for _, h := range hashes {
			old, err := getToken(db, h)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if old.Revoked || old.Identity == nil || old.Identity.AuthID != authid {
				continue
			}
			t := old
			t.Revoked = true
			if err := putToken(b, h, &t, &old); err != nil {
				return err
			}
			n++
		}
		return b.Commit(pebble.Sync)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// SweepTokens deletes the tokens that expired before now and returns how many.
func (s *Store) SweepTokens(now time.Time) (int, error) {
	n := 0
	err := s.do("sweep tokens", func(db *pebble.DB) error {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		lower := []byte{kindTokenExpiry}
		upper := appendTime([]byte{kindTokenExpiry}, now)
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
		if err != nil {
			return err
		}
		var hashes [][hashLen]byte
		for it.First(); it.Valid(); it.Next() {
			k := it.Key()
			if len(k) != 1+8+hashLen {
				continue
			}
			var h [hashLen]byte
			copy(h[:], k[9:])
			hashes = append(hashes, h)
		}
		if err := it.Close(); err != nil {
			return err
		}
		b := db.NewBatch()
		defer b.Close()
		for _, h := range hashes {
			t, err := getToken(db, h)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if !t.Expires.Before(now) {
				continue
			}
			if err := deleteToken(b, h, &t); err != nil {
				return err
			}
			n++
		}
		return b.Commit(noSync)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
