package memory

import (
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

// TokenState is an in-memory storage.TokenState with an injectable clock.
// Expired entries are treated as absent when read and swept lazily.
type TokenState struct {
	mu  sync.Mutex
	now func() time.Time

	revoked  map[string]time.Time            // jti → expiry
	before   map[string]mark                 // "u:"+id / "c:"+id → revoked-before mark
	refresh  map[string]storage.RefreshToken // handle digest → record
	byFamily map[string]string               // family → handle digest of its record, for RevokeFamily
	families map[string]time.Time            // revoked family → expiry
	once     map[string]time.Time            // MarkOnce key → expiry
	failures map[string]failureEntry         // throttle key → count
	markers  map[string]time.Time            // known-source marker (SettleAttempt) → expiry
	entries  map[string]entry                // PutEntry key → value
	sessions map[string]storage.LoginSession // login session id → session
	ops      int
	stamp    int64
}

type mark struct{ at, until time.Time }

type failureEntry struct {
	storage.FailureCount
	prev  time.Time // the latest failure before Last, for SettleAttempt
	until time.Time // forgotten then
}

var _ storage.TokenState = (*TokenState)(nil)

// NewTokenState returns empty token state; nil now means time.Now.
func NewTokenState(now func() time.Time) *TokenState {
	if now == nil {
		now = time.Now
	}
	return &TokenState{
		now: now, revoked: map[string]time.Time{}, before: map[string]mark{}, refresh: map[string]storage.RefreshToken{},
		byFamily: map[string]string{}, families: map[string]time.Time{}, once: map[string]time.Time{},
		failures: map[string]failureEntry{}, markers: map[string]time.Time{},
		entries: map[string]entry{}, sessions: map[string]storage.LoginSession{},
	}
}

// sweep drops expired entries every so often; callers hold the lock.
func (s *TokenState) sweep(now time.Time) {
	if s.ops++; s.ops%1024 != 0 {
		return
	}
	for k, exp := range s.revoked {
		if !now.Before(exp) {
			delete(s.revoked, k)
		}
	}
	for k, m := range s.before {
		if !now.Before(m.until) {
			delete(s.before, k)
		}
	}
	for k, r := range s.refresh {
		if !now.Before(r.ExpiresAt) {
			s.dropRefresh(k, r)
		}
	}
	for k, exp := range s.families {
		if !now.Before(exp) {
			delete(s.families, k)
		}
	}
	for k, exp := range s.once {
		if !now.Before(exp) {
			delete(s.once, k)
		}
	}
	for k, f := range s.failures {
		if !now.Before(f.until) {
			delete(s.failures, k)
		}
	}
	for k, exp := range s.markers {
		if !now.Before(exp) {
			delete(s.markers, k)
		}
	}
	for k, e := range s.entries {
		if !e.live(now) {
			delete(s.entries, k)
		}
	}
	for k, ls := range s.sessions {
		if !sessionLive(now, ls) {
			delete(s.sessions, k)
		}
	}
}

// RevokeToken implements storage.TokenState.
func (s *TokenState) RevokeToken(_ context.Context, jti string, exp time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweep(now)
	if exp.After(now) {
		s.revoked[jti] = exp
	}
	return nil
}

func subjectKey(kind storage.SubjectKind, id string) string {
	if kind == storage.SubjectUser {
		return "u:" + id
	}
	return "c:" + id
}

// RevokeSubject implements storage.TokenState.
func (s *TokenState) RevokeSubject(_ context.Context, kind storage.SubjectKind, id string, before time.Time, keep time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	k := subjectKey(kind, id)
	before = before.Truncate(storage.TimeResolution)
	if m, ok := s.before[k]; ok && now.Before(m.until) && !before.After(m.at) {
		return nil
	}
	s.before[k] = mark{at: before, until: now.Add(keep)}
	return nil
}

// revokedBy reports whether a mark on the subject covers a token issued at
// iat, compared at storage.TimeResolution like Redis does; callers hold
// the lock.
func (s *TokenState) revokedBy(now time.Time, k string, iat time.Time) bool {
	m, ok := s.before[k]
	return ok && now.Before(m.until) && !iat.Truncate(storage.TimeResolution).After(m.at)
}

// IsRevoked implements storage.TokenState.
func (s *TokenState) IsRevoked(_ context.Context, t storage.TokenRef) (bool, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if exp, ok := s.revoked[t.JTI]; ok && now.Before(exp) {
		return true, s.stamp, nil
	}
	if exp, ok := s.families[t.FamilyID]; ok && t.FamilyID != "" && now.Before(exp) {
		return true, s.stamp, nil
	}
	if t.UserID != "" && s.revokedBy(now, subjectKey(storage.SubjectUser, t.UserID), t.IssuedAt) {
		return true, s.stamp, nil
	}
	return s.revokedBy(now, subjectKey(storage.SubjectClient, t.ClientID), t.IssuedAt), s.stamp, nil
}

// live returns the record id if it is usable: present, unexpired, its
// family not revoked, no mark on its user or client covering it. Callers
// hold the lock.
func (s *TokenState) live(now time.Time, id string) (storage.RefreshToken, bool) {
	r, ok := s.refresh[id]
	if !ok || !now.Before(r.ExpiresAt) {
		return r, false
	}
	if exp, ok := s.families[r.FamilyID]; ok && now.Before(exp) {
		return r, false
	}
	if s.revokedBy(now, subjectKey(storage.SubjectUser, r.UserID), r.IssuedAt) ||
		s.revokedBy(now, subjectKey(storage.SubjectClient, r.ClientID), r.IssuedAt) {
		return r, false
	}
	return r, true
}

func copyRefresh(r storage.RefreshToken) storage.RefreshToken {
	r.Scopes = slices.Clone(r.Scopes)
	return r
}

func sameSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// CreateRefreshToken implements storage.TokenState.
func (s *TokenState) CreateRefreshToken(_ context.Context, rec storage.RefreshToken) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweep(now)
	return s.createRefresh(now, rec)
}

// createRefresh is CreateRefreshToken; callers hold mu.
func (s *TokenState) createRefresh(now time.Time, rec storage.RefreshToken) error {
	if r, ok := s.refresh[rec.ID]; ok && now.Before(r.ExpiresAt) {
		return fmt.Errorf("refresh token: %w", storage.ErrAlreadyExists)
	}
	rec.IssuedAt = rec.IssuedAt.Truncate(storage.TimeResolution)
	s.refresh[rec.ID] = copyRefresh(rec)
	s.byFamily[rec.FamilyID] = rec.ID
	return nil
}

// GetRefreshToken implements storage.TokenState.
func (s *TokenState) GetRefreshToken(_ context.Context, id, secret string) (storage.RefreshToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.live(s.now(), id)
	if !ok || !sameSecret(r.Secret, secret) {
		return storage.RefreshToken{}, fmt.Errorf("refresh token: %w", storage.ErrNotFound)
	}
	return copyRefresh(r), nil
}

// RotateRefreshToken implements storage.TokenState.
func (s *TokenState) RotateRefreshToken(_ context.Context, id, secret string, next storage.RefreshToken) (storage.RefreshToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r, ok := s.live(now, id)
	if !ok || r.ClientID != next.ClientID {
		return storage.RefreshToken{}, fmt.Errorf("refresh token: %w", storage.ErrNotFound)
	}
	if !sameSecret(r.Secret, secret) {
		if r.PrevSecret != "" && sameSecret(r.PrevSecret, secret) && next.IssuedAt.Before(r.IssuedAt.Add(storage.RefreshReuseGrace)) {
			return storage.RefreshToken{}, fmt.Errorf("refresh token: %w", storage.ErrNotFound)
		}
		s.revokeFamily(now, id, r)
		return storage.RefreshToken{}, fmt.Errorf("refresh token: %w", storage.ErrRefreshReused)
	}
	rotated := r
	rotated.Secret, rotated.PrevSecret, rotated.IssuedAt, rotated.ExpiresAt = next.Secret, r.Secret, next.IssuedAt.Truncate(storage.TimeResolution), next.ExpiresAt
	s.refresh[id] = rotated
	return copyRefresh(r), nil
}

// revokeFamily kills record id and the access tokens of its family;
// callers hold the lock.
func (s *TokenState) revokeFamily(now time.Time, id string, r storage.RefreshToken) {
	s.families[r.FamilyID] = now.Add(storage.MaxAccessTokenTTL)
	s.dropRefresh(id, r)
}

// dropRefresh deletes record id and its family's index entry; callers
// hold the lock.
func (s *TokenState) dropRefresh(id string, r storage.RefreshToken) {
	delete(s.refresh, id)
	if s.byFamily[r.FamilyID] == id {
		delete(s.byFamily, r.FamilyID)
	}
}

// RevokeRefreshToken implements storage.TokenState.
func (s *TokenState) RevokeRefreshToken(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.refresh[id]; ok {
		s.revokeFamily(s.now(), id, r)
	}
	return nil
}

// MarkOnce implements storage.TokenState.
func (s *TokenState) MarkOnce(_ context.Context, key string, exp time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweep(now)
	if e, ok := s.once[key]; ok && now.Before(e) {
		return false, nil
	}
	s.once[key] = exp
	return true, nil
}

// Failures implements storage.TokenState.
func (s *TokenState) Failures(_ context.Context, marker string, keys []string) (bool, []storage.FailureCount, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	exp, marked := s.markers[marker]
	counts := make([]storage.FailureCount, len(keys))
	for i, k := range keys {
		if f, ok := s.failures[k]; ok && now.Before(f.until) {
			counts[i] = f.FailureCount
		}
	}
	return marked && now.Before(exp), counts, nil
}

// addFailure counts one failure at at on k; callers hold the lock.
func (s *TokenState) addFailure(now, at time.Time, keep time.Duration, k string) {
	f, ok := s.failures[k]
	if !ok || !now.Before(f.until) {
		f = failureEntry{}
	}
	f.Failures++
	f.prev, f.Last = f.Last, at.Truncate(storage.TimeResolution)
	f.until = now.Add(keep)
	s.failures[k] = f
}

// TryAttempt implements storage.TokenState under the lock.
func (s *TokenState) TryAttempt(_ context.Context, a storage.Attempt) (bool, time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweep(now)
	exp, marked := s.markers[a.Marker]
	marked = marked && now.Before(exp)
	buckets := a.Unknown
	if marked {
		buckets = a.Known
	}
	at := a.At.Truncate(storage.TimeResolution)
	var wait time.Duration
	for _, b := range buckets {
		f, ok := s.failures[b.Key]
		if !ok || !now.Before(f.until) {
			continue
		}
		wait = max(wait, f.Last.Add(storage.FailureDelay(f.Failures, b.Free, a.BaseDelay, a.MaxDelay)).Sub(at))
	}
	if wait > 0 {
		return marked, wait, nil
	}
	for _, b := range buckets {
		s.addFailure(now, at, a.Keep, b.Key)
	}
	return marked, 0, nil
}

// SettleAttempt implements storage.TokenState under the lock.
func (s *TokenState) SettleAttempt(_ context.Context, st storage.Settlement) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	at := st.At.Truncate(storage.TimeResolution)
	for _, k := range st.TakeBack {
		f, ok := s.failures[k]
		if !ok || !now.Before(f.until) {
			continue
		}
		if f.Failures <= 1 {
			delete(s.failures, k)
			continue
		}
		f.Failures--
		if f.Last.Equal(at) && !f.prev.IsZero() {
			f.Last = f.prev
		}
		s.failures[k] = f
	}
	for _, k := range st.Forget {
		delete(s.failures, k)
	}
	if st.Marker != "" {
		s.markers[st.Marker] = now.Add(st.MarkKeep)
	}
	return nil
}

// ChangeStamp implements storage.TokenState.
func (s *TokenState) ChangeStamp(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stamp, nil
}

// BumpChangeStamp implements storage.TokenState.
func (s *TokenState) BumpChangeStamp(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stamp++
	return s.stamp, nil
}

// Ping always succeeds.
func (s *TokenState) Ping(context.Context) error { return nil }

// Close does nothing.
func (s *TokenState) Close() {}
