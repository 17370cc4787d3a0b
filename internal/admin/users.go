package admin

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/storage"
)

type userJSON struct {
	ID            string    `json:"id"`
	Username      string    `json:"username"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	DisplayName   string    `json:"display_name"`
	Language      string    `json:"language"`
	Status        string    `json:"status"`
	HasPassword   bool      `json:"has_password"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// toUserJSON never includes anything of the password but whether there is
// one.
func toUserJSON(u storage.User) userJSON {
	return userJSON{u.ID, u.Username, u.Email, u.EmailVerified, u.DisplayName, u.Language, string(u.Status), u.Password != nil, u.CreatedAt.UTC(), u.UpdatedAt.UTC()}
}

func (a *API) registerUserRoutes(r *mux.Router) {
	a.route(r, http.MethodGet, "/users", "users-read", a.handleUserList)
	a.route(r, http.MethodPost, "/users", "users-write", a.handleUserCreate)
	a.route(r, http.MethodGet, "/users/{id}", "users-read", a.handleUserGet)
	a.route(r, http.MethodPatch, "/users/{id}", "users-write", a.handleUserPatch)
	a.route(r, http.MethodDelete, "/users/{id}", "users-write", a.handleUserDelete)
	// With ?context=, what the user holds in that context, read by a
	// caller who may read users there.
	a.routeIn(r, http.MethodGet, "/users/{id}/resources", "users-read", inQuery("context"), a.handleUserResources)
	a.route(r, http.MethodGet, "/users/{id}/groups", "users-read", a.handleUserGroups)
	a.route(r, http.MethodGet, "/users/{id}/memberships", "users-read", a.handleUserMemberships)
	a.route(r, http.MethodPut, "/users/{id}/password", "users-write", a.handleUserPassword)
	a.route(r, http.MethodDelete, "/users/{id}/tokens", "tokens-revoke", a.handleUserTokensDelete)
}

func (a *API) handleUserList(w http.ResponseWriter, r *http.Request, _ authz.Principal) error {
	opts, err := listOptions(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := storage.UserFilter{Status: storage.Status(q.Get("status"))}
	if f.Status != "" && !f.Status.Valid() {
		return invalidField("status", "status is active or disabled.")
	}
	if f.GroupID, err = queryID(q, "group", "a group"); err != nil {
		return err
	}
	if f.Username, err = queryText(q, "username"); err != nil {
		return err
	}
	if f.Email, err = queryText(q, "email"); err != nil {
		return err
	}
	page, err := a.opts.Store.ListUsers(r.Context(), a.opts.Realm, f, opts)
	if err != nil {
		return err
	}
	return writeList(w, page, toUserJSON)
}

func (a *API) handleUserCreate(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	var in userInput
	if err := decode(r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	change, err := a.prepareUserChange(ctx, in, true)
	if err != nil {
		return err
	}
	u := storage.User{Status: storage.StatusActive}
	change.apply(&u)
	var groups []string
	if in.Groups != nil {
		groups = *in.Groups
		if err := a.mayJoinGroups(ctx, p, groups); err != nil {
			return err
		}
	}
	u, err = a.opts.Store.CreateUser(ctx, p.Actor(), a.opts.Realm, u, groups)
	if err != nil {
		return asConflict(err, "username", "A user with that username already exists.")
	}
	a.sendActivation(ctx, u)
	return created(w, "/admin/users/"+u.ID, toUserJSON(u))
}

func (a *API) handleUserGet(w http.ResponseWriter, r *http.Request, _ authz.Principal) error {
	u, err := a.user(r.Context(), pathVars(r)["id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toUserJSON(u))
}

func (a *API) handleUserPatch(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	var in userInput
	if err := decode(r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	target, err := a.user(ctx, pathVars(r)["id"])
	if err != nil {
		return err
	}
	if err := a.mayActOnUser(ctx, p, target.ID); err != nil {
		return err
	}
	if in.Groups != nil {
		return invalidField("groups", "Change memberships with PUT and DELETE /admin/groups/{id}/members/{user_id}.")
	}
	change, err := a.prepareUserChange(ctx, in, false)
	if err != nil {
		return err
	}
	statusChange := in.Status != nil && storage.Status(*in.Status) != target.Status
	var clients []string
	if statusChange {
		// A user's status is their clients' too: the caller must be able
		// to act on every client the user owns.
		if clients, err = a.ownedClientsToChange(ctx, p, target.ID); err != nil {
			return err
		}
	}
	// Marks that must hold whatever happens next are written before the
	// change: a new password ends the old sessions, and re-enabling a user
	// must not bring back the tokens their disabling ended, even if the
	// marks written then were lost to an outage. Were they written after,
	// a failure would leave the change made and the old tokens alive.
	if in.Password != nil {
		if err := a.revokeUser(ctx, target.ID); err != nil {
			return err
		}
	}
	if statusChange && storage.Status(*in.Status) == storage.StatusActive {
		if err := a.endUser(ctx, target.ID, clients); err != nil {
			return err
		}
	}
	u, err := a.opts.Store.UpdateUser(ctx, p.Actor(), a.opts.Realm, target.ID, func(u *storage.User) error {
		change.apply(u)
		return nil
	})
	if err != nil {
		return asConflict(asNotFound(err, "The user"), "username", "A user with that username already exists.")
	}
	if in.Password != nil {
		// Again after the save: see setPassword.
		if err := a.revokeUser(ctx, u.ID); err != nil {
			return err
		}
	}
	// Disabling marks after the change, so that a refused one (the last
	// administrator) ends nobody's sessions. Until the marks are written
	// the verifier and the token endpoint refuse the user and their
	// clients by status; a failure here answers 503 and re-enabling writes
	// the marks again, first.
	if statusChange && u.Status != storage.StatusActive {
		if err := a.endUser(ctx, u.ID, clients); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, toUserJSON(u))
}

func (a *API) handleUserDelete(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	ctx := r.Context()
	target, err := a.user(ctx, pathVars(r)["id"])
	if err != nil {
		return err
	}
	if err := a.mayActOnUser(ctx, p, target.ID); err != nil {
		return err
	}
	clients, err := a.ownedClientsToChange(ctx, p, target.ID)
	if err != nil {
		return err
	}
	// Delete first, so that a refused delete (the last administrator)
	// leaves the user's tokens alone. The verifier refuses tokens of a
	// user or client owner that is gone, so live tokens cannot outlive
	// their user in the meantime; the marks keep them dead for good.
	if err := a.opts.Store.DeleteUser(ctx, p.Actor(), a.opts.Realm, target.ID); err != nil {
		return asNotFound(err, "The user")
	}
	if err := a.endUser(ctx, target.ID, clients); err != nil {
		return err
	}
	return noContent(w)
}

// effectiveResourceJSON is a resource a user holds, the groups they are
// a member of that grant it, and every path that does (the explanation
// of docs/contexts.md).
type effectiveResourceJSON struct {
	Name   string          `json:"name"`
	Groups []string        `json:"groups"`
	Paths  []grantPathJSON `json:"paths"`
}

func (a *API) handleUserResources(w http.ResponseWriter, r *http.Request, _ authz.Principal) error {
	u, err := a.user(r.Context(), pathVars(r)["id"])
	if err != nil {
		return err
	}
	contextID := r.URL.Query().Get("context")
	if err := a.mayReadUserIn(r.Context(), u.ID, contextID); err != nil {
		return err
	}
	return a.writeUserResources(w, r.Context(), u.ID, contextID)
}

// mayReadUserIn keeps a caller who reads users in a context only (not
// realm-wide) to the users who are members there: a tenant's
// administrator does not learn what another tenant's users hold. Anyone
// else is not found, as a user who does not exist.
func (a *API) mayReadUserIn(ctx context.Context, userID, contextID string) error {
	caller := callerOf(ctx)
	if contextID == "" || (caller.Context == "" && caller.Has("users-read")) {
		return nil
	}
	path, err := a.opts.Store.ContextPath(ctx, a.opts.Realm, contextID)
	if err != nil {
		return err
	}
	ms, err := a.opts.Store.UserMemberships(ctx, a.opts.Realm, userID)
	if err != nil {
		return asNotFound(err, "The user")
	}
	for _, m := range ms {
		if m.ContextID != "" && slices.Contains(path, m.ContextID) {
			return nil
		}
	}
	return notFound("The user")
}

func (a *API) writeUserResources(w http.ResponseWriter, ctx context.Context, userID, contextID string) error {
	eff, err := a.opts.Store.UserResourcesIn(ctx, a.opts.Realm, userID, contextID)
	if err != nil {
		return asNotFound(err, "The user or context")
	}
	items, err := a.explain(ctx, groupNames{}, eff)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[effectiveResourceJSON]{Items: items})
}

func (a *API) handleUserGroups(w http.ResponseWriter, r *http.Request, _ authz.Principal) error {
	u, err := a.user(r.Context(), pathVars(r)["id"])
	if err != nil {
		return err
	}
	groups, err := a.opts.Store.UserGroups(r.Context(), a.opts.Realm, u.ID)
	if err != nil {
		return err
	}
	return writeList(w, storage.Page[storage.Group]{Items: groups}, toGroupJSON)
}

func (a *API) handleUserPassword(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	var in passwordInput
	if err := decode(r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	target, err := a.user(ctx, pathVars(r)["id"])
	if err != nil {
		return err
	}
	if err := a.mayActOnUser(ctx, p, target.ID); err != nil {
		return err
	}
	if err := a.setPassword(ctx, p.Actor(), target.ID, in); err != nil {
		return err
	}
	return noContent(w)
}

func (a *API) handleUserTokensDelete(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	u, err := a.user(r.Context(), pathVars(r)["id"])
	if err != nil {
		return err
	}
	if err := a.mayActOnUser(r.Context(), p, u.ID); err != nil {
		return err
	}
	if err := a.revokeUser(r.Context(), u.ID); err != nil {
		return err
	}
	return noContent(w)
}

// user loads a user, answering 404 for ids that are not UUIDs.
func (a *API) user(ctx context.Context, id string) (storage.User, error) {
	if !isID(id) {
		return storage.User{}, notFound("The user")
	}
	u, err := a.opts.Store.GetUser(ctx, a.opts.Realm, id)
	if err != nil {
		return u, asNotFound(err, "The user")
	}
	return u, nil
}

// mayJoinGroups checks the delegation ceiling for adding a user to groups
// and that they exist.
func (a *API) mayJoinGroups(ctx context.Context, p authz.Principal, ids []string) error {
	if len(ids) > maxListItems {
		return invalidField("groups", "Too many groups.")
	}
	for _, id := range ids {
		g, err := a.group(ctx, id)
		if isNotFound(err) || isProblemStatus(err, http.StatusNotFound) {
			return withCause(semantic("missing-reference", "groups", "The group "+id+" does not exist."), err)
		} else if err != nil {
			return err
		}
		if err := a.mayGrantGroup(ctx, p, g); err != nil {
			return err
		}
	}
	return nil
}

// endUser revokes every token of a user who was disabled or deleted, and
// every token of every client they own (clients: their client_ids, read
// before a delete): a client never does more than its owner, and an owner
// who cannot act any more leaves clients that cannot either. The marks
// keep those tokens dead after the owner is re-enabled; meanwhile the
// token endpoint and the verifier refuse the clients by their owner's
// status, on every node, so a failure here leaves nothing usable.
func (a *API) endUser(ctx context.Context, userID string, clients []string) error {
	if err := a.revokeUser(ctx, userID); err != nil {
		return err
	}
	for _, id := range clients {
		if err := a.revokeClient(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// ownedClientsToChange returns the client_ids of the clients userID owns,
// refusing unless the caller may act on every one of them: disabling or
// deleting their owner ends them too, and must not take from the realm a
// client the caller could not end directly.
func (a *API) ownedClientsToChange(ctx context.Context, p authz.Principal, userID string) ([]string, error) {
	var ids, power []string
	allScopes := false
	opts := storage.ListOptions{Limit: storage.MaxListLimit}
	for {
		page, err := a.opts.Store.ListClients(ctx, a.opts.Realm, userID, opts)
		if err != nil {
			return nil, err
		}
		for _, c := range page.Items {
			ids = append(ids, c.ClientID)
			allScopes = allScopes || c.AllScopes
			power = append(power, c.Scopes...)
		}
		if page.NextCursor == "" {
			break
		}
		opts.Cursor = page.NextCursor
	}
	// The union of the clients' powers (authz.Powers.Client), with the
	// realm's resources listed once however many all-scopes clients there
	// are.
	if allScopes {
		all, err := a.powers.All(ctx)
		if err != nil {
			return nil, err
		}
		power = all
	}
	if err := mayActOn(p, power); err != nil {
		return nil, err
	}
	return ids, nil
}

// revokeUser revokes every token of the user issued up to now. It runs to
// the end even if the caller hangs up: a revocation decided is written.
func (a *API) revokeUser(ctx context.Context, userID string) error {
	return a.opts.State.RevokeSubject(context.WithoutCancel(ctx), storage.SubjectUser, userID, a.opts.Now(), a.opts.MaxTokenLifetime)
}

func isProblemStatus(err error, status int) bool {
	p, ok := err.(*Problem)
	return ok && p.Status == status
}

// membershipJSON is one membership: of a group, realm-wide (context null)
// or in a context.
type membershipJSON struct {
	Group   groupRefJSON `json:"group"`
	Context *string      `json:"context"`
}

func (a *API) handleUserMemberships(w http.ResponseWriter, r *http.Request, _ authz.Principal) error {
	u, err := a.user(r.Context(), pathVars(r)["id"])
	if err != nil {
		return err
	}
	ms, err := a.opts.Store.UserMemberships(r.Context(), a.opts.Realm, u.ID)
	if err != nil {
		return asNotFound(err, "The user")
	}
	names := groupNames{}
	out := list[membershipJSON]{Items: make([]membershipJSON, len(ms))}
	for i, m := range ms {
		name, err := a.groupName(r.Context(), names, m.GroupID)
		if err != nil {
			return err
		}
		var c *string
		if m.ContextID != "" {
			c = &m.ContextID
		}
		out.Items[i] = membershipJSON{groupRefJSON{m.GroupID, name}, c}
	}
	return writeJSON(w, http.StatusOK, out)
}
