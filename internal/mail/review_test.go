package mail_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/postgres/pgtest"
)

// TestReviewMailPoisonErrorIsRecorded: a delivery failure whose text
// PostgreSQL cannot store — cut inside a multi-byte character by the
// 300-byte bound, or holding a NUL, as an SMTP reply may (a German relay,
// an address echoed back) — must still be recorded. Otherwise RetryMail
// fails every time: the mail is never given up, never backed off, and
// sent again each time its lease ends, for ever.
func TestReviewMailPoisonErrorIsRecorded(t *testing.T) {
	store := pgtest.NewStore(t)
	ctx := context.Background()
	for _, msg := range []string{strings.Repeat("ü", 200), "550 mailbox\x00 unavailable"} {
		m := message("p@example.com")
		m.ID = ""
		require.NoError(t, store.EnqueueMail(ctx, storage.DefaultRealm, m))
		w := mail.NewWorker(mail.WorkerOptions{Outbox: store, Sender: failing{&mail.PermanentError{Err: errors.New(msg)}}})
		n, err := w.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
	}
	st, err := store.OutboxStats(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, st.Failed, "both failures recorded: given up, not leased for ever")
	require.Zero(t, st.Pending)
}
