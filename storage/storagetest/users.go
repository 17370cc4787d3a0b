package storagetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage"
)

func testLanguages(t *testing.T, s storage.Store) {
	l, err := s.CreateLanguage(ctx, actor, realm, storage.Language{Code: "de-AT", Name: "Deutsch (Österreich)"})
	require.NoError(t, err)
	require.Equal(t, "de-AT", l.Code)
	require.False(t, l.CreatedAt.IsZero())
	_, err = s.CreateLanguage(ctx, actor, realm, storage.Language{Code: "DE-at", Name: "dup"})
	require.ErrorIs(t, err, storage.ErrAlreadyExists, "codes are unique case-insensitively")
	got, err := s.GetLanguage(ctx, realm, "de-at")
	require.NoError(t, err)
	require.Equal(t, "de-AT", got.Code)

	up, err := s.UpdateLanguage(ctx, actor, realm, "de-AT", func(l *storage.Language) error { l.Name = "Österreichisch"; l.Code = "xx"; return nil })
	require.NoError(t, err)
	require.Equal(t, "Österreichisch", up.Name)
	require.Equal(t, "de-AT", up.Code, "the code is the key and does not change")
	_, err = s.UpdateLanguage(ctx, actor, realm, "fr", func(*storage.Language) error { return nil })
	require.ErrorIs(t, err, storage.ErrNotFound)
	sentinel := fmt.Errorf("refused")
	_, err = s.UpdateLanguage(ctx, actor, realm, "de-AT", func(*storage.Language) error { return sentinel })
	require.ErrorIs(t, err, sentinel, "the update function's error is returned as is")

	_, err = s.CreateUser(ctx, actor, realm, storage.User{Username: "speaker", Language: "de-AT", Status: storage.StatusActive}, nil)
	require.NoError(t, err)
	require.ErrorIs(t, s.DeleteLanguage(ctx, actor, realm, "de-AT"), storage.ErrInUse, "a language users speak")
	require.ErrorIs(t, s.DeleteLanguage(ctx, actor, realm, "en"), storage.ErrInUse, "the realm's default language")
	require.ErrorIs(t, s.DeleteLanguage(ctx, actor, realm, "fr"), storage.ErrNotFound)

	_, err = s.CreateLanguage(ctx, actor, realm, storage.Language{Code: "fr", Name: "Français"})
	require.NoError(t, err)
	require.NoError(t, s.DeleteLanguage(ctx, actor, realm, "fr"))
	_, err = s.GetLanguage(ctx, realm, "fr")
	require.ErrorIs(t, err, storage.ErrNotFound)

	for _, c := range []string{"it", "nl", "pt-BR", "sv"} {
		_, err := s.CreateLanguage(ctx, actor, realm, storage.Language{Code: c, Name: c})
		require.NoError(t, err)
	}
	codes := walk(t, 2, func(o storage.ListOptions) (storage.Page[storage.Language], error) {
		return s.ListLanguages(ctx, realm, o)
	},
		func(l storage.Language) string { return l.Code })
	require.Equal(t, []string{"de-AT", "en", "it", "nl", "pt-BR", "sv"}, codes)
}

func testUsers(t *testing.T, s storage.Store) {
	pw := &storage.PasswordVerifier{KDF: "pbkdf2-sha256", Iterations: 600000, Salt: []byte("0123456789abcdef"), Hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}
	u, err := s.CreateUser(ctx, actor, realm, storage.User{Username: "Alice", Email: "alice@example.com", DisplayName: "Alice",
		Language: "en", Status: storage.StatusActive, Password: pw}, nil)
	require.NoError(t, err)
	require.NotEmpty(t, u.ID)
	require.False(t, u.CreatedAt.IsZero())
	require.Equal(t, pw, u.Password)

	got, err := s.GetUser(ctx, realm, u.ID)
	require.NoError(t, err)
	require.Equal(t, u.Username, got.Username)
	require.Equal(t, pw.Salt, got.Password.Salt)
	byName, err := s.GetUserByUsername(ctx, realm, "aLiCe")
	require.NoError(t, err)
	require.Equal(t, u.ID, byName.ID, "usernames match case-insensitively")

	_, err = s.CreateUser(ctx, actor, realm, storage.User{Username: "ALICE", Language: "en", Status: storage.StatusActive}, nil)
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
	_, err = s.CreateUser(ctx, actor, realm, storage.User{Username: "bob", Language: "xx", Status: storage.StatusActive}, nil)
	require.ErrorIs(t, err, storage.ErrMissingReference)
	_, err = s.CreateUser(ctx, actor, realm, storage.User{Username: "bob", Language: "en", Status: storage.StatusActive}, []string{"00000000-0000-0000-0000-000000000000"})
	require.ErrorIs(t, err, storage.ErrMissingReference)
	_, err = s.GetUserByUsername(ctx, realm, "bob")
	require.ErrorIs(t, err, storage.ErrNotFound, "a failed create leaves nothing behind")
	for _, id := range []string{"00000000-0000-0000-0000-000000000000", "not-a-uuid"} {
		_, err = s.GetUser(ctx, realm, id)
		require.ErrorIs(t, err, storage.ErrNotFound, id)
	}

	// Update: every field but id and timestamps; removing the password.
	bob := user(t, s, "bob")
	up, err := s.UpdateUser(ctx, actor, realm, u.ID, func(u *storage.User) error {
		u.Username, u.Email, u.Status, u.Password, u.ID = "alice2", "a2@example.com", storage.StatusDisabled, nil, "other"
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, u.ID, up.ID)
	require.Equal(t, "alice2", up.Username)
	require.Equal(t, storage.StatusDisabled, up.Status)
	require.Nil(t, up.Password)
	require.Equal(t, u.CreatedAt, up.CreatedAt)
	got, err = s.GetUser(ctx, realm, u.ID)
	require.NoError(t, err)
	require.Nil(t, got.Password)
	_, err = s.UpdateUser(ctx, actor, realm, u.ID, func(u *storage.User) error { u.Username = "BOB"; return nil })
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
	_, err = s.UpdateUser(ctx, actor, realm, u.ID, func(u *storage.User) error { u.Language = "xx"; return nil })
	require.ErrorIs(t, err, storage.ErrMissingReference)
	_, err = s.UpdateUser(ctx, actor, realm, "00000000-0000-0000-0000-000000000000", func(*storage.User) error { return nil })
	require.ErrorIs(t, err, storage.ErrNotFound)

	require.NoError(t, s.DeleteUser(ctx, actor, realm, bob.ID))
	require.ErrorIs(t, s.DeleteUser(ctx, actor, realm, bob.ID), storage.ErrNotFound)
	_, err = s.GetUser(ctx, realm, bob.ID)
	require.ErrorIs(t, err, storage.ErrNotFound)
}

// Usernames are one account per canonical form (storage.CanonicalUsername):
// width and case variants collide, any spelling finds the account, and the
// form as typed is what the user shows.
func testCanonicalUsernames(t *testing.T, s storage.Store) {
	u := user(t, s, "Zoë")
	for _, dup := range []string{"ZOË", "zoë", "Ｚｏë", "Zoe\u0308"} {
		_, err := s.CreateUser(ctx, actor, realm, storage.User{Username: dup, Language: "en", Status: storage.StatusActive}, nil)
		require.ErrorIs(t, err, storage.ErrAlreadyExists, "%q", dup)
		got, err := s.GetUserByUsername(ctx, realm, dup)
		require.NoError(t, err, "%q", dup)
		require.Equal(t, u.ID, got.ID, "%q", dup)
		require.Equal(t, "Zoë", got.Username, "the form as typed is kept")
		page, err := s.ListUsers(ctx, realm, storage.UserFilter{Username: dup}, storage.ListOptions{})
		require.NoError(t, err)
		require.Len(t, page.Items, 1, "%q", dup)
	}

	// A fullwidth spelling is its own display form, and one account.
	wide := user(t, s, "ＡＬＩＣＥ")
	require.Equal(t, "ＡＬＩＣＥ", wide.Username)
	got, err := s.GetUserByUsername(ctx, realm, "alice")
	require.NoError(t, err)
	require.Equal(t, wide.ID, got.ID)
	_, err = s.CreateUser(ctx, actor, realm, storage.User{Username: "Alice", Language: "en", Status: storage.StatusActive}, nil)
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
	bob := user(t, s, "bob")
	_, err = s.UpdateUser(ctx, actor, realm, bob.ID, func(u *storage.User) error { u.Username = "aLiCe"; return nil })
	require.ErrorIs(t, err, storage.ErrAlreadyExists, "renaming into a taken canonical form")
	up, err := s.UpdateUser(ctx, actor, realm, wide.ID, func(u *storage.User) error { u.Username = "Alice"; return nil })
	require.NoError(t, err, "a user may respell their own username")
	require.Equal(t, "Alice", up.Username)

	// A username with no canonical form is refused, and names no account.
	for _, bad := range []string{"", "two words", "tab\there", "\u0000", strings.Repeat("x", storage.MaxUsernameBytes+1)} {
		_, err := s.CreateUser(ctx, actor, realm, storage.User{Username: bad, Language: "en", Status: storage.StatusActive}, nil)
		require.ErrorIs(t, err, storage.ErrInvalidUsername, "%q", bad)
		_, err = s.UpdateUser(ctx, actor, realm, bob.ID, func(u *storage.User) error { u.Username = bad; return nil })
		require.ErrorIs(t, err, storage.ErrInvalidUsername, "%q", bad)
		_, err = s.GetUserByUsername(ctx, realm, bad)
		require.ErrorIs(t, err, storage.ErrNotFound, "%q", bad)
		if bad != "" { // an empty filter does not filter
			page, err := s.ListUsers(ctx, realm, storage.UserFilter{Username: bad}, storage.ListOptions{})
			require.NoError(t, err)
			require.Empty(t, page.Items)
		}
	}
	got, err = s.GetUser(ctx, realm, bob.ID)
	require.NoError(t, err)
	require.Equal(t, "bob", got.Username, "a refused update changes nothing")
}

func testUserFiltersAndPages(t *testing.T, s storage.Store) {
	g := group(t, s, "staff")
	for i := range 7 {
		u, err := s.CreateUser(ctx, actor, realm, storage.User{Username: fmt.Sprintf("User%02d", i), Email: fmt.Sprintf("u%d@example.com", i%3),
			Language: "en", Status: storage.StatusActive}, nil)
		require.NoError(t, err)
		if i%2 == 0 {
			require.NoError(t, s.AddGroupMember(ctx, actor, realm, g.ID, u.ID))
		} else {
			_, err = s.UpdateUser(ctx, actor, realm, u.ID, func(u *storage.User) error { u.Status = storage.StatusDisabled; return nil })
			require.NoError(t, err)
		}
	}
	list := func(f storage.UserFilter) func(storage.ListOptions) (storage.Page[storage.User], error) {
		return func(o storage.ListOptions) (storage.Page[storage.User], error) { return s.ListUsers(ctx, realm, f, o) }
	}
	name := func(u storage.User) string { return u.Username }
	all := walk(t, 3, list(storage.UserFilter{}), name)
	require.Len(t, all, 7)
	require.True(t, slices.IsSortedFunc(all, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }))
	require.Equal(t, all, walk(t, 50, list(storage.UserFilter{}), name), "page size does not change the order")
	require.Equal(t, []string{"User03"}, walk(t, 10, list(storage.UserFilter{Username: "user03"}), name))
	require.Len(t, walk(t, 10, list(storage.UserFilter{Email: "U1@EXAMPLE.COM"}), name), 2)
	require.Len(t, walk(t, 10, list(storage.UserFilter{Status: storage.StatusDisabled}), name), 3)
	require.Len(t, walk(t, 10, list(storage.UserFilter{GroupID: g.ID}), name), 4)
	require.Empty(t, walk(t, 10, list(storage.UserFilter{GroupID: "00000000-0000-0000-0000-000000000000"}), name))

	page, err := s.ListUsers(ctx, realm, storage.UserFilter{}, storage.ListOptions{Limit: 100000})
	require.NoError(t, err)
	require.Len(t, page.Items, 7, "limits above the maximum are clamped, not refused")
	_, err = s.ListUsers(ctx, realm, storage.UserFilter{}, storage.ListOptions{Cursor: "!!not a cursor"})
	require.ErrorIs(t, err, storage.ErrInvalidCursor)
}

func testUserConcurrentUpdates(t *testing.T, s storage.Store) {
	u := user(t, s, "counter")
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateUser(ctx, actor, realm, u.ID, func(u *storage.User) error {
				u.DisplayName += fmt.Sprintf("<%d>", i)
				return nil
			})
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	got, err := s.GetUser(ctx, realm, u.ID)
	require.NoError(t, err)
	for i := range n {
		require.Contains(t, got.DisplayName, fmt.Sprintf("<%d>", i), "no update is lost")
	}
}
