package oauth

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/ory/fosite"

	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/storage"
)

// Each grant decides everything in HandleTokenEndpointRequest (who, which
// scopes, token state) and only signs in PopulateTokenEndpointResponse, so
// that fosite's two-phase dispatch never leaves half-written state behind
// a failed decision.

// grantBase holds what the three grant handlers share.
type grantBase struct {
	p    *Provider
	name string
}

func (g grantBase) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool { return false }

func (g grantBase) CanHandleTokenEndpointRequest(_ context.Context, ar fosite.AccessRequester) bool {
	return ar.GetGrantTypes().ExactOne(g.name)
}

func (g grantBase) PopulateTokenEndpointResponse(ctx context.Context, ar fosite.AccessRequester, resp fosite.AccessResponder) error {
	if !g.CanHandleTokenEndpointRequest(ctx, ar) {
		return fosite.ErrUnknownRequest
	}
	c, s := requestParts(ar)
	token, exp, err := g.p.issueAccessToken(c.c, s)
	if err != nil {
		return err
	}
	resp.SetAccessToken(token)
	resp.SetTokenType("bearer")
	resp.SetExpiresIn(exp.Sub(g.p.now()).Round(time.Second))
	resp.SetScopes(s.scopes)
	if s.refresh != "" {
		resp.SetExtra("refresh_token", s.refresh)
	}
	if s.id != nil && contains(s.scopes, scopeOpenID) {
		idToken, err := g.p.issueIDToken(c.c, s, token, exp)
		if err != nil {
			return err
		}
		resp.SetExtra("id_token", idToken)
	}
	return nil
}

// start checks that the client may use the grant — registered for it,
// and owned by an active user: a client of a disabled or deleted owner
// gets no token for anyone — and returns the parts of the request the
// handler works on.
func (g grantBase) start(ctx context.Context, ar fosite.AccessRequester, allowPublic bool) (*client, *session, error) {
	c, s := requestParts(ar)
	if !slices.Contains(c.c.GrantTypes, g.name) || (c.IsPublic() && !allowPublic) {
		return nil, nil, errUnauthorizedClient
	}
	if err := g.p.ownerActive(ctx, c.c); errors.Is(err, errOwnerInactive) {
		return nil, nil, errUnauthorizedClient.withCause(err)
	} else if err != nil {
		return nil, nil, err
	}
	s.grant = g.name
	return c, s, nil
}

func requestParts(ar fosite.AccessRequester) (*client, *session) {
	return ar.GetClient().(*client), ar.GetSession().(*session)
}

func grant(ar fosite.AccessRequester, s *session, scopes []string) {
	s.scopes = scopes
	for _, sc := range scopes {
		ar.GrantScope(sc)
	}
}

// clientCredentialsGrant issues a client a token on its own behalf:
// allowed scopes ∩ its owner's current resources ∩ requested.
type clientCredentialsGrant struct{ grantBase }

func (g *clientCredentialsGrant) HandleTokenEndpointRequest(ctx context.Context, ar fosite.AccessRequester) error {
	c, s, err := g.start(ctx, ar, false)
	if err != nil {
		return err
	}
	selected, requested, err := contextSelector(ar.GetRequestedScopes())
	if err != nil {
		return err
	}
	if s.context, err = tokenContext(c.c, selected); err != nil {
		return err
	}
	// start has checked that the owner is active.
	ownerRes, err := g.p.resourcesIn(ctx, c.c.OwnerID, s.context)
	if err != nil {
		return err
	}
	scopes, err := grantScopes(clientAllowed(c.c, ownerRes), requested)
	if err != nil {
		return err
	}
	if scopes, err = withSelector(s.context, scopes); err != nil {
		return err
	}
	grant(ar, s, scopes)
	return nil
}

// spentRefreshToken answers a refresh token that is not live: unknown,
// expired, revoked, or an earlier secret of a live grant. The last is a
// reuse, and the rotation tells it apart and ends the grant; it changes
// nothing for a token of another client.
func (p *Provider) spentRefreshToken(ctx context.Context, c storage.Client, id, secret string) error {
	now := p.now()
	_, err := p.opts.State.RotateRefreshToken(ctx, id, secret, storage.RefreshToken{
		Secret: "spent", ClientID: c.ClientID, IssuedAt: now, ExpiresAt: now.Add(p.refreshTTL(c)),
	})
	if err == nil {
		// The secret turned current between the two reads, which only a
		// concurrent writer of this very record could do: end the grant
		// rather than guess.
		err = p.opts.State.RevokeRefreshToken(ctx, id)
	}
	if err == nil || errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrRefreshReused) {
		return errInvalidGrant.withCause(errors.New("refresh token not live"))
	}
	return err
}

// passwordGrant issues a user a token: the user's resources ∩ the
// client's allowed scopes ∩ requested, plus a refresh token when the
// client may refresh.
type passwordGrant struct{ grantBase }

func (g *passwordGrant) HandleTokenEndpointRequest(ctx context.Context, ar fosite.AccessRequester) error {
	c, s, err := g.start(ctx, ar, g.p.opts.AllowPublicPasswordGrant)
	if err != nil {
		return err
	}
	form := ar.GetRequestForm()
	p, err := credential.ParsePasswordWire(form.Get("password"))
	if err != nil {
		return errPasswordNotHashed
	}
	username := form.Get("username")
	if username == "" {
		return invalidRequest("The username parameter is missing.")
	}
	selected, requested, err := contextSelector(ar.GetRequestedScopes())
	if err != nil {
		return err
	}
	if s.context, err = tokenContext(c.c, selected); err != nil {
		return err
	}
	user, err := g.p.authenticateUser(ctx, c.c.ClientID, username, s.source, p)
	if err != nil {
		return err
	}
	userRes, err := g.p.resourcesIn(ctx, user.ID, s.context)
	if err != nil {
		return err
	}
	// OIDC scopes are the client's to ask for (they select userinfo
	// claims); they are granted only when asked for.
	oidc, _ := splitScopes(requested)
	scopes, err := grantScopes(slices.Concat(clientAllowed(c.c, userRes), oidc), requested)
	if err != nil {
		return err
	}
	if scopes, err = withSelector(s.context, scopes); err != nil {
		return err
	}
	s.user = &user
	grant(ar, s, scopes)
	if slices.Contains(c.c.GrantTypes, grantRefreshToken) {
		return g.p.startRefreshFamily(ctx, c.c, s, "")
	}
	return nil
}

// rehash upgrades a verifier made with older argon2id parameters, now that
// a login has just proven P. It runs after the answer, and gives way to a
// concurrent password change (the stored hash must still be the old one).
func (p *Provider) rehash(userID, oldHash string, pw []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	phc, err := p.opts.Hasher.Hash(ctx, pw)
	if err != nil {
		return
	}
	_, err = p.opts.Store.UpdateUser(ctx, storage.System("rehash"), p.opts.Realm, userID, func(u *storage.User) error {
		if u.Password == nil || u.Password.Hash != oldHash {
			return errRehashStale
		}
		u.Password.Hash = phc
		return nil
	})
	if err != nil && !errors.Is(err, errRehashStale) {
		p.opts.Logger.Warn("cannot upgrade a password verifier", "user", userID, "error", err)
	}
}

var errRehashStale = errors.New("password changed meanwhile")

// startRefreshFamily creates the first refresh token of a new grant,
// family (a new one when empty).
func (p *Provider) startRefreshFamily(ctx context.Context, c storage.Client, s *session, family string) error {
	if family == "" {
		var err error
		if family, err = randomID(); err != nil {
			return err
		}
	}
	token, rec, err := p.newRefreshRecord(c, s, family)
	if err != nil {
		return err
	}
	if err := p.opts.State.CreateRefreshToken(ctx, rec); err != nil {
		return err
	}
	s.refresh, s.family = token.String(), family
	return nil
}

// newRefreshRecord makes the first refresh token of grant family and the
// record that token state keeps of it.
func (p *Provider) newRefreshRecord(c storage.Client, s *session, family string) (refreshToken, storage.RefreshToken, error) {
	token, err := newRefreshToken()
	if err != nil {
		return refreshToken{}, storage.RefreshToken{}, err
	}
	now := s.issuedAt
	return token, storage.RefreshToken{
		ID: token.id(), Secret: token.secretDigest(), FamilyID: family, ClientID: c.ClientID, UserID: s.user.ID,
		Scopes: s.scopes, IssuedAt: now, ExpiresAt: now.Add(p.refreshTTL(c)),
	}, nil
}

func (p *Provider) refreshTTL(c storage.Client) time.Duration {
	if c.RefreshTokenTTL > 0 {
		return c.RefreshTokenTTL
	}
	return p.opts.RefreshTokenTTL
}

// refreshGrant rotates a refresh token. The scopes of the new access token
// are the original grant ∩ what the user and client may hold now ∩
// requested, so a lost group takes effect at the next refresh.
type refreshGrant struct{ grantBase }

func (g *refreshGrant) HandleTokenEndpointRequest(ctx context.Context, ar fosite.AccessRequester) error {
	// A public client may refresh: the record is bound to it, rotates,
	// and a reuse ends the grant (RFC 9700 §4.14.2).
	c, s, err := g.start(ctx, ar, true)
	if err != nil {
		return err
	}
	raw := ar.GetRequestForm().Get("refresh_token")
	if raw == "" {
		return invalidRequest("The refresh_token parameter is missing.")
	}
	presented, ok := parseRefreshToken(raw)
	if !ok {
		return errInvalidGrant.withCause(errors.New("not a refresh token"))
	}
	// Everything that can refuse the request, or fail for a moment, is
	// decided before the rotation: once it happens the presented token is
	// spent, and a client whose retry presents it again is taken for a
	// thief. So a bad scope or a database hiccup must leave it usable.
	id, secret := presented.id(), presented.secretDigest()
	old, err := g.p.opts.State.GetRefreshToken(ctx, id, secret)
	if errors.Is(err, storage.ErrNotFound) {
		return g.p.spentRefreshToken(ctx, c.c, id, secret)
	} else if err != nil {
		return err
	}
	if old.ClientID != c.c.ClientID {
		return errInvalidGrant.withCause(errors.New("refresh token of another client"))
	}
	user, err := g.p.opts.Store.GetUser(ctx, g.p.opts.Realm, old.UserID)
	if err == nil && user.Status != storage.StatusActive {
		err = storage.ErrNotFound
	}
	if errors.Is(err, storage.ErrNotFound) {
		_ = g.p.opts.State.RevokeRefreshToken(ctx, id)
		return errInvalidGrant.withCause(errors.New("user gone or disabled"))
	} else if err != nil {
		return err
	}
	// The grant stays in the context it was made for; a client bound to
	// another context since then refreshes nothing.
	s.context = scopeContext(old.Scopes)
	if c.c.ContextID != "" && c.c.ContextID != s.context {
		return errInvalidGrant.withCause(errors.New("client bound to another context"))
	}
	userRes, err := g.p.resourcesIn(ctx, user.ID, s.context)
	if errors.Is(err, errScopeNotPermitted) {
		return errInvalidGrant.withCause(errors.New("context gone"))
	} else if err != nil {
		return err
	}
	for _, sc := range ar.GetRequestedScopes() {
		if !contains(old.Scopes, sc) {
			return errScopeNotPermitted
		}
	}
	_, requested, err := contextSelector(ar.GetRequestedScopes())
	if err != nil {
		return err
	}
	oidc, admin := splitScopes(old.Scopes)
	scopes, err := grantScopes(append(oidc, intersect(admin, clientAllowed(c.c, userRes))...), requested)
	if err != nil {
		return err
	}
	if scopes, err = withSelector(s.context, scopes); err != nil {
		return err
	}
	next, err := presented.next()
	if err != nil {
		return err
	}
	now := s.issuedAt
	// The rotation checks the secret again, atomically: of two requests
	// that both got this far with the same token, one wins.
	if _, err = g.p.opts.State.RotateRefreshToken(ctx, id, secret, storage.RefreshToken{
		Secret: next.secretDigest(), ClientID: c.c.ClientID, IssuedAt: now, ExpiresAt: now.Add(g.p.refreshTTL(c.c)),
	}); errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrRefreshReused) {
		return errInvalidGrant.withCause(err)
	} else if err != nil {
		return err
	}
	s.user = &user
	s.refresh, s.family = next.String(), old.FamilyID
	grant(ar, s, scopes)
	return nil
}
