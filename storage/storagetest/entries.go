package storagetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage"
)

// RevokeFamily ends a grant by its family id alone, as ending a login
// session or a reused authorization code does (RFC 6749 §4.1.2): its
// record, also after rotations, and its access tokens.
func testRevokeFamily(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	now := h.Now()
	require.NoError(t, s.CreateRefreshToken(ctx, record("a", "app", "u1", now, time.Hour)))
	_, err := s.RotateRefreshToken(ctx, "a", "a-s0", rotation("a-s1", "app", now))
	require.NoError(t, err)
	require.NoError(t, s.CreateRefreshToken(ctx, record("b", "app", "u1", now, time.Hour)))

	require.NoError(t, s.RevokeFamily(ctx, "fam-a"))
	_, err = s.GetRefreshToken(ctx, "a", "a-s1")
	require.ErrorIs(t, err, storage.ErrNotFound, "the family's record is dead")
	_, err = s.RotateRefreshToken(ctx, "a", "a-s1", rotation("a-s2", "app", now))
	require.ErrorIs(t, err, storage.ErrNotFound)
	require.True(t, familyTokenRevoked(t, s, "fam-a", now), "and so are its access tokens")

	_, err = s.GetRefreshToken(ctx, "b", "b-s0")
	require.NoError(t, err, "another family lives")
	require.False(t, familyTokenRevoked(t, s, "fam-b", now))

	// Idempotent, and with no record: the access tokens of a family whose
	// record is gone (or never was) are revoked all the same.
	require.NoError(t, s.RevokeFamily(ctx, "fam-a"))
	require.NoError(t, s.RevokeFamily(ctx, "fam-none"))
	require.True(t, familyTokenRevoked(t, s, "fam-none", now))

	// Kept like a family revoked by RevokeRefreshToken: longer than a
	// short-lived record.
	require.NoError(t, s.CreateRefreshToken(ctx, record("brief", "app", "u1", now, short)))
	require.NoError(t, s.RevokeFamily(ctx, "fam-brief"))
	h.Advance(t, short+200*time.Millisecond)
	require.True(t, familyTokenRevoked(t, s, "fam-brief", now))
	require.True(t, familyTokenRevoked(t, s, "fam-a", now))
}

// binaryValue holds every byte value, separators and invalid UTF-8
// included: entries are the caller's encoding, kept as they are.
func binaryValue() []byte {
	b := make([]byte, 0, 300)
	for i := range 256 {
		b = append(b, byte(i))
	}
	return append(b, "\x1f\x00\xff{}"...)
}

func testEntries(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	now := h.Now()
	_, err := s.GetEntry(ctx, "k")
	require.ErrorIs(t, err, storage.ErrNotFound)

	require.NoError(t, s.PutEntry(ctx, "k", binaryValue(), now.Add(time.Hour)))
	require.NoError(t, s.PutEntry(ctx, "empty", []byte{}, now.Add(time.Hour)))
	require.NoError(t, s.PutEntry(ctx, "brief", []byte("v"), now.Add(short)))
	require.NoError(t, s.PutEntry(ctx, "past", []byte("v"), now.Add(-time.Second)))
	got, err := s.GetEntry(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, binaryValue(), got)
	got, err = s.GetEntry(ctx, "empty")
	require.NoError(t, err)
	require.Empty(t, got)
	_, err = s.GetEntry(ctx, "past")
	require.ErrorIs(t, err, storage.ErrNotFound, "an entry put already expired is not live")

	// PutEntry replaces the value and the expiry.
	require.NoError(t, s.PutEntry(ctx, "k", []byte("second"), now.Add(short)))
	got, err = s.GetEntry(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, []byte("second"), got)
	got[0] = 'X' // the caller's copy
	got, err = s.GetEntry(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, []byte("second"), got)

	require.NoError(t, s.DeleteEntry(ctx, "empty"))
	require.NoError(t, s.DeleteEntry(ctx, "empty"))
	require.NoError(t, s.DeleteEntry(ctx, "never"))
	_, err = s.GetEntry(ctx, "empty")
	require.ErrorIs(t, err, storage.ErrNotFound)

	h.Advance(t, short+100*time.Millisecond)
	for _, k := range []string{"k", "brief"} {
		_, err = s.GetEntry(ctx, k)
		require.ErrorIs(t, err, storage.ErrNotFound, "%s expired", k)
	}
}

// A taken entry (an authorization code exchanged) answers later takes with
// its value, to name the tokens a reuse revokes, until spentUntil or its
// own expiry, whichever is later.
func testTakeEntry(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	now := h.Now()
	_, _, err := s.TakeEntry(ctx, "none", now.Add(time.Hour))
	require.ErrorIs(t, err, storage.ErrNotFound)

	require.NoError(t, s.PutEntry(ctx, "code", binaryValue(), now.Add(short)))
	v, first, err := s.TakeEntry(ctx, "code", now.Add(3*short))
	require.NoError(t, err)
	require.True(t, first)
	require.Equal(t, binaryValue(), v)
	v, first, err = s.TakeEntry(ctx, "code", now.Add(3*short))
	require.NoError(t, err)
	require.False(t, first, "a second take is a reuse")
	require.Equal(t, binaryValue(), v)
	_, err = s.GetEntry(ctx, "code")
	require.ErrorIs(t, err, storage.ErrNotFound, "a spent entry is gone to GetEntry")

	// spentUntil before the entry's own expiry keeps it until the latter.
	require.NoError(t, s.PutEntry(ctx, "long", []byte("l"), now.Add(3*short)))
	_, first, err = s.TakeEntry(ctx, "long", now)
	require.NoError(t, err)
	require.True(t, first)

	// Putting a value again starts afresh.
	require.NoError(t, s.PutEntry(ctx, "again", []byte("1"), now.Add(time.Hour)))
	_, _, err = s.TakeEntry(ctx, "again", now.Add(time.Hour))
	require.NoError(t, err)
	require.NoError(t, s.PutEntry(ctx, "again", []byte("2"), now.Add(time.Hour)))
	v, first, err = s.TakeEntry(ctx, "again", now.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, first)
	require.Equal(t, []byte("2"), v)

	h.Advance(t, short+100*time.Millisecond) // past "code"'s own expiry
	v, first, err = s.TakeEntry(ctx, "code", now.Add(time.Hour))
	require.NoError(t, err, "kept until spentUntil")
	require.False(t, first)
	require.Equal(t, binaryValue(), v)
	_, first, err = s.TakeEntry(ctx, "long", now)
	require.NoError(t, err, "kept until its own expiry")
	require.False(t, first)

	h.Advance(t, 2*short+100*time.Millisecond) // past both
	for _, k := range []string{"code", "long"} {
		_, _, err = s.TakeEntry(ctx, k, now.Add(time.Hour))
		require.ErrorIs(t, err, storage.ErrNotFound, k)
	}
	// A take never revives an expired entry, whatever spentUntil says.
	_, err = s.GetEntry(ctx, "code")
	require.ErrorIs(t, err, storage.ErrNotFound)
}

// Of many concurrent takes of one entry (a code sent twice at once),
// exactly one is first; every one gets the value.
func testTakeEntryConcurrent(t *testing.T, h TokenStateHarness) {
	ctx := context.Background()
	s := h.New(t)
	now := h.Now()
	const entries, takers = 4, 24
	for e := range entries {
		require.NoError(t, s.PutEntry(ctx, fmt.Sprintf("code-%d", e), fmt.Appendf(nil, "value-%d", e), now.Add(time.Hour)))
	}
	var firsts [entries]atomic.Int32
	var wg sync.WaitGroup
	for i := range entries * takers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := i % entries
			v, first, err := s.TakeEntry(ctx, fmt.Sprintf("code-%d", e), now.Add(time.Hour))
			if !assert.NoError(t, err) {
				return
			}
			if string(v) != fmt.Sprintf("value-%d", e) {
				t.Errorf("code-%d: got %q", e, v)
			}
			if first {
				firsts[e].Add(1)
			}
		}()
	}
	wg.Wait()
	for e := range entries {
		require.Equal(t, int32(1), firsts[e].Load(), "code-%d taken first exactly once", e)
	}
}
