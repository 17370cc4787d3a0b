package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/storage"
)

// hookStore runs hook once, at the start of the next UpdateUser: after the
// admin API wrote the "revoked before" mark of a password change and
// before the new password is saved.
type hookStore struct {
	storage.Store
	hook atomic.Pointer[func()]
}

func (h *hookStore) UpdateUser(ctx context.Context, a storage.Actor, realm, id string, fn func(*storage.User) error) (storage.User, error) {
	if f := h.hook.Swap(nil); f != nil {
		(*f)()
	}
	return h.Store.UpdateUser(ctx, a, realm, id, fn)
}

// A password change writes the user's "revoked before" mark first and
// saves the new password afterwards. A password-grant request with the
// OLD password that begins in between (its issue time is after the mark)
// reads the old verifier and gets tokens; they must die with the change,
// or the thief it was meant to lock out stays signed in. (The second
// mark, written after the save, covers them.)
func TestReviewPasswordChangeRace(t *testing.T) {
	for _, b := range apptest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			hs := &hookStore{}
			s := apptest.Start(t, b, func(o *app.Options) { hs.Store = o.Store; o.Store = hs })
			f := setup(t, s)
			victim := f.User("pia", "old-password-1")
			thiefApp := f.Client("thief-app", f.admin.ID, nil)

			var stolen apptest.Response
			hook := func() {
				// Time passes between the mark and the save (one DB round
				// trip at least); the thief's request begins in it.
				f.Clock.Advance(time.Millisecond)
				stolen = f.Login(&thiefApp, "pia", "old-password-1", nil)
			}
			hs.hook.Store(&hook)
			r := f.call(http.MethodPut, "/admin/users/"+victim.ID+"/password", f.adminToken, passwordObject(t, "new-password-1", "new-password-1"))
			require.Equal(t, http.StatusNoContent, r.Status, r.Raw)
			require.Equal(t, http.StatusOK, stolen.Status, "the thief's login in the window: %s", stolen.Raw)
			f.Clock.Advance(time.Second)

			// The old password no longer works...
			require.Equal(t, http.StatusBadRequest, f.Login(&thiefApp, "pia", "old-password-1", nil).Status)
			// ...but what was obtained with it in the window must be dead.
			me := f.call(http.MethodGet, "/admin/me", stolen.Str("access_token"), nil)
			ref := f.Post("/oauth2/token", &thiefApp, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {stolen.Str("refresh_token")}})
			require.Equal(t, http.StatusUnauthorized, me.Status, "access token from the old password survives the change: %s", me.Raw)
			require.Equal(t, http.StatusBadRequest, ref.Status, "refresh token from the old password survives the change: %s", ref.Raw)
		})
	}
}
