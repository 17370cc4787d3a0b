package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/bootstrap"
	"github.com/gatehouse/gatehouse/storage"
)

// An administrator lists and revokes a user's consents by username or
// id; the user does the same with their own, signing in with --as.
func TestConsentsListAndRevoke(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		f := newCLIFixture(t, s)
		ctx := context.Background()
		root, err := s.Store.GetUserByUsername(ctx, storage.DefaultRealm, "root")
		require.NoError(t, err)
		_, err = bootstrap.EnsureDemoClient(ctx, s.Store, "", s.URL, root.ID)
		require.NoError(t, err)
		s.Client("other-app", root.ID, nil)
		dana := s.User("dana", "dana-password-1")
		for _, c := range []string{"demo", "other-app"} {
			_, err := s.Store.GrantConsent(ctx, apptest.System, storage.DefaultRealm, dana.ID, c, []string{"openid", "profile"})
			require.NoError(t, err)
		}

		out := f.mustAdmin(t, "consents", "list", "dana")
		require.Contains(t, out, "CLIENT_ID")
		require.Regexp(t, `(?m)^demo\s+openid,profile\s`, out)
		require.Regexp(t, `(?m)^other-app\s+openid,profile\s`, out)
		require.Equal(t, out, f.mustAdmin(t, "consents", "list", dana.ID), "a name or an id")

		require.Contains(t, f.mustAdmin(t, "consents", "revoke", "dana", "demo"), "revoked the consent to demo")
		out = f.mustAdmin(t, "consents", "list", "dana")
		require.NotContains(t, out, "demo")
		require.Contains(t, out, "other-app")
		_, err = f.admin(t, "consents", "revoke", "dana", "demo")
		require.ErrorContains(t, err, "404", "already revoked")

		// The user's own view, with a user token.
		out = f.mustAdmin(t, "consents", "list", "--as", "dana", "--password", "dana-password-1")
		require.Contains(t, out, "other-app")
		f.mustAdmin(t, "consents", "revoke", "--as", "dana", "--password", "dana-password-1", "other-app")
		require.NotContains(t, f.mustAdmin(t, "consents", "list", "dana"), "other-app")
		_, err = f.admin(t, "consents", "list", "--as", "dana", "--password", "wrong-password-1")
		require.ErrorContains(t, err, "invalid_grant")

		for _, args := range [][]string{
			{"consents", "list"},
			{"consents", "list", "dana", "--as", "dana"},
			{"consents", "list", "nobody"},
			{"consents", "revoke"},
			{"consents", "revoke", "dana", "demo", "extra"},
		} {
			_, err := f.admin(t, args...)
			require.Error(t, err, args)
		}
	})
}
