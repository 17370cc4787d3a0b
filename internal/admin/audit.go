package admin

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/storage"
)

type auditJSON struct {
	ID         string            `json:"id"`
	Time       time.Time         `json:"time"`
	ActorType  string            `json:"actor_type"`
	ActorID    string            `json:"actor_id"`
	Action     string            `json:"action"`
	TargetType string            `json:"target_type"`
	TargetID   string            `json:"target_id"`
	Details    map[string]string `json:"details,omitempty"`
}

func toAuditJSON(e storage.AuditEntry) auditJSON {
	return auditJSON{e.ID, e.Time.UTC(), string(e.Actor.Type), e.Actor.ID, e.Action, e.TargetType, e.TargetID, e.Details}
}

func (a *API) registerAuditRoutes(r *mux.Router) {
	a.route(r, http.MethodGet, "/audit", "audit-read", a.handleAuditList)
}

// handleAuditList lists audit entries newest first, filtered by actor,
// target and a time range (since inclusive, until exclusive, RFC 3339).
func (a *API) handleAuditList(w http.ResponseWriter, r *http.Request, _ authz.Principal) error {
	opts, err := listOptions(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var f storage.AuditFilter
	if f.ActorID, err = queryText(q, "actor"); err != nil {
		return err
	}
	if f.TargetID, err = queryText(q, "target"); err != nil {
		return err
	}
	if f.Since, err = parseTime(q.Get("since"), "since"); err != nil {
		return err
	}
	if f.Until, err = parseTime(q.Get("until"), "until"); err != nil {
		return err
	}
	page, err := a.opts.Store.ListAudit(r.Context(), a.opts.Realm, f, opts)
	if err != nil {
		return err
	}
	return writeList(w, page, toAuditJSON)
}

func parseTime(s, field string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, invalidField(field, field+" must be an RFC 3339 timestamp.")
	}
	return t, nil
}

// auditRefusal records a request refused for want of power: 403, the
// delegation ceiling, or the last administrator. Other errors (bad input,
// not found, outages) are not refusals and are not recorded. The entry
// names the route template, never the raw path or body.
func (a *API) auditRefusal(ctx context.Context, r *http.Request, route string, p authz.Principal, err error) {
	pr := toProblem(err)
	refused := pr.Status == http.StatusForbidden || pr.Type == typePrefix+"delegation-ceiling" || pr.Type == typePrefix+"last-administrator"
	if !refused {
		return
	}
	// A token holder could otherwise fill the audit log with refusals, a
	// database write each: an actor's refusals are written up to a budget,
	// then one a minute while they go on (decided atomically, so parallel
	// requests cannot overrun it); the rest are logged only. The first
	// refusals of a burst, the ones an auditor needs, are kept, and an
	// outage of token state keeps no refusal out of the log.
	actor := p.Actor()
	ctx = context.WithoutCancel(ctx)
	_, wait, err := a.opts.State.TryAttempt(ctx, storage.Attempt{
		Unknown: []storage.Bucket{{Key: "audit-denied:" + a.opts.Realm + ":" + string(actor.Type) + ":" + actor.ID, Free: a.opts.RefusalAuditsPerMinute - 1}},
		At:      a.opts.Now(), BaseDelay: time.Minute, MaxDelay: time.Minute, Keep: time.Minute,
	})
	if err == nil && wait > 0 {
		a.opts.Logger.InfoContext(ctx, "refusal not written to the audit log: the actor's budget is spent", "route", route, "actor", actor.ID)
		return
	}
	targetType, targetID := refusalTarget(route, pathVars(r), p)
	e := storage.AuditEntry{
		Actor: actor, Action: storage.ActionAccessDenied, TargetType: targetType, TargetID: targetID,
		Details: map[string]string{"route": route, "problem": strings.TrimPrefix(pr.Type, typePrefix), "status": strconv.Itoa(pr.Status)},
	}
	// The refusal stands whether or not it could be recorded.
	if err := a.opts.Store.AppendAudit(ctx, a.opts.Realm, e); err != nil {
		a.opts.Logger.WarnContext(ctx, "cannot record a refused request in the audit log", "route", route, "error", err)
	}
}

// refusalTarget names the entity a refused request addressed.
func refusalTarget(route string, vars map[string]string, p authz.Principal) (string, string) {
	// A user's consent to a client is the user's: their routes name the
	// user before the client.
	switch {
	case strings.Contains(route, " /admin/users/"):
		return storage.TargetUser, vars["id"]
	case strings.Contains(route, " /admin/me/consents"):
		return storage.TargetUser, p.UserID
	case vars["client_id"] != "":
		return storage.TargetClient, vars["client_id"]
	case vars["group_id"] != "":
		return storage.TargetGroup, vars["group_id"]
	case strings.Contains(route, " /admin/contexts/"):
		return storage.TargetContext, vars["id"]
	case strings.Contains(route, " /admin/groups/"):
		return storage.TargetGroup, vars["id"]
	case strings.Contains(route, " /admin/resources/"):
		return storage.TargetResource, vars["name"]
	case strings.Contains(route, " /admin/languages/"):
		return storage.TargetLanguage, vars["code"]
	case strings.Contains(route, " /admin/invites/"):
		return storage.TargetInvitation, vars["id"]
	case strings.Contains(route, " /admin/me"):
		return storage.TargetUser, p.UserID
	}
	return storage.TargetRealm, ""
}
