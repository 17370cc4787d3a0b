package apptest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/storage"
)

// System is the actor fixtures are created as.
var System = storage.System("test")

// Group creates a group granting resources.
func (s *Server) Group(name string, resources ...string) storage.Group {
	s.T.Helper()
	g, err := s.Store.CreateGroup(context.Background(), System, storage.DefaultRealm,
		storage.Group{Name: name, Resources: resources})
	require.NoError(s.T, err)
	return g
}

// User creates an active user in groups, with a password unless password
// is empty. The password is hashed on the client side like a real client
// does, with Iterations.
func (s *Server) User(username, password string, groups ...string) storage.User {
	s.T.Helper()
	u, secrets := createUser(s.T, s.App.Hasher, s.Store, username, password, groups)
	s.Remember(secrets...)
	return u
}

// createUser creates an active user in groups, with a password unless
// password is empty, hashed on the client side like a real client does,
// with Iterations. It returns the user and what must never be logged: the
// password, b64u(P) and the stored PHC string.
func createUser(tb testing.TB, h *credential.PasswordHasher, store storage.Store, username, password string, groups []string) (storage.User, []string) {
	tb.Helper()
	ctx := context.Background()
	u := storage.User{Username: username, Language: "en", Status: storage.StatusActive}
	var secrets []string
	if password != "" {
		set, err := clienthash.NewPasswordSetting(password, password, Iterations)
		require.NoError(tb, err)
		u.Password, err = h.NewVerifier(ctx, set, Iterations)
		require.NoError(tb, err)
		secrets = []string{password, set.Hash, u.Password.Hash}
	}
	u, err := store.CreateUser(ctx, System, storage.DefaultRealm, u, groups)
	require.NoError(tb, err)
	return u, secrets
}

// Client is a registered client and its secret S.
type Client struct {
	ID     string
	Secret string // S, b64u; the wire secret W is derived from it
}

// Wire returns W, what goes on the wire as client_secret.
func (c Client) Wire(t require.TestingT) string {
	w, err := clienthash.WireSecret(c.Secret, c.ID)
	require.NoError(t, err)
	return w
}

// Client registers a confidential client owned by owner, with all three
// grant types and client_secret_basic unless mutate says otherwise.
func (s *Server) Client(id, owner string, scopes []string, mutate ...func(*storage.Client)) Client {
	s.T.Helper()
	c := storage.Client{
		ClientID: id, OwnerID: owner, Name: id, Scopes: scopes,
		GrantTypes:              []string{"client_credentials", "password", "refresh_token"},
		TokenEndpointAuthMethod: storage.AuthMethodSecretBasic, Status: storage.StatusActive,
	}
	for _, m := range mutate {
		m(&c)
	}
	tc, verifier := s.newSecret(id)
	var verifiers [][]byte
	if c.TokenEndpointAuthMethod == storage.AuthMethodSecretBasic || c.TokenEndpointAuthMethod == storage.AuthMethodSecretPost {
		verifiers = [][]byte{verifier}
	}
	_, err := s.Store.CreateClient(context.Background(), System, storage.DefaultRealm, c, verifiers)
	require.NoError(s.T, err)
	return tc
}

// NewSecretVersion registers another active secret version for a client.
func (s *Server) NewSecretVersion(clientID string) Client {
	s.T.Helper()
	tc, verifier := s.newSecret(clientID)
	_, err := s.Store.AddClientSecret(context.Background(), System, storage.DefaultRealm, clientID, verifier)
	require.NoError(s.T, err)
	return tc
}

// newSecret generates S for a client and returns it with its verifier V.
func (s *Server) newSecret(clientID string) (Client, []byte) {
	secret, err := clienthash.NewClientSecret()
	require.NoError(s.T, err)
	w := clienthash.ClientSecretWire(secret, clientID)
	tc := Client{ID: clientID, Secret: clienthash.Encode(secret)}
	s.Remember(tc.Secret, clienthash.Encode(w))
	return tc, clienthash.ClientSecretVerifier(w)
}
