package oauth

import (
	"time"

	"github.com/ory/fosite"

	"github.com/gatehouse/gatehouse/storage"
)

// client adapts an authenticated storage.Client to fosite.Client. Scopes are
// the client's effective scopes, computed when the request is handled, not
// its registered ones.
type client struct {
	c      storage.Client
	method string // the authentication method actually used
}

var _ fosite.Client = (*client)(nil)

func (c *client) GetID() string                      { return c.c.ClientID }
func (c *client) GetHashedSecret() []byte            { return nil }
func (c *client) GetRedirectURIs() []string          { return nil }
func (c *client) GetGrantTypes() fosite.Arguments    { return c.c.GrantTypes }
func (c *client) GetResponseTypes() fosite.Arguments { return nil }
func (c *client) GetScopes() fosite.Arguments        { return c.c.Scopes }
func (c *client) IsPublic() bool                     { return c.method == storage.AuthMethodNone }
func (c *client) GetAudience() fosite.Arguments      { return nil }

// session carries what a grant handler decided to the response: the
// subject, the scopes and lifetimes, and the user for user tokens.
type session struct {
	// issuedAt is the issue time of the request's tokens: when the request
	// began, before it read any state. A "revoked before" mark written
	// after a change (which raises the change stamp first) then covers
	// every token whose request may have read the state before the change.
	issuedAt time.Time
	// source is the address the request came from, as the login
	// throttle counts it (see sourceAddress).
	source string
	grant  string // client_credentials, password, refresh_token or authorization_code
	user   *storage.User
	scopes []string
	// context is the context the tokens are for, "" for realm-wide.
	context   string
	expiresAt map[fosite.TokenType]time.Time
	// refresh is the refresh token to hand out, if any, and family its
	// family.
	refresh string
	family  string
	// id, when set, is the authentication an ID token describes: the
	// response carries one when the scopes hold openid.
	id *idTokenFacts
}

var _ fosite.Session = (*session)(nil)

func (s *session) SetExpiresAt(key fosite.TokenType, exp time.Time) {
	if s.expiresAt == nil {
		s.expiresAt = make(map[fosite.TokenType]time.Time, 2)
	}
	s.expiresAt[key] = exp
}

func (s *session) GetExpiresAt(key fosite.TokenType) time.Time { return s.expiresAt[key] }

func (s *session) GetUsername() string {
	if s.user == nil {
		return ""
	}
	return s.user.Username
}

func (s *session) GetSubject() string {
	if s.user == nil {
		return ""
	}
	return s.user.ID
}

func (s *session) Clone() fosite.Session {
	c := *s
	c.expiresAt = make(map[fosite.TokenType]time.Time, len(s.expiresAt))
	for k, v := range s.expiresAt {
		c.expiresAt[k] = v
	}
	return &c
}
