package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/storage"
)

func TestPasswordGrant(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		ctx := context.Background()
		g := e.Group("support", "users-read", "users-write", "groups-read")
		owner := e.User("owner", "")
		alice := e.User("alice", "correct horse battery staple", g.ID)
		c := e.Client("console", owner.ID, []string{"users-read", "users-write", "clients-read"})

		// The user's resources ∩ the client's allowed ∩ requested; the
		// client's owner does not limit a user's token.
		r := e.Login(&c, "alice", "correct horse battery staple", nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, "users-read users-write", r.Str("scope"))
		require.NotEmpty(t, r.Str("refresh_token"))
		e.Remember(r.Str("access_token"), r.Str("refresh_token"))

		r = e.Login(&c, "ALICE", "correct horse battery staple", url.Values{"scope": {"users-read"}})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, "users-read", r.Str("scope"))

		r = e.Login(&c, "alice", "correct horse battery staple", url.Values{"scope": {"groups-read"}})
		require.Equal(t, "invalid_scope", r.Str("error"), r.Raw)

		// The token carries the user as subject and their language.
		tok := e.Login(&c, "alice", "correct horse battery staple", url.Values{"scope": {"openid profile users-read"}})
		require.Equal(t, "openid profile users-read", tok.Str("scope"), tok.Raw)
		info := userinfo(e, tok.Str("access_token"))
		require.Equal(t, http.StatusOK, info.Status, info.Raw)
		require.Equal(t, alice.ID, info.Str("sub"))
		require.Equal(t, "alice", info.Str("preferred_username"))
		require.Equal(t, "en", info.Str("locale"))

		// Wrong password, unknown user, user without password and disabled
		// user: one answer for all.
		wrong := e.Login(&c, "alice", "wrong", nil)
		unknown := e.Login(&c, "mallory", "whatever", nil)
		e.User("nopass", "")
		nopass := e.Login(&c, "nopass", "whatever", nil)
		_, err := e.Store.UpdateUser(ctx, apptest.System, storage.DefaultRealm, alice.ID, func(u *storage.User) error {
			u.Status = storage.StatusDisabled
			return nil
		})
		require.NoError(t, err)
		disabled := e.Login(&c, "alice", "correct horse battery staple", nil)
		for _, r := range []apptest.Response{wrong, unknown, nopass, disabled} {
			require.Equal(t, http.StatusBadRequest, r.Status)
			require.Equal(t, wrong.Raw, r.Raw)
			require.Equal(t, "invalid_grant", r.Str("error"))
		}
	})
}

func TestPasswordMustBeHashedOnClient(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		owner := e.User("owner", "")
		c := e.Client("console", owner.ID, nil)
		e.User("bob", "hunter2hunter2")
		for _, pw := range []string{"hunter2hunter2", "", "A" + string(make([]byte, 42)), "++++++++++++++++++++++++++++++++++++++++++="} {
			r := e.Post(oauth.PathToken, &c, url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {pw}})
			require.Equal(t, http.StatusBadRequest, r.Status, pw)
			require.Equal(t, "invalid_request", r.Str("error"))
			require.Contains(t, r.Str("error_description"), "docs/client-side-hashing.md")
		}
	})
}

// Prelogin answers a real user, a user without a password, an unknown
// name and a name that cannot be a username alike: the same fields, kdf,
// iterations (the configured count, which is the only one a password can
// be set with) and salt length, the same answer at every request and for
// every spelling of one canonical name.
func TestPreloginDoesNotEnumerate(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		e.User("carol", "pw-of-carol-123")
		e.User("dave", "")
		prelogin := func(username string) apptest.Response {
			t.Helper()
			r := e.Post(oauth.PathPrelogin, nil, url.Values{"username": {username}})
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			return r
		}
		real, noPassword, fake, other, invalid := prelogin("carol"), prelogin("dave"), prelogin("nobody"), prelogin("someone-else"), prelogin("no body")
		for _, r := range []apptest.Response{real, noPassword, fake, other, invalid} {
			require.ElementsMatch(t, []string{"kdf", "iterations", "salt"}, keysOf(r.Body))
			require.Equal(t, "pbkdf2-sha256", r.Str("kdf"))
			require.Equal(t, float64(apptest.Iterations), r.Body["iterations"])
			salt, err := clienthash.Decode(r.Str("salt"))
			require.NoError(t, err)
			require.Len(t, salt, credential.SaltLen)
		}
		require.NotEqual(t, fake.Str("salt"), other.Str("salt"))
		require.NotEqual(t, fake.Str("salt"), real.Str("salt"))

		// Stable, and one answer per canonical name (PRECIS
		// UsernameCaseMapped: case and width mapped).
		for spelling, want := range map[string]apptest.Response{
			"carol": real, "CAROL": real, "Ｃａｒｏｌ": real,
			"nobody": fake, "NoBody": fake, "ｎｏｂｏｄｙ": fake,
			"no body": invalid,
		} {
			require.Equal(t, want.Raw, prelogin(spelling).Raw, spelling)
		}

		json := e.PostJSON(oauth.PathPrelogin, `{"username":"nobody"}`)
		require.Equal(t, fake.Raw, json.Raw)
		bad := e.PostJSON(oauth.PathPrelogin, `{"username":"nobody","x":1}`)
		require.Equal(t, http.StatusBadRequest, bad.Status)
		require.Equal(t, "invalid_request", bad.Str("error"))
	})
}

func TestRefreshRotationAndReuse(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		ctx := context.Background()
		g := e.Group("g", "users-read", "groups-read")
		owner := e.User("owner", "")
		e.User("dave", "dave-password-1", g.ID)
		c := e.Client("console", owner.ID, []string{"users-read", "groups-read"})
		first := e.Login(&c, "dave", "dave-password-1", nil)
		require.Equal(t, http.StatusOK, first.Status, first.Raw)
		e.Remember(first.Str("refresh_token"))

		second := e.Token(&c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.Str("refresh_token")}})
		require.NotEqual(t, first.Str("refresh_token"), second.Str("refresh_token"))
		require.Equal(t, "groups-read users-read", second.Str("scope"))

		// Narrowing on refresh is allowed, widening is not.
		third := e.Token(&c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {second.Str("refresh_token")}, "scope": {"users-read"}})
		require.Equal(t, "users-read", third.Str("scope"))
		// A refused request leaves the token usable: it must not spend it,
		// or the client's next try would look like a stolen token's reuse.
		wide := e.Post(oauth.PathToken, &c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {third.Str("refresh_token")}, "scope": {"users-read users-write"}})
		require.Equal(t, "invalid_scope", wide.Str("error"), wide.Raw)

		// Losing a group takes effect at the next refresh.
		require.NoError(t, e.Store.RevokeGroupResource(ctx, apptest.System, storage.DefaultRealm, g.ID, "groups-read"))
		fourth := e.Token(&c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {third.Str("refresh_token")}})
		require.Equal(t, "users-read", fourth.Str("scope"))

		// Another client cannot use, nor burn, the token.
		other := e.Client("other", owner.ID, []string{"users-read"})
		r := e.Post(oauth.PathToken, &other, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fourth.Str("refresh_token")}})
		require.Equal(t, "invalid_grant", r.Str("error"))
		// Nor do tokens we never issued.
		for _, bogus := range []string{"ghr_", "ghr_" + strings.Repeat("A", 64), fourth.Str("refresh_token") + "A", "x" + fourth.Str("refresh_token"),
			fourth.Str("refresh_token")[:20] + "\n" + fourth.Str("refresh_token")[20:]} {
			r = e.Post(oauth.PathToken, &c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {bogus}})
			require.Equal(t, "invalid_grant", r.Str("error"), bogus)
		}
		require.Equal(t, http.StatusOK, userinfo(e, fourth.Str("access_token")).Status)

		// Reusing a rotated token revokes the whole family, including the
		// newest token and the access tokens issued with it.
		r = e.Post(oauth.PathToken, &c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {second.Str("refresh_token")}})
		require.Equal(t, http.StatusBadRequest, r.Status)
		require.Equal(t, "invalid_grant", r.Str("error"))
		r = e.Post(oauth.PathToken, &c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fourth.Str("refresh_token")}})
		require.Equal(t, "invalid_grant", r.Str("error"))
		require.Equal(t, http.StatusUnauthorized, userinfo(e, fourth.Str("access_token")).Status)
	})
}

// A user who is disabled loses their grants: refreshing fails, and
// enabling them again does not bring the grant back.
func TestRefreshEndsWithTheUser(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		ctx := context.Background()
		owner := e.User("owner", "")
		frank := e.User("frank", "frank-password-1", e.Group("g", "users-read").ID)
		c := e.Client("console", owner.ID, []string{"users-read"})
		first := e.Login(&c, "frank", "frank-password-1", nil)
		require.Equal(t, http.StatusOK, first.Status, first.Raw)
		e.Remember(first.Str("refresh_token"))
		setStatus := func(status storage.Status) {
			_, err := e.Store.UpdateUser(ctx, apptest.System, storage.DefaultRealm, frank.ID, func(u *storage.User) error {
				u.Status = status
				return nil
			})
			require.NoError(t, err)
		}
		setStatus(storage.StatusDisabled)
		refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.Str("refresh_token")}}
		r := e.Post(oauth.PathToken, &c, refresh)
		require.Equal(t, "invalid_grant", r.Str("error"), r.Raw)
		setStatus(storage.StatusActive)
		r = e.Post(oauth.PathToken, &c, refresh)
		require.Equal(t, "invalid_grant", r.Str("error"), r.Raw)
		require.Equal(t, http.StatusOK, e.Login(&c, "frank", "frank-password-1", nil).Status, "a new login works")
	})
}

func TestConcurrentRefreshOnlyOneWins(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		owner := e.User("owner", "")
		e.User("erin", "erin-password-1", e.Group("g", "users-read").ID)
		c := e.Client("console", owner.ID, []string{"users-read"})
		first := e.Login(&c, "erin", "erin-password-1", nil)
		require.Equal(t, http.StatusOK, first.Status, first.Raw)

		const n = 10
		answers := make([]apptest.Response, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = e.Post(oauth.PathToken, &c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.Str("refresh_token")}})
				e.Remember(answers[i].Str("refresh_token"), answers[i].Str("access_token"))
			}()
		}
		wg.Wait()
		var won []apptest.Response
		for _, r := range answers {
			if r.Status == http.StatusOK {
				won = append(won, r)
			} else {
				require.Equal(t, "invalid_grant", r.Str("error"), r.Raw)
			}
		}
		require.Len(t, won, 1)
		// The losers were refused, not taken for thieves: what the winner
		// got is good (two tabs of one app must not log the user out).
		require.Equal(t, http.StatusOK, userinfo(e, won[0].Str("access_token")).Status)
		next := e.Post(oauth.PathToken, &c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {won[0].Str("refresh_token")}})
		require.Equal(t, http.StatusOK, next.Status, next.Raw)
		e.Remember(next.Str("refresh_token"), next.Str("access_token"))
	})
}

func userinfo(e *apptest.Server, accessToken string) apptest.Response {
	e.T.Helper()
	return e.Bearer(http.MethodGet, oauth.PathUserinfo, accessToken, "")
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A verifier made with older argon2id parameters is upgraded after the
// next successful login.
func TestRehashOnLogin(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Server) {
		ctx := context.Background()
		old := credential.NewPasswordHasher(credential.Argon2Params{MemoryKiB: 2048, Time: 1, Threads: 1}, 0, 0, time.Second)
		set, err := clienthash.NewPasswordSetting("kate-password-1", "kate-password-1", apptest.Iterations)
		require.NoError(t, err)
		pw, err := credential.ValidatePasswordSetting(set, apptest.Iterations)
		require.NoError(t, err)
		phc, err := old.Hash(ctx, pw)
		require.NoError(t, err)
		salt, _ := clienthash.Decode(set.Salt)
		u, err := e.Store.CreateUser(ctx, apptest.System, storage.DefaultRealm, storage.User{Username: "kate", Language: "en",
			Status: storage.StatusActive, Password: &storage.PasswordVerifier{KDF: set.KDF, Iterations: set.Iterations, Salt: salt, Hash: phc}}, nil)
		require.NoError(t, err)
		e.Remember(phc, set.Hash)
		owner := e.User("owner", "")
		c := e.Client("console", owner.ID, nil)
		require.Equal(t, http.StatusOK, e.Login(&c, "kate", "kate-password-1", nil).Status)
		require.Eventually(t, func() bool {
			got, err := e.Store.GetUser(ctx, storage.DefaultRealm, u.ID)
			return err == nil && got.Password != nil && got.Password.Hash != phc && !e.App.Hasher.NeedsRehash(got.Password.Hash)
		}, 10*time.Second, 20*time.Millisecond)
		require.Equal(t, http.StatusOK, e.Login(&c, "kate", "kate-password-1", nil).Status, "the upgraded verifier still logs in")
	})
}

// A public client (allowed by configuration) logs users in with its
// client_id alone, and may end the grants it holds (RFC 7009 §2.1), but
// not another client's; introspection stays closed to it.
func TestPublicClientRevokesItsOwnTokens(t *testing.T) {
	e := apptest.Start(t, apptest.Real, func(o *app.Options) { o.AllowPublicPasswordGrant = true })
	owner := e.User("owner", "")
	e.User("gina", "gina-password-1", e.Group("g", "users-read").ID)
	public := func(c *storage.Client) { c.TokenEndpointAuthMethod = storage.AuthMethodNone }
	e.Client("spa", owner.ID, []string{"users-read"}, public)
	e.Client("other-spa", owner.ID, []string{"users-read"}, public)
	as := func(clientID string, form url.Values) url.Values {
		form.Set("client_id", clientID)
		return form
	}
	login := func() apptest.Response {
		wire := e.LoginPassword("gina", "gina-password-1")
		r := e.Post(oauth.PathToken, nil, as("spa", url.Values{"grant_type": {"password"}, "username": {"gina"}, "password": {wire}}))
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		e.Remember(r.Str("access_token"), r.Str("refresh_token"))
		return r
	}
	first := login()
	refresh := as("spa", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.Str("refresh_token")}})

	r := e.Post(oauth.PathRevoke, nil, as("other-spa", url.Values{"token": {first.Str("refresh_token")}}))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	r = e.Post(oauth.PathIntrospect, nil, as("spa", url.Values{"token": {first.Str("access_token")}}))
	require.Equal(t, http.StatusUnauthorized, r.Status, r.Raw)
	require.Equal(t, "invalid_client", r.Str("error"))

	second := e.Post(oauth.PathToken, nil, refresh)
	require.Equal(t, http.StatusOK, second.Status, "another client's revocation changed nothing: %s", second.Raw)
	e.Remember(second.Str("access_token"), second.Str("refresh_token"))

	r = e.Post(oauth.PathRevoke, nil, as("spa", url.Values{"token": {second.Str("refresh_token")}}))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	r = e.Post(oauth.PathToken, nil, as("spa", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {second.Str("refresh_token")}}))
	require.Equal(t, "invalid_grant", r.Str("error"), r.Raw)
	require.Equal(t, http.StatusUnauthorized, userinfo(e, second.Str("access_token")).Status, "the grant's access tokens end with it")

	// Discovery says so.
	d := e.Do(mustGet(t, e.URL+"/.well-known/openid-configuration"))
	require.Contains(t, d.Body["revocation_endpoint_auth_methods_supported"], "none")
	require.NotContains(t, d.Body["introspection_endpoint_auth_methods_supported"], "none")
}

func mustGet(t *testing.T, u string) *http.Request {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	return req
}
