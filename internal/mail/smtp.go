package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"

	"github.com/gatehouse/gatehouse/storage"
)

// SMTPConfig is a parsed smtp.url.
type SMTPConfig struct {
	Host     string
	Port     int
	Implicit bool   // smtps://: TLS from the first byte (RFC 8314 §3.3)
	StartTLS string // smtp://: "mandatory" (default), "opportunistic" or "none"
	Username string
	Password string
}

// ParseURL parses smtp.url: smtp://[user:pass@]host[:port][?starttls=…]
// (STARTTLS, port 587 by default) or smtps://[user:pass@]host[:port]
// (implicit TLS, port 465 by default). STARTTLS is mandatory unless the
// query says otherwise: "opportunistic" uses it when offered, "none"
// never (for a relay on the same host). Errors never repeat the URL, which
// may hold a password.
func ParseURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return SMTPConfig{}, errors.New("not a URL (percent-encode special characters in the user and password)")
	}
	var c SMTPConfig
	switch u.Scheme {
	case "smtp":
		c.Port, c.StartTLS = 587, "mandatory"
	case "smtps":
		c.Port, c.Implicit = 465, true
	default:
		return SMTPConfig{}, errors.New("the scheme must be smtp or smtps")
	}
	c.Host = u.Hostname()
	if c.Host == "" {
		return SMTPConfig{}, errors.New("the host is missing")
	}
	if p := u.Port(); p != "" {
		if c.Port, err = strconv.Atoi(p); err != nil || c.Port < 1 || c.Port > 65535 {
			return SMTPConfig{}, errors.New("the port must be 1 to 65535")
		}
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	if u.Path != "" && u.Path != "/" || u.Fragment != "" {
		return SMTPConfig{}, errors.New("the URL must have no path or fragment")
	}
	q := u.Query()
	for k := range q {
		if k != "starttls" {
			return SMTPConfig{}, fmt.Errorf("unknown query parameter %q", k)
		}
	}
	if v := q.Get("starttls"); v != "" {
		if c.Implicit {
			return SMTPConfig{}, errors.New("starttls does not apply to smtps")
		}
		if v != "mandatory" && v != "opportunistic" && v != "none" {
			return SMTPConfig{}, errors.New("starttls is mandatory, opportunistic or none")
		}
		c.StartTLS = v
	}
	return c, nil
}

// SMTP sends mails through an SMTP server, one connection per batch.
type SMTP struct {
	cfg     SMTPConfig
	from    string
	timeout time.Duration
	tls     *tls.Config
}

// NewSMTP returns a sender for cfg with the given From address. timeout
// bounds each network step (dial, each SMTP command); tlsConfig may be
// nil for the system's roots (tests pass their own).
func NewSMTP(cfg SMTPConfig, from string, timeout time.Duration, tlsConfig *tls.Config) *SMTP {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &SMTP{cfg: cfg, from: from, timeout: timeout, tls: tlsConfig}
}

func (s *SMTP) client() (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(s.timeout)}
	tc := &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}
	if s.tls != nil {
		tc = s.tls.Clone()
		if tc.ServerName == "" {
			tc.ServerName = s.cfg.Host
		}
	}
	opts = append(opts, gomail.WithTLSConfig(tc))
	switch {
	case s.cfg.Implicit:
		opts = append(opts, gomail.WithSSL())
	case s.cfg.StartTLS == "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case s.cfg.StartTLS == "opportunistic":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.cfg.Username != "" {
		// Autodiscovery picks the strongest mechanism the server offers;
		// go-mail refuses PLAIN and LOGIN over a connection without TLS.
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	return gomail.NewClient(s.cfg.Host, opts...)
}

// Send delivers m. A permanent refusal by the server (5xx) is a
// *PermanentError: retrying cannot help.
func (s *SMTP) Send(ctx context.Context, m storage.Mail) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return &PermanentError{Err: fmt.Errorf("smtp.from: %w", err)}
	}
	if err := msg.To(m.To); err != nil {
		return &PermanentError{Err: errors.New("the recipient address is invalid")}
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	c, err := s.client()
	if err != nil {
		return &PermanentError{Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, 3*s.timeout)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return classify(err)
	}
	return nil
}

// classify tells a permanent SMTP refusal from a failure worth retrying.
// Network errors, timeouts and 4xx replies are temporary.
func classify(err error) error {
	var se *gomail.SendError
	var ne net.Error
	if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 {
		return &PermanentError{Err: err}
	}
	if errors.As(err, &ne) {
		return fmt.Errorf("smtp: %w", ne)
	}
	return err
}

// PermanentError is a failure that retrying cannot fix.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Describe shortens an error for the outbox's last_error and the log: one
// line, bounded, and never the server's credentials (go-mail's errors do
// not carry them; the URL is never part of one). It is valid UTF-8
// without control characters, cut at a character: PostgreSQL refuses
// anything else, and a failure that cannot be recorded would keep its
// mail leased and retried for ever.
func Describe(err error) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(err.Error(), "\uFFFD"))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		cut := 300
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
