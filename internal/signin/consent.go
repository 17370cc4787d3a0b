package signin

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/oauth"
)

// consentView is what the consent template shows.
type consentView struct {
	Action   string
	Auth     string
	CSRF     string
	Client   string // the client's name, or its ID if it has none
	ClientID string
	User     string
	Scopes   []scopeView
}

// scopeView is one line of the consent page's list: what the scope
// gives, in words, and for an admin resource its name in small print.
type scopeView struct {
	Text string
	Name string
}

// Decisions a consent form can post in its decision field (the contract
// of the consent page: two submit buttons named decision).
const (
	decisionAllow = "allow"
	decisionDeny  = "deny"
)

// handleConsentPage shows the consent form of pending request ?auth=id.
// A request that still needs a sign-in goes back to the login page.
func (p *Pages) handleConsentPage(w http.ResponseWriter, r *http.Request) {
	id, ok := pendingID(r)
	if !ok {
		p.fail(w, r, p.langs.pick(r, nil, ""), oauth.ErrPendingGone)
		return
	}
	pend, err := p.opts.Flow.PendingAuthorization(r, id)
	if err != nil {
		p.fail(w, r, p.langs.pick(r, nil, ""), err)
		return
	}
	if pend.Stage != oauth.StageConsent {
		redirect(w, p.pageURL(oauth.PathLogin, pend.ID))
		return
	}
	c := p.langs.pick(r, pend.UILocales, pend.UserLanguage)
	client := pend.ClientName
	if client == "" {
		client = pend.ClientID
	}
	p.render(w, http.StatusOK, "consent", &view{cat: c, Title: c.must("consent.title"), Consent: &consentView{
		Action:   p.base + oauth.PathConsent,
		Auth:     pend.ID,
		CSRF:     pend.CSRF,
		Client:   client,
		ClientID: pend.ClientID,
		User:     pend.Username,
		Scopes:   scopeViews(c, pend.Scopes),
	}})
}

// scopeViews describes scopes: OpenID Connect scopes (OIDC Core 1.0 §5.4)
// in the catalogue's words, admin resources by their description with
// the resource's name below it. A scope without words is shown by name.
func scopeViews(c *catalogue, scopes []oauth.ScopeInfo) []scopeView {
	out := make([]scopeView, 0, len(scopes))
	for _, s := range scopes {
		if s.OIDC {
			text, err := c.T("scope." + s.Name)
			if err != nil {
				text = s.Name
			}
			out = append(out, scopeView{Text: text})
			continue
		}
		if s.Description == "" {
			out = append(out, scopeView{Text: s.Name})
			continue
		}
		out = append(out, scopeView{Text: s.Description, Name: s.Name})
	}
	return out
}

// handleConsentPost records the user's decision through the Flow and
// sends the browser back to the client (303).
func (p *Pages) handleConsentPost(w http.ResponseWriter, r *http.Request) {
	f, err := readForm(w, r, consentFields)
	if err == nil && f["decision"] != decisionAllow && f["decision"] != decisionDeny {
		err = errBadForm
	}
	if err != nil {
		p.fail(w, r, p.langs.pick(r, nil, ""), err)
		return
	}
	next, err := p.opts.Flow.Decide(w, r, f["auth"], f["csrf"], f["decision"] == decisionAllow)
	if err != nil {
		p.fail(w, r, p.langs.pick(r, nil, ""), err)
		return
	}
	redirect(w, next)
}
