package admin

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/storage"
)

type languageJSON struct {
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toLanguageJSON(l storage.Language) languageJSON {
	return languageJSON{l.Code, l.Name, l.CreatedAt.UTC(), l.UpdatedAt.UTC()}
}

func (a *API) registerLanguageRoutes(r *mux.Router) {
	a.route(r, http.MethodGet, "/languages", "languages-read", a.handleLanguageList)
	a.route(r, http.MethodPost, "/languages", "languages-write", a.handleLanguageCreate)
	a.route(r, http.MethodGet, "/languages/{code}", "languages-read", a.handleLanguageGet)
	a.route(r, http.MethodPatch, "/languages/{code}", "languages-write", a.handleLanguagePatch)
	a.route(r, http.MethodDelete, "/languages/{code}", "languages-write", a.handleLanguageDelete)
}

func (a *API) handleLanguageList(w http.ResponseWriter, r *http.Request, _ authz.Principal) error {
	opts, err := listOptions(r)
	if err != nil {
		return err
	}
	page, err := a.opts.Store.ListLanguages(r.Context(), a.opts.Realm, opts)
	if err != nil {
		return err
	}
	return writeList(w, page, toLanguageJSON)
}

func (a *API) handleLanguageCreate(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	var in struct {
		Code string `json:"code"`
		Name string `json:"name"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	code, err := canonicalLanguage("code", in.Code)
	if err != nil {
		return err
	}
	if err := validateText("name", in.Name, true); err != nil {
		return err
	}
	l, err := a.opts.Store.CreateLanguage(r.Context(), p.Actor(), a.opts.Realm, storage.Language{Code: code, Name: in.Name})
	if err != nil {
		return asConflict(err, "code", "A language with that code already exists.")
	}
	return created(w, "/admin/languages/"+l.Code, toLanguageJSON(l))
}

func (a *API) handleLanguageGet(w http.ResponseWriter, r *http.Request, _ authz.Principal) error {
	l, err := a.opts.Store.GetLanguage(r.Context(), a.opts.Realm, pathVars(r)["code"])
	if err != nil {
		return asNotFound(err, "The language")
	}
	return writeJSON(w, http.StatusOK, toLanguageJSON(l))
}

func (a *API) handleLanguagePatch(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	var in struct {
		Name *string `json:"name"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Name != nil {
		if err := validateText("name", *in.Name, true); err != nil {
			return err
		}
	}
	l, err := a.opts.Store.UpdateLanguage(r.Context(), p.Actor(), a.opts.Realm, pathVars(r)["code"], func(l *storage.Language) error {
		if in.Name != nil {
			l.Name = *in.Name
		}
		return nil
	})
	if err != nil {
		return asNotFound(err, "The language")
	}
	return writeJSON(w, http.StatusOK, toLanguageJSON(l))
}

func (a *API) handleLanguageDelete(w http.ResponseWriter, r *http.Request, p authz.Principal) error {
	if err := a.opts.Store.DeleteLanguage(r.Context(), p.Actor(), a.opts.Realm, pathVars(r)["code"]); err != nil {
		return asNotFound(err, "The language")
	}
	return noContent(w)
}
