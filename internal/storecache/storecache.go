// Package storecache keeps the token endpoint off the database: it wraps a
// storage.Store and serves the reads of a token request (the client, its
// active secrets, its owner and the owner's resources) from memory while
// the shared change stamp in token state is unchanged.
//
// Correctness across nodes rests on two rules. Every change made through
// the wrapper raises the stamp after it is committed and before the caller
// can acknowledge it (writes.go lists the few methods that need not, and
// why). And a request reads the stamp once, at its start
// (Begin), and uses only cache entries loaded under that same stamp; an
// entry loaded under an older stamp is reloaded. So a token request that
// starts after a change was acknowledged sees the change on every node, at
// the cost of one token-state read per request, or less: concurrent
// requests share reads (stampReader).
package storecache

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

// Stamps is the shared change stamp; storage.TokenState satisfies it.
type Stamps interface {
	ChangeStamp(ctx context.Context) (int64, error)
	BumpChangeStamp(ctx context.Context) (int64, error)
}

// maxEntries bounds the cache; when full it starts over, which costs a
// reload per entry, never a wrong answer.
const maxEntries = 50_000

// Store is a caching storage.Store. It delegates every method by name,
// embedding nothing: a method added to storage.Store fails to compile here
// until it is delegated, and whoever adds it decides whether it raises the
// stamp (writes.go) or may be cached (reads.go).
type Store struct {
	inner    storage.Store
	stamps   Stamps
	reader   stampReader
	retrying atomic.Bool // a failed stamp raise is being retried
	dirty    atomic.Bool // a change failed to raise the stamp since the last attempt

	mu      sync.Mutex
	entries map[key]entry
	// gen counts the times this node dropped its entries because a stamp
	// raise failed. A load that began before such a drop may have read
	// the old state, and the stamp has not moved to tell: it is not kept.
	gen uint64

	hits, misses [numKinds]atomic.Uint64
}

var _ storage.Store = (*Store)(nil)

type key struct {
	kind      kind
	realm, id string
}

// kind is what an entry caches.
type kind uint8

const (
	kindClient kind = iota
	kindSecrets
	kindUser
	kindResources
	kindContextPath
	kindResourcesIn
	numKinds
)

// kindNames name the caches in Stats, and so in metrics.
var kindNames = [numKinds]string{"client", "client_secrets", "user", "user_resources", "context_path", "user_resources_in_context"}

type entry struct {
	stamp int64
	value any
}

// New wraps inner.
func New(inner storage.Store, stamps Stamps) *Store {
	s := &Store{inner: inner, stamps: stamps, entries: map[key]entry{}}
	s.reader.read = stamps.ChangeStamp
	return s
}

type ctxKey struct{}

// Begin reads the change stamp and returns a context under which reads may
// be served from the cache. Without it every read goes to the store. An
// error wraps storage.ErrUnavailable: the caller cannot tell whether its
// cache is current and must fail closed. (If ctx ends first, the error
// is ctx's.)
func (s *Store) Begin(ctx context.Context) (context.Context, error) {
	stamp, err := s.reader.get(ctx)
	if err != nil {
		return ctx, err
	}
	return s.At(ctx, stamp), nil
}

// At is Begin with a stamp the caller read itself, in the same round trip
// as something it needed anyway (storage.TokenState.IsRevoked).
func (s *Store) At(ctx context.Context, stamp int64) context.Context {
	return context.WithValue(ctx, ctxKey{}, stamp)
}

// cached returns the value for k under the request's stamp, loading it
// when absent or stale. Errors are not cached.
func cached[T any](ctx context.Context, s *Store, k key, load func() (T, error), clone func(T) T) (T, error) {
	stamp, ok := ctx.Value(ctxKey{}).(int64)
	if !ok {
		return load()
	}
	s.mu.Lock()
	e, hit := s.entries[k]
	gen := s.gen
	s.mu.Unlock()
	if hit && e.stamp == stamp {
		s.hits[k.kind].Add(1)
		return clone(e.value.(T)), nil
	}
	s.misses[k.kind].Add(1)
	v, err := load()
	if err != nil {
		return v, err
	}
	s.mu.Lock()
	if s.gen != gen {
		s.mu.Unlock()
		return v, nil
	}
	if len(s.entries) >= maxEntries {
		clear(s.entries)
	}
	// Never replace an entry loaded under a newer stamp.
	if cur, ok := s.entries[k]; !ok || cur.stamp <= stamp {
		s.entries[k] = entry{stamp: stamp, value: clone(v)}
	}
	s.mu.Unlock()
	return v, nil
}

// Stats counts, since start, the reads served from each cache and those
// that went to the store, and the change-stamp reads: the requests that
// asked for the stamp (Begin) and the reads sent to token state, which
// concurrent requests share.
type Stats struct {
	Caches        []CacheStats
	StampRequests uint64
	StampReads    uint64
}

// CacheStats counts one cache's reads.
type CacheStats struct {
	Name         string // one of kindNames
	Hits, Misses uint64
}

// Stats returns the counters; metrics read them at every scrape.
func (s *Store) Stats() Stats {
	st := Stats{Caches: make([]CacheStats, numKinds), StampRequests: s.reader.requests.Load(), StampReads: s.reader.reads.Load()}
	for k := range numKinds {
		st.Caches[k] = CacheStats{Name: kindNames[k], Hits: s.hits[k].Load(), Misses: s.misses[k].Load()}
	}
	return st
}

// bumpTimeout bounds raising the stamp after a change.
const bumpTimeout = 5 * time.Second

// changed raises the stamp after a successful change. The change is
// committed by then, so the stamp is raised even if the caller has hung up.
// If it cannot be raised the change stands but the caller gets an error,
// so that it does not acknowledge a change other nodes may not see yet;
// this node forgets what it cached, and keeps trying in the background,
// since until the stamp moves other nodes may serve the old state.
func (s *Store) changed(ctx context.Context, err error) error {
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bumpTimeout)
	defer cancel()
	if _, err := s.stamps.BumpChangeStamp(ctx); err != nil {
		s.mu.Lock()
		clear(s.entries)
		s.gen++
		s.mu.Unlock()
		s.retryBump()
		return fmt.Errorf("change saved, but caches on other nodes may serve the old state for now: %w", err)
	}
	return nil
}

// retryBump raises the stamp once token state answers again. One retry
// loop runs at a time; a change that fails while it runs marks the state
// dirty, and the loop does not stop before an attempt that began after
// the last such mark has succeeded: that raise is seen after the change.
func (s *Store) retryBump() {
	s.dirty.Store(true)
	if !s.retrying.CompareAndSwap(false, true) {
		return
	}
	go func() {
		wait := 100 * time.Millisecond
		for {
			time.Sleep(wait)
			s.dirty.Store(false) // this attempt covers every change failed so far
			ctx, cancel := context.WithTimeout(context.Background(), bumpTimeout)
			_, err := s.stamps.BumpChangeStamp(ctx)
			cancel()
			if err != nil {
				s.dirty.Store(true)
				wait = min(2*wait, 5*time.Second)
				continue
			}
			s.retrying.Store(false)
			// A change that failed after the attempt began and found the
			// loop still running left it to us.
			if !s.dirty.Load() || !s.retrying.CompareAndSwap(false, true) {
				return
			}
			wait = 100 * time.Millisecond
		}
	}()
}
