package credential

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// ErrBusy means too many password hashes are running or waiting; the
// caller should answer 503 with Retry-After.
var ErrBusy = errors.New("password hashing is saturated")

// Argon2Params are the server-side argon2id parameters.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
	SaltLen   uint32
	KeyLen    uint32
}

// DefaultArgon2Params follow the OWASP recommendation for argon2id
// (m=19 MiB, t=2, p=1).
var DefaultArgon2Params = Argon2Params{MemoryKiB: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Validate reports parameters that are unsafe or absurd.
func (p Argon2Params) Validate() error {
	switch {
	case p.MemoryKiB < 1024 || p.MemoryKiB > 4<<20:
		return errors.New("argon2 memory must be between 1 MiB and 4 GiB")
	case p.Time < 1 || p.Time > 100:
		return errors.New("argon2 time must be between 1 and 100")
	case p.Threads < 1:
		return errors.New("argon2 threads must be at least 1")
	case p.SaltLen < 16 || p.KeyLen < 16:
		return errors.New("argon2 salt and key must be at least 16 bytes")
	}
	return nil
}

func (p Argon2Params) withDefaults() Argon2Params {
	d := DefaultArgon2Params
	if p.MemoryKiB == 0 {
		p.MemoryKiB = d.MemoryKiB
	}
	if p.Time == 0 {
		p.Time = d.Time
	}
	if p.Threads == 0 {
		p.Threads = d.Threads
	}
	if p.SaltLen == 0 {
		p.SaltLen = d.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = d.KeyLen
	}
	return p
}

// PasswordHasher hashes and verifies client-side password hashes with
// argon2id. At most maxConcurrent hashes run at once, so that memory stays
// bounded (each takes MemoryKiB); up to maxQueue more wait up to queueWait;
// beyond that ErrBusy answers at once.
type PasswordHasher struct {
	params    Argon2Params
	running   chan struct{}
	waiting   chan struct{}
	queueWait time.Duration
	dummy     string

	refused atomic.Uint64       // acquisitions answered ErrBusy
	onWait  func(time.Duration) // see ObserveWait; nil observes nothing
}

// HasherStats is a snapshot of the hashing slots, for metrics.
type HasherStats struct {
	Slots    int    // hashes that may run at once
	InUse    int    // hashes running
	Queue    int    // places in the queue
	Queued   int    // hashes waiting for a slot
	Refusals uint64 // hashes refused with ErrBusy since start (counter)
}

// Stats returns the hasher's current load. It is cheap: metrics read it
// at every scrape.
func (h *PasswordHasher) Stats() HasherStats {
	return HasherStats{Slots: cap(h.running), InUse: len(h.running), Queue: cap(h.waiting), Queued: len(h.waiting),
		Refusals: h.refused.Load()}
}

// ObserveWait makes every hash report how long it waited for a slot (zero
// when one was free at once), whether it then ran or was refused. Call it
// before the hasher is used.
func (h *PasswordHasher) ObserveWait(f func(time.Duration)) { h.onWait = f }

// NewPasswordHasher returns a hasher. Zero values take defaults: the
// DefaultArgon2Params, 2×GOMAXPROCS concurrent hashes, a queue of 64 and a
// wait of 2 s.
func NewPasswordHasher(p Argon2Params, maxConcurrent, maxQueue int, queueWait time.Duration) *PasswordHasher {
	if maxConcurrent <= 0 {
		maxConcurrent = 2 * runtime.GOMAXPROCS(0)
	}
	if maxQueue <= 0 {
		maxQueue = 64
	}
	if queueWait <= 0 {
		queueWait = 2 * time.Second
	}
	h := &PasswordHasher{
		params: p.withDefaults(), running: make(chan struct{}, maxConcurrent),
		waiting: make(chan struct{}, maxQueue), queueWait: queueWait,
	}
	h.dummy = h.encode(make([]byte, h.params.SaltLen), make([]byte, h.params.KeyLen))
	return h
}

// Hash returns the PHC string of argon2id(p) with a fresh random salt.
func (h *PasswordHasher) Hash(ctx context.Context, p []byte) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	key := argon2.IDKey(p, salt, h.params.Time, h.params.MemoryKiB, h.params.Threads, h.params.KeyLen)
	return h.encode(salt, key), nil
}

// Verify reports whether p matches the PHC string phc, in constant time.
// Hashes made with other parameters than the current ones still verify.
func (h *PasswordHasher) Verify(ctx context.Context, phc string, p []byte) (bool, error) {
	ph, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	key := argon2.IDKey(p, ph.salt, ph.params.Time, ph.params.MemoryKiB, ph.params.Threads, uint32(len(ph.key)))
	return subtle.ConstantTimeCompare(key, ph.key) == 1, nil
}

// VerifyDummy costs what Verify costs and always fails, so that a login for
// an unknown user takes the same time as one with a wrong password.
func (h *PasswordHasher) VerifyDummy(ctx context.Context, p []byte) error {
	_, err := h.Verify(ctx, h.dummy, p)
	return err
}

// NeedsRehash reports whether phc was made with other parameters than the
// current ones.
func (h *PasswordHasher) NeedsRehash(phc string) bool {
	ph, err := parsePHC(phc)
	return err != nil || ph.params.MemoryKiB != h.params.MemoryKiB || ph.params.Time != h.params.Time ||
		ph.params.Threads != h.params.Threads || uint32(len(ph.key)) != h.params.KeyLen
}

func (h *PasswordHasher) acquire(ctx context.Context) error {
	select {
	case h.running <- struct{}{}:
		if h.onWait != nil {
			h.onWait(0)
		}
		return nil
	default:
	}
	select {
	case h.waiting <- struct{}{}:
	default:
		h.refused.Add(1)
		return ErrBusy
	}
	defer func() { <-h.waiting }()
	start := time.Now()
	if h.onWait != nil {
		defer func() { h.onWait(time.Since(start)) }()
	}
	t := time.NewTimer(h.queueWait)
	defer t.Stop()
	select {
	case h.running <- struct{}{}:
		return nil
	case <-t.C:
		h.refused.Add(1)
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *PasswordHasher) release() { <-h.running }

var phcB64 = base64.RawStdEncoding.Strict()

func (h *PasswordHasher) encode(salt, key []byte) string {
	p := h.params
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		phcB64.EncodeToString(salt), phcB64.EncodeToString(key))
}

type phcHash struct {
	params Argon2Params
	salt   []byte
	key    []byte
}

// errMalformedPHC never includes the string itself: it holds a hash.
var errMalformedPHC = errors.New("malformed argon2id verifier")

// parsePHC parses "$argon2id$v=19$m=..,t=..,p=..$salt$hash" strictly.
func parsePHC(s string) (phcHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return phcHash{}, errMalformedPHC
	}
	var ph phcHash
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return phcHash{}, errMalformedPHC
		}
		switch k {
		case "m":
			ph.params.MemoryKiB = uint32(n)
		case "t":
			ph.params.Time = uint32(n)
		case "p":
			if n > 255 {
				return phcHash{}, errMalformedPHC
			}
			ph.params.Threads = uint8(n)
		default:
			return phcHash{}, errMalformedPHC
		}
	}
	var err error
	if ph.salt, err = phcB64.DecodeString(parts[4]); err != nil {
		return phcHash{}, errMalformedPHC
	}
	if ph.key, err = phcB64.DecodeString(parts[5]); err != nil {
		return phcHash{}, errMalformedPHC
	}
	ph.params.SaltLen, ph.params.KeyLen = uint32(len(ph.salt)), uint32(len(ph.key))
	// Bounds wide enough for any verifier this server ever wrote, tight
	// enough that a corrupt row cannot make one login allocate gigabytes.
	if ph.params.MemoryKiB < 8 || ph.params.MemoryKiB > 4<<20 || ph.params.Time < 1 || ph.params.Time > 100 ||
		ph.params.Threads < 1 || len(ph.salt) < 8 || len(ph.key) < 16 {
		return phcHash{}, errMalformedPHC
	}
	return ph, nil
}
