package apptest

import (
	"encoding/json"
	"net/url"
	"strconv"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/clienthash"
)

// SetPassword fills in the i-th form of a page that sets a password as
// its script does: the password object derived from password and
// confirmation (docs/client-side-hashing.md), plus extra fields.
func (b *Browser) SetPassword(p *Page, i int, password, confirmation string, extra url.Values) *Page {
	t := b.s.T
	t.Helper()
	set, err := clienthash.NewPasswordSetting(password, confirmation, Iterations)
	require.NoError(t, err)
	b.s.Remember(password, confirmation, set.Hash, set.Confirmation)
	v := url.Values{"kdf": {set.KDF}, "iterations": {strconv.Itoa(set.Iterations)}, "salt": {set.Salt},
		"hash": {set.Hash}, "confirmation": {set.Confirmation}}
	for k, vs := range extra {
		v[k] = vs
	}
	return b.SubmitForm(p, i, v)
}

// SignInForm fills in the i-th form of a page that signs in as the login
// page's script does: prelogin, then b64u(P).
func (b *Browser) SignInForm(p *Page, i int, username, password string) *Page {
	t := b.s.T
	t.Helper()
	res, err := b.client.PostForm(b.s.URL+"/oauth2/prelogin", url.Values{"username": {username}})
	require.NoError(t, err)
	defer res.Body.Close()
	var params clienthash.LoginParams
	require.NoError(t, json.NewDecoder(res.Body).Decode(&params))
	wire, err := clienthash.LoginPassword(password, params)
	require.NoError(t, err)
	b.s.Remember(wire)
	return b.SubmitForm(p, i, url.Values{"username": {username}, "password": {wire}})
}
