package admin

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/storage"
)

// consentJSON is a user's consent to a third-party client: the scopes it
// may receive in the authorization code flow without asking again.
type consentJSON struct {
	ClientID  string    `json:"client_id"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toConsentJSON(c storage.Consent) consentJSON {
	return consentJSON{c.ClientID, nonNil(c.Scopes), c.CreatedAt.UTC(), c.UpdatedAt.UTC()}
}

// registerConsentRoutes serves the consents users gave clients at the
// login page: administrators read them like the user and revoke them like
// any change of the user; every user reads and revokes their own, with any
// user token, since it is their own decision being taken back.
func (a *API) registerConsentRoutes(r *mux.Router) {
	a.route(r, http.MethodGet, "/users/{id}/consents", "users-read", a.handleUserConsentList)
	a.route(r, http.MethodDelete, "/users/{id}/consents/{client_id}", "users-write", a.handleUserConsentDelete)
	a.route(r, http.MethodGet, "/me/consents", "", userOnly(a.handleMeConsentList))
	a.route(r, http.MethodDelete, "/me/consents/{client_id}", "", userOnly(a.handleMeConsentDelete))
}

func (a *API) handleUserConsentList(w http.ResponseWriter, r *http.Request, _ authz.Principal) error {
	u, err := a.user(r.Context(), pathVars(r)["id"])
	if err != nil {
		return err
	}
	return a.writeConsents(w, r, u.ID)
}

// handleUserConsentDelete revokes a user's consent. Like every change of
// a user it needs everything the user holds (mayActOnUser): otherwise a
// holder of users-write could make an administrator's applications ask
// them again, and no rule of the API lets a weaker caller disturb a
// stronger user.
func (a *API) handleUserConsentDelete(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	ctx := r.Context()
	v := pathVars(r)
	u, err := a.user(ctx, v["id"])
	if err != nil {
		return err
	}
	if err := a.mayActOnUser(ctx, p, u.ID); err != nil {
		return err
	}
	return a.revokeConsent(w, r, p, u.ID, v["client_id"])
}

func (a *API) handleMeConsentList(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	return a.writeConsents(w, r, p.UserID)
}

func (a *API) handleMeConsentDelete(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	return a.revokeConsent(w, r, p, p.UserID, pathVars(r)["client_id"])
}

func (a *API) writeConsents(w http.ResponseWriter, r *http.Request, userID string) error {
	opts, err := listOptions(r)
	if err != nil {
		return err
	}
	page, err := a.opts.Store.ListConsents(r.Context(), a.opts.Realm, userID, opts)
	if err != nil {
		return err
	}
	return writeList(w, page, toConsentJSON)
}

// revokeConsent deletes the consent: the client asks the user again at
// its next authorization request. Tokens it already holds stay valid
// until they expire or are revoked; ending them is DELETE
// /admin/users/{id}/tokens.
func (a *API) revokeConsent(w http.ResponseWriter, r *http.Request, p authz.Principal, userID, clientID string) error {
	// A client_id no client can have names no consent.
	if !clientIDPattern.MatchString(clientID) {
		return notFound("The consent")
	}
	if err := a.opts.Store.RevokeConsent(r.Context(), p.Actor(), a.opts.Realm, userID, clientID); err != nil {
		return asNotFound(err, "The consent")
	}
	return noContent(w)
}
