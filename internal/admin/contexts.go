package admin

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/storage"
)

type contextJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Parent    string    `json:"parent,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toContextJSON(c storage.Context) contextJSON {
	return contextJSON{c.ID, c.Name, c.Kind, c.ParentID, c.CreatedAt.UTC(), c.UpdatedAt.UTC()}
}

// Context routes act in the context they address (docs/contexts.md): the
// caller's power is what it holds there. Creating, moving and deleting
// a context change its parent, so they need contexts-write in the parent
// (realm-wide for a context at the top).
func (a *API) registerContextRoutes(r *mux.Router) {
	a.routeIn(r, http.MethodGet, "/contexts", "contexts-read", inQuery("parent"), a.handleContextList)
	a.route(r, http.MethodPost, "/contexts", "", a.handleContextCreate)
	a.routeIn(r, http.MethodGet, "/contexts/{id}", "contexts-read", inPathContext, a.handleContextGet)
	a.routeIn(r, http.MethodPatch, "/contexts/{id}", "contexts-write", inPathContext, a.handleContextPatch)
	a.routeIn(r, http.MethodDelete, "/contexts/{id}", "contexts-write", inPathContext, a.handleContextDelete)
	a.routeIn(r, http.MethodGet, "/contexts/{id}/members", "groups-read", inPathContext, a.handleContextMembers)
	a.routeIn(r, http.MethodPut, "/contexts/{id}/groups/{group_id}/members/{user_id}", "", inPathContext, a.handleContextMemberPut)
	a.routeIn(r, http.MethodDelete, "/contexts/{id}/groups/{group_id}/members/{user_id}", "", inPathContext, a.handleContextMemberDelete)
}

// contextInput is the body of context create and update. Parent "" moves
// a context to the top.
type contextInput struct {
	ID     *string `json:"id"`
	Name   *string `json:"name"`
	Kind   *string `json:"kind"`
	Parent *string `json:"parent"`
}

func (in contextInput) validate(create bool) error {
	switch {
	case create && in.ID == nil:
		return invalidField("id", "The field id is required.")
	case create && in.Name == nil:
		return invalidField("name", "The field name is required.")
	case !create && in.ID != nil:
		return invalidField("id", "A context's id cannot be changed.")
	case in.ID != nil && !storage.ContextIDPattern.MatchString(*in.ID):
		return invalidField("id", "A context id is 1 to 64 lowercase letters, digits, '.', '_' or '-'.")
	case in.Parent != nil && *in.Parent != "" && !storage.ContextIDPattern.MatchString(*in.Parent):
		return invalidField("parent", "A context id is 1 to 64 lowercase letters, digits, '.', '_' or '-'.")
	}
	if in.Name != nil {
		if err := validateText("name", *in.Name, true); err != nil {
			return err
		}
		if len(*in.Name) > 256 {
			return invalidField("name", "A context name is at most 256 bytes.")
		}
	}
	if in.Kind != nil {
		if err := validateText("kind", *in.Kind, false); err != nil {
			return err
		}
		if len(*in.Kind) > maxNameLen {
			return invalidField("kind", "A kind is at most 64 bytes.")
		}
	}
	return nil
}

// asHierarchy answers a cycle or a tree grown too deep.
func asHierarchy(err error, field string) error {
	if errors.Is(err, storage.ErrHierarchy) {
		return withCause(semantic("hierarchy", field, "The change would make a cycle or go deeper than the bounded depth (docs/contexts.md)."), err)
	}
	return err
}

func (a *API) handleContextList(w http.ResponseWriter, r *http.Request, _ authz.Principal) error {
	opts, err := listOptions(r)
	if err != nil {
		return err
	}
	page, err := a.opts.Store.ListContexts(r.Context(), a.opts.Realm, r.URL.Query().Get("parent"), opts)
	if err != nil {
		return err
	}
	return writeList(w, page, toContextJSON)
}

func (a *API) handleContextCreate(w http.ResponseWriter, r *http.Request, _ authz.Principal) error {
	var in contextInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := in.validate(true); err != nil {
		return err
	}
	c := storage.Context{ID: *in.ID, Name: *in.Name}
	if in.Kind != nil {
		c.Kind = *in.Kind
	}
	if in.Parent != nil {
		c.ParentID = *in.Parent
	}
	if err := a.requireIn(r.Context(), c.ParentID, "contexts-write"); err != nil {
		return err
	}
	c, err := a.opts.Store.CreateContext(r.Context(), callerOf(r.Context()).Actor(), a.opts.Realm, c)
	if err != nil {
		return asHierarchy(asConflict(err, "id", "A context with that id already exists."), "parent")
	}
	return created(w, "/admin/contexts/"+c.ID, toContextJSON(c))
}

func (a *API) handleContextGet(w http.ResponseWriter, r *http.Request, _ authz.Principal) error {
	c, err := a.opts.Store.GetContext(r.Context(), a.opts.Realm, pathVars(r)["id"])
	if err != nil {
		return asNotFound(err, "The context")
	}
	return writeJSON(w, http.StatusOK, toContextJSON(c))
}

func (a *API) handleContextPatch(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	var in contextInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := in.validate(false); err != nil {
		return err
	}
	id := pathVars(r)["id"]
	before, err := a.opts.Store.GetContext(r.Context(), a.opts.Realm, id)
	if err != nil {
		return asNotFound(err, "The context")
	}
	if in.Parent != nil && *in.Parent != before.ParentID {
		// A move takes the context from one parent to another: both
		// must be the caller's to change.
		if err := a.requireIn(r.Context(), before.ParentID, "contexts-write"); err != nil {
			return err
		}
		if err := a.requireIn(r.Context(), *in.Parent, "contexts-write"); err != nil {
			return err
		}
		if err := a.mayMove(r.Context(), before.ParentID, *in.Parent); err != nil {
			return err
		}
	}
	c, err := a.opts.Store.UpdateContext(r.Context(), p.Actor(), a.opts.Realm, id, func(c *storage.Context) error {
		if in.Name != nil {
			c.Name = *in.Name
		}
		if in.Kind != nil {
			c.Kind = *in.Kind
		}
		if in.Parent != nil {
			if c.ParentID != before.ParentID {
				return storage.ErrConflict // moved meanwhile: decided on the old parent
			}
			c.ParentID = *in.Parent
		}
		return nil
	})
	if err != nil {
		return asHierarchy(asNotFound(err, "The context"), "parent")
	}
	return writeJSON(w, http.StatusOK, toContextJSON(c))
}

// mayMove applies the delegation ceiling to a move from one parent to
// another. In the moved subtree, the members of the contexts above the
// new parent (and not above the old one) gain what their groups there
// grant, as if added to them there; those of the contexts above the old
// parent only lose it. The caller must hold, in the new parent, what is
// gained, and in the old one what is taken (docs/contexts.md).
func (a *API) mayMove(ctx context.Context, oldParent, newParent string) error {
	oldPath, err := a.parentPath(ctx, oldParent)
	if err != nil {
		return err
	}
	newPath, err := a.parentPath(ctx, newParent)
	if err != nil {
		return err
	}
	for _, side := range []struct {
		parent     string
		path, keep []string
	}{{newParent, newPath, oldPath}, {oldParent, oldPath, newPath}} {
		groups, err := a.membershipGroups(ctx, side.path, side.keep)
		if err != nil {
			return err
		} else if len(groups) == 0 {
			continue
		}
		power, err := a.powers.Groups(ctx, groups)
		if err != nil {
			return err
		}
		p, err := a.principalIn(ctx, callerOf(ctx), side.parent)
		if err != nil {
			return err
		}
		if err := requireAll(p, power); err != nil {
			return err
		}
	}
	return nil
}

// parentPath is ContextPath, empty for the realm.
func (a *API) parentPath(ctx context.Context, id string) ([]string, error) {
	if id == "" {
		return nil, nil
	}
	return a.opts.Store.ContextPath(ctx, a.opts.Realm, id)
}

// membershipGroups returns the groups of the memberships held in the
// contexts of path but not of keep.
func (a *API) membershipGroups(ctx context.Context, path, keep []string) ([]string, error) {
	if len(path) == 0 || slices.Equal(path, keep) {
		return nil, nil
	}
	var groups []string
	opts := storage.ListOptions{Limit: 100}
	for {
		page, err := a.opts.Store.ListContextMembers(ctx, a.opts.Realm, path[0], opts)
		if err != nil {
			return nil, err
		}
		for _, u := range page.Items {
			ms, err := a.opts.Store.UserMemberships(ctx, a.opts.Realm, u.ID)
			if err != nil && !isNotFound(err) {
				return nil, err
			}
			for _, m := range ms {
				if m.ContextID != "" && slices.Contains(path, m.ContextID) && !slices.Contains(keep, m.ContextID) {
					groups = append(groups, m.GroupID)
				}
			}
		}
		if page.NextCursor == "" {
			break
		}
		opts.Cursor = page.NextCursor
	}
	slices.Sort(groups)
	return slices.Compact(groups), nil
}

func (a *API) handleContextDelete(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	id := pathVars(r)["id"]
	c, err := a.opts.Store.GetContext(r.Context(), a.opts.Realm, id)
	if err != nil {
		return asNotFound(err, "The context")
	}
	if err := a.requireIn(r.Context(), c.ParentID, "contexts-write"); err != nil {
		return err
	}
	if err := a.opts.Store.DeleteContext(r.Context(), p.Actor(), a.opts.Realm, id); err != nil {
		if errors.Is(err, storage.ErrInUse) {
			return withCause(problem(http.StatusConflict, "in-use", "Conflict",
				"The context still has child contexts, memberships or clients bound to it."), err)
		}
		return asNotFound(err, "The context")
	}
	return noContent(w)
}

// contextMemberJSON is who holds what in a context, and why.
type contextMemberJSON struct {
	User      userJSON                `json:"user"`
	Resources []effectiveResourceJSON `json:"resources"`
}

func (a *API) handleContextMembers(w http.ResponseWriter, r *http.Request, _ authz.Principal) error {
	ctx, id := r.Context(), pathVars(r)["id"]
	opts, err := listOptions(r)
	if err != nil {
		return err
	}
	page, err := a.opts.Store.ListContextMembers(ctx, a.opts.Realm, id, opts)
	if err != nil {
		return asNotFound(err, "The context")
	}
	names := groupNames{}
	out := list[contextMemberJSON]{Items: make([]contextMemberJSON, len(page.Items)), NextCursor: page.NextCursor}
	for i, u := range page.Items {
		eff, err := a.opts.Store.UserResourcesIn(ctx, a.opts.Realm, u.ID, id)
		if err != nil {
			return err
		}
		res, err := a.explain(ctx, names, eff)
		if err != nil {
			return err
		}
		out.Items[i] = contextMemberJSON{User: toUserJSON(u), Resources: res}
	}
	return writeJSON(w, http.StatusOK, out)
}

// mayManageMembersIn decides who may change g's memberships in a
// context: a holder of groups-write there, or of the resource the group
// names as managed_by ("owners appoint maintainers"). Either way the
// delegation ceiling holds there: the caller holds, in the context,
// everything the group grants.
func (a *API) mayManageMembersIn(ctx context.Context, p authz.Principal, g storage.Group) error {
	if !p.Has("groups-write") && (g.ManagedBy == "" || !p.Has(g.ManagedBy)) {
		if g.ManagedBy != "" {
			return forbidden("groups-write or " + g.ManagedBy)
		}
		return forbidden("groups-write")
	}
	power, err := a.powers.Group(ctx, g)
	if err != nil {
		return err
	}
	return requireAll(p, power)
}

// contextMember loads what a membership route in a context addresses —
// the context, the group and the user — and decides whether the caller
// may manage the group's memberships there.
func (a *API) contextMember(r *http.Request, p authz.Principal) (contextID string, g storage.Group, userID string, err error) {
	v := pathVars(r)
	// Decided before the user is looked up, and for a caller holding
	// nothing there before the group is: a token for another context
	// must not learn which users and groups exist (docs/contexts.md).
	if len(p.Held) == 0 {
		return "", g, "", forbidden("groups-write")
	}
	if g, err = a.group(r.Context(), v["group_id"]); err != nil {
		return "", g, "", err
	}
	if err := a.mayManageMembersIn(r.Context(), p, g); err != nil {
		return "", g, "", err
	}
	if _, err := a.user(r.Context(), v["user_id"]); err != nil {
		return "", g, "", err
	}
	return v["id"], g, v["user_id"], nil
}

func (a *API) handleContextMemberPut(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	contextID, g, userID, err := a.contextMember(r, p)
	if err != nil {
		return err
	}
	if err := a.opts.Store.AddGroupMemberIn(r.Context(), p.Actor(), a.opts.Realm, contextID, g.ID, userID); err != nil {
		return asNotFound(err, "The context, group or user")
	}
	return noContent(w)
}

func (a *API) handleContextMemberDelete(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	contextID, g, userID, err := a.contextMember(r, p)
	if err != nil {
		return err
	}
	// Taking a member out takes from them: the caller must hold, there,
	// everything the member holds there.
	power, err := a.powers.UserIn(r.Context(), userID, contextID)
	if err != nil {
		return asNotFound(err, "The context or user")
	}
	if err := mayActOn(p, power); err != nil {
		return err
	}
	if err := a.opts.Store.RemoveGroupMemberIn(r.Context(), p.Actor(), a.opts.Realm, contextID, g.ID, userID); err != nil {
		return asNotFound(err, "The context, group or user")
	}
	return noContent(w)
}

// groupNames caches the names of groups an explanation mentions.
type groupNames map[string]string

// groupName returns the name of group id, "" for one deleted meanwhile.
func (a *API) groupName(ctx context.Context, names groupNames, id string) (string, error) {
	if name, ok := names[id]; ok {
		return name, nil
	}
	g, err := a.opts.Store.GetGroup(ctx, a.opts.Realm, id)
	if err != nil && !isNotFound(err) {
		return "", err
	}
	names[id] = g.Name
	return g.Name, nil
}

type groupRefJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// grantPathJSON is one way a resource is held: a membership in Context
// (null: realm-wide) of Groups[0], which includes Groups[1], and so on to
// the group that grants the resource.
type grantPathJSON struct {
	Context *string        `json:"context"`
	Groups  []groupRefJSON `json:"groups"`
}

// explain turns effective resources into their JSON form, with every
// path that grants each.
func (a *API) explain(ctx context.Context, names groupNames, eff []storage.EffectiveResource) ([]effectiveResourceJSON, error) {
	out := make([]effectiveResourceJSON, len(eff))
	for i, e := range eff {
		paths := make([]grantPathJSON, len(e.Paths))
		for j, gp := range e.Paths {
			var c *string
			if gp.Context != "" {
				c = &gp.Context
			}
			refs := make([]groupRefJSON, len(gp.Chain))
			for k, id := range gp.Chain {
				name, err := a.groupName(ctx, names, id)
				if err != nil {
					return nil, err
				}
				refs[k] = groupRefJSON{id, name}
			}
			paths[j] = grantPathJSON{c, refs}
		}
		out[i] = effectiveResourceJSON{Name: e.Name, Groups: nonNil(e.Groups), Paths: paths}
	}
	return out, nil
}
