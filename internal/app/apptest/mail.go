package apptest

import (
	"context"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse/gatehouse/storage"
)

// WithMail turns on accounts by e-mail, delivering through the SMTP
// server at smtpURL (a mailtest server's URL). The worker polls often,
// and backs off from one second, so that tests see mails quickly; the
// backoff is measured on the server's Clock.
func WithMail(smtpURL string) func(*app.Options) {
	return func(o *app.Options) {
		cfg, err := mail.ParseURL(smtpURL)
		if err != nil {
			panic(err)
		}
		o.Accounts = o.Store.(storage.AccountStore)
		o.MailSender = mail.NewSMTP(cfg, "Gatehouse <gatehouse@example.com>", 2*time.Second, nil)
		o.Mail = mail.WorkerOptions{Interval: 50 * time.Millisecond, BaseBackoff: time.Second, MaxBackoff: 4 * time.Second, SendTimeout: 5 * time.Second}
	}
}

// RunMail starts the server's mail worker; it stops when stop is called
// or the test ends, like a node that goes away.
func (s *Server) RunMail() (stop func()) {
	s.T.Helper()
	require.NotNil(s.T, s.App.Mail, "start the server WithMail")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.App.Mail.Run(ctx)
	}()
	stop = func() {
		cancel()
		<-done
	}
	s.T.Cleanup(stop)
	return stop
}

// StartWithMail starts a server on b with a mailtest server and its mail
// worker running.
func StartWithMail(t *testing.T, b Backend, mutate ...func(*app.Options)) (*Server, *mailtest.Server) {
	t.Helper()
	smtp := mailtest.Start(t, mailtest.Options{})
	s := Start(t, b, append([]func(*app.Options){WithMail(smtp.URL())}, mutate...)...)
	s.RunMail()
	return s, smtp
}

var linkPattern = regexp.MustCompile(`https?://[^\s"<>]+\?token=[A-Za-z0-9_-]+`)

// Link returns the link of a mail's plain-text part, checking that the
// HTML part holds the same one. Its token is remembered as a secret the
// server's log must never show.
func (s *Server) Link(m mailtest.Message) *url.URL {
	t := s.T
	t.Helper()
	for _, secret := range []string{"argon2", "$pbkdf2", "password_hash"} {
		require.NotContains(t, m.Raw, secret, "a mail never holds a password hash or verifier")
	}
	s.mu.Lock()
	for _, secret := range s.secrets {
		require.NotContains(t, m.Raw, secret, "a mail never holds a password or secret")
	}
	s.mu.Unlock()
	raw := linkPattern.FindString(m.Text)
	require.NotEmpty(t, raw, "no link in the mail: %s", m.Text)
	require.Contains(t, m.HTML, `href="`+raw+`"`, "the HTML part links to the same page")
	u, err := url.Parse(raw)
	require.NoError(t, err)
	s.Remember(u.Query().Get("token"))
	return u
}
