package app_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/storage/redis/redistest"
)

// While the Redis primary is down and a replica is being promoted,
// Gatehouse answers 503 rather than a guess; it recovers by itself, and
// every token whose revocation it acknowledged before the failover (or
// after it) stays revoked.
func TestRedisFailoverFailsClosed(t *testing.T) {
	testenv.RedisSentinelURL(t)     // skips without the Sentinel setup
	redistest.LockSentinel(t, true) // before anything holds it shared
	s := apptest.Start(t, apptest.RealSentinel)
	staff := s.Group("staff", "tokens-introspect")
	owner := s.User("owner", "", staff.ID)
	admin := s.Client("admin", owner.ID, []string{"tokens-introspect"})
	cc := url.Values{"grant_type": {"client_credentials"}}
	tokens := make([]string, 80)
	for i := range tokens {
		tokens[i] = s.Token(&admin, cc).Str("access_token")
		require.NotEmpty(t, tokens[i])
	}
	live := s.Token(&admin, cc).Str("access_token")
	revoke := func(tok string) int { return s.Post("/oauth2/revoke", &admin, url.Values{"token": {tok}}).Status }
	// active introspects tok: its answer, or false with unavailable.
	active := func(tok string) (active, unavailable bool) {
		r := s.Post("/oauth2/introspect", &admin, url.Values{"token": {tok}})
		if r.Status == http.StatusServiceUnavailable {
			return false, true
		}
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		return r.Body["active"] == true, false
	}
	var revoked []string
	for _, tok := range tokens[:20] {
		require.Equal(t, http.StatusOK, revoke(tok))
		revoked = append(revoked, tok)
	}

	promoted := redistest.KillPrimary(t, testenv.RedisSentinelURL(t))
	unavailable, next, since := 0, 20, 0 // since: revocations acknowledged since the last 503
	deadline := time.Now().Add(30 * time.Second)
	for unavailable == 0 || since < 10 {
		require.True(t, time.Now().Before(deadline), "no recovery within 30 s")
		require.Less(t, next, len(tokens), "ran out of tokens to revoke")
		for _, tok := range []string{revoked[next%len(revoked)], revoked[len(revoked)-1]} {
			on, down := active(tok)
			require.False(t, on, "a revoked token introspected active during the failover")
			if down {
				unavailable++
				since = 0
			}
		}
		on, down := active(live)
		require.True(t, on || down, "a live token introspected inactive during the failover")
		switch status := revoke(tokens[next]); status {
		case http.StatusOK:
			revoked = append(revoked, tokens[next])
			since++
		case http.StatusServiceUnavailable:
			unavailable++
			since = 0
		default:
			t.Fatalf("revocation answered %d during the failover", status)
		}
		next++
	}
	promoted()
	t.Logf("%d answers 503 during the failover, %d revocations acknowledged", unavailable, len(revoked))
	for _, tok := range revoked {
		on, down := active(tok)
		require.False(t, down, "not recovered")
		require.False(t, on, "an acknowledged revocation was lost in the failover")
	}
}
