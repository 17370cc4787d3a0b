package signin

import (
	"embed"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"
)

//go:embed web/locales/*.json
var localeFS embed.FS

// supported are the languages the pages ship catalogues for; the first is
// the fallback when nothing the browser, the client or the realm asks for
// matches (issue 12: "ship English and German catalogues and fall back to
// English").
var supported = []language.Tag{language.English, language.German}

// Limits on what language preferences are read, so that a request cannot
// make the matcher parse an unbounded list.
const (
	maxAcceptLanguage = 1024
	maxLocaleTags     = 16
)

// catalogue is one language's messages, keyed by message id.
type catalogue struct {
	tag  language.Tag
	msgs map[string]string
}

// loadCatalogues reads every supported language's catalogue. A missing or
// malformed one is a build defect, caught by the package's tests.
func loadCatalogues() ([]*catalogue, error) {
	cats := make([]*catalogue, len(supported))
	for i, tag := range supported {
		b, err := localeFS.ReadFile("web/locales/" + tag.String() + ".json")
		if err != nil {
			return nil, err
		}
		c := &catalogue{tag: tag}
		if err := json.Unmarshal(b, &c.msgs); err != nil {
			return nil, fmt.Errorf("catalogue %s: %w", tag, err)
		}
		cats[i] = c
	}
	return cats, nil
}

// T returns the message key with each {name} placeholder replaced by the
// value that follows the name in kv. A key missing from the catalogue is
// an error, which aborts the template: a page never shows a raw key.
func (c *catalogue) T(key string, kv ...string) (string, error) {
	s, ok := c.msgs[key]
	if !ok {
		return "", fmt.Errorf("signin: no message %q in catalogue %s", key, c.tag)
	}
	if len(kv)%2 != 0 {
		return "", fmt.Errorf("signin: message %q: odd placeholder list", key)
	}
	for i := 0; i < len(kv); i += 2 {
		s = strings.ReplaceAll(s, "{"+kv[i]+"}", kv[i+1])
	}
	return s, nil
}

// must is T for Go code, where keys are constants that the tests render.
func (c *catalogue) must(key string, kv ...string) string {
	s, err := c.T(key, kv...)
	if err != nil {
		return key
	}
	return s
}

// Wait says how long d is in words, rounded up so that a user who waits
// that long is not refused again: seconds below a minute, minutes below
// an hour and a half, hours above.
func (c *catalogue) Wait(d time.Duration) string {
	unit, n := "seconds", math.Ceil(d.Seconds())
	switch {
	case d > 90*time.Minute:
		unit, n = "hours", math.Ceil(d.Hours())
	case d > time.Minute:
		unit, n = "minutes", math.Ceil(d.Minutes())
	}
	if n < 1 {
		n = 1
	}
	// English and German both distinguish only one from other
	// (CLDR plural rules), so two forms per unit suffice.
	form := "other"
	if n == 1 {
		form = "one"
	}
	return c.must("wait."+unit+"."+form, "n", strconv.Itoa(int(n)))
}

// languages chooses a catalogue for each request.
type languages struct {
	cats     []*catalogue
	matcher  language.Matcher
	fallback int // index of Options.DefaultLanguage's match, else English
}

func newLanguages(cats []*catalogue, defaultLanguage string) *languages {
	l := &languages{cats: cats, matcher: language.NewMatcher(supported)}
	if i, ok := l.match([]string{defaultLanguage}); ok {
		l.fallback = i
	}
	return l
}

// match returns the index of the supported language that best matches
// tags, and false if none does.
func (l *languages) match(tags []string) (int, bool) {
	var parsed []language.Tag
	for _, s := range tags {
		if t, err := language.Parse(s); err == nil {
			parsed = append(parsed, t)
		}
		if len(parsed) == maxLocaleTags {
			break
		}
	}
	if len(parsed) == 0 {
		return 0, false
	}
	_, i, conf := l.matcher.Match(parsed...)
	return i, conf != language.No
}

// pick chooses the catalogue for a page, in the order issue 12 sets: the
// client's ui_locales (OIDC Core 1.0 §3.1.2.1), then the signed-in user's
// language (only known at consent), then the browser's Accept-Language
// (RFC 9110 §12.5.4), then the realm's default language, then English.
func (l *languages) pick(r *http.Request, uiLocales []string, userLanguage string) *catalogue {
	sources := [][]string{uiLocales, {userLanguage}, acceptLanguage(r)}
	for _, tags := range sources {
		if i, ok := l.match(tags); ok {
			return l.cats[i]
		}
	}
	return l.cats[l.fallback]
}

// acceptLanguage returns the browser's languages, most preferred first.
func acceptLanguage(r *http.Request) []string {
	h := r.Header.Get("Accept-Language")
	if h == "" || len(h) > maxAcceptLanguage {
		return nil
	}
	tags, _, err := language.ParseAcceptLanguage(h)
	if err != nil {
		return nil
	}
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = t.String()
	}
	return out
}

// queryLocales reads ui_locales (space-separated, OIDC Core 1.0
// §3.1.2.1) from a request the OAuth endpoints answer with a page: from
// the form if the endpoint parsed one (POST to the authorization
// endpoint), else from the query.
func queryLocales(r *http.Request) []string {
	var v string
	if r.Form != nil {
		v = r.Form.Get("ui_locales")
	} else {
		v = r.URL.Query().Get("ui_locales")
	}
	if len(v) > maxAcceptLanguage {
		return nil
	}
	return strings.Fields(v)
}
