package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

// RevokeFamily implements storage.TokenState. The record is deleted, not
// only covered by the family's mark: the mark is kept for
// storage.MaxAccessTokenTTL, and a refresh record may live far longer.
func (s *TokenState) RevokeFamily(_ context.Context, familyID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.families[familyID] = now.Add(storage.MaxAccessTokenTTL)
	if id, ok := s.byFamily[familyID]; ok {
		if r, ok := s.refresh[id]; ok && r.FamilyID == familyID {
			s.dropRefresh(id, r)
		}
		delete(s.byFamily, familyID)
	}
	return nil
}

// entry is a PutEntry value; spent once TakeEntry took it.
type entry struct {
	value []byte
	exp   time.Time
	spent bool
}

func (e entry) live(now time.Time) bool { return now.Before(e.exp) }

// cloneBytes copies b, never returning nil, so that an empty value reads
// back as an empty value, as it does from Redis.
func cloneBytes(b []byte) []byte { return append([]byte{}, b...) }

// PutEntry implements storage.TokenState.
func (s *TokenState) PutEntry(_ context.Context, key string, value []byte, exp time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweep(now)
	s.entries[key] = entry{value: cloneBytes(value), exp: exp}
	return nil
}

// GetEntry implements storage.TokenState. A spent entry is kept only for
// TakeEntry to name what it was spent on; to GetEntry it is gone.
func (s *TokenState) GetEntry(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok || !e.live(s.now()) || e.spent {
		return nil, fmt.Errorf("entry: %w", storage.ErrNotFound)
	}
	return cloneBytes(e.value), nil
}

// DeleteEntry implements storage.TokenState.
func (s *TokenState) DeleteEntry(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.entries, key)
	return nil
}

// TakeEntry implements storage.TokenState under the lock.
func (s *TokenState) TakeEntry(_ context.Context, key string, spentUntil time.Time) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok || !e.live(s.now()) {
		return nil, false, fmt.Errorf("entry: %w", storage.ErrNotFound)
	}
	if e.spent {
		return cloneBytes(e.value), false, nil
	}
	e.spent = true
	if spentUntil.After(e.exp) {
		e.exp = spentUntil
	}
	s.entries[key] = e
	return cloneBytes(e.value), true, nil
}

// errEmptyFamily refuses what Redis cannot keep in a session's record.
var errEmptyFamily = errors.New("login session: empty family")

// sessionLive reports whether a login session is within both of its
// lifetimes.
func sessionLive(now time.Time, ls storage.LoginSession) bool {
	return now.Before(ls.IdleExpiresAt) && now.Before(ls.ExpiresAt)
}

// copySession returns ls sharing no slice with the stored one, with
// non-nil slices as Redis returns them, and without the Device that only
// ListLoginSessions returns.
func copySession(ls storage.LoginSession) storage.LoginSession {
	ls.AMR = append([]string{}, ls.AMR...)
	ls.Families = append([]string{}, ls.Families...)
	ls.Device = ""
	return ls
}

// CreateLoginSession implements storage.TokenState. Times are kept at
// storage.TimeResolution, as Redis keeps them.
func (s *TokenState) CreateLoginSession(_ context.Context, ls storage.LoginSession) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweep(now)
	if slices.Contains(ls.Families, "") {
		return errEmptyFamily
	}
	if cur, ok := s.sessions[ls.ID]; ok && sessionLive(now, cur) {
		return fmt.Errorf("login session: %w", storage.ErrAlreadyExists)
	}
	device := storage.DeviceText(ls.Device)
	ls = copySession(ls)
	ls.Device = device
	slices.Sort(ls.Families)
	ls.Families = slices.Compact(ls.Families)
	for _, t := range []*time.Time{&ls.AuthTime, &ls.CreatedAt, &ls.ExpiresAt, &ls.IdleExpiresAt} {
		*t = t.Truncate(storage.TimeResolution)
	}
	s.sessions[ls.ID] = ls
	return nil
}

// ListLoginSessions implements storage.TokenState. It looks at every
// session: the memory store serves one developer's browser.
func (s *TokenState) ListLoginSessions(_ context.Context, userID string) ([]storage.LoginSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var out []storage.LoginSession
	for _, ls := range s.sessions {
		if ls.UserID == userID && sessionLive(now, ls) {
			device := ls.Device
			ls = copySession(ls)
			ls.Device, ls.Families = device, []string{}
			out = append(out, ls)
		}
	}
	return storage.ListedSessions(out), nil
}

// GetLoginSession implements storage.TokenState.
func (s *TokenState) GetLoginSession(_ context.Context, id string, idle time.Duration) (storage.LoginSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	ls, ok := s.sessions[id]
	if !ok || !sessionLive(now, ls) {
		return storage.LoginSession{}, fmt.Errorf("login session: %w", storage.ErrNotFound)
	}
	if idle > 0 {
		next := now.Add(idle).Truncate(storage.TimeResolution)
		if ls.ExpiresAt.Before(next) {
			next = ls.ExpiresAt
		}
		if next.After(ls.IdleExpiresAt) {
			ls.IdleExpiresAt = next
			s.sessions[id] = ls
		}
	}
	return copySession(ls), nil
}

// AddLoginSessionFamily implements storage.TokenState.
func (s *TokenState) AddLoginSessionFamily(_ context.Context, id, familyID string) error {
	if familyID == "" {
		return errEmptyFamily
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ls, ok := s.sessions[id]
	if !ok || !sessionLive(s.now(), ls) {
		return fmt.Errorf("login session: %w", storage.ErrNotFound)
	}
	if !slices.Contains(ls.Families, familyID) {
		ls.Families = append(slices.Clone(ls.Families), familyID)
		s.sessions[id] = ls
	}
	return nil
}

// EndLoginSession implements storage.TokenState.
func (s *TokenState) EndLoginSession(_ context.Context, id string) (storage.LoginSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ls, ok := s.sessions[id]
	if !ok || !sessionLive(s.now(), ls) {
		return storage.LoginSession{}, fmt.Errorf("login session: %w", storage.ErrNotFound)
	}
	delete(s.sessions, id)
	return copySession(ls), nil
}
