package storagetest

import (
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage"
)

// AccountBackend is a store that keeps accounts by e-mail too.
type AccountBackend interface {
	storage.Store
	storage.AccountStore
}

// RunAccountTests proves the documented behaviour of storage.AccountStore
// against fresh stores made by newStore.
func RunAccountTests(t *testing.T, newStore func(t *testing.T) AccountBackend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s AccountBackend)
	}{
		{"Links", testLinks},
		{"LinkSpendRace", testLinkSpendRace},
		{"LinksEndWithUser", testLinksEndWithUser},
		{"Invitations", testInvitations},
		{"InvitationPages", testInvitationPages},
		{"InvitationAcceptRace", testInvitationAcceptRace},
		{"Outbox", testOutbox},
		{"OutboxClaimRace", testOutboxClaimRace},
		{"EmailVerified", testEmailVerified},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

func digest(t *testing.T) []byte {
	t.Helper()
	var raw [32]byte
	_, err := rand.Read(raw[:])
	require.NoError(t, err)
	d := sha256.Sum256(raw[:])
	return d[:]
}

func mail(to string) storage.Mail {
	return storage.Mail{To: to, Subject: "s", Text: "t", HTML: "<p>t</p>", Kind: "test"}
}

// claimAll claims every due mail at now.
func claimAll(t *testing.T, s AccountBackend, now time.Time) []storage.Mail {
	t.Helper()
	ms, err := s.ClaimMails(ctx, now, time.Minute, 100)
	require.NoError(t, err)
	return ms
}

func testLinks(t *testing.T, s AccountBackend) {
	u := user(t, s, "linda")
	now := time.Now()
	d := digest(t)
	link := storage.LinkToken{Digest: d, Purpose: storage.LinkActivate, UserID: u.ID, Email: "linda@example.com", ExpiresAt: now.Add(time.Hour)}
	require.NoError(t, s.IssueLink(ctx, realm, link, mail("linda@example.com")))
	ms := claimAll(t, s, now.Add(time.Second))
	require.Len(t, ms, 1, "the link's mail is in the outbox")
	require.Equal(t, "linda@example.com", ms[0].To)

	got, err := s.LookupLink(ctx, realm, storage.LinkActivate, d, now)
	require.NoError(t, err)
	require.Equal(t, u.ID, got.UserID)
	require.Equal(t, "linda@example.com", got.Email)
	require.Equal(t, d, got.Digest)
	require.WithinDuration(t, now.Add(time.Hour), got.ExpiresAt, time.Millisecond)
	_, err = s.LookupLink(ctx, realm, storage.LinkReset, d, now)
	require.ErrorIs(t, err, storage.ErrNotFound, "another purpose")
	_, err = s.LookupLink(ctx, realm, storage.LinkActivate, d, now.Add(time.Hour))
	require.ErrorIs(t, err, storage.ErrNotFound, "expired")
	_, err = s.LookupLink(ctx, "no-such-realm", storage.LinkActivate, d, now)
	require.ErrorIs(t, err, storage.ErrNotFound, "another realm")
	_, err = s.SpendLink(ctx, realm, storage.LinkActivate, d, now.Add(time.Hour))
	require.ErrorIs(t, err, storage.ErrNotFound, "expired tokens are not spent")

	got, err = s.SpendLink(ctx, realm, storage.LinkActivate, d, now)
	require.NoError(t, err)
	require.Equal(t, u.ID, got.UserID)
	require.Equal(t, storage.LinkActivate, got.Purpose)
	_, err = s.SpendLink(ctx, realm, storage.LinkActivate, d, now)
	require.ErrorIs(t, err, storage.ErrNotFound, "single use")
	_, err = s.LookupLink(ctx, realm, storage.LinkActivate, d, now)
	require.ErrorIs(t, err, storage.ErrNotFound)

	// Only the newest link of a purpose works.
	d1, d2, d3 := digest(t), digest(t), digest(t)
	require.NoError(t, s.IssueLink(ctx, realm, storage.LinkToken{Digest: d1, Purpose: storage.LinkReset, UserID: u.ID, ExpiresAt: now.Add(time.Hour)}, mail("a@example.com")))
	require.NoError(t, s.IssueLink(ctx, realm, storage.LinkToken{Digest: d3, Purpose: storage.LinkActivate, UserID: u.ID, ExpiresAt: now.Add(time.Hour)}, mail("a@example.com")))
	require.NoError(t, s.IssueLink(ctx, realm, storage.LinkToken{Digest: d2, Purpose: storage.LinkReset, UserID: u.ID, ExpiresAt: now.Add(time.Hour)}, mail("a@example.com")))
	_, err = s.LookupLink(ctx, realm, storage.LinkReset, d1, now)
	require.ErrorIs(t, err, storage.ErrNotFound, "replaced by a newer link")
	_, err = s.LookupLink(ctx, realm, storage.LinkReset, d2, now)
	require.NoError(t, err)
	_, err = s.LookupLink(ctx, realm, storage.LinkActivate, d3, now)
	require.NoError(t, err, "another purpose's link stays")

	err = s.IssueLink(ctx, realm, storage.LinkToken{Digest: digest(t), Purpose: storage.LinkReset,
		UserID: "00000000-0000-4000-8000-000000000000", ExpiresAt: now.Add(time.Hour)}, mail("x@example.com"))
	require.ErrorIs(t, err, storage.ErrMissingReference)
	err = s.IssueLink(ctx, realm, storage.LinkToken{Digest: []byte("short"), Purpose: storage.LinkReset, UserID: u.ID, ExpiresAt: now.Add(time.Hour)}, mail("x@example.com"))
	require.Error(t, err, "a digest is 32 bytes")
	require.Len(t, claimAll(t, s, now.Add(time.Second)), 3, "refused links enqueue no mail")
}

func testLinkSpendRace(t *testing.T, s AccountBackend) {
	u := user(t, s, "racer")
	now := time.Now()
	d := digest(t)
	require.NoError(t, s.IssueLink(ctx, realm, storage.LinkToken{Digest: d, Purpose: storage.LinkReset, UserID: u.ID, ExpiresAt: now.Add(time.Hour)}, mail("r@example.com")))
	const n = 12
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = s.SpendLink(ctx, realm, storage.LinkReset, d, now) })
	}
	wg.Wait()
	exactlyOneWins(t, errs)
}

// exactlyOneWins checks the errors of concurrent attempts at something
// single-use: one succeeded, the others found nothing.
func exactlyOneWins(t *testing.T, errs []error) {
	t.Helper()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			require.ErrorIs(t, err, storage.ErrNotFound)
		}
	}
	require.Equal(t, 1, won, "exactly one of concurrent attempts wins")
}

func testLinksEndWithUser(t *testing.T, s AccountBackend) {
	inviter := user(t, s, "inviter")
	invitee := user(t, s, "invitee")
	now := time.Now()
	d := digest(t)
	require.NoError(t, s.IssueLink(ctx, realm, storage.LinkToken{Digest: d, Purpose: storage.LinkReset, UserID: invitee.ID, ExpiresAt: now.Add(time.Hour)}, mail("i@example.com")))
	inv, err := s.CreateInvitation(ctx, actor, realm, storage.Invitation{Email: "x@example.com", InviterID: inviter.ID, Language: "en",
		ExpiresAt: now.Add(time.Hour)}, storage.LinkToken{Digest: digest(t), Purpose: storage.LinkInvite, ExpiresAt: now.Add(time.Hour)}, mail("x@example.com"))
	require.NoError(t, err)
	require.NoError(t, s.DeleteUser(ctx, actor, realm, invitee.ID))
	_, err = s.LookupLink(ctx, realm, storage.LinkReset, d, now)
	require.ErrorIs(t, err, storage.ErrNotFound, "a user's links end with them")
	require.NoError(t, s.DeleteUser(ctx, actor, realm, inviter.ID))
	_, err = s.GetInvitation(ctx, realm, inv.ID)
	require.ErrorIs(t, err, storage.ErrNotFound, "an invitation ends with its inviter")
}

func invite(t *testing.T, s AccountBackend, inviter storage.User, email string, expires time.Time, groups ...string) (storage.Invitation, []byte) {
	t.Helper()
	d := digest(t)
	inv, err := s.CreateInvitation(ctx, actor, realm, storage.Invitation{Email: email, InviterID: inviter.ID, Language: "EN",
		Groups: groups, ExpiresAt: expires}, storage.LinkToken{Digest: d, Purpose: storage.LinkInvite, ExpiresAt: expires}, mail(email))
	require.NoError(t, err)
	return inv, d
}

func testInvitations(t *testing.T, s AccountBackend) {
	boss := user(t, s, "boss")
	g1, g2 := group(t, s, "editors", "users-read"), group(t, s, "viewers")
	now := time.Now()
	inv, d := invite(t, s, boss, "new@example.com", now.Add(time.Hour), g2.ID, g1.ID, g1.ID)
	require.Equal(t, storage.InvitationPending, inv.Status)
	require.Equal(t, "en", inv.Language, "the language's stored code")
	require.ElementsMatch(t, []string{g1.ID, g2.ID}, inv.Groups)
	require.True(t, slicesSorted(inv.Groups))
	got, err := s.GetInvitation(ctx, realm, inv.ID)
	require.NoError(t, err)
	require.Equal(t, inv.Groups, got.Groups)
	require.Equal(t, "new@example.com", got.Email)
	require.WithinDuration(t, now.Add(time.Hour), got.ExpiresAt, time.Second)
	require.Len(t, claimAll(t, s, now.Add(time.Second)), 1, "the invitation's mail")
	_, err = s.GetInvitation(ctx, realm, "not-a-uuid")
	require.ErrorIs(t, err, storage.ErrNotFound)

	_, err = s.CreateInvitation(ctx, actor, realm, storage.Invitation{Email: "x@example.com", InviterID: boss.ID, Language: "en",
		Groups: []string{"00000000-0000-4000-8000-000000000000"}, ExpiresAt: now.Add(time.Hour)},
		storage.LinkToken{Digest: digest(t), Purpose: storage.LinkInvite, ExpiresAt: now.Add(time.Hour)}, mail("x@example.com"))
	require.ErrorIs(t, err, storage.ErrMissingReference, "unknown group")
	require.Empty(t, claimAll(t, s, now.Add(time.Second)), "a refused invitation enqueues no mail")

	// Accept: the groups are added once, the invitation is spent.
	joiner := user(t, s, "joiner")
	acc, err := s.AcceptInvitation(ctx, storage.Actor{Type: storage.ActorUser, ID: joiner.ID}, realm, d, joiner.ID, now)
	require.NoError(t, err)
	require.Equal(t, storage.InvitationAccepted, acc.Status)
	require.Equal(t, joiner.ID, acc.AcceptedBy)
	groups, err := s.UserGroups(ctx, realm, joiner.ID)
	require.NoError(t, err)
	require.Len(t, groups, 2)
	_, err = s.AcceptInvitation(ctx, actor, realm, d, joiner.ID, now)
	require.ErrorIs(t, err, storage.ErrNotFound, "accepted once")
	require.ErrorIs(t, s.RevokeInvitation(ctx, actor, realm, inv.ID, now), storage.ErrConflict, "an accepted invitation is not revoked")

	// Revoked and expired invitations cannot be accepted.
	rev, rd := invite(t, s, boss, "rev@example.com", now.Add(time.Hour), g1.ID)
	require.NoError(t, s.RevokeInvitation(ctx, actor, realm, rev.ID, now))
	require.ErrorIs(t, s.RevokeInvitation(ctx, actor, realm, rev.ID, now), storage.ErrConflict)
	_, err = s.AcceptInvitation(ctx, actor, realm, rd, joiner.ID, now)
	require.ErrorIs(t, err, storage.ErrNotFound, "revoked")
	got, err = s.GetInvitation(ctx, realm, rev.ID)
	require.NoError(t, err)
	require.Equal(t, storage.InvitationRevoked, got.Status)
	require.ErrorIs(t, s.RevokeInvitation(ctx, actor, realm, "00000000-0000-4000-8000-000000000000", now), storage.ErrNotFound)

	exp, ed := invite(t, s, boss, "exp@example.com", now.Add(time.Minute), g1.ID)
	later := now.Add(2 * time.Minute)
	_, err = s.AcceptInvitation(ctx, actor, realm, ed, joiner.ID, later)
	require.ErrorIs(t, err, storage.ErrNotFound, "expired")
	require.Equal(t, storage.InvitationExpired, exp.EffectiveStatus(later))
	require.ErrorIs(t, s.RevokeInvitation(ctx, actor, realm, exp.ID, later), storage.ErrConflict, "an expired invitation is not revoked")

	// A group deleted meanwhile is skipped; an unknown user is refused.
	g3 := group(t, s, "temporary")
	del, dd := invite(t, s, boss, "del@example.com", now.Add(time.Hour), g3.ID, g2.ID)
	require.NoError(t, s.DeleteGroup(ctx, actor, realm, g3.ID))
	_, err = s.AcceptInvitation(ctx, actor, realm, dd, "00000000-0000-4000-8000-000000000000", now)
	require.ErrorIs(t, err, storage.ErrNotFound, "unknown user")
	other := user(t, s, "other")
	_, err = s.AcceptInvitation(ctx, actor, realm, dd, other.ID, now)
	require.NoError(t, err, "the token stays live after a refused acceptance")
	groups, err = s.UserGroups(ctx, realm, other.ID)
	require.NoError(t, err)
	require.Len(t, groups, 1)
	require.Equal(t, g2.ID, groups[0].ID)

	page, err := s.ListAudit(ctx, realm, storage.AuditFilter{TargetID: del.ID}, storage.ListOptions{})
	require.NoError(t, err)
	var actions []string
	for _, e := range page.Items {
		actions = append(actions, e.Action)
	}
	require.Equal(t, []string{storage.ActionInvitationAccept, storage.ActionInvitationCreate}, actions)
}

func slicesSorted(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] > s[i] {
			return false
		}
	}
	return true
}

func testInvitationPages(t *testing.T, s AccountBackend) {
	boss := user(t, s, "boss")
	now := time.Now()
	var want []string
	for range 7 {
		inv, _ := invite(t, s, boss, "p@example.com", now.Add(time.Hour))
		want = append([]string{inv.ID}, want...)
	}
	for _, limit := range []int{1, 2, 3, 7, 50} {
		got := walk(t, limit, func(o storage.ListOptions) (storage.Page[storage.Invitation], error) {
			return s.ListInvitations(ctx, realm, o)
		}, func(i storage.Invitation) string { return i.ID })
		require.Len(t, got, 7)
		if limit == 50 {
			all, err := s.ListInvitations(ctx, realm, storage.ListOptions{})
			require.NoError(t, err)
			for i := 1; i < len(all.Items); i++ {
				require.False(t, all.Items[i].CreatedAt.After(all.Items[i-1].CreatedAt), "newest first")
			}
		}
	}
	_, err := s.ListInvitations(ctx, realm, storage.ListOptions{Cursor: "!!"})
	require.ErrorIs(t, err, storage.ErrInvalidCursor)
}

func testInvitationAcceptRace(t *testing.T, s AccountBackend) {
	boss := user(t, s, "boss")
	g := group(t, s, "team")
	_, d := invite(t, s, boss, "race@example.com", time.Now().Add(time.Hour), g.ID)
	const n = 8
	users := make([]storage.User, n)
	for i := range n {
		users[i] = user(t, s, "racer"+string(rune('a'+i)))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = s.AcceptInvitation(ctx, actor, realm, d, users[i].ID, time.Now()) })
	}
	wg.Wait()
	exactlyOneWins(t, errs)
	members, err := s.ListGroupMembers(ctx, realm, g.ID, storage.ListOptions{})
	require.NoError(t, err)
	require.Len(t, members.Items, 1, "one account joined")
}

func testOutbox(t *testing.T, s AccountBackend) {
	now := time.Now()
	require.NoError(t, s.EnqueueMail(ctx, realm, mail("a@example.com")))
	require.NoError(t, s.EnqueueMail(ctx, realm, mail("b@example.com")))
	st, err := s.OutboxStats(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, st.Pending)
	require.False(t, st.OldestPending.IsZero())

	at := now.Add(time.Second)
	ms, err := s.ClaimMails(ctx, at, time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, ms, 1, "limit")
	require.Equal(t, 1, ms[0].Attempts)
	require.Equal(t, "s", ms[0].Subject)
	require.Equal(t, "t", ms[0].Text)
	require.Equal(t, "<p>t</p>", ms[0].HTML)
	rest := claimAll(t, s, at)
	require.Len(t, rest, 1, "a leased mail is not claimed again")
	require.NotEqual(t, ms[0].ID, rest[0].ID)
	require.Empty(t, claimAll(t, s, at.Add(30*time.Second)))

	// A sender that died: its lease runs out and the mail is due again.
	again := claimAll(t, s, at.Add(2*time.Minute))
	require.Len(t, again, 2)
	for _, m := range again {
		require.Equal(t, 2, m.Attempts)
	}
	a, b := again[0], again[1]
	require.NoError(t, s.DeleteMail(ctx, a.ID))
	require.NoError(t, s.RetryMail(ctx, b.ID, at.Add(time.Hour), "421 busy", false))
	require.Empty(t, claimAll(t, s, at.Add(30*time.Minute)), "not due before its retry time")
	ms = claimAll(t, s, at.Add(61*time.Minute))
	require.Len(t, ms, 1)
	require.Equal(t, "421 busy", ms[0].LastError)
	require.Equal(t, 3, ms[0].Attempts)
	require.NoError(t, s.RetryMail(ctx, b.ID, at, "550 no such user", true))
	require.Empty(t, claimAll(t, s, at.Add(24*time.Hour)), "a failed mail is never tried again")
	st, err = s.OutboxStats(ctx)
	require.NoError(t, err)
	require.Equal(t, storage.OutboxStats{Failed: 1}, st)
	require.ErrorIs(t, s.RetryMail(ctx, a.ID, at, "", false), storage.ErrNotFound, "sent mails are gone")
}

func testOutboxClaimRace(t *testing.T, s AccountBackend) {
	const mails, claimers = 20, 6
	for range mails {
		require.NoError(t, s.EnqueueMail(ctx, realm, mail("m@example.com")))
	}
	at := time.Now().Add(time.Second)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range claimers {
		wg.Go(func() {
			for {
				ms, err := s.ClaimMails(ctx, at, time.Minute, 3)
				if err != nil || len(ms) == 0 {
					return
				}
				mu.Lock()
				for _, m := range ms {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, seen, mails)
	for id, n := range seen {
		require.Equal(t, 1, n, "mail %s claimed by two senders", id)
	}
}

func testEmailVerified(t *testing.T, s AccountBackend) {
	u, err := s.CreateUser(ctx, actor, realm, storage.User{Username: "vera", Email: "v@example.com", Language: "en",
		Status: storage.StatusActive, EmailVerified: true}, nil)
	require.NoError(t, err)
	require.True(t, u.EmailVerified)
	u, err = s.UpdateUser(ctx, actor, realm, u.ID, func(u *storage.User) error { u.EmailVerified = false; return nil })
	require.NoError(t, err)
	require.False(t, u.EmailVerified)
	got, err := s.GetUser(ctx, realm, u.ID)
	require.NoError(t, err)
	require.False(t, got.EmailVerified)
	page, err := s.ListAudit(ctx, realm, storage.AuditFilter{TargetID: u.ID}, storage.ListOptions{Limit: 1})
	require.NoError(t, err)
	require.Equal(t, "email_verified", page.Items[0].Details["changed"])
}
