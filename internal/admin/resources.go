package admin

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/storage"
)

type resourceJSON struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	BuiltIn     bool      `json:"built_in"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func toResourceJSON(r storage.Resource) resourceJSON {
	return resourceJSON{r.Name, r.Description, r.BuiltIn, r.CreatedAt.UTC(), r.UpdatedAt.UTC()}
}

func (a *API) registerResourceRoutes(r *mux.Router) {
	a.route(r, http.MethodGet, "/resources", "resources-read", a.handleResourceList)
	a.route(r, http.MethodPost, "/resources", "resources-write", a.handleResourceCreate)
	a.route(r, http.MethodGet, "/resources/{name}", "resources-read", a.handleResourceGet)
	a.route(r, http.MethodPatch, "/resources/{name}", "resources-write", a.handleResourcePatch)
	a.route(r, http.MethodDelete, "/resources/{name}", "resources-write", a.handleResourceDelete)
}

func (a *API) handleResourceList(w http.ResponseWriter, r *http.Request, _ authz.Principal) error {
	opts, err := listOptions(r)
	if err != nil {
		return err
	}
	page, err := a.opts.Store.ListResources(r.Context(), a.opts.Realm, opts)
	if err != nil {
		return err
	}
	return writeList(w, page, toResourceJSON)
}

func (a *API) handleResourceCreate(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	var in struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := validateResourceName("name", in.Name); err != nil {
		return err
	}
	if err := validateText("description", in.Description, false); err != nil {
		return err
	}
	res, err := a.opts.Store.CreateResource(r.Context(), p.Actor(), a.opts.Realm, storage.Resource{Name: in.Name, Description: in.Description})
	if err != nil {
		return asConflict(err, "name", "A resource with that name already exists.")
	}
	return created(w, "/admin/resources/"+res.Name, toResourceJSON(res))
}

func (a *API) handleResourceGet(w http.ResponseWriter, r *http.Request, _ authz.Principal) error {
	res, err := a.opts.Store.GetResource(r.Context(), a.opts.Realm, pathVars(r)["name"])
	if err != nil {
		return asNotFound(err, "The resource")
	}
	return writeJSON(w, http.StatusOK, toResourceJSON(res))
}

func (a *API) handleResourcePatch(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	var in struct {
		Description *string `json:"description"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Description != nil {
		if err := validateText("description", *in.Description, false); err != nil {
			return err
		}
	}
	res, err := a.opts.Store.UpdateResource(r.Context(), p.Actor(), a.opts.Realm, pathVars(r)["name"], func(res *storage.Resource) error {
		// A resource's description tells administrators what granting it
		// means: only those who hold it may rewrite that.
		if err := mayActOn(p, []string{res.Name}); err != nil {
			return err
		}
		if in.Description != nil {
			res.Description = *in.Description
		}
		return nil
	})
	if err != nil {
		return asNotFound(err, "The resource")
	}
	return writeJSON(w, http.StatusOK, toResourceJSON(res))
}

func (a *API) handleResourceDelete(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	name := pathVars(r)["name"]
	if _, err := a.opts.Store.GetResource(r.Context(), a.opts.Realm, name); err != nil {
		return asNotFound(err, "The resource")
	}
	// Deleting a resource takes it from every group and client: only what
	// the caller holds may be taken away.
	if err := mayActOn(p, []string{name}); err != nil {
		return err
	}
	err := a.opts.Store.DeleteResource(r.Context(), p.Actor(), a.opts.Realm, name)
	if err != nil {
		return asNotFound(err, "The resource")
	}
	return noContent(w)
}
