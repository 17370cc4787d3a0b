package signin_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/signin"
)

// TestCataloguesComplete: every message exists in every language, is not
// empty, and has the same placeholders, so that no page falls back to a
// key or loses a value.
func TestCataloguesComplete(t *testing.T) {
	load := func(lang string) map[string]string {
		b, err := os.ReadFile("web/locales/" + lang + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		return m
	}
	en, de := load("en"), load("de")
	placeholders := regexp.MustCompile(`\{[a-z]+\}`)
	for _, pair := range [][2]map[string]string{{en, de}, {de, en}} {
		for k, v := range pair[0] {
			other, ok := pair[1][k]
			if !ok {
				t.Errorf("key %q is missing from one catalogue", k)
				continue
			}
			if strings.TrimSpace(v) == "" {
				t.Errorf("key %q is empty", k)
			}
			a, b := placeholders.FindAllString(v, -1), placeholders.FindAllString(other, -1)
			slices.Sort(a)
			slices.Sort(b)
			if !slices.Equal(a, b) {
				t.Errorf("key %q: placeholders %v and %v differ", k, a, b)
			}
		}
	}
}

func TestLanguageChoice(t *testing.T) {
	for _, tc := range []struct {
		name       string
		uiLocales  []string
		userLang   string
		accept     string
		defaultLng string
		consent    bool
		want       string
	}{
		{name: "nothing asked", want: "en"},
		{name: "accept-language", accept: "de-DE,de;q=0.9,en;q=0.8", want: "de"},
		{name: "accept-language by weight", accept: "en;q=0.5, de-AT;q=0.9", want: "de"},
		{name: "unsupported accept falls to default", accept: "fr-FR, ja", defaultLng: "de", want: "de"},
		{name: "unsupported default falls to english", accept: "fr", defaultLng: "fr", want: "en"},
		{name: "ui_locales beat accept-language", uiLocales: []string{"de"}, accept: "en-US", want: "de"},
		{name: "first supported ui_locale", uiLocales: []string{"fr-CA", "de-CH", "en"}, accept: "en", want: "de"},
		{name: "unsupported ui_locales ignored", uiLocales: []string{"fr"}, accept: "de", want: "de"},
		{name: "malformed ui_locales ignored", uiLocales: []string{"!!", "x-"}, accept: "de", want: "de"},
		{name: "user language at consent", userLang: "de", accept: "en", consent: true, want: "de"},
		{name: "ui_locales beat user language", uiLocales: []string{"en"}, userLang: "de", accept: "de", consent: true, want: "en"},
		{name: "malformed accept-language", accept: "de;q=abc;;", defaultLng: "en", want: "en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *signin.Options) { o.DefaultLanguage = tc.defaultLng })
			stage, id := oauth.StageLogin, "p"
			if tc.consent {
				stage = oauth.StageConsent
			}
			e.flow.set(oauth.Pending{ID: id, Stage: stage, ClientID: "app", CSRF: "c",
				UILocales: tc.uiLocales, UserLanguage: tc.userLang, Username: "alice"})
			page := "/login"
			if tc.consent {
				page = "/consent"
			}
			w := e.get(page+"?auth="+id, "Accept-Language", tc.accept)
			d := parseDoc(t, w.Body.String())
			if got := d.lang(); got != tc.want {
				t.Errorf("lang %q, want %q", got, tc.want)
			}
		})
	}
}

func TestGermanPages(t *testing.T) {
	e := newEnv(t)
	de := func(r *http.Request) *http.Request { r.Header.Set("Accept-Language", "de"); return r }
	for _, tc := range []struct {
		name string
		w    *httptest.ResponseRecorder
		want []string
	}{
		{"login", e.get("/login?auth=login-1", "Accept-Language", "de"), []string{"Anmelden", "Benutzername", "Passwort", "um mit Reports fortzufahren"}},
		{"consent", e.get("/consent?auth=consent-1", "Accept-Language", "de"), []string{"Zugriff erlauben?", "Ihre Anmeldung", "Ihre E-Mail-Adresse", "Erlauben", "Ablehnen", "Angemeldet als alice"}},
		{"retry", func() *httptest.ResponseRecorder {
			e.flow.signInErr = &oauth.RetryError{After: 5 * time.Minute}
			defer func() { e.flow.signInErr = nil }()
			return e.postForm("/login", loginForm("login-1", "csrf-login-1", "alice", wirePassword), "Accept-Language", "de")
		}(), []string{"Zu viele Anmeldeversuche. Versuchen Sie es in 5 Minuten erneut."}},
		{"error by ui_locales", func() *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			e.pages.Error(w, httptest.NewRequest(http.MethodGet, "/oauth2/authorize?ui_locales=de%20en", nil), 400, "invalid_client", "unknown client")
			return w
		}(), []string{"Anmeldung fehlgeschlagen", "Die Anwendung ist hier nicht bekannt.", "unknown client", "Fehlercode"}},
		{"signed out", func() *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			e.pages.SignedOut(w, de(httptest.NewRequest(http.MethodGet, "/oauth2/logout", nil)))
			return w
		}(), []string{"Sie sind abgemeldet"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.w.Body.String()
			if got := parseDoc(t, body).lang(); got != "de" {
				t.Errorf("lang %q", got)
			}
			page := visibleText(t, body)
			for _, s := range tc.want {
				if !strings.Contains(page, s) {
					t.Errorf("page lacks %q: %s", s, page)
				}
			}
		})
	}
}

func TestRetryWording(t *testing.T) {
	for _, tc := range []struct {
		after time.Duration
		en    string
		de    string
	}{
		{0, "1 second", "1 Sekunde"},
		{300 * time.Millisecond, "1 second", "1 Sekunde"},
		{45 * time.Second, "45 seconds", "45 Sekunden"},
		{60 * time.Second, "60 seconds", "60 Sekunden"},
		{61 * time.Second, "2 minutes", "2 Minuten"},
		{15 * time.Minute, "15 minutes", "15 Minuten"},
		{90 * time.Minute, "90 minutes", "90 Minuten"},
		{2 * time.Hour, "2 hours", "2 Stunden"},
	} {
		for lang, want := range map[string]string{"en": tc.en, "de": tc.de} {
			e := newEnv(t)
			e.flow.signInErr = &oauth.RetryError{After: tc.after}
			w := e.postForm("/login", loginForm("login-1", "csrf-login-1", "alice", wirePassword), "Accept-Language", lang)
			got := parseDoc(t, w.Body.String()).alert()
			if !regexp.MustCompile(`\s` + regexp.QuoteMeta(want) + `\b`).MatchString(got) {
				t.Errorf("%s, %s: alert %q lacks %q", tc.after, lang, got, want)
			}
		}
	}
}
