package mail_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want mail.SMTPConfig
		err  string
	}{
		{url: "smtp://mx.example.com", want: mail.SMTPConfig{Host: "mx.example.com", Port: 587, StartTLS: "mandatory"}},
		{url: "smtp://u%40x:p%2Fw@mx.example.com:2525?starttls=opportunistic",
			want: mail.SMTPConfig{Host: "mx.example.com", Port: 2525, StartTLS: "opportunistic", Username: "u@x", Password: "p/w"}},
		{url: "smtps://u:p@mx.example.com", want: mail.SMTPConfig{Host: "mx.example.com", Port: 465, Implicit: true, Username: "u", Password: "p"}},
		{url: "smtp://127.0.0.1:25?starttls=none", want: mail.SMTPConfig{Host: "127.0.0.1", Port: 25, StartTLS: "none"}},
		{url: "http://mx.example.com", err: "scheme"},
		{url: "smtp://", err: "host"},
		{url: "smtp://mx:99999", err: "port"},
		{url: "smtp://mx/path", err: "path"},
		{url: "smtp://mx?starttls=maybe", err: "starttls"},
		{url: "smtps://mx?starttls=none", err: "smtps"},
		{url: "smtp://mx?foo=1", err: "unknown"},
		{url: "smtp://u:se%cret@mx", err: "not a URL"},
	} {
		got, err := mail.ParseURL(tc.url)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.url)
			require.NotContains(t, err.Error(), "cret", "errors never repeat the password")
			continue
		}
		require.NoError(t, err, tc.url)
		require.Equal(t, tc.want, got, tc.url)
	}
}

func message(to string) storage.Mail {
	return storage.Mail{ID: "m1", To: to, Subject: "Grüße", Text: "Hallo, das ist ein Test.\n", HTML: `<html lang="de"><p>Hallo</p></html>`, Kind: "activate"}
}

// Each transport the configuration allows delivers, authenticating where
// the server asks.
func TestSMTPTransports(t *testing.T) {
	serverTLS, clientTLS := mailtest.TLS(t)
	for _, tc := range []struct {
		name string
		o    mailtest.Options
		url  func(addr string) string
	}{
		{"plain", mailtest.Options{}, func(a string) string { return "smtp://" + a + "?starttls=none" }},
		{"starttls with auth", mailtest.Options{TLS: serverTLS, Username: "gh", Password: "s3cret"},
			func(a string) string { return "smtp://gh:s3cret@" + a }},
		{"implicit tls with auth", mailtest.Options{TLS: serverTLS, Implicit: true, Username: "gh", Password: "s3cret"},
			func(a string) string { return "smtps://gh:s3cret@" + a }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := mailtest.Start(t, tc.o)
			cfg, err := mail.ParseURL(tc.url(srv.Addr()))
			require.NoError(t, err)
			s := mail.NewSMTP(cfg, "Gatehouse <gatehouse@example.com>", 5*time.Second, clientTLS)
			require.NoError(t, s.Send(context.Background(), message("ada@example.com")))
			m := srv.Wait("ada@example.com", 0, 5*time.Second)
			require.Equal(t, "gatehouse@example.com", m.From)
			require.Equal(t, "Grüße", m.Subject)
			require.Contains(t, m.Text, "das ist ein Test")
			require.Equal(t, "de", m.Language)
		})
	}
}

// STARTTLS is mandatory by default: a server that does not offer it gets
// nothing, and a wrong password is refused.
func TestSMTPRefusals(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	cfg, err := mail.ParseURL("smtp://" + srv.Addr())
	require.NoError(t, err)
	err = mail.NewSMTP(cfg, "gatehouse@example.com", 5*time.Second, nil).Send(context.Background(), message("a@example.com"))
	require.Error(t, err, "no STARTTLS offered")
	require.Zero(t, srv.Attempts())

	serverTLS, clientTLS := mailtest.TLS(t)
	authed := mailtest.Start(t, mailtest.Options{TLS: serverTLS, Username: "gh", Password: "right"})
	cfg, err = mail.ParseURL("smtp://gh:wrong@" + authed.Addr())
	require.NoError(t, err)
	err = mail.NewSMTP(cfg, "gatehouse@example.com", 5*time.Second, clientTLS).Send(context.Background(), message("a@example.com"))
	require.Error(t, err)
	require.NotContains(t, err.Error(), "wrong", "the password is not in the error")
	require.Zero(t, authed.Attempts())
}

type countingMetrics struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingMetrics) MailDelivery(kind, outcome string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[kind+"/"+outcome]++
}

func (c *countingMetrics) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

// A refusing server gets the mail again after the backoff; a mail that
// keeps failing is given up after the maximum attempts, and kept.
func TestWorkerRetries(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	cfg, err := mail.ParseURL(srv.URL())
	require.NoError(t, err)
	store := memory.New()
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	metrics := &countingMetrics{}
	w := mail.NewWorker(mail.WorkerOptions{Outbox: store, Sender: mail.NewSMTP(cfg, "g@example.com", 5*time.Second, nil),
		MaxAttempts: 3, BaseBackoff: time.Minute, Metrics: metrics, Now: clock})
	ctx := context.Background()
	require.NoError(t, store.EnqueueMail(ctx, storage.DefaultRealm, message("b@example.com")))

	srv.Refuse(1)
	n, err := w.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, 1, metrics.get("activate/retry"), "%v", metrics.n)
	n, err = w.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "not due before its backoff")
	advance(time.Minute) // the first backoff is 30 to 60 s
	_, err = w.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, srv.Count("b@example.com"))
	require.Equal(t, 1, metrics.get("activate/sent"))
	st, err := store.OutboxStats(ctx)
	require.NoError(t, err)
	require.Equal(t, storage.OutboxStats{}, st, "a sent mail leaves the outbox")

	// Down for good: three attempts, then given up and kept.
	srv.Stop()
	require.NoError(t, store.EnqueueMail(ctx, storage.DefaultRealm, message("c@example.com")))
	for range 3 {
		_, err := w.RunOnce(ctx)
		require.NoError(t, err)
		advance(2 * time.Hour)
	}
	require.Equal(t, 1, metrics.get("activate/failed"))
	st, err = store.OutboxStats(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, st.Failed)
	require.Zero(t, st.Pending)
}

type failing struct{ err error }

func (f failing) Send(context.Context, storage.Mail) error { return f.err }

// A permanent refusal is not retried.
func TestWorkerPermanentFailure(t *testing.T) {
	store := memory.New()
	ctx := context.Background()
	require.NoError(t, store.EnqueueMail(ctx, storage.DefaultRealm, message("d@example.com")))
	w := mail.NewWorker(mail.WorkerOptions{Outbox: store, Sender: failing{&mail.PermanentError{Err: errors.New("550 no such user")}}})
	_, err := w.RunOnce(ctx)
	require.NoError(t, err)
	st, err := store.OutboxStats(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, st.Failed)
}

func TestRender(t *testing.T) {
	r, err := mail.NewRenderer("https://auth.example.com")
	require.NoError(t, err)
	exp := time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC)
	for _, kind := range []string{mail.KindActivate, mail.KindReset, mail.KindInvite} {
		for _, lang := range []string{"en", "de-AT", "fr"} {
			m, err := r.Render(mail.Message{Kind: kind, To: "x@example.com", Language: lang, Link: "https://auth.example.com/p?token=T",
				Username: "ada", Name: "Ada <Lovelace>", Inviter: "Bob", Groups: []string{"editors"}, Expires: exp})
			require.NoError(t, err)
			require.Equal(t, kind, m.Kind)
			require.Contains(t, m.Text, "https://auth.example.com/p?token=T")
			require.Contains(t, m.HTML, `href="https://auth.example.com/p?token=T"`)
			require.Contains(t, m.HTML, "Ada &lt;Lovelace&gt;", "HTML escapes what users typed")
			require.Contains(t, m.Text, "2026-12-05 04:00 UTC")
			want := "en"
			if strings.HasPrefix(lang, "de") {
				want = "de"
			}
			require.Contains(t, m.HTML, `<html lang="`+want+`">`)
		}
	}
}
