package admin

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/storage"
)

// Accounts issues the mails of accounts by e-mail; *accounts.Service
// implements it.
type Accounts interface {
	SendActivation(ctx context.Context, u storage.User) error
	CreateInvitation(ctx context.Context, actor storage.Actor, in accounts.Invite) (storage.Invitation, error)
}

type invitationJSON struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	Groups        []string  `json:"groups"`
	InviterID     string    `json:"inviter_id"`
	AllowAnyEmail bool      `json:"allow_any_email"`
	Language      string    `json:"language"`
	Status        string    `json:"status"`
	AcceptedBy    string    `json:"accepted_by,omitempty"`
	ExpiresAt     time.Time `json:"expires_at"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func (a *API) toInvitationJSON(i storage.Invitation) invitationJSON {
	return invitationJSON{ID: i.ID, Email: i.Email, Groups: i.Groups, InviterID: i.InviterID, AllowAnyEmail: i.AllowAnyEmail,
		Language: i.Language, Status: string(i.EffectiveStatus(a.opts.Now())), AcceptedBy: i.AcceptedBy,
		ExpiresAt: i.ExpiresAt.UTC(), CreatedAt: i.CreatedAt.UTC(), UpdatedAt: i.UpdatedAt.UTC()}
}

// invitationInput is the body of POST /admin/invites. expires_in is in
// seconds (CONTRACT §3: durations in JSON are integer seconds).
type invitationInput struct {
	Email         *string   `json:"email"`
	Groups        *[]string `json:"groups"`
	ExpiresIn     *int64    `json:"expires_in"`
	AllowAnyEmail bool      `json:"allow_any_email"`
	Language      *string   `json:"language"`
}

func (a *API) registerInviteRoutes(r *mux.Router) {
	if a.opts.Accounts == nil {
		return
	}
	a.route(r, http.MethodPost, "/invites", "invites-write", a.handleInviteCreate)
	a.route(r, http.MethodGet, "/invites", "invites-read", a.handleInviteList)
	a.route(r, http.MethodGet, "/invites/{id}", "invites-read", a.handleInviteGet)
	a.route(r, http.MethodDelete, "/invites/{id}", "invites-write", a.handleInviteRevoke)
	a.route(r, http.MethodPost, "/users/{id}/activation", "users-write", a.handleUserActivation)
}

func (a *API) handleInviteCreate(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	var in invitationInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Email == nil || *in.Email == "" {
		return invalidField("email", "The field email is required.")
	}
	if err := validateEmail(*in.Email); err != nil {
		return err
	}
	ttl := accounts.DefaultInvitationTTL
	if in.ExpiresIn != nil {
		if *in.ExpiresIn < 60 || *in.ExpiresIn > int64(accounts.MaxInvitationTTL/time.Second) {
			return invalidField("expires_in", "expires_in is 60 to 7776000 seconds (90 days).")
		}
		ttl = time.Duration(*in.ExpiresIn) * time.Second
	}
	ctx := r.Context()
	var ids []string
	if in.Groups != nil {
		ids = *in.Groups
	}
	// The delegation ceiling: the inviter must hold every resource of
	// every group (checked again when the invitation is accepted).
	if err := a.mayJoinGroups(ctx, p, ids); err != nil {
		return err
	}
	groups := make([]storage.Group, 0, len(ids))
	for _, id := range ids {
		g, err := a.group(ctx, id)
		if err != nil {
			return err
		}
		groups = append(groups, g)
	}
	inviter, err := a.user(ctx, p.UserID)
	if err != nil {
		return err
	}
	lang := ""
	if in.Language != nil {
		if lang, err = a.resolveLanguage(ctx, in.Language, false); err != nil {
			return err
		}
	}
	inv, err := a.opts.Accounts.CreateInvitation(ctx, p.Actor(), accounts.Invite{Email: *in.Email, Groups: groups,
		Inviter: inviter, AllowAnyEmail: in.AllowAnyEmail, ExpiresIn: ttl, Language: lang})
	if errors.Is(err, storage.ErrMissingReference) {
		return withCause(semantic("missing-reference", "groups", "A group of the invitation does not exist."), err)
	} else if err != nil {
		return err
	}
	return created(w, "/admin/invites/"+inv.ID, a.toInvitationJSON(inv))
}

func (a *API) handleInviteList(w http.ResponseWriter, r *http.Request, _ authz.Principal) error {
	opts, err := listOptions(r)
	if err != nil {
		return err
	}
	page, err := a.opts.AccountStore.ListInvitations(r.Context(), a.opts.Realm, opts)
	if err != nil {
		return err
	}
	return writeList(w, page, a.toInvitationJSON)
}

func (a *API) invitation(ctx context.Context, id string) (storage.Invitation, error) {
	if !isID(id) {
		return storage.Invitation{}, notFound("The invitation")
	}
	inv, err := a.opts.AccountStore.GetInvitation(ctx, a.opts.Realm, id)
	if err != nil {
		return inv, asNotFound(err, "The invitation")
	}
	return inv, nil
}

func (a *API) handleInviteGet(w http.ResponseWriter, r *http.Request, _ authz.Principal) error {
	inv, err := a.invitation(r.Context(), pathVars(r)["id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.toInvitationJSON(inv))
}

// handleInviteRevoke revokes a pending invitation. Like granting,
// taking a pending grant away needs the power it carries: the caller
// must hold every resource of its groups that still exist.
func (a *API) handleInviteRevoke(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	ctx := r.Context()
	inv, err := a.invitation(ctx, pathVars(r)["id"])
	if err != nil {
		return err
	}
	for _, id := range inv.Groups {
		g, err := a.opts.Store.GetGroup(ctx, a.opts.Realm, id)
		if isNotFound(err) {
			continue
		} else if err != nil {
			return err
		}
		if err := a.mayActOnGroup(ctx, p, g); err != nil {
			return err
		}
	}
	err = a.opts.AccountStore.RevokeInvitation(ctx, p.Actor(), a.opts.Realm, inv.ID, a.opts.Now())
	if errors.Is(err, storage.ErrConflict) {
		return withCause(conflict("status", "Only a pending invitation can be revoked; this one is "+
			string(inv.EffectiveStatus(a.opts.Now()))+"."), err)
	} else if err != nil {
		return asNotFound(err, "The invitation")
	}
	return noContent(w)
}

// handleUserActivation mails the user a new activation link; earlier ones
// stop working. Acting on the user needs power over them.
func (a *API) handleUserActivation(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	ctx := r.Context()
	u, err := a.user(ctx, pathVars(r)["id"])
	if err != nil {
		return err
	}
	if err := a.mayActOnUser(ctx, p, u.ID); err != nil {
		return err
	}
	if u.Status != storage.StatusActive {
		return semantic("no-activation", "", "The user is disabled.")
	}
	err = a.opts.Accounts.SendActivation(ctx, u)
	if errors.Is(err, accounts.ErrNoActivation) {
		return withCause(semantic("no-activation", "", "The user has no e-mail address or already has a password."), err)
	} else if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// sendActivation mails a user created with an address and no password an
// activation link. The user exists whatever happens here: a failure is
// logged, and POST /admin/users/{id}/activation sends it again.
func (a *API) sendActivation(ctx context.Context, u storage.User) {
	if a.opts.Accounts == nil || u.Email == "" || u.Password != nil || u.Status != storage.StatusActive {
		return
	}
	if err := a.opts.Accounts.SendActivation(ctx, u); err != nil {
		a.opts.Logger.ErrorContext(ctx, "admin: activation mail not queued", "user", u.ID, "err", errString(err))
	}
}
