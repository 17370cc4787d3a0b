package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/storage"
)

type groupJSON struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Description  string    `json:"description"`
	AllResources bool      `json:"all_resources"`
	BuiltIn      bool      `json:"built_in"`
	Resources    []string  `json:"resources"`
	Includes     []string  `json:"includes"`
	ManagedBy    string    `json:"managed_by,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func toGroupJSON(g storage.Group) groupJSON {
	res := g.Resources
	if res == nil {
		res = []string{}
	}
	return groupJSON{g.ID, g.Name, g.Description, g.AllResources, g.BuiltIn, res, nonNil(g.Includes), g.ManagedBy, g.CreatedAt.UTC(), g.UpdatedAt.UTC()}
}

func (a *API) registerGroupRoutes(r *mux.Router) {
	a.route(r, http.MethodGet, "/groups", "groups-read", a.handleGroupList)
	a.route(r, http.MethodPost, "/groups", "groups-write", a.handleGroupCreate)
	a.route(r, http.MethodGet, "/groups/{id}", "groups-read", a.handleGroupGet)
	a.route(r, http.MethodPatch, "/groups/{id}", "groups-write", a.handleGroupPatch)
	a.route(r, http.MethodDelete, "/groups/{id}", "groups-write", a.handleGroupDelete)
	a.route(r, http.MethodPut, "/groups/{id}/resources/{name}", "groups-write", a.handleGroupResourcePut)
	a.route(r, http.MethodDelete, "/groups/{id}/resources/{name}", "groups-write", a.handleGroupResourceDelete)
	a.route(r, http.MethodGet, "/groups/{id}/members", "groups-read", a.handleGroupMemberList)
	a.route(r, http.MethodPut, "/groups/{id}/members/{user_id}", "groups-write", a.handleGroupMemberPut)
	a.route(r, http.MethodDelete, "/groups/{id}/members/{user_id}", "groups-write", a.handleGroupMemberDelete)
}

// groupInput is the body of group create and update.
type groupInput struct {
	Name        *string   `json:"name"`
	Description *string   `json:"description"`
	Resources   *[]string `json:"resources"`
	// Includes are the ids of the groups whose resources members hold as
	// well; ManagedBy the resource that lets its holders manage the
	// group's memberships in a context ("" for none).
	Includes  *[]string `json:"includes"`
	ManagedBy *string   `json:"managed_by"`
}

func (in groupInput) validate(create bool) error {
	if create && in.Name == nil {
		return invalidField("name", "The field name is required.")
	}
	if in.Name != nil {
		if err := validateText("name", *in.Name, true); err != nil {
			return err
		}
		if len(*in.Name) > maxNameLen {
			return invalidField("name", "A group name is at most 64 bytes.")
		}
	}
	if in.Description != nil {
		if err := validateText("description", *in.Description, false); err != nil {
			return err
		}
	}
	if in.Includes != nil {
		if len(*in.Includes) > maxListItems {
			return invalidField("includes", "Too many included groups.")
		}
		for _, id := range *in.Includes {
			if !isID(id) {
				return invalidField("includes", "includes lists group ids.")
			}
		}
	}
	if in.ManagedBy != nil && *in.ManagedBy != "" {
		if err := validateResourceNames("managed_by", []string{*in.ManagedBy}); err != nil {
			return err
		}
	}
	if in.Resources != nil {
		return validateResourceNames("resources", *in.Resources)
	}
	return nil
}

// checkGroupLinks checks what a group change links to: the included
// groups grant their resources to the group's members, so the caller
// must hold them (the delegation ceiling); the managing resource hands
// the group's memberships to its holders, so the caller must hold it.
func (a *API) checkGroupLinks(ctx context.Context, p authz.Principal, in groupInput) error {
	if in.Includes != nil {
		if len(*in.Includes) > maxListItems {
			return invalidField("includes", "Too many included groups.")
		}
		for _, id := range *in.Includes {
			if _, err := a.opts.Store.GetGroup(ctx, a.opts.Realm, id); isNotFound(err) {
				return withCause(semantic("missing-reference", "includes", "The group "+id+" does not exist."), err)
			} else if err != nil {
				return err
			}
		}
		power, err := a.powers.Groups(ctx, *in.Includes)
		if err != nil {
			return err
		}
		if err := requireAll(p, power); err != nil {
			return err
		}
	}
	if in.ManagedBy != nil && *in.ManagedBy != "" {
		if err := a.resourcesExist(ctx, "managed_by", []string{*in.ManagedBy}); err != nil {
			return err
		}
		return requireAll(p, []string{*in.ManagedBy})
	}
	return nil
}

// applyLinks sets what in says of inclusion and management on g.
func (in groupInput) applyLinks(g *storage.Group) {
	if in.Includes != nil {
		g.Includes = *in.Includes
	}
	if in.ManagedBy != nil {
		g.ManagedBy = *in.ManagedBy
	}
}

func (a *API) handleGroupList(w http.ResponseWriter, r *http.Request, _ authz.Principal) error {
	opts, err := listOptions(r)
	if err != nil {
		return err
	}
	page, err := a.opts.Store.ListGroups(r.Context(), a.opts.Realm, opts)
	if err != nil {
		return err
	}
	return writeList(w, page, toGroupJSON)
}

func (a *API) handleGroupCreate(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	var in groupInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := in.validate(true); err != nil {
		return err
	}
	g := storage.Group{Name: *in.Name}
	if in.Description != nil {
		g.Description = *in.Description
	}
	if in.Resources != nil {
		g.Resources = *in.Resources
		if err := a.resourcesExist(r.Context(), "resources", g.Resources); err != nil {
			return err
		}
		if err := requireAll(p, g.Resources); err != nil {
			return err
		}
	}
	if err := a.checkGroupLinks(r.Context(), p, in); err != nil {
		return err
	}
	in.applyLinks(&g)
	g, err := a.opts.Store.CreateGroup(r.Context(), p.Actor(), a.opts.Realm, g)
	if err != nil {
		return asHierarchy(asConflict(err, "name", "A group with that name already exists."), "includes")
	}
	return created(w, "/admin/groups/"+g.ID, toGroupJSON(g))
}

func (a *API) handleGroupGet(w http.ResponseWriter, r *http.Request, _ authz.Principal) error {
	g, err := a.group(r.Context(), pathVars(r)["id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toGroupJSON(g))
}

func (a *API) handleGroupPatch(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	var in groupInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := in.validate(false); err != nil {
		return err
	}
	id := pathVars(r)["id"]
	before, err := a.group(r.Context(), id)
	if err != nil {
		return err
	}
	if err := a.mayActOnGroup(r.Context(), p, before); err != nil {
		return err
	}
	if in.Resources != nil {
		if err := a.resourcesExist(r.Context(), "resources", *in.Resources); err != nil {
			return err
		}
	}
	if err := a.checkGroupLinks(r.Context(), p, in); err != nil {
		return err
	}
	g, err := a.opts.Store.UpdateGroup(r.Context(), p.Actor(), a.opts.Realm, id, func(g *storage.Group) error {
		// Checked again against the group as it is inside the update, in
		// case it gained a grant since it was loaded above.
		if err := mayActOn(p, g.Resources); err != nil {
			return err
		}
		if in.Name != nil {
			g.Name = *in.Name
		}
		if in.Description != nil {
			g.Description = *in.Description
		}
		if in.Resources != nil {
			if err := requireAll(p, *in.Resources); err != nil {
				return err
			}
			g.Resources = *in.Resources
		}
		in.applyLinks(g)
		return nil
	})
	if err != nil {
		return asHierarchy(asConflict(asNotFound(err, "The group"), "name", "A group with that name already exists."), "includes")
	}
	return writeJSON(w, http.StatusOK, toGroupJSON(g))
}

func (a *API) handleGroupDelete(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	id := pathVars(r)["id"]
	g, err := a.group(r.Context(), id)
	if err != nil {
		return err
	}
	if err := a.mayActOnGroup(r.Context(), p, g); err != nil {
		return err
	}
	if err := a.opts.Store.DeleteGroup(r.Context(), p.Actor(), a.opts.Realm, id); err != nil {
		return asNotFound(err, "The group")
	}
	return noContent(w)
}

func (a *API) handleGroupResourcePut(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	v := pathVars(r)
	g, err := a.group(r.Context(), v["id"])
	if err != nil {
		return err
	}
	if err := a.resourcesExist(r.Context(), "name", []string{v["name"]}); err != nil {
		return asNotFoundResource(err)
	}
	if err := a.mayActOnGroup(r.Context(), p, g); err != nil {
		return err
	}
	if err := requireAll(p, []string{v["name"]}); err != nil {
		return err
	}
	if err := a.opts.Store.GrantGroupResource(r.Context(), p.Actor(), a.opts.Realm, v["id"], v["name"]); err != nil {
		return asNotFound(err, "The group or resource")
	}
	return noContent(w)
}

func (a *API) handleGroupResourceDelete(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	v := pathVars(r)
	g, err := a.group(r.Context(), v["id"])
	if err != nil {
		return err
	}
	if err := a.mayActOnGroup(r.Context(), p, g); err != nil {
		return err
	}
	if err := a.opts.Store.RevokeGroupResource(r.Context(), p.Actor(), a.opts.Realm, v["id"], v["name"]); err != nil {
		return asNotFound(err, "The group or resource")
	}
	return noContent(w)
}

func (a *API) handleGroupMemberList(w http.ResponseWriter, r *http.Request, _ authz.Principal) error {
	id := pathVars(r)["id"]
	if _, err := a.group(r.Context(), id); err != nil {
		return err
	}
	opts, err := listOptions(r)
	if err != nil {
		return err
	}
	page, err := a.opts.Store.ListGroupMembers(r.Context(), a.opts.Realm, id, opts)
	if err != nil {
		return err
	}
	return writeList(w, page, toUserJSON)
}

func (a *API) handleGroupMemberPut(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	v := pathVars(r)
	g, err := a.group(r.Context(), v["id"])
	if err != nil {
		return err
	}
	if _, err := a.user(r.Context(), v["user_id"]); err != nil {
		return err
	}
	if err := a.mayGrantGroup(r.Context(), p, g); err != nil {
		return err
	}
	if err := a.opts.Store.AddGroupMember(r.Context(), p.Actor(), a.opts.Realm, g.ID, v["user_id"]); err != nil {
		return asNotFound(err, "The group or user")
	}
	return noContent(w)
}

func (a *API) handleGroupMemberDelete(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	v := pathVars(r)
	g, err := a.group(r.Context(), v["id"])
	if err != nil {
		return err
	}
	if _, err := a.user(r.Context(), v["user_id"]); err != nil {
		return err
	}
	// Taking a member out takes the group's grants from them: the caller
	// must hold what the group grants and everything the member holds.
	if err := a.mayActOnGroup(r.Context(), p, g); err != nil {
		return err
	}
	if err := a.mayActOnUser(r.Context(), p, v["user_id"]); err != nil {
		return err
	}
	if err := a.opts.Store.RemoveGroupMember(r.Context(), p.Actor(), a.opts.Realm, v["id"], v["user_id"]); err != nil {
		return asNotFound(err, "The group or user")
	}
	return noContent(w)
}

// group loads a group, answering 404 for ids that are not UUIDs.
func (a *API) group(ctx context.Context, id string) (storage.Group, error) {
	if !isID(id) {
		return storage.Group{}, notFound("The group")
	}
	g, err := a.opts.Store.GetGroup(ctx, a.opts.Realm, id)
	if err != nil {
		return g, asNotFound(err, "The group")
	}
	return g, nil
}

// mayGrantGroup checks the delegation ceiling for making someone a member
// of g: the caller must hold every resource the group grants, for the
// administrators group every resource of the realm.
func (a *API) mayGrantGroup(ctx context.Context, p authz.Principal, g storage.Group) error {
	power, err := a.powers.Group(ctx, g)
	if err != nil {
		return err
	}
	return requireAll(p, power)
}

// resourcesExist answers 422 naming field when a resource does not exist.
func (a *API) resourcesExist(ctx context.Context, field string, names []string) error {
	for _, n := range names {
		if _, err := a.opts.Store.GetResource(ctx, a.opts.Realm, n); err != nil {
			if isNotFound(err) {
				return withCause(semantic("missing-reference", field, "The resource "+n+" does not exist."), err)
			}
			return err
		}
	}
	return nil
}

// asNotFoundResource turns a missing-reference answer for a resource in
// the path into 404: in a path, the resource is addressed, not referenced.
func asNotFoundResource(err error) error {
	if p, ok := err.(*Problem); ok && p.Type == typePrefix+"missing-reference" {
		return withCause(notFound("The resource"), err)
	}
	return err
}
