package storagetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage"
)

// AppendAudit records an entry that goes with no change, such as a
// refused management action; the backend sets its id and time.
func testAppendAudit(t *testing.T, s storage.Store) {
	u := user(t, s, "target")
	who := storage.Actor{Type: storage.ActorUser, ID: "appending-admin"}
	details := map[string]string{"reason": storage.ErrLastAdministrator.Error()}
	stale := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, s.AppendAudit(ctx, realm, storage.AuditEntry{ID: "chosen-by-caller", Time: stale, Actor: who,
		Action: "user.delete.refused", TargetType: storage.TargetUser, TargetID: u.ID, Details: details}))
	details["reason"] = "changed afterwards"
	require.NoError(t, s.AppendAudit(ctx, realm, storage.AuditEntry{Actor: storage.System("test"),
		Action: "test.note", TargetType: "test", TargetID: "nothing"}))

	page, err := s.ListAudit(ctx, realm, storage.AuditFilter{TargetID: u.ID}, storage.ListOptions{})
	require.NoError(t, err)
	require.Len(t, page.Items, 2)
	e := page.Items[0]
	require.Equal(t, "user.delete.refused", e.Action, "newest first, after the user's creation")
	require.Equal(t, storage.ActionUserCreate, page.Items[1].Action)
	require.NotEmpty(t, e.ID)
	require.NotEqual(t, "chosen-by-caller", e.ID, "the backend sets the id")
	require.WithinDuration(t, time.Now(), e.Time, time.Minute, "the backend sets the time")
	require.Equal(t, who, e.Actor)
	require.Equal(t, storage.TargetUser, e.TargetType)
	require.Equal(t, map[string]string{"reason": storage.ErrLastAdministrator.Error()}, e.Details,
		"the entry is recorded as it was appended")

	page, err = s.ListAudit(ctx, realm, storage.AuditFilter{ActorID: "appending-admin"}, storage.ListOptions{})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	page, err = s.ListAudit(ctx, realm, storage.AuditFilter{}, storage.ListOptions{Limit: 1})
	require.NoError(t, err)
	require.Equal(t, "test.note", page.Items[0].Action)
	require.Empty(t, page.Items[0].Details)
	page, err = s.ListAudit(ctx, realm, storage.AuditFilter{Until: stale.Add(time.Hour)}, storage.ListOptions{})
	require.NoError(t, err)
	require.Empty(t, page.Items, "no entry carries the time the caller gave")
}
