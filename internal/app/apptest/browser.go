package apptest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/gatehouse/gatehouse/clienthash"
)

// Browser is a web browser without a script engine for end-to-end tests of
// the browser flows: it keeps cookies, follows redirects inside the issuer
// and stops at the first one that leaves it (to a client's redirect URI),
// and fills in the hosted pages' forms the way their script does:
// username, and b64u(P) derived from the password after prelogin. The
// chromedp tests prove the real script does the same.
type Browser struct {
	s      *Server
	client *http.Client
}

// Page is where a Browser stopped: a page of the issuer, or a redirect
// that leaves it (Location set, Body empty).
type Page struct {
	Status   int
	URL      *url.URL
	Header   http.Header
	Body     string
	Location *url.URL // the redirect out of the issuer, if it stopped at one
	forms    []form
}

type form struct {
	action string
	fields url.Values
}

// Browser returns a new browser with an empty cookie jar.
func (s *Server) Browser() *Browser {
	jar, _ := cookiejar.New(nil)
	b := &Browser{s: s}
	b.client = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), s.URL+"/") || len(via) > 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

// Visit opens rawURL.
func (b *Browser) Visit(rawURL string) *Page {
	b.s.T.Helper()
	res, err := b.client.Get(rawURL)
	require.NoError(b.s.T, err)
	return b.page(res)
}

// Submit posts the page's form (the one whose fields hold name, or the
// first) with its hidden fields and values.
func (b *Browser) Submit(p *Page, values url.Values) *Page {
	t := b.s.T
	t.Helper()
	require.NotEmpty(t, p.forms, "no form on %s: %s", p.URL, p.Body)
	f := p.forms[0]
	fields := url.Values{}
	for k, v := range f.fields {
		fields[k] = v
	}
	for k, v := range values {
		fields[k] = v
	}
	action, err := p.URL.Parse(f.action)
	require.NoError(t, err)
	res, err := b.client.PostForm(action.String(), fields)
	require.NoError(t, err)
	return b.page(res)
}

// SignIn fills in the login page as its script would: prelogin, then
// b64u(P) in the password field.
func (b *Browser) SignIn(p *Page, username, password string) *Page {
	t := b.s.T
	t.Helper()
	res, err := b.client.PostForm(b.s.URL+"/oauth2/prelogin", url.Values{"username": {username}})
	require.NoError(t, err)
	defer res.Body.Close()
	var params clienthash.LoginParams
	require.NoError(t, json.NewDecoder(res.Body).Decode(&params))
	wire, err := clienthash.LoginPassword(password, params)
	require.NoError(t, err)
	b.s.Remember(wire)
	return b.Submit(p, url.Values{"username": {username}, "password": {wire}})
}

// Consent answers the consent page with "allow" or "deny".
func (b *Browser) Consent(p *Page, decision string) *Page {
	b.s.T.Helper()
	return b.Submit(p, url.Values{"decision": {decision}})
}

// Cookies returns the browser's cookies for the issuer.
func (b *Browser) Cookies() []*http.Cookie {
	u, _ := url.Parse(b.s.URL)
	return b.client.Jar.Cookies(u)
}

func (b *Browser) page(res *http.Response) *Page {
	t := b.s.T
	t.Helper()
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	p := &Page{Status: res.StatusCode, URL: res.Request.URL, Header: res.Header, Body: string(body)}
	if loc := res.Header.Get("Location"); loc != "" && res.StatusCode >= 300 && res.StatusCode < 400 {
		p.Location, err = res.Request.URL.Parse(loc)
		require.NoError(t, err)
	}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		p.forms = parseForms(t, p.Body)
	}
	return p
}

// parseForms reads the forms of a page with the values of their hidden
// inputs.
func parseForms(t *testing.T, body string) []form {
	doc, err := html.Parse(strings.NewReader(body))
	require.NoError(t, err)
	var forms []form
	var walk func(n *html.Node, f *form)
	walk = func(n *html.Node, f *form) {
		if n.Type == html.ElementNode && n.Data == "form" {
			forms = append(forms, form{action: attr(n, "action"), fields: url.Values{}})
			f = &forms[len(forms)-1]
		}
		if f != nil && n.Type == html.ElementNode && n.Data == "input" && attr(n, "type") == "hidden" && attr(n, "name") != "" {
			f.fields.Set(attr(n, "name"), attr(n, "value"))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, f)
		}
	}
	walk(doc, nil)
	return forms
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// PostForm posts values to the issuer's path as a form would, with the
// browser's cookies: for forms a test fills in by hand, tampered ones
// included.
func (b *Browser) PostForm(path string, values url.Values) *Page {
	b.s.T.Helper()
	res, err := b.client.PostForm(b.s.URL+path, values)
	require.NoError(b.s.T, err)
	return b.page(res)
}

// Hidden returns the value of the first hidden field called name in the
// page's forms, and whether there is one.
func (p *Page) Hidden(name string) (string, bool) {
	for _, f := range p.forms {
		if v, ok := f.fields[name]; ok {
			return v[0], true
		}
	}
	return "", false
}

// HiddenValues returns the values of every hidden field called name, in
// the order of the page's forms.
func (p *Page) HiddenValues(name string) []string {
	var out []string
	for _, f := range p.forms {
		if v, ok := f.fields[name]; ok {
			out = append(out, v[0])
		}
	}
	return out
}
