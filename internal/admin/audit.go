package admin

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/internal/oauth"
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
func (a *API) handleAuditList(w http.ResponseWriter, r *http.Request, _ oauth.Principal) error {
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
