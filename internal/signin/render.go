package signin

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/storage"
)

//go:embed web/templates/*.html
var templateFS embed.FS

// pageNames are the templates, each rendered inside layout.html.
var pageNames = []string{"login", "consent", "message", "logout", "account"}

// templates holds one parsed template set per page.
type templates struct {
	pages map[string]*template.Template
}

func parseTemplates(p *Pages) (*templates, error) {
	t := &templates{pages: map[string]*template.Template{}}
	funcs := template.FuncMap{"asset": p.AssetURL}
	for _, name := range pageNames {
		tm, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS,
			"web/templates/layout.html", "web/templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		t.pages[name] = tm
	}
	return t, nil
}

// view is what a template renders. Exactly one of Login and Consent is
// set on those pages; the message page uses Message, Detail and Code.
type view struct {
	cat     *catalogue
	Title   string
	Tone    string // message page: "ok" or "error", choosing its icon
	Alert   string // shown above a form in a role=alert box that takes focus
	Message string
	Detail  string // the OAuth provider's own description, in English
	Code    string // the RFC 6749 error code
	Login   *loginView
	Consent *consentView
	Logout  *logoutView
	Account *accountView
}

// logoutView is the logout confirmation's form.
type logoutView struct {
	Action string
	Hidden []hiddenField
}

type hiddenField struct{ Name, Value string }

// T looks up a message in the page's language; see catalogue.T.
func (v *view) T(key string, kv ...string) (string, error) { return v.cat.T(key, kv...) }

// Lang is the page's language, for <html lang> (WCAG 3.1.1).
func (v *view) Lang() string { return v.cat.tag.String() }

// render writes page with status. The page is rendered into a buffer
// first so that a template failure gives a clean 500, not half a page.
func (p *Pages) render(w http.ResponseWriter, status int, page string, v *view) {
	var buf bytes.Buffer
	if err := p.tmpl.pages[page].ExecuteTemplate(&buf, "layout.html", v); err != nil {
		p.opts.Logger.Error("signin: rendering a page", "page", page, "err", err)
		SetPageHeaders(w.Header())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("internal error\n"))
		return
	}
	SetPageHeaders(w.Header())
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// message renders the message page.
func (p *Pages) message(w http.ResponseWriter, status int, c *catalogue, titleKey, textKey string) {
	tone := "error"
	if status < 400 {
		tone = "ok"
	}
	p.render(w, status, "message", &view{cat: c, Tone: tone, Title: c.must(titleKey), Message: c.must(textKey)})
}

// errBadForm: a submitted form is malformed (see readForm).
var errBadForm = errors.New("malformed form")

// fail answers a request whose form or flow failed with the page for err,
// in c's language. This is the one place that maps the browser-flow
// errors of internal/oauth/browser.go to statuses. Wrong credentials are
// not handled here: the login page shows them next to its form.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, c *catalogue, err error) {
	var retry *oauth.RetryError
	switch {
	case errors.Is(err, oauth.ErrPendingGone):
		p.message(w, http.StatusBadRequest, c, "expired.title", "expired.text")
	case errors.Is(err, oauth.ErrForgedForm):
		p.message(w, http.StatusForbidden, c, "forged.title", "forged.text")
	case errors.Is(err, oauth.ErrPasswordNotHashed):
		p.message(w, http.StatusBadRequest, c, "needs_js.title", "login.needs_js")
	case errors.Is(err, errBadForm):
		p.message(w, http.StatusBadRequest, c, "badform.title", "badform.text")
	case errors.As(err, &retry):
		setRetryAfter(w, retry)
		p.render(w, http.StatusTooManyRequests, "message", &view{cat: c, Tone: "error",
			Title: c.must("retry.title"), Message: c.must("retry.text", "wait", c.Wait(retry.After))})
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), errors.Is(err, storage.ErrUnavailable):
		p.logInternal(r, err)
		p.message(w, http.StatusServiceUnavailable, c, "internal.title", "internal.text")
	default:
		p.logInternal(r, err)
		p.message(w, http.StatusInternalServerError, c, "internal.title", "internal.text")
	}
}

// setRetryAfter sets Retry-After in whole seconds, rounded up (RFC 9110
// §10.2.3), so that a client that waits that long is not refused again.
func setRetryAfter(w http.ResponseWriter, e *oauth.RetryError) {
	s := int64(math.Ceil(e.After.Seconds()))
	if s < 1 {
		s = 1
	}
	w.Header().Set("Retry-After", strconv.FormatInt(s, 10))
}

// Error renders the page for an authorization or logout request that
// cannot be answered with a redirect (RFC 6749 §4.1.2.1). The page's own
// text depends on code; description follows it, in English, as the
// provider wrote it. The language follows the request's ui_locales, then
// Accept-Language.
func (p *Pages) Error(w http.ResponseWriter, r *http.Request, status int, code, description string) {
	if status < 400 || status > 599 {
		status = http.StatusBadRequest
	}
	c := p.langs.pick(r, queryLocales(r), "")
	lead, err := c.T("error." + code)
	if err != nil {
		lead = c.must("error.other")
	}
	p.render(w, status, "message", &view{cat: c, Tone: "error", Title: c.must("error.title"),
		Message: lead, Detail: description, Code: code})
}

// SignedOut renders the page shown after a logout that has no
// post_logout_redirect_uri to return to (OpenID Connect RP-Initiated
// Logout 1.0 §3), in the language of the request's ui_locales or the
// browser's.
func (p *Pages) SignedOut(w http.ResponseWriter, r *http.Request) {
	c := p.langs.pick(r, queryLocales(r), "")
	p.message(w, http.StatusOK, c, "signedout.title", "signedout.text")
}

// ConfirmLogout asks the user whether to sign out, for a logout request
// that does not prove it comes from one of the session's relying parties
// (OpenID Connect RP-Initiated Logout 1.0 §2); the form posts hidden back
// to the logout endpoint.
func (p *Pages) ConfirmLogout(w http.ResponseWriter, r *http.Request, hidden url.Values) {
	c := p.langs.pick(r, strings.Fields(hidden.Get("ui_locales")), "")
	v := &logoutView{Action: p.base + oauth.PathLogout}
	names := make([]string, 0, len(hidden))
	for k := range hidden {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		v.Hidden = append(v.Hidden, hiddenField{k, hidden.Get(k)})
	}
	p.render(w, http.StatusOK, "logout", &view{cat: c, Title: c.must("logout.title"), Message: c.must("logout.text"), Logout: v})
}
