package oauth

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage"
)

func TestContextSelector(t *testing.T) {
	cases := []struct {
		requested []string
		id        string
		rest      []string
		refused   bool
	}{
		{nil, "", nil, false},
		{[]string{"users-read"}, "", []string{"users-read"}, false},
		{[]string{"context:acme", "users-read"}, "acme", []string{"users-read"}, false},
		{[]string{"users-read", "context:acme", "openid"}, "acme", []string{"users-read", "openid"}, false},
		{[]string{"context:acme", "context:acme"}, "acme", []string{}, false},
		{[]string{"context:acme", "context:blog"}, "", nil, true},
		{[]string{"context:"}, "", nil, true},
	}
	for _, c := range cases {
		id, rest, err := contextSelector(c.requested)
		if c.refused {
			require.ErrorIs(t, err, errScopeNotPermitted, "%v", c.requested)
			continue
		}
		require.NoError(t, err, "%v", c.requested)
		require.Equal(t, c.id, id, "%v", c.requested)
		require.Equal(t, c.rest, rest, "%v", c.requested)
	}
}

func TestTokenContext(t *testing.T) {
	bound := storage.Client{ContextID: "acme.shop"}
	id, err := tokenContext(bound, "")
	require.NoError(t, err)
	require.Equal(t, "acme.shop", id, "a bound client's tokens are for its context")
	id, err = tokenContext(bound, "acme.shop")
	require.NoError(t, err)
	require.Equal(t, "acme.shop", id)
	_, err = tokenContext(bound, "acme")
	require.ErrorIs(t, err, errScopeNotPermitted, "not even the context above")
	id, err = tokenContext(storage.Client{}, "acme")
	require.NoError(t, err)
	require.Equal(t, "acme", id)

	scopes, err := withSelector("acme", []string{"users-read", "openid"})
	require.NoError(t, err)
	require.Equal(t, []string{"context:acme", "openid", "users-read"}, scopes)
	_, err = withSelector("acme", []string{"openid"})
	require.ErrorIs(t, err, errScopeNotPermitted, "a token for a context carries an admin resource")
	scopes, err = withSelector("", []string{"openid"})
	require.NoError(t, err)
	require.Equal(t, []string{"openid"}, scopes)
}
