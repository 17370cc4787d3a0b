package admin

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/storage"
)

// Where a caller acts decides what it holds (docs/contexts.md): a
// realm-wide token holds its realm-wide resources, which apply in every
// context; a token for a context holds what its subject holds there, in
// that context and those below it, and nothing on realm routes or in
// other contexts.

// principalIn returns p as it acts in contextID ("" for the realm): the
// same principal, or one holding nothing where its token does not reach.
// An unknown context wraps storage.ErrNotFound.
func (a *API) principalIn(ctx context.Context, p authz.Principal, contextID string) (authz.Principal, error) {
	if contextID == "" {
		if p.Context != "" {
			p.Held = nil
		}
		return p, nil
	}
	path, err := a.opts.Store.ContextPath(ctx, a.opts.Realm, contextID)
	if err != nil {
		return authz.Principal{}, err
	}
	if p.Context != "" && !slices.Contains(path, p.Context) {
		p.Held = nil
	}
	return p, nil
}

// unknownContext answers a request about a context that does not exist:
// 404 to a caller who could read it were it there (the route's resource,
// or contexts-read for routes that decide themselves, held realm-wide),
// and to anyone else the refusal they would get for a context they do
// not reach, so that nobody learns which contexts exist in places they
// cannot see.
func (a *API) unknownContext(p authz.Principal, need string, cause error) error {
	if need == "" {
		need = "contexts-read"
	}
	if p.Context == "" && p.Has(need) {
		return withCause(notFound("The context"), cause)
	}
	return withCause(forbidden(need), cause)
}

// routeIn registers h like route, acting in the context where names.
func (a *API) routeIn(r *mux.Router, method, path, need string, where func(*http.Request) string, h handler) {
	r.Handle(path, a.guardIn(method+" /admin"+path, need, where, h)).Methods(method)
}

// inPathContext and inQuery name the context a request acts in.
func inPathContext(r *http.Request) string { return pathVars(r)["id"] }

func inQuery(name string) func(*http.Request) string {
	return func(r *http.Request) string { return r.URL.Query().Get(name) }
}

type callerKey struct{}

// withCaller keeps the principal as its token speaks for it, before it is
// scoped to where the request acts, for the handlers that decide about
// a second context (a move's new parent).
func withCaller(ctx context.Context, p authz.Principal) context.Context {
	return context.WithValue(ctx, callerKey{}, p)
}

func callerOf(ctx context.Context) authz.Principal {
	p, _ := ctx.Value(callerKey{}).(authz.Principal)
	return p
}

// requireIn refuses unless the caller holds resource in contextID ("" for
// the realm): 403 missing-resource, as the guard answers.
func (a *API) requireIn(ctx context.Context, contextID, resource string) error {
	p, err := a.principalIn(ctx, callerOf(ctx), contextID)
	if errors.Is(err, storage.ErrNotFound) {
		return a.unknownContext(callerOf(ctx), resource, err)
	} else if err != nil {
		return err
	}
	if !p.Has(resource) {
		return forbidden(resource)
	}
	return nil
}
