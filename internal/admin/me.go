package admin

import (
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/storage"
)

func (a *API) registerMeRoutes(r *mux.Router) {
	a.route(r, http.MethodGet, "/me", "", userOnly(a.handleMeGet))
	a.route(r, http.MethodPatch, "/me", "", userOnly(a.handleMePatch))
	a.route(r, http.MethodGet, "/me/resources", "", userOnly(a.handleMeResources))
	a.route(r, http.MethodPut, "/me/password", "", userOnly(a.handleMePassword))
}

func (a *API) handleMeGet(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	u, err := a.user(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toUserJSON(u))
}

// handleMePatch lets a user change their display name and language; the
// rest of their profile is an administrator's business.
func (a *API) handleMePatch(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	var in struct {
		DisplayName *string `json:"display_name"`
		Language    *string `json:"language"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	change, err := a.prepareUserChange(ctx, userInput{DisplayName: in.DisplayName, Language: in.Language}, false)
	if err != nil {
		return err
	}
	u, err := a.opts.Store.UpdateUser(ctx, p.Actor(), a.opts.Realm, p.UserID, func(u *storage.User) error {
		change.apply(u)
		return nil
	})
	if err != nil {
		return asNotFound(err, "The user")
	}
	return writeJSON(w, http.StatusOK, toUserJSON(u))
}

func (a *API) handleMeResources(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	return a.writeUserResources(w, r.Context(), p.UserID, p.Context)
}

// handleMePassword changes the caller's own password. It requires the old
// password's client-side hash, so that a stolen access token alone cannot
// take over the account; every token of the user is revoked afterwards.
func (a *API) handleMePassword(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	var in struct {
		OldPassword string        `json:"old_password"`
		Password    passwordInput `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	old, err := credential.ParsePasswordWire(in.OldPassword)
	if err != nil {
		return invalidField("old_password", "old_password is the client-side hash of the current password (43 characters of base64url); see docs/client-side-hashing.md.")
	}
	u, err := a.user(ctx, p.UserID)
	if err != nil {
		return err
	}
	ok, err := a.checkOwnPassword(r, u, old)
	if err != nil {
		return err
	}
	if !ok {
		return semantic("old-password-mismatch", "old_password", "The old password is not correct.")
	}
	if err := a.setPassword(ctx, p.Actor(), u.ID, in.Password); err != nil {
		return err
	}
	return noContent(w)
}

// checkOwnPassword checks the caller's current password under the login
// throttle, so that a stolen access token is no oracle for guessing the
// password it lacks.
func (a *API) checkOwnPassword(r *http.Request, u storage.User, pw []byte) (bool, error) {
	ok, wait, err := a.opts.Passwords.CheckOwnPassword(r.Context(), u.ID, r.RemoteAddr, pw)
	switch {
	case errors.Is(err, credential.ErrBusy):
		return false, withCause(errUnavailable, err)
	case err != nil:
		return false, err
	case wait > 0:
		return false, tooManyAttempts(wait)
	}
	return ok, nil
}
