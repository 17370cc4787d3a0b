package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse/gatehouse/storage"
)

// A slow mail server never holds a request: the answer comes before the
// mail is delivered, which happens afterwards.
func TestSlowMailServerDoesNotBlockRequests(t *testing.T) {
	s, smtp := apptest.StartWithMail(t, apptest.Memory)
	_, _, adminToken := administrator(t, s)
	smtp.Slow(2 * time.Second)
	r := s.Bearer(http.MethodPost, "/admin/users", adminToken, `{"username":"slow","email":"slow@example.com"}`)
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	require.Zero(t, smtp.Count("slow@example.com"), "answered before the mail server accepted the mail")
	b := s.Browser()
	p := b.Submit(b.Visit(s.URL+"/password/forgot"), map[string][]string{"name": {"slow"}})
	require.Equal(t, http.StatusOK, p.Status)
	smtp.Wait("slow@example.com", 0, mailWait)
}

// The mail server down: requests still answer, the mails wait in the
// outbox and go out once it is back, each once; with PostgreSQL, even
// after the Gatehouse that queued them went away and another took over.
func TestMailServerDownAndGatehouseRestart(t *testing.T) {
	for _, b := range apptest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			smtp := mailtest.Start(t, mailtest.Options{})
			smtp.Stop()
			store, state := b.New(t, time.Now)
			shared := apptest.Backend{Name: b.Name, New: func(*testing.T, func() time.Time) (storage.Store, storage.TokenState) {
				return store, state
			}}
			first := apptest.Start(t, shared, apptest.WithMail(smtp.URL()))
			stopFirst := first.RunMail()
			_, _, adminToken := administrator(t, first)
			const n = 3
			for i := range n {
				r := first.Bearer(http.MethodPost, "/admin/users", adminToken,
					fmt.Sprintf(`{"username":"down%d","email":"down%d@example.com"}`, i, i))
				require.Equal(t, http.StatusCreated, r.Status, r.Raw)
			}
			outbox := store.(storage.AccountStore)
			require.Eventually(t, func() bool {
				st, err := outbox.OutboxStats(context.Background())
				return err == nil && st.Pending == n && strings.Contains(first.Logs.String(), "will retry")
			}, mailWait, 20*time.Millisecond, "the mails wait in the outbox after failed attempts")

			next := first
			if b.Name != apptest.Memory.Name {
				// The node that queued them goes away; another takes over.
				stopFirst()
				next = apptest.Start(t, shared, apptest.WithMail(smtp.URL()))
				next.RunMail()
			}
			smtp.Restart()
			// Time passes: every backoff runs out, however often the
			// worker tried while the server came back.
			require.Eventually(t, func() bool {
				next.Clock.Advance(10 * time.Second)
				next.App.Mail.Wake()
				for i := range n {
					if smtp.Count(fmt.Sprintf("down%d@example.com", i)) == 0 {
						return false
					}
				}
				return true
			}, mailWait, 100*time.Millisecond, "every mail arrives once the server is back")
			for i := range n {
				link := next.Link(smtp.Wait(fmt.Sprintf("down%d@example.com", i), 0, mailWait))
				// The link names the issuer that queued it; the token is
				// good on any node.
				page := next.Browser().Visit(next.URL + link.Path + "?" + link.RawQuery)
				require.Equal(t, http.StatusOK, page.Status, page.Body)
			}
			require.Eventually(t, func() bool {
				st, err := outbox.OutboxStats(context.Background())
				return err == nil && st == storage.OutboxStats{}
			}, mailWait, 20*time.Millisecond)
			time.Sleep(200 * time.Millisecond)
			for i := range n {
				require.Equal(t, 1, smtp.Count(fmt.Sprintf("down%d@example.com", i)), "each mail once")
			}
		})
	}
}
