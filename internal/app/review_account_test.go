package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/storage"
)

// pausingStore holds the next password read of one username, once armed,
// until released: the window in which a password check hashes what it
// read.
type pausingStore struct {
	storage.Store
	mu       sync.Mutex
	username string
	read     chan struct{}
	release  chan struct{}
}

func (s *pausingStore) arm(username string) (read, release chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.username, s.read, s.release = username, make(chan struct{}), make(chan struct{})
	return s.read, s.release
}

func (s *pausingStore) GetUserByUsername(ctx context.Context, realm, username string) (storage.User, error) {
	u, err := s.Store.GetUserByUsername(ctx, realm, username)
	s.mu.Lock()
	armed := s.username != "" && s.username == username
	read, release := s.read, s.release
	if armed {
		s.username = ""
	}
	s.mu.Unlock()
	if armed {
		close(read)
		<-release
	}
	return u, err
}

// forEachBackendPausing is apptest.ForEachBackend with a pausingStore
// under the server's store.
func forEachBackendPausing(t *testing.T, fn func(t *testing.T, s *apptest.Server, ps *pausingStore)) {
	for _, b := range apptest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			var ps *pausingStore
			s := apptest.Start(t, b, func(o *app.Options) {
				ps = &pausingStore{Store: o.Store}
				o.Store = ps
			})
			fn(t, s, ps)
		})
	}
}

// TestReviewAccountPasswordChangeRace: a sign-in with the old password
// that read the password before the change was saved and finished after
// it must not leave a session behind: the thief who keeps signing in
// while the user changes their password is out with everyone else.
func TestReviewAccountPasswordChangeRace(t *testing.T) {
	forEachBackendPausing(t, func(t *testing.T, s *apptest.Server, ps *pausingStore) {
		s.User("alice", "old password")
		victim, page := accountUser(t, s, "alice", "old password")
		csrf, ok := page.Hidden("csrf")
		require.True(t, ok)

		thief := s.Browser()
		login := thief.Visit(s.URL + "/account")
		require.Equal(t, "/login", login.URL.Path)
		wire := s.LoginPassword("alice", "old password")
		read, release := ps.arm("alice")
		signedIn := make(chan *apptest.Page, 1)
		go func() {
			signedIn <- thief.Submit(login, url.Values{"username": {"alice"}, "password": {wire}})
		}()
		<-read // the thief's sign-in holds the old password, hashing it

		s.Clock.Advance(time.Second)
		changed := victim.PostForm("/account/password", passwordChange(t, s, csrf, "alice", "old password", "new password", "new password"))
		require.Equal(t, http.StatusOK, changed.Status, changed.Body)
		require.Equal(t, "password", changed.URL.Query().Get("done"))
		s.Clock.Advance(time.Second)
		close(release)
		<-signedIn

		require.Equal(t, "/login", thief.Visit(s.URL+"/account").URL.Path,
			"the sign-in that began with the old password ended with the change")
		require.Equal(t, "/account", victim.Visit(s.URL+"/account").URL.Path, "the user stays signed in")
	})
}

// TestReviewAccountPasswordGrantRace: a password grant that read the old
// password before the account page saved a new one, and finished after,
// must not hand out tokens that outlive the change.
func TestReviewAccountPasswordGrantRace(t *testing.T) {
	forEachBackendPausing(t, func(t *testing.T, s *apptest.Server, ps *pausingStore) {
		g := s.Group("account-holders", "users-read")
		alice := s.User("alice", "old password", g.ID)
		c := s.Client("cli", alice.ID, []string{"users-read"})
		victim, page := accountUser(t, s, "alice", "old password")
		csrf, ok := page.Hidden("csrf")
		require.True(t, ok)

		wire := s.LoginPassword("alice", "old password")
		read, release := ps.arm("alice")
		granted := make(chan apptest.Response, 1)
		go func() {
			granted <- s.Post("/oauth2/token", &c, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {wire}})
		}()
		<-read

		s.Clock.Advance(time.Second)
		changed := victim.PostForm("/account/password", passwordChange(t, s, csrf, "alice", "old password", "new password", "new password"))
		require.Equal(t, "password", changed.URL.Query().Get("done"), changed.Body)
		s.Clock.Advance(time.Second)
		close(release)
		r := <-granted
		if r.Status != http.StatusOK {
			require.Equal(t, "invalid_grant", r.Str("error"), r.Raw)
			return
		}
		s.Remember(r.Str("access_token"), r.Str("refresh_token"))
		require.Equal(t, http.StatusUnauthorized, s.Bearer(http.MethodGet, "/admin/me", r.Str("access_token"), "").Status,
			"an access token from the old password is dead")
		refreshed := s.Post("/oauth2/token", &c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.Str("refresh_token")}})
		require.Equal(t, http.StatusBadRequest, refreshed.Status, "a refresh token from the old password is dead: %s", refreshed.Raw)
	})
}

// TestReviewAccountStolenSessionCannotEndNewer: a session cannot end one
// its user signed in to later. Otherwise whoever holds a stolen cookie,
// but not the password, signs the user out each time they sign in to
// change it; the newer session, holding the fresher proof, can end the
// older.
func TestReviewAccountStolenSessionCannotEndNewer(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		s.User("alice", "alice's password")
		thief, _ := accountUser(t, s, "alice", "alice's password")
		s.Clock.Advance(time.Second)
		owner, _ := accountUser(t, s, "alice", "alice's password")

		page := thief.Visit(s.URL + "/account")
		csrf, ok := page.Hidden("csrf")
		require.True(t, ok)
		ids := page.HiddenValues("session")
		require.Len(t, ids, 1, "the thief's page offers to end only its own session: %v", ids)
		ownerPage := owner.Visit(s.URL + "/account")
		ownerIDs := ownerPage.HiddenValues("session")
		require.Len(t, ownerIDs, 2)
		p := thief.PostForm("/account/sessions/end", url.Values{"csrf": {csrf}, "session": {ownerIDs[0]}})
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		require.Equal(t, "/account", owner.Visit(s.URL+"/account").URL.Path, "the owner's newer session lives on")

		ownerCSRF, _ := ownerPage.Hidden("csrf")
		p = owner.PostForm("/account/sessions/end", url.Values{"csrf": {ownerCSRF}, "session": {ownerIDs[1]}})
		require.Equal(t, "session", p.URL.Query().Get("done"), p.Body)
		require.Equal(t, "/login", thief.Visit(s.URL+"/account").URL.Path, "the owner ended the older session")
	})
}

// TestReviewAccountUILocalesBounded: the sign-in the account page starts
// for anyone keeps ui_locales within the authorization endpoint's bounds
// (8 tags of at most 35 bytes), so that an anonymous GET cannot park
// kilobytes in token state for half an hour.
func TestReviewAccountUILocalesBounded(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		long := strings.Repeat("x", 1500)
		login := s.Browser().Visit(s.URL + "/account?" + url.Values{"ui_locales": {strings.Repeat(long+" ", 8)}}.Encode())
		require.Equal(t, "/login", login.URL.Path, login.Body)
		rec, err := s.State.GetEntry(t.Context(), "ar:"+login.URL.Query().Get("auth"))
		require.NoError(t, err)
		require.Less(t, len(rec), 1000, "the pending sign-in holds no oversized language tags")
	})
}

// TestReviewAccountThrottledChangeHashesNothing: a password change the
// login throttle refuses costs no hashing, as a refused sign-in costs
// none: otherwise any signed-in user keeps the shared hasher busy, and
// everyone's sign-ins wait, with changes the throttle answers anyway.
func TestReviewAccountThrottledChangeHashesNothing(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, s *apptest.Server) {
		var hashes atomic.Int64
		s.App.Hasher.ObserveWait(func(time.Duration) { hashes.Add(1) })
		s.User("alice", "alice's password")
		b, page := accountUser(t, s, "alice", "alice's password")
		csrf, ok := page.Hidden("csrf")
		require.True(t, ok)
		guess := func() int {
			return b.PostForm("/account/password", passwordChange(t, s, csrf, "alice", "guess", "new one", "new one")).Status
		}
		throttled := 0
		for i := 0; i < 15 && throttled == 0; i++ {
			if guess() == http.StatusTooManyRequests {
				throttled = i + 1
			}
		}
		require.NotZero(t, throttled, "the guesses were throttled")
		before := hashes.Load()
		require.Equal(t, []int{429, 429, 429}, []int{guess(), guess(), guess()})
		require.Equal(t, before, hashes.Load(), "refused changes hashed nothing")
	})
}
