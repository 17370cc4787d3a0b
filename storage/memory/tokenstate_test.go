package memory_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
	"github.com/gatehouse/gatehouse/storage/storagetest"
)

func TestTokenStateConformance(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	storagetest.RunTokenStateTests(t, storagetest.TokenStateHarness{
		New: func(t *testing.T) storage.TokenState { return memory.NewTokenState(clock) },
		Now: clock,
		Advance: func(t *testing.T, d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(d)
		},
	})
}

// RevokeFamily deletes the family's record: the family's mark is kept
// only for storage.MaxAccessTokenTTL, and a grant may live far longer.
func TestRevokeFamilyOutlivesItsMark(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	s := memory.NewTokenState(func() time.Time { return now })
	rec := storage.RefreshToken{ID: "r", Secret: "s0", FamilyID: "fam", ClientID: "app", UserID: "u",
		IssuedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)}
	require.NoError(t, s.CreateRefreshToken(ctx, rec))
	require.NoError(t, s.RevokeFamily(ctx, "fam"))
	now = now.Add(storage.MaxAccessTokenTTL + time.Hour)
	revoked, _, err := s.IsRevoked(ctx, storage.TokenRef{JTI: "j", ClientID: "app", FamilyID: "fam", IssuedAt: rec.IssuedAt})
	require.NoError(t, err)
	require.False(t, revoked, "the mark expired with the longest access token")
	_, err = s.GetRefreshToken(ctx, "r", "s0")
	require.ErrorIs(t, err, storage.ErrNotFound, "the record stays dead")
}
