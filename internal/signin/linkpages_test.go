package signin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/signin"
	"github.com/gatehouse/gatehouse/storage"
)

// fakeAccounts knows one token of each purpose.
type fakeAccounts struct{ resets []string }

const goodToken = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

var ada = storage.User{ID: "u1", Username: "ada", Language: "de", Status: storage.StatusActive}

func (f *fakeAccounts) PasswordIterations() int { return 1000 }
func (f *fakeAccounts) user(token string) (storage.User, error) {
	if token != goodToken {
		return storage.User{}, accounts.ErrLinkGone
	}
	return ada, nil
}
func (f *fakeAccounts) ActivationUser(_ context.Context, token string) (storage.User, error) {
	return f.user(token)
}
func (f *fakeAccounts) Activate(_ context.Context, token string, _ clienthash.PasswordSetting) (storage.User, error) {
	return f.user(token)
}
func (f *fakeAccounts) RequestReset(_ context.Context, _, name string) {
	f.resets = append(f.resets, name)
}
func (f *fakeAccounts) ResetUser(_ context.Context, token string) (storage.User, error) {
	return f.user(token)
}
func (f *fakeAccounts) Reset(_ context.Context, token string, _ clienthash.PasswordSetting) (storage.User, error) {
	return f.user(token)
}
func (f *fakeAccounts) Invitation(_ context.Context, token string) (accounts.InvitationView, error) {
	if token != goodToken {
		return accounts.InvitationView{}, accounts.ErrLinkGone
	}
	return accounts.InvitationView{Invitation: storage.Invitation{Language: "en"}, Inviter: "Bob <b>", Groups: []string{"editors"}}, nil
}
func (f *fakeAccounts) AcceptAsNew(_ context.Context, token, _ string, _ clienthash.PasswordSetting) (storage.User, error) {
	return f.user(token)
}
func (f *fakeAccounts) AcceptAsExisting(_ context.Context, token string, _ storage.User) (storage.Invitation, error) {
	_, err := f.user(token)
	return storage.Invitation{}, err
}

type noPasswords struct{}

func (noPasswords) VerifyPassword(*http.Request, string, string) (storage.User, error) {
	return storage.User{}, nil
}

func withAccounts(f *fakeAccounts) func(*signin.Options) {
	return func(o *signin.Options) { o.Links, o.Passwords = f, noPasswords{} }
}

// The account pages are pages like the others: the same headers, no
// inline script or style, only same-origin assets, the form's CSRF
// cookie, the user's language.
func TestAccountPages(t *testing.T) {
	for _, issuer := range []string{"http://gatehouse.test", "https://gatehouse.test"} {
		e := newEnv(t, withAccounts(&fakeAccounts{}), func(o *signin.Options) { o.Issuer = issuer })
		for _, path := range []string{"/activate?token=" + goodToken, "/password/reset?token=" + goodToken,
			"/invite?token=" + goodToken, "/password/forgot"} {
			w := e.get(path)
			require.Equal(t, http.StatusOK, w.Code, path)
			h := w.Header()
			require.Equal(t, "no-store", h.Get("Cache-Control"), path)
			require.Contains(t, h.Get("Content-Security-Policy"), "frame-ancestors 'none'", path)
			require.Equal(t, "no-referrer", h.Get("Referrer-Policy"), path)
			ck := w.Result().Cookies()
			require.Len(t, ck, 1, path)
			require.True(t, ck[0].HttpOnly)
			require.Equal(t, http.SameSiteStrictMode, ck[0].SameSite)
			if strings.HasPrefix(issuer, "https") {
				require.Equal(t, "__Host-gatehouse-form", ck[0].Name)
				require.True(t, ck[0].Secure)
			}
			d := parseDoc(t, w.Body.String())
			for _, s := range d.all("script") {
				src, ok := attr(s, "src")
				require.True(t, ok && strings.HasPrefix(src, "/assets/") && s.FirstChild == nil, "%s: %v", path, s.Attr)
			}
			require.Empty(t, d.all("style"), path)
			for _, in := range d.all("input") {
				if typ, _ := attr(in, "type"); typ == "password" {
					_, named := attr(in, "name")
					require.False(t, named, "%s: a typed password field has no name", path)
				}
			}
		}
	}
	e := newEnv(t, withAccounts(&fakeAccounts{}))
	require.Contains(t, e.get("/activate?token="+goodToken).Body.String(), `lang="de"`, "the user's language")
	require.Contains(t, e.get("/invite?token="+goodToken).Body.String(), "Bob &lt;b&gt;", "names are escaped")
	for _, path := range []string{"/activate", "/activate?token=nope", "/password/reset?token=", "/invite?token=x&token=y"} {
		require.Equal(t, http.StatusGone, e.get(path).Code, path)
	}
}

// The login page links to the reset only when accounts by e-mail are on.
func TestLoginLinksToReset(t *testing.T) {
	on := newEnv(t, withAccounts(&fakeAccounts{})).get("/login?auth=login-1").Body.String()
	require.Contains(t, on, `href="/password/forgot"`)
	off := newEnv(t).get("/login?auth=login-1").Body.String()
	require.NotContains(t, off, "/password/forgot")
	require.Equal(t, http.StatusNotFound, newEnv(t).get("/password/forgot").Code)
}

// The reset request needs the form's cookie, and answers the same for
// every name.
func TestForgotPost(t *testing.T) {
	f := &fakeAccounts{}
	e := newEnv(t, withAccounts(f))
	page := e.get("/password/forgot")
	ck := page.Result().Cookies()[0]
	csrf := ck.Value
	post := func(name, token string, cookie bool) (int, string) {
		h := []string{}
		if cookie {
			h = []string{"Cookie", ck.Name + "=" + ck.Value}
		}
		w := e.postForm("/password/forgot", map[string][]string{"name": {name}, "csrf": {token}}, h...)
		return w.Code, w.Body.String()
	}
	code, a := post("ada", csrf, true)
	require.Equal(t, http.StatusOK, code)
	_, b := post("nobody@example.com", csrf, true)
	require.Equal(t, a, b)
	code, _ = post("ada", csrf, false)
	require.Equal(t, http.StatusForbidden, code)
	code, _ = post("ada", strings.Repeat("x", 43), true)
	require.Equal(t, http.StatusForbidden, code)
	require.Equal(t, []string{"ada", "nobody@example.com"}, f.resets)
}
