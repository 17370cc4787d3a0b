package admin_test

// Regression tests for the holes an attacker's review of the authority
// rule found. Each one failed while its hole was open; the failure message
// says what an attacker got.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/storage"
)

// plantSecret returns a fresh secret for clientID (as apptest.Client) and
// the verifier an attacker registers for it.
func plantSecret(s *apptest.Server, clientID string) (apptest.Client, string) {
	secret, err := clienthash.NewClientSecret()
	require.NoError(s.T, err)
	w := clienthash.ClientSecretWire(secret, clientID)
	c := apptest.Client{ID: clientID, Secret: clienthash.Encode(secret)}
	s.Remember(c.Secret, clienthash.Encode(w))
	return c, clienthash.Encode(clienthash.ClientSecretVerifier(w))
}

// A client's power is "allowed scopes ∩ owner's resources NOW". A
// client whose allowed scopes exceed what its owner holds today (a service
// account not yet put in its group, or one that lost it for a while) has
// little power, so a holder of clients-write alone may plant a secret in it.
// When the owner later gets their group, the planted secret yields
// resources the attacker never held.
func TestReviewPlantedSecretGainsOwnersLaterPower(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		svc := f.User("svc", "") // holds nothing yet
		f.Client("svc-app", svc.ID, []string{"users-read", "users-write"})
		_, mallory := f.tokenFor("planter", "clients-write", "clients-read")

		stolen, verifier := plantSecret(s, "svc-app")
		r := f.call(http.MethodPost, "/admin/clients/svc-app/secrets", mallory, map[string]any{"verifier": verifier})
		assert.Equal(t, http.StatusUnprocessableEntity, r.Status,
			"clients-write alone planted a secret in a client allowed users-write: %s", r.Raw)
		if r.Status != http.StatusCreated {
			return
		}
		// Routine administration later: the service account gets its group.
		g := f.Group("svc-group", "users-read", "users-write")
		require.Equal(t, http.StatusNoContent, f.call(http.MethodPut, "/admin/groups/"+g.ID+"/members/"+svc.ID, f.adminToken, nil).Status)

		tok := f.Post("/oauth2/token", &stolen, url.Values{"grant_type": {"client_credentials"}})
		require.Equal(t, http.StatusOK, tok.Status, tok.Raw)
		f.Remember(tok.Str("access_token"))
		victim := f.User("victim", "victim-password-1")
		r = f.call(http.MethodPatch, "/admin/users/"+victim.ID, tok.Str("access_token"), map[string]any{"status": "disabled"})
		require.NotEqual(t, http.StatusOK, r.Status,
			"a caller who only ever held clients-write disabled a user with users-write obtained through the planted secret (scope %q)", tok.Str("scope"))
	})
}

// Powers.Client ignores the password grant: user tokens issued
// through a client carry the user's resources ∩ the client's allowed
// scopes, whatever its owner holds. A first-party login client owned by a
// powerless account is "powerless" to the management API, so a caller
// without the administrators' resources can end administrators' sessions
// through it, or strip it of the scopes administrators sign in with.
func TestReviewPasswordClientPowerIgnoresItsUsers(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		svc := f.User("portal-owner", "") // a service account that holds nothing
		portal := f.Client("portal", svc.ID, append([]string{}, writeResources...))
		adminLogin := f.Login(&portal, "root", "root-password-1", nil)
		require.Equal(t, http.StatusOK, adminLogin.Status, adminLogin.Raw)
		adminTok := adminLogin.Str("access_token")
		require.Equal(t, http.StatusOK, f.call(http.MethodGet, "/admin/users", adminTok, nil).Status)

		_, mallory := f.tokenFor("mallory", "clients-write", "clients-read", "tokens-revoke")
		r := f.call(http.MethodDelete, "/admin/clients/portal/tokens", mallory, nil)
		assert.Equal(t, http.StatusUnprocessableEntity, r.Status,
			"a caller holding only clients-write/tokens-revoke revoked every token of a client administrators sign in through: %s", r.Raw)
		r = f.call(http.MethodPatch, "/admin/clients/portal", mallory, map[string]any{"scopes": []string{}})
		assert.Equal(t, http.StatusUnprocessableEntity, r.Status,
			"the same caller took users-write, groups-write … away from the client (it holds none of them): %s", r.Raw)
		r = f.call(http.MethodGet, "/admin/users", adminTok, nil)
		assert.Equal(t, http.StatusOK, r.Status, "the administrator's session was ended by a weaker caller: %s", r.Raw)
	})
}

// Deleting (or disabling) a user deletes (or ends the tokens of)
// every client they own, but the check only asks for the user's power. An
// all-scopes client can exercise every resource (it is refused to a direct
// DELETE by a weaker caller), yet the same caller deletes it by deleting
// its owner, and ends every administrator session issued through it.
func TestReviewOwnerDeletionTakesAllScopesClient(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		a := newAuthority(t, s)
		owner := a.user(low) // e.g. the bootstrap admin, since demoted
		everything := a.Client("console", owner.ID, nil, func(c *storage.Client) { c.AllScopes = true })
		adminLogin := a.Login(&everything, "caller-strong", "caller-strong-password", nil)
		require.Equal(t, http.StatusOK, adminLogin.Status, adminLogin.Raw)

		requireProblem(t, a.Bearer(http.MethodDelete, "/admin/clients/console", a.tokens[weak], ""), 422, "delegation-ceiling")
		r := a.Bearer(http.MethodDelete, "/admin/users/"+owner.ID, a.tokens[weak], "")
		assert.Equal(t, http.StatusUnprocessableEntity, r.Status, "weak caller deleted the owner of an all-scopes client: %s", r.Raw)
		_, err := a.Store.GetClient(context.Background(), storage.DefaultRealm, "console")
		assert.NoError(t, err, "the all-scopes client the caller may not delete is gone")
		r = a.Bearer(http.MethodGet, "/admin/users", adminLogin.Str("access_token"), "")
		assert.Equal(t, http.StatusOK, r.Status, "an administrator's session through the all-scopes client was ended: %s", r.Raw)
	})
}

// storage/username.go says the PRECIS canonical form names one
// account and that backends use it for uniqueness and lookup; they use
// lower()/EqualFold. A holder of users-write creates a second account whose
// username canonicalises to an existing administrator's.
func TestReviewUsernameCanonicalDuplicate(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		_, tok := f.tokenFor("creator", "users-write", "users-read")
		canon, err := storage.CanonicalUsername("ｒｏｏｔ")
		require.NoError(t, err)
		require.Equal(t, "root", canon)
		r := f.call(http.MethodPost, "/admin/users", tok, map[string]any{"username": "ｒｏｏｔ"}) // fullwidth
		assert.Equal(t, http.StatusConflict, r.Status, "a second account named like the administrator (same canonical form) was created: %s", r.Raw)
		r = f.call(http.MethodPost, "/admin/users", tok, map[string]any{"username": "ROOT"})
		assert.Equal(t, http.StatusConflict, r.Status, r.Raw)
	})
}

// The login throttle was keyed by strings.ToLower(username) while lookup
// folded case another way: a variant spelling of a throttled name found
// the account on a fresh counter. Now every spelling with one canonical
// form (RFC 8265) shares one counter.
func TestReviewLoginThrottleFoldVariant(t *testing.T) {
	for _, b := range apptest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			e := apptest.Start(t, b, func(o *app.Options) { o.LoginThrottle.FreePerUserClient = 3 })
			owner := e.User("owner", "")
			c := e.Client("console", owner.ID, nil)
			e.User("sam", "sam-password-1")
			for range 4 { // three free failures, then one that imposes a delay
				require.Equal(t, "invalid_grant", e.Login(&c, "sam", "guess", nil).Str("error"))
			}
			require.Equal(t, http.StatusTooManyRequests, e.Login(&c, "sam", "sam-password-1", nil).Status)
			for _, variant := range []string{"SAM", "ｓａｍ", "ſam"} {
				r := e.Login(&c, variant, "sam-password-1", nil)
				assert.NotEqual(t, http.StatusOK, r.Status, "the throttled account signed in as %q: %s", variant, r.Raw)
			}
		})
	}
}

// Prelogin's made-up salt is keyed by strings.ToLower, the real
// lookup by EqualFold: on the memory backend, comparing the answers for
// "sXX" and "ſXX" tells existing usernames from unknown ones.
func TestReviewPreloginFoldOracle(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		s.User("sam", "sam-password-1")
		salt := func(u string) string {
			r := s.Post("/oauth2/prelogin", nil, url.Values{"username": {u}})
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			return r.Str("salt")
		}
		existing := salt("sam") == salt("ſam")
		unknown := salt("sue") == salt("ſue")
		assert.Equal(t, unknown, existing, "prelogin answers variants of an existing username alike (%v) but of an unknown one differently (%v)", existing, unknown)
	})
}

// A caller with clients-write but not clients-read may tell that a client
// exists (it can by renaming a weak one anyway), but a refusal must not
// tell it what the client can exercise.
func TestReviewRefusalNamesNoResourceOfTheTarget(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		_, tok := f.tokenFor("writer", "clients-write")
		r := f.call(http.MethodPatch, "/admin/clients/admin-cli", tok, map[string]any{"name": "x"})
		requireProblem(t, r, http.StatusUnprocessableEntity, "delegation-ceiling")
		for _, res := range writeResources {
			assert.NotContains(t, r.Raw, res)
		}
	})
}

// Any signed-in user, even with a token carrying no admin resource, could
// write one audit row per refused request, without bound: refusals are
// recorded up to a budget per actor and minute.
func TestReviewAuditFloodByAnyUser(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := setup(t, s)
		u := f.User("nobody", "nobody-password-1")
		third := f.Client("third-party", f.admin.ID, nil)
		tok := f.Login(&third, "nobody", "nobody-password-1", nil).Str("access_token")
		const n = 100
		for range n {
			require.Equal(t, http.StatusForbidden, f.call(http.MethodGet, "/admin/audit", tok, nil).Status)
		}
		page, err := f.Store.ListAudit(context.Background(), storage.DefaultRealm, storage.AuditFilter{ActorID: u.ID}, storage.ListOptions{Limit: storage.MaxListLimit})
		require.NoError(t, err)
		assert.LessOrEqual(t, len(page.Items), 60, "a user with no admin resource wrote %d audit rows", len(page.Items))
		assert.NotEmpty(t, page.Items, "the first refusals are recorded")
	})
}

// flakyState fails RevokeSubject on demand, as a Redis blip (or a caller
// hanging up: revocations run on the request's context) would.
type flakyState struct {
	storage.TokenState
	fail atomic.Bool
}

func (f *flakyState) RevokeSubject(ctx context.Context, kind storage.SubjectKind, id string, before time.Time, keep time.Duration) error {
	if f.fail.Load() {
		return fmt.Errorf("probe: %w", storage.ErrUnavailable)
	}
	return f.TokenState.RevokeSubject(ctx, kind, id, before, keep)
}

// A password reset or a disable that committed first and revoked
// afterwards failed open when the revocation failed: the caller got 503,
// the change stood, and the tokens it was meant to end lived on — after a
// reset at once, after a disable as soon as the user was re-enabled. Now
// a reset revokes first (a failure changes nothing), and re-enabling
// revokes again, first.
func TestReviewRevocationFailureFailsClosed(t *testing.T) {
	for _, b := range apptest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			var fs *flakyState
			flaky := apptest.Backend{Name: b.Name, New: func(t *testing.T, now func() time.Time) (storage.Store, storage.TokenState) {
				st, ts := b.New(t, now)
				fs = &flakyState{TokenState: ts}
				return st, fs
			}}
			f := setup(t, apptest.Start(t, flaky))
			victim := f.User("victim", "victim-password-1")
			app := f.Client("app", f.admin.ID, nil)
			stolen := f.Login(&app, "victim", "victim-password-1", nil).Str("access_token")
			require.Equal(t, http.StatusOK, f.call(http.MethodGet, "/admin/me", stolen, nil).Status)
			f.Clock.Advance(2 * time.Second)

			fs.fail.Store(true)
			pw := passwordObject(t, "victim-password-2", "victim-password-2")
			f.Remember(pw["hash"].(string))
			r := f.call(http.MethodPut, "/admin/users/"+victim.ID+"/password", f.adminToken, pw)
			fs.fail.Store(false)
			requireProblem(t, r, http.StatusServiceUnavailable, "unavailable")
			require.Equal(t, http.StatusOK, f.Login(&app, "victim", "victim-password-1", nil).Status, "a failed reset changes nothing")

			// Disable with the revocation failing: the disable stands and
			// answers 503; the token is refused by the user's status, and
			// re-enabling does not bring it back.
			fs.fail.Store(true)
			r = f.call(http.MethodPatch, "/admin/users/"+victim.ID, f.adminToken, map[string]any{"status": "disabled"})
			fs.fail.Store(false)
			requireProblem(t, r, http.StatusServiceUnavailable, "unavailable")
			requireProblem(t, f.call(http.MethodGet, "/admin/me", stolen, nil), http.StatusUnauthorized, "unauthorized")
			f.Clock.Advance(2 * time.Second)
			fs.fail.Store(true)
			r = f.call(http.MethodPatch, "/admin/users/"+victim.ID, f.adminToken, map[string]any{"status": "active"})
			fs.fail.Store(false)
			requireProblem(t, r, http.StatusServiceUnavailable, "unavailable")
			u, err := f.Store.GetUser(context.Background(), storage.DefaultRealm, victim.ID)
			require.NoError(t, err)
			require.Equal(t, storage.StatusDisabled, u.Status, "a re-enable whose marks failed is not made")
			require.Equal(t, http.StatusOK, f.call(http.MethodPatch, "/admin/users/"+victim.ID, f.adminToken, map[string]any{"status": "active"}).Status)
			requireProblem(t, f.call(http.MethodGet, "/admin/me", stolen, nil), http.StatusUnauthorized, "unauthorized")
		})
	}
}

// uuid.Validate accepts non-canonical spellings of an id (no hyphens,
// {braces}); PostgreSQL's uuid cast accepts them too, so the request acted
// on the user while a refusal was audited under the id as spelled in the
// path, and the memory backend answered 404 instead. Ids have one spelling
// now: any other is 404 on both backends.
func TestReviewRefusalAuditedUnderNonCanonicalID(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		a := newAuthority(t, s)
		target := a.user(high)
		hex := ""
		for _, r := range target.ID {
			if r != '-' {
				hex += string(r)
			}
		}
		for _, spelled := range []string{hex, "{" + target.ID + "}"} {
			before := a.denials(storage.AuditFilter{TargetID: target.ID})
			r := a.Bearer(http.MethodPatch, "/admin/users/"+url.PathEscape(spelled), a.tokens[weak], `{"status":"disabled"}`)
			requireProblem(t, r, http.StatusNotFound, "not-found")
			require.Equal(t, before, a.denials(storage.AuditFilter{TargetID: target.ID}))
		}
	})
}
