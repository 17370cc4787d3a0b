package credential_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/credential"
)

var cheap = credential.Argon2Params{MemoryKiB: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashAndVerify(t *testing.T) {
	ctx := context.Background()
	h := credential.NewPasswordHasher(cheap, 0, 0, 0)
	p := bytes.Repeat([]byte{1}, 32)
	phc, err := h.Hash(ctx, p)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(phc, "$argon2id$v=19$m=1024,t=1,p=1$"), phc)
	phc2, err := h.Hash(ctx, p)
	require.NoError(t, err)
	require.NotEqual(t, phc, phc2, "salts are random")

	ok, err := h.Verify(ctx, phc, p)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = h.Verify(ctx, phc, bytes.Repeat([]byte{2}, 32))
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, h.VerifyDummy(ctx, p))
	require.False(t, h.NeedsRehash(phc))

	// A verifier made with other parameters still verifies, and asks for a
	// rehash.
	other := credential.NewPasswordHasher(credential.Argon2Params{MemoryKiB: 2048, Time: 2, Threads: 1}, 0, 0, 0)
	ok, err = other.Verify(ctx, phc, p)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, other.NeedsRehash(phc))

	for _, bad := range []string{"", "$argon2i$v=19$m=1024,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=99999999,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=1024,t=1,p=1$!!$AAAA", "$argon2id$v=19$x=1$a$b", phc + "$"} {
		_, err := h.Verify(ctx, bad, p)
		require.Error(t, err, bad)
		require.NotContains(t, err.Error(), "AAAA")
	}
}

func TestConcurrencyLimit(t *testing.T) {
	ctx := context.Background()
	// One hash at a time, no queue: a second concurrent hash is refused at
	// once while the first holds the slot.
	slow := credential.Argon2Params{MemoryKiB: 64 << 10, Time: 3, Threads: 1}
	h := credential.NewPasswordHasher(slow, 1, 1, time.Millisecond)
	p := bytes.Repeat([]byte{1}, 32)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := h.Hash(ctx, p)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	busy := 0
	for err := range errs {
		if errors.Is(err, credential.ErrBusy) {
			busy++
		} else {
			require.NoError(t, err)
		}
	}
	require.Positive(t, busy, "8 concurrent hashes with one slot and one queue place must be refused")

	// A cancelled context stops waiting in the queue.
	h = credential.NewPasswordHasher(slow, 1, 4, time.Minute)
	done := make(chan struct{})
	go func() { _, _ = h.Hash(ctx, p); close(done) }()
	time.Sleep(10 * time.Millisecond) // let the first hash take the slot
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err := h.Hash(cctx, p)
	if err != nil {
		require.ErrorIs(t, err, context.Canceled)
	}
	<-done
}

func TestParsePasswordWire(t *testing.T) {
	good := clienthash.Encode(bytes.Repeat([]byte{3}, 32))
	p, err := credential.ParsePasswordWire(good)
	require.NoError(t, err)
	require.Len(t, p, 32)
	for _, bad := range []string{"", "hunter2", strings.Repeat("A", 42), strings.Repeat("A", 44), good[:42] + "=", good[:42] + "+", good[:42] + "B"} {
		_, err := credential.ParsePasswordWire(bad)
		require.ErrorIs(t, err, credential.ErrPasswordNotHashed, bad)
		require.Contains(t, err.Error(), "docs/client-side-hashing.md")
	}
}

func TestValidatePasswordSetting(t *testing.T) {
	s, err := clienthash.NewPasswordSetting("pw", "pw", 1000)
	require.NoError(t, err)
	p, err := credential.ValidatePasswordSetting(s, 1000)
	require.NoError(t, err)
	require.Equal(t, s.Hash, clienthash.Encode(p))

	mismatch, err := clienthash.NewPasswordSetting("pw", "pW", 1000)
	require.NoError(t, err)
	_, err = credential.ValidatePasswordSetting(mismatch, 1000)
	require.ErrorIs(t, err, credential.ErrConfirmationMismatch)

	// Only the configured iterations and a 16-byte salt: what prelogin
	// makes up for unknown names. Others are well-formed but refused
	// (Policy); malformed fields are not Policy.
	for _, tc := range []struct {
		field  string
		policy bool
		mutate func(*clienthash.PasswordSetting)
	}{
		{"kdf", false, func(s *clienthash.PasswordSetting) { s.KDF = "bcrypt" }},
		{"iterations", true, func(s *clienthash.PasswordSetting) { s.Iterations = 999 }},
		{"iterations", true, func(s *clienthash.PasswordSetting) { s.Iterations = 1001 }},
		{"iterations", true, func(s *clienthash.PasswordSetting) { s.Iterations = 20_000_000 }},
		{"salt", true, func(s *clienthash.PasswordSetting) { s.Salt = "AAAA" }},
		{"salt", true, func(s *clienthash.PasswordSetting) { s.Salt = clienthash.Encode(make([]byte, 32)) }},
		{"salt", false, func(s *clienthash.PasswordSetting) { s.Salt = "not base64!" }},
		{"hash", false, func(s *clienthash.PasswordSetting) { s.Hash = "plain" }},
		{"confirmation", false, func(s *clienthash.PasswordSetting) { s.Confirmation = "" }},
	} {
		bad := s
		tc.mutate(&bad)
		_, err := credential.ValidatePasswordSetting(bad, 1000)
		var fe *credential.FieldError
		require.ErrorAs(t, err, &fe, tc.field)
		require.Equal(t, tc.field, fe.Field)
		require.Equal(t, tc.policy, fe.Policy, "%s: %s", tc.field, fe.Reason)
	}
}

func TestVerifyClientSecret(t *testing.T) {
	w1, w2, w3 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32)
	v := func(w []byte) []byte { s := sha256.Sum256(w); return s[:] }
	verifiers := [][]byte{v(w1), v(w2)}
	i, ok := credential.VerifyClientSecret(clienthash.Encode(w2), verifiers)
	require.True(t, ok)
	require.Equal(t, 1, i)
	i, ok = credential.VerifyClientSecret(clienthash.Encode(w1), verifiers)
	require.True(t, ok)
	require.Equal(t, 0, i)
	_, ok = credential.VerifyClientSecret(clienthash.Encode(w3), verifiers)
	require.False(t, ok)
	_, ok = credential.VerifyClientSecret(clienthash.Encode(v(w1)), verifiers)
	require.False(t, ok, "sending the verifier itself must not work")
	_, ok = credential.VerifyClientSecret("short", verifiers)
	require.False(t, ok)
	_, ok = credential.VerifyClientSecret(clienthash.Encode(w1), nil)
	require.False(t, ok)
}

func TestFakeSalt(t *testing.T) {
	s := credential.NewPreloginSalter(bytes.Repeat([]byte{9}, 32))
	a := s.FakeSalt("default", "nobody")
	require.Len(t, a, credential.SaltLen)
	require.Len(t, a, 16)
	require.Equal(t, a, s.FakeSalt("default", "nobody"), "stable")
	require.NotEqual(t, a, s.FakeSalt("default", "somebody"))
	require.NotEqual(t, a, s.FakeSalt("other", "nobody"))
	require.NotEqual(t, a, credential.NewPreloginSalter(bytes.Repeat([]byte{8}, 32)).FakeSalt("default", "nobody"))
}

func BenchmarkVerifyClientSecret(b *testing.B) {
	w := clienthash.Encode(bytes.Repeat([]byte{1}, 32))
	s := sha256.Sum256(bytes.Repeat([]byte{1}, 32))
	verifiers := [][]byte{s[:], s[:]}
	b.ReportAllocs()
	for b.Loop() {
		credential.VerifyClientSecret(w, verifiers)
	}
}

func BenchmarkPasswordHash(b *testing.B) {
	h := credential.NewPasswordHasher(credential.DefaultArgon2Params, 0, 0, 0)
	p := bytes.Repeat([]byte{1}, 32)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
}

// Stats shows slots in use and hashes queued as they happen, counts
// refusals, and ObserveWait hears of every wait.
func TestStatsAndWaits(t *testing.T) {
	ctx := context.Background()
	slow := credential.Argon2Params{MemoryKiB: 64 << 10, Time: 3, Threads: 1}
	h := credential.NewPasswordHasher(slow, 1, 1, time.Minute)
	var mu sync.Mutex
	var waits []time.Duration
	h.ObserveWait(func(d time.Duration) { mu.Lock(); waits = append(waits, d); mu.Unlock() })
	require.Equal(t, credential.HasherStats{Slots: 1, Queue: 1}, h.Stats())

	p := bytes.Repeat([]byte{1}, 32)
	first := make(chan error, 1)
	go func() { _, err := h.Hash(ctx, p); first <- err }()
	require.Eventually(t, func() bool { return h.Stats().InUse == 1 }, 10*time.Second, time.Millisecond)

	qctx, cancel := context.WithCancel(ctx)
	queued := make(chan error, 1)
	go func() { _, err := h.Hash(qctx, p); queued <- err }()
	require.Eventually(t, func() bool { return h.Stats().Queued == 1 }, 10*time.Second, time.Millisecond)
	_, err := h.Hash(ctx, p)
	require.ErrorIs(t, err, credential.ErrBusy, "slot and queue taken")
	require.Equal(t, uint64(1), h.Stats().Refusals)
	cancel()
	require.ErrorIs(t, <-queued, context.Canceled)
	require.NoError(t, <-first)

	st := h.Stats()
	require.Zero(t, st.InUse)
	require.Zero(t, st.Queued)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, waits, 2, "the first hash and the queued one; the refused one never waited")
	require.Zero(t, waits[0], "a free slot is taken without waiting")
	require.Positive(t, waits[1])
}
