package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/storage"
)

type clientJSON struct {
	ClientID                string          `json:"client_id"`
	Name                    string          `json:"name"`
	Owner                   string          `json:"owner"`
	Scopes                  []string        `json:"scopes"`
	AllScopes               bool            `json:"all_scopes"`
	GrantTypes              []string        `json:"grant_types"`
	TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method"`
	JWKS                    json.RawMessage `json:"jwks,omitempty"`
	AccessTokenTTL          int             `json:"access_token_ttl"`
	RefreshTokenTTL         int             `json:"refresh_token_ttl"`
	RedirectURIs            []string        `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string        `json:"post_logout_redirect_uris"`
	RequirePKCE             bool            `json:"require_pkce"`
	SkipConsent             bool            `json:"skip_consent"`
	ContextID               string          `json:"context_id,omitempty"`
	Status                  string          `json:"status"`
	CreatedAt               time.Time       `json:"created_at"`
	UpdatedAt               time.Time       `json:"updated_at"`
}

func toClientJSON(c storage.Client) clientJSON {
	return clientJSON{
		ClientID: c.ClientID, Name: c.Name, Owner: c.OwnerID, Scopes: nonNil(c.Scopes), AllScopes: c.AllScopes,
		GrantTypes: nonNil(c.GrantTypes), TokenEndpointAuthMethod: c.TokenEndpointAuthMethod, JWKS: c.JWKS,
		AccessTokenTTL: int(c.AccessTokenTTL / time.Second), RefreshTokenTTL: int(c.RefreshTokenTTL / time.Second),
		RedirectURIs: nonNil(c.RedirectURIs), PostLogoutRedirectURIs: nonNil(c.PostLogoutRedirectURIs),
		RequirePKCE: !c.PKCEOptional, SkipConsent: c.SkipConsent, ContextID: c.ContextID,
		Status: string(c.Status), CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(),
	}
}

type secretJSON struct {
	ID            string     `json:"id"`
	CreatedAt     time.Time  `json:"created_at"`
	LastUsedAt    *time.Time `json:"last_used_at,omitempty"`
	DeactivatedAt *time.Time `json:"deactivated_at,omitempty"`
	Status        string     `json:"status"`
}

// toSecretJSON shows a secret version's metadata only, never its verifier.
func toSecretJSON(s storage.ClientSecret) secretJSON {
	status := "active"
	if !s.Active() {
		status = "deactivated"
	}
	return secretJSON{s.ID, s.CreatedAt.UTC(), utcPtr(s.LastUsedAt), utcPtr(s.DeactivatedAt), status}
}

// clientRoutes serves clients either as an admin (every client, guarded by
// clients-* resources) or as self-service (only the caller's own clients,
// any signed-in user).
type clientRoutes struct {
	a    *API
	self bool
}

func (a *API) registerClientRoutes(r *mux.Router) {
	c := clientRoutes{a: a}
	a.route(r, http.MethodGet, "/clients", "clients-read", c.handleList)
	a.route(r, http.MethodPost, "/clients", "clients-write", c.handleCreate)
	a.route(r, http.MethodGet, "/clients/{client_id}", "clients-read", c.handleGet)
	a.route(r, http.MethodPatch, "/clients/{client_id}", "clients-write", c.handlePatch)
	a.route(r, http.MethodDelete, "/clients/{client_id}", "clients-write", c.handleDelete)
	a.route(r, http.MethodGet, "/clients/{client_id}/secrets", "clients-read", c.handleSecretList)
	a.route(r, http.MethodPost, "/clients/{client_id}/secrets", "clients-write", c.handleSecretCreate)
	a.route(r, http.MethodDelete, "/clients/{client_id}/secrets/{id}", "clients-write", c.handleSecretDelete)
	a.route(r, http.MethodDelete, "/clients/{client_id}/tokens", "tokens-revoke", c.handleTokensDelete)

	me := clientRoutes{a: a, self: true}
	a.route(r, http.MethodGet, "/me/clients", "", userOnly(me.handleList))
	a.route(r, http.MethodPost, "/me/clients", "", userOnly(me.handleCreate))
	a.route(r, http.MethodGet, "/me/clients/{client_id}", "", userOnly(me.handleGet))
	a.route(r, http.MethodPatch, "/me/clients/{client_id}", "", userOnly(me.handlePatch))
	a.route(r, http.MethodDelete, "/me/clients/{client_id}", "", userOnly(me.handleDelete))
	a.route(r, http.MethodGet, "/me/clients/{client_id}/secrets", "", userOnly(me.handleSecretList))
	a.route(r, http.MethodPost, "/me/clients/{client_id}/secrets", "", userOnly(me.handleSecretCreate))
	a.route(r, http.MethodDelete, "/me/clients/{client_id}/secrets/{id}", "", userOnly(me.handleSecretDelete))
}

func (c clientRoutes) handleList(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	opts, err := listOptions(r)
	if err != nil {
		return err
	}
	owner := p.UserID
	if !c.self {
		if owner, err = queryID(r.URL.Query(), "owner", "a user"); err != nil {
			return err
		}
	}
	page, err := c.a.opts.Store.ListClients(r.Context(), c.a.opts.Realm, owner, opts)
	if err != nil {
		return err
	}
	return writeList(w, page, toClientJSON)
}

func (c clientRoutes) handleCreate(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	var in clientInput
	if err := decode(r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	if err := c.maySelfServe(p); err != nil {
		return err
	}
	if err := c.mayMarkFirstParty(in); err != nil {
		return err
	}
	change, err := c.a.prepareClientChange(ctx, p, in, true)
	if err != nil {
		return err
	}
	if err := c.mayBindSelf(ctx, p, in); err != nil {
		return err
	}
	cl := storage.Client{
		OwnerID: p.UserID, GrantTypes: []string{"client_credentials"},
		TokenEndpointAuthMethod: storage.AuthMethodSecretBasic, Status: storage.StatusActive,
	}
	if in.Owner != nil && !c.self {
		if _, err := c.a.user(ctx, *in.Owner); err != nil {
			return withCause(semantic("missing-reference", "owner", "The owner does not exist."), err)
		}
		cl.OwnerID = *in.Owner
	}
	if in.ClientID != nil {
		cl.ClientID = *in.ClientID
	} else if cl.ClientID, err = newClientID(); err != nil {
		return err
	}
	change.apply(&cl)
	if err := checkClient(p, storage.Client{}, cl); err != nil {
		return err
	}
	var verifiers [][]byte
	if change.verifier != nil {
		verifiers = [][]byte{change.verifier}
	}
	cl, err = c.a.opts.Store.CreateClient(ctx, p.Actor(), c.a.opts.Realm, cl, verifiers)
	if err != nil {
		return asConflict(err, "client_id", "A client with that client_id already exists.")
	}
	return created(w, c.path(cl.ClientID), toClientJSON(cl))
}

func (c clientRoutes) handleGet(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	cl, err := c.load(r.Context(), p, pathVars(r)["client_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toClientJSON(cl))
}

func (c clientRoutes) handlePatch(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	var in clientInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.ClientID != nil || in.Owner != nil || in.SecretVerifier != nil {
		return invalidField("", "client_id and owner cannot change; add secrets with POST …/secrets.")
	}
	if err := c.mayMarkFirstParty(in); err != nil {
		return err
	}
	ctx := r.Context()
	before, err := c.loadToChange(ctx, p, pathVars(r)["client_id"])
	if err != nil {
		return err
	}
	change, err := c.a.prepareClientChange(ctx, p, in, false)
	if err != nil {
		return err
	}
	if err := c.mayBindSelf(ctx, p, in); err != nil {
		return err
	}
	// Re-enabling must not bring back tokens the disabling ended, even if
	// its marks were lost: mark first (see handleUserPatch).
	if in.Status != nil && storage.Status(*in.Status) == storage.StatusActive && before.Status != storage.StatusActive {
		if err := c.a.revokeClient(ctx, before.ClientID); err != nil {
			return err
		}
	}
	after, err := c.a.opts.Store.UpdateClient(ctx, p.Actor(), c.a.opts.Realm, before.ClientID, func(cl *storage.Client) error {
		// The client as it is inside the update: its reach may have grown
		// since it was loaded.
		if !sameReach(before, *cl) {
			if err := c.a.mayActOnClient(ctx, p, *cl); err != nil {
				return err
			}
		}
		if err := c.mayRedirectFirstParty(*cl, in); err != nil {
			return err
		}
		prev := *cl
		change.apply(cl)
		return checkClient(p, prev, *cl)
	})
	if err != nil {
		return asNotFound(err, "The client")
	}
	if after.Status == storage.StatusDisabled && before.Status != storage.StatusDisabled {
		if err := c.a.revokeClient(ctx, after.ClientID); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, toClientJSON(after))
}

func (c clientRoutes) handleDelete(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	ctx := r.Context()
	cl, err := c.loadToChange(ctx, p, pathVars(r)["client_id"])
	if err != nil {
		return err
	}
	if err := c.a.revokeClient(ctx, cl.ClientID); err != nil {
		return err
	}
	if err := c.a.opts.Store.DeleteClient(ctx, p.Actor(), c.a.opts.Realm, cl.ClientID); err != nil {
		return asNotFound(err, "The client")
	}
	// Again once it is gone: a token request that began between the first
	// mark and the delete was issued after that mark, and a client later
	// registered under the same client_id must not revive it.
	if err := c.a.revokeClient(ctx, cl.ClientID); err != nil {
		return err
	}
	return noContent(w)
}

func (c clientRoutes) handleSecretList(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	cl, err := c.load(r.Context(), p, pathVars(r)["client_id"])
	if err != nil {
		return err
	}
	secrets, err := c.a.opts.Store.ListClientSecrets(r.Context(), c.a.opts.Realm, cl.ClientID)
	if err != nil {
		return err
	}
	return writeList(w, storage.Page[storage.ClientSecret]{Items: secrets}, toSecretJSON)
}

func (c clientRoutes) handleSecretCreate(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	var in struct {
		Verifier string `json:"verifier"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	change, err := c.a.prepareClientChange(r.Context(), p, clientInput{SecretVerifier: &in.Verifier}, false)
	if err != nil {
		if pr, ok := err.(*Problem); ok {
			pr.Field = "verifier"
		}
		return err
	}
	cl, err := c.loadToChange(r.Context(), p, pathVars(r)["client_id"])
	if err != nil {
		return err
	}
	s, err := c.a.opts.Store.AddClientSecret(r.Context(), p.Actor(), c.a.opts.Realm, cl.ClientID, change.verifier)
	if err != nil {
		return asNotFound(err, "The client")
	}
	return created(w, c.path(cl.ClientID)+"/secrets/"+s.ID, struct {
		ID        string    `json:"id"`
		CreatedAt time.Time `json:"created_at"`
	}{s.ID, s.CreatedAt.UTC()})
}

func (c clientRoutes) handleSecretDelete(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	v := pathVars(r)
	cl, err := c.loadToChange(r.Context(), p, v["client_id"])
	if err != nil {
		return err
	}
	if err := c.a.opts.Store.DeactivateClientSecret(r.Context(), p.Actor(), c.a.opts.Realm, cl.ClientID, v["id"]); err != nil {
		return asNotFound(err, "The secret version")
	}
	return noContent(w)
}

func (c clientRoutes) handleTokensDelete(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	cl, err := c.loadToChange(r.Context(), p, pathVars(r)["client_id"])
	if err != nil {
		return err
	}
	if err := c.a.revokeClient(r.Context(), cl.ClientID); err != nil {
		return err
	}
	return noContent(w)
}

// load returns the addressed client; in self-service mode a client of
// another owner does not exist.
func (c clientRoutes) load(ctx context.Context, p authz.Principal, id string) (storage.Client, error) {
	cl, err := c.a.opts.Store.GetClient(ctx, c.a.opts.Realm, id)
	if err == nil && c.self && cl.OwnerID != p.UserID {
		err = storage.ErrNotFound
	}
	if err != nil {
		return cl, asNotFound(err, "The client")
	}
	return cl, nil
}

// loadToChange returns the addressed client if the caller may change its
// credentials or reach: it must hold everything the client can obtain
// now. Otherwise a holder of clients-write could add a secret version to
// an administrator's client and obtain its tokens.
func (c clientRoutes) loadToChange(ctx context.Context, p authz.Principal, id string) (storage.Client, error) {
	if err := c.maySelfServe(p); err != nil {
		return storage.Client{}, err
	}
	cl, err := c.load(ctx, p, id)
	if err != nil {
		return cl, err
	}
	return cl, c.a.mayActOnClient(ctx, p, cl)
}

// maySelfServe refuses, in self-service, a token that carries no admin
// resource: such a token (say, from signing in through a third-party
// application) may read and change its user's own profile and password,
// and must not mint or change credentials for anyone.
func (c clientRoutes) maySelfServe(p authz.Principal) error {
	if c.self && len(p.Held) == 0 {
		return problem(http.StatusForbidden, "admin-scope-required", "Forbidden",
			"Managing API clients needs a token that carries at least one admin resource; this token carries none.")
	}
	return nil
}

// mayBindSelf keeps, in self-service, a client's context to one where its
// owner has a membership (there or above): a client bound anywhere else
// would carry nothing there, yet tell by its answer which contexts exist
// and keep that context from being deleted (docs/contexts.md). Anywhere
// else is answered as a context that does not exist.
func (c clientRoutes) mayBindSelf(ctx context.Context, p authz.Principal, in clientInput) error {
	if !c.self || in.ContextID == nil || *in.ContextID == "" {
		return nil
	}
	path, err := c.a.opts.Store.ContextPath(ctx, c.a.opts.Realm, *in.ContextID)
	if err != nil && !isNotFound(err) {
		return err
	}
	ms, err := c.a.opts.Store.UserMemberships(ctx, c.a.opts.Realm, p.UserID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.ContextID != "" && slices.Contains(path, m.ContextID) {
			return nil
		}
	}
	return withCause(semantic("missing-reference", "", "A referenced user, group, resource or language does not exist."),
		storage.ErrMissingReference)
}

// mayMarkFirstParty refuses, in self-service, to mark a client
// first-party (skip_consent): its users would be signed in to it without
// being asked, so any user could register an application that takes the
// admin resources of whoever signs in through it. That is an
// administrator's decision, made through /admin/clients.
func (c clientRoutes) mayMarkFirstParty(in clientInput) error {
	if c.self && in.SkipConsent != nil && *in.SkipConsent {
		p := problem(http.StatusForbidden, "first-party-admin-only", "Forbidden",
			"Only administrators mark a client first-party (skip_consent), through /admin/clients.")
		p.Field = "skip_consent"
		return p
	}
	return nil
}

// mayRedirectFirstParty refuses, in self-service, to change where a
// first-party client's codes go. An administrator approved the client to
// sign users in unasked at its registered redirect URIs; its owner moving
// them to a site of their own would receive a code for whoever is signed
// in at Gatehouse and follows a link, and act as that user. cl is the
// client as it is inside the update.
func (c clientRoutes) mayRedirectFirstParty(cl storage.Client, in clientInput) error {
	if c.self && cl.SkipConsent && in.RedirectURIs != nil && !slices.Equal(sortedURIs(*in.RedirectURIs), cl.RedirectURIs) {
		p := problem(http.StatusForbidden, "first-party-admin-only", "Forbidden",
			"The redirect URIs of a first-party client (skip_consent) are changed by administrators, through /admin/clients.")
		p.Field = "redirect_uris"
		return p
	}
	return nil
}

// sameReach reports whether a and b can obtain the same: the fields that
// decide a client's power (authz.Powers.Client).
func sameReach(a, b storage.Client) bool {
	return a.AllScopes == b.AllScopes && slices.Equal(a.Scopes, b.Scopes)
}

func (c clientRoutes) path(clientID string) string {
	if c.self {
		return "/admin/me/clients/" + url.PathEscape(clientID)
	}
	return "/admin/clients/" + url.PathEscape(clientID)
}

// revokeClient revokes every token issued to the client up to now. It
// runs to the end even if the caller hangs up.
func (a *API) revokeClient(ctx context.Context, clientID string) error {
	return a.opts.State.RevokeSubject(context.WithoutCancel(ctx), storage.SubjectClient, clientID, a.opts.Now(), a.opts.MaxTokenLifetime)
}

// userOnly refuses client tokens: self-service acts for a signed-in user.
func userOnly(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
		if p.ClientToken {
			return problem(http.StatusForbidden, "user-token-required", "Forbidden", "Self-service requires a user's access token, not a client's.")
		}
		if p.ThirdParty {
			// The user consented to what the consent page listed, not to
			// their profile, consents and clients (docs/browser-sign-in.md).
			return problem(http.StatusForbidden, "first-party-token-required", "Forbidden",
				"Self-service requires a token of a first-party application; a third-party application acts only through the admin resources the user consented to.")
		}
		return h(w, r, p)
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
