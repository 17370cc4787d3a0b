package devdemo

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed web/page.html
var pageFS embed.FS

// pages renders the demo's one template: the signed-in page and every
// error page.
type pages struct{ tmpl *template.Template }

func parsePages(assetURL func(string) (string, error)) (*pages, error) {
	t, err := template.New("page.html").Funcs(template.FuncMap{"asset": assetURL}).ParseFS(pageFS, "web/page.html")
	if err != nil {
		return nil, fmt.Errorf("devdemo: template: %w", err)
	}
	return &pages{tmpl: t}, nil
}

// view is what the template shows. Error is set on an error page, Claims
// on the signed-in page. The raw tokens are never part of it: the page
// shows what a relying party learned, not credentials to copy.
type view struct {
	Title   string
	Tone    string // "ok" or "error"
	Lead    string
	Error   *oauthError
	Claims  []claim
	Scope   string
	Expires string
	Refresh bool // a refresh token was issued
	Again   string
}

// oauthError is an error the authorization server answered with (RFC
// 6749 §4.1.2.1, §5.2).
type oauthError struct{ Code, Description string }

type claim struct{ Name, Value string }

// timeClaims are the ID token's NumericDate claims, shown with their
// date as well.
var timeClaims = []string{"exp", "iat", "auth_time", "nbf"}

// claimList returns the claims sorted by name, each value as JSON (a
// string without quotes), NumericDates with their UTC time.
func claimList(claims map[string]any) []claim {
	out := make([]claim, 0, len(claims))
	for k, v := range claims {
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case float64:
			s = strconv.FormatFloat(x, 'f', -1, 64)
			if slices.Contains(timeClaims, k) {
				s += " (" + time.Unix(int64(x), 0).UTC().Format(time.RFC3339) + ")"
			}
		default:
			b, _ := json.Marshal(x)
			s = string(b)
		}
		out = append(out, claim{k, s})
	}
	slices.SortFunc(out, func(a, b claim) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// render writes the page with status and the hosted pages' headers,
// rendered into a buffer first so that a failure gives a clean 500.
func (p *pages) render(w http.ResponseWriter, headers func(http.Header), status int, v *view) {
	var buf bytes.Buffer
	headers(w.Header())
	if err := p.tmpl.Execute(&buf, v); err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("internal error\n"))
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
