package oauth

import (
	"context"
	"sync"
	"time"
)

// touchEvery bounds how often a secret version's last_used_at is written:
// often enough for an administrator deciding whether a version is still in
// use, rarely enough to keep writes off the token endpoint's path.
const touchEvery = time.Minute

// secretToucher records when client secret versions were last used, in the
// background and at most once per version per touchEvery on this node.
type secretToucher struct {
	p    *Provider
	mu   sync.Mutex
	last map[secretVersion]time.Time
}

// secretVersion keys secretToucher's map: a struct, so that a lookup on
// every token request builds no string.
type secretVersion struct{ clientID, secretID string }

func (t *secretToucher) touch(clientID, secretID string) {
	if secretID == "" {
		return
	}
	now := t.p.now()
	key := secretVersion{clientID, secretID}
	t.mu.Lock()
	if now.Sub(t.last[key]) < touchEvery {
		t.mu.Unlock()
		return
	}
	if len(t.last) > 100_000 {
		clear(t.last) // bound memory; the worst case is one extra write per version
	}
	t.last[key] = now
	t.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := t.p.opts.Store.TouchClientSecret(ctx, t.p.opts.Realm, clientID, secretID, now); err != nil {
			t.p.opts.Logger.Warn("cannot record client secret use", "client_id", clientID, "error", err)
		}
	}()
}
