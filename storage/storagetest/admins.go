package storagetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage"
)

func administrators(t *testing.T, s storage.Store) storage.Group {
	t.Helper()
	g, err := s.GetGroupByName(ctx, realm, storage.AdministratorsGroup)
	require.NoError(t, err)
	return g
}

func setStatus(s storage.Store, id string, st storage.Status) error {
	_, err := s.UpdateUser(ctx, actor, realm, id, func(u *storage.User) error { u.Status = st; return nil })
	return err
}

// auditCount counts the audit entries about target.
func auditCount(t *testing.T, s storage.Store, target string) int {
	t.Helper()
	return len(walk(t, storage.MaxListLimit, func(o storage.ListOptions) (storage.Page[storage.AuditEntry], error) {
		return s.ListAudit(ctx, realm, storage.AuditFilter{TargetID: target}, o)
	}, func(e storage.AuditEntry) string { return e.ID }))
}

// At least one active administrator remains: disabling, deleting or
// removing the last one is refused and changes nothing.
func testLastAdministrator(t *testing.T, s storage.Store) {
	admins := administrators(t, s)

	// A fresh realm has no active administrator, and nothing is refused.
	dormant, err := s.CreateUser(ctx, actor, realm, storage.User{Username: "dormant", Language: "en", Status: storage.StatusDisabled}, []string{admins.ID})
	require.NoError(t, err)
	require.NoError(t, s.RemoveGroupMember(ctx, actor, realm, admins.ID, dormant.ID))
	require.NoError(t, s.AddGroupMember(ctx, actor, realm, admins.ID, dormant.ID))
	require.NoError(t, setStatus(s, dormant.ID, storage.StatusDisabled))

	root := user(t, s, "root", admins.ID)
	staff := group(t, s, "staff")
	require.NoError(t, s.AddGroupMember(ctx, actor, realm, staff.ID, root.ID))
	before := auditCount(t, s, root.ID)
	beforeGroup := auditCount(t, s, admins.ID)

	require.ErrorIs(t, setStatus(s, root.ID, storage.StatusDisabled), storage.ErrLastAdministrator)
	require.ErrorIs(t, s.DeleteUser(ctx, actor, realm, root.ID), storage.ErrLastAdministrator)
	require.ErrorIs(t, s.RemoveGroupMember(ctx, actor, realm, admins.ID, root.ID), storage.ErrLastAdministrator)
	got, err := s.GetUser(ctx, realm, root.ID)
	require.NoError(t, err, "a refused delete deletes nothing")
	require.Equal(t, storage.StatusActive, got.Status, "a refused update changes nothing")
	members := walk(t, 50, func(o storage.ListOptions) (storage.Page[storage.User], error) {
		return s.ListGroupMembers(ctx, realm, admins.ID, o)
	}, func(u storage.User) string { return u.ID })
	require.Contains(t, members, root.ID, "a refused removal removes nothing")
	require.Equal(t, before, auditCount(t, s, root.ID), "a refused change writes no audit entry")
	require.Equal(t, beforeGroup, auditCount(t, s, admins.ID))

	// What does not take the last administrator away stays allowed.
	_, err = s.UpdateUser(ctx, actor, realm, root.ID, func(u *storage.User) error { u.DisplayName = "Root"; return nil })
	require.NoError(t, err)
	require.NoError(t, s.RemoveGroupMember(ctx, actor, realm, staff.ID, root.ID), "another group")
	require.NoError(t, s.RemoveGroupMember(ctx, actor, realm, admins.ID, dormant.ID), "a disabled administrator")
	require.NoError(t, s.DeleteUser(ctx, actor, realm, dormant.ID))

	// With a second active administrator, either may go, but not both.
	second := user(t, s, "second", admins.ID)
	require.NoError(t, setStatus(s, root.ID, storage.StatusDisabled))
	require.ErrorIs(t, s.RemoveGroupMember(ctx, actor, realm, admins.ID, second.ID), storage.ErrLastAdministrator)
	require.NoError(t, setStatus(s, root.ID, storage.StatusActive))
	require.NoError(t, s.RemoveGroupMember(ctx, actor, realm, admins.ID, second.ID))
	require.ErrorIs(t, s.DeleteUser(ctx, actor, realm, root.ID), storage.ErrLastAdministrator)
	require.NoError(t, s.AddGroupMember(ctx, actor, realm, admins.ID, second.ID))
	require.NoError(t, s.DeleteUser(ctx, actor, realm, root.ID))
	require.ErrorIs(t, setStatus(s, second.ID, storage.StatusDisabled), storage.ErrLastAdministrator)
}

// Two administrators taking each other away at the same moment: exactly
// one succeeds, whatever the kind of change, so one always remains.
func testLastAdministratorRace(t *testing.T, s storage.Store) {
	admins := administrators(t, s)
	kinds := map[string]func(actorID, targetID string) error{
		"remove": func(actorID, targetID string) error {
			return s.RemoveGroupMember(ctx, storage.Actor{Type: storage.ActorUser, ID: actorID}, realm, admins.ID, targetID)
		},
		"disable": func(actorID, targetID string) error {
			_, err := s.UpdateUser(ctx, storage.Actor{Type: storage.ActorUser, ID: actorID}, realm, targetID, func(u *storage.User) error {
				u.Status = storage.StatusDisabled
				return nil
			})
			return err
		},
		"delete": func(actorID, targetID string) error {
			return s.DeleteUser(ctx, storage.Actor{Type: storage.ActorUser, ID: actorID}, realm, targetID)
		},
	}
	var survivor string
	for i := range 20 {
		for kind, change := range kinds {
			a := user(t, s, fmt.Sprintf("a-%s-%d", kind, i), admins.ID)
			b := user(t, s, fmt.Sprintf("b-%s-%d", kind, i), admins.ID)
			// The last round's survivor steps down: a and b are the only
			// active administrators.
			if survivor != "" {
				require.NoError(t, s.RemoveGroupMember(ctx, actor, realm, admins.ID, survivor))
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for j, pair := range [][2]string{{a.ID, b.ID}, {b.ID, a.ID}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs[j] = change(pair[0], pair[1])
				}()
			}
			close(start)
			wg.Wait()
			switch {
			case errs[0] == nil:
				require.ErrorIs(t, errs[1], storage.ErrLastAdministrator, "%s round %d", kind, i)
				survivor = a.ID
			case errs[1] == nil:
				require.ErrorIs(t, errs[0], storage.ErrLastAdministrator, "%s round %d", kind, i)
				survivor = b.ID
			default:
				t.Fatalf("%s round %d: both refused: %v; %v", kind, i, errs[0], errs[1])
			}
		}
	}
}
