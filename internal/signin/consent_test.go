package signin_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/oauth"
)

func TestConsentPage(t *testing.T) {
	e := newEnv(t)
	w := e.get("/consent?auth=consent-1")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	d := parseDoc(t, w.Body.String())
	var items []string
	for _, li := range d.all("li") {
		items = append(items, text(li))
	}
	want := []string{"Sign you in", "Your name, username and language", "Your e-mail address",
		"Read users and their groups admin:users:read"}
	if strings.Join(items, "|") != strings.Join(want, "|") {
		t.Errorf("scopes listed as %q, want %q", items, want)
	}
	page := text(d.one("body"))
	for _, s := range []string{"Reports is asking for:", "reports-app", "Signed in as alice"} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	d.one("form", "method", "post", "action", "/consent")
	d.one("input", "type", "hidden", "name", "auth", "value", "consent-1")
	d.one("input", "type", "hidden", "name", "csrf", "value", "csrf-consent-1")
	d.one("button", "type", "submit", "name", "decision", "value", "allow")
	d.one("button", "type", "submit", "name", "decision", "value", "deny")
	if n := len(d.all("script")); n != 0 {
		t.Errorf("the consent page loads %d scripts; it needs none", n)
	}
}

// TestConsentScopeFallbacks: a scope the catalogue has no words for, or an
// admin resource without a description, is shown by its name; a client
// without a name by its ID.
func TestConsentScopeFallbacks(t *testing.T) {
	e := newEnv(t)
	e.flow.set(oauth.Pending{ID: "c2", Stage: oauth.StageConsent, ClientID: "bare-app", Username: "bob", CSRF: "x",
		Scopes: []oauth.ScopeInfo{{Name: "x-unknown", OIDC: true}, {Name: "admin:audit"}}})
	d := parseDoc(t, e.get("/consent?auth=c2").Body.String())
	var items []string
	for _, li := range d.all("li") {
		items = append(items, text(li))
	}
	if strings.Join(items, "|") != "x-unknown|admin:audit" {
		t.Errorf("scopes %q", items)
	}
	if !strings.Contains(text(d.one("body")), "bare-app is asking for:") {
		t.Error("a client without a name is not shown by its ID")
	}
}

func TestConsentPost(t *testing.T) {
	for _, tc := range []struct {
		decision string
		allow    bool
	}{{"allow", true}, {"deny", false}} {
		e := newEnv(t)
		w := e.postForm("/consent", url.Values{"auth": {"consent-1"}, "csrf": {"csrf-consent-1"}, "decision": {tc.decision}})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != e.flow.next {
			t.Errorf("%s: %d to %q", tc.decision, w.Code, w.Header().Get("Location"))
		}
		_, ds := e.flow.calls()
		if len(ds) != 1 || ds[0] != (decision{"consent-1", tc.allow}) {
			t.Errorf("%s: decisions %+v", tc.decision, ds)
		}
	}
}

func TestConsentPostRefused(t *testing.T) {
	for _, tc := range []struct {
		name      string
		form      url.Values
		decideErr error
		status    int
		asked     bool
	}{
		{"no decision", url.Values{"auth": {"consent-1"}, "csrf": {"csrf-consent-1"}}, nil, http.StatusBadRequest, false},
		{"other decision", url.Values{"auth": {"consent-1"}, "csrf": {"csrf-consent-1"}, "decision": {"yes"}}, nil, http.StatusBadRequest, false},
		{"both decisions", url.Values{"auth": {"consent-1"}, "csrf": {"csrf-consent-1"}, "decision": {"allow", "deny"}}, nil, http.StatusBadRequest, false},
		{"unknown field", url.Values{"auth": {"consent-1"}, "csrf": {"csrf-consent-1"}, "decision": {"allow"}, "scope": {"x"}}, nil, http.StatusBadRequest, false},
		{"forged", url.Values{"auth": {"consent-1"}, "csrf": {"other"}, "decision": {"allow"}}, nil, http.StatusForbidden, true},
		{"gone", url.Values{"auth": {"gone"}, "csrf": {"x"}, "decision": {"allow"}}, nil, http.StatusBadRequest, true},
		{"throttled", url.Values{"auth": {"consent-1"}, "csrf": {"csrf-consent-1"}, "decision": {"allow"}},
			&oauth.RetryError{After: 30e9}, http.StatusTooManyRequests, true},
		{"internal", url.Values{"auth": {"consent-1"}, "csrf": {"csrf-consent-1"}, "decision": {"allow"}},
			errors.New("postgres down"), http.StatusInternalServerError, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.flow.decideErr = tc.decideErr
			w := e.postForm("/consent", tc.form)
			if w.Code != tc.status {
				t.Errorf("status %d, want %d", w.Code, tc.status)
			}
			if _, ds := e.flow.calls(); (len(ds) > 0) != tc.asked {
				t.Errorf("decisions %+v", ds)
			}
			if w.Header().Get("Location") != "" {
				t.Error("a refused decision redirects")
			}
			if tc.status == http.StatusTooManyRequests && w.Header().Get("Retry-After") != "30" {
				t.Errorf("Retry-After %q", w.Header().Get("Retry-After"))
			}
			if strings.Contains(w.Body.String(), "postgres") {
				t.Error("the page shows the internal cause")
			}
		})
	}
}
