package mail

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

//go:embed templates/* locales/*.json
var files embed.FS

// Kinds of mail, each a set of catalogue keys (KIND.subject, KIND.text,
// KIND.action).
const (
	KindActivate = "activate"
	KindReset    = "reset"
	KindInvite   = "invite"
)

// Languages are the languages mails are written in; any other falls back
// to the first.
var Languages = []string{"en", "de"}

// Message is what a mail says, before rendering.
type Message struct {
	Kind     string
	To       string
	Language string // the recipient's BCP 47 tag; its primary subtag picks the catalogue
	Link     string // the page the mail sends to, with its token
	Username string // activation and reset
	Name     string // the recipient's display name, if known
	Inviter  string // invitations: who invites
	Groups   []string
	Expires  time.Time
}

// Renderer renders messages into mails, in plain text and HTML.
type Renderer struct {
	issuer string
	cats   map[string]map[string]string
	text   *texttemplate.Template
	html   *htmltemplate.Template
}

// NewRenderer loads the embedded templates and catalogues. issuer is
// named in every mail's footer.
func NewRenderer(issuer string) (*Renderer, error) {
	r := &Renderer{issuer: issuer, cats: map[string]map[string]string{}}
	for _, lang := range Languages {
		b, err := files.ReadFile("locales/" + lang + ".json")
		if err != nil {
			return nil, err
		}
		cat := map[string]string{}
		if err := json.Unmarshal(b, &cat); err != nil {
			return nil, fmt.Errorf("mail catalogue %s: %w", lang, err)
		}
		r.cats[lang] = cat
	}
	var err error
	if r.text, err = texttemplate.ParseFS(files, "templates/mail.txt"); err != nil {
		return nil, err
	}
	if r.html, err = htmltemplate.ParseFS(files, "templates/mail.html"); err != nil {
		return nil, err
	}
	return r, nil
}

// Language returns the catalogue language for a BCP 47 tag.
func Language(tag string) string {
	primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
	for _, l := range Languages {
		if l == primary {
			return l
		}
	}
	return Languages[0]
}

// view is what the templates render; every text is already translated.
type view struct {
	Lang, Subject, Greeting, Text, Action, Link, Expires, Ignore, Footer string
}

// Render renders m in the recipient's language.
func (r *Renderer) Render(m Message) (storage.Mail, error) {
	lang := Language(m.Language)
	cat := r.cats[lang]
	t := func(key string, kv ...string) (string, error) {
		s, ok := cat[key]
		if !ok {
			return "", fmt.Errorf("mail catalogue %s lacks %q", lang, key)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			s = strings.ReplaceAll(s, "{"+kv[i]+"}", kv[i+1])
		}
		return s, nil
	}
	var v view
	var errs []error
	must := func(dst *string, key string, kv ...string) {
		s, err := t(key, kv...)
		errs = append(errs, err)
		*dst = s
	}
	v.Lang, v.Link = lang, m.Link
	must(&v.Subject, m.Kind+".subject")
	must(&v.Action, m.Kind+".action")
	if m.Name != "" {
		must(&v.Greeting, "hello", "name", m.Name)
	} else {
		must(&v.Greeting, "hello_anon")
	}
	switch {
	case m.Kind == KindInvite && len(m.Groups) > 0:
		must(&v.Text, "invite.text", "inviter", m.Inviter, "groups", strings.Join(m.Groups, ", "))
	case m.Kind == KindInvite:
		must(&v.Text, "invite.text_nogroups", "inviter", m.Inviter)
	default:
		must(&v.Text, m.Kind+".text", "username", m.Username)
	}
	if m.Kind == KindReset {
		must(&v.Ignore, "reset.ignore")
	}
	must(&v.Expires, "expires", "expires", m.Expires.UTC().Format("2006-01-02 15:04 MST"))
	must(&v.Footer, "footer", "issuer", r.issuer)
	for _, err := range errs {
		if err != nil {
			return storage.Mail{}, err
		}
	}
	var text, html bytes.Buffer
	if err := r.text.Execute(&text, v); err != nil {
		return storage.Mail{}, err
	}
	if err := r.html.Execute(&html, v); err != nil {
		return storage.Mail{}, err
	}
	return storage.Mail{To: m.To, Subject: v.Subject, Text: text.String(), HTML: html.String(), Kind: m.Kind}, nil
}
