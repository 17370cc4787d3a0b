package storecache_test

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/storecache"
	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
)

// Every change raises the stamp, but for the few that writes.go exempts
// and says why. The list must name every method of storage.Store that
// changes something (that takes an Actor, or is exempt), so that a new one
// is classified here as well as delegated.
func TestEveryChangeRaisesTheStamp(t *testing.T) {
	ctx := context.Background()
	realm := storage.DefaultRealm
	a := storage.System("test")
	stamps := memory.NewTokenState(nil)
	s := storecache.New(memory.New(), stamps)
	var user storage.User
	var group storage.Group
	var secret storage.ClientSecret
	verifier := bytes.Repeat([]byte{1}, 32)

	steps := []struct {
		method string
		raises bool
		do     func() error
	}{
		{"CreateLanguage", true, func() error {
			_, err := s.CreateLanguage(ctx, a, realm, storage.Language{Code: "fr", Name: "Français"})
			return err
		}},
		{"UpdateLanguage", true, func() error {
			_, err := s.UpdateLanguage(ctx, a, realm, "fr", func(l *storage.Language) error { l.Name = "French"; return nil })
			return err
		}},
		{"DeleteLanguage", true, func() error { return s.DeleteLanguage(ctx, a, realm, "fr") }},
		{"CreateUser", true, func() (err error) {
			user, err = s.CreateUser(ctx, a, realm, storage.User{Username: "ada", Language: "en", Status: storage.StatusActive}, nil)
			return err
		}},
		{"UpdateUser", true, func() error {
			_, err := s.UpdateUser(ctx, a, realm, user.ID, func(u *storage.User) error { u.DisplayName = "Ada"; return nil })
			return err
		}},
		{"CreateResource", true, func() error {
			_, err := s.CreateResource(ctx, a, realm, storage.Resource{Name: "reports-read"})
			return err
		}},
		{"UpdateResource", true, func() error {
			_, err := s.UpdateResource(ctx, a, realm, "reports-read", func(r *storage.Resource) error { r.Description = "d"; return nil })
			return err
		}},
		{"CreateGroup", true, func() (err error) {
			group, err = s.CreateGroup(ctx, a, realm, storage.Group{Name: "staff"})
			return err
		}},
		{"UpdateGroup", true, func() error {
			_, err := s.UpdateGroup(ctx, a, realm, group.ID, func(g *storage.Group) error { g.Description = "d"; return nil })
			return err
		}},
		{"AddGroupMember", true, func() error { return s.AddGroupMember(ctx, a, realm, group.ID, user.ID) }},
		{"RemoveGroupMember", true, func() error { return s.RemoveGroupMember(ctx, a, realm, group.ID, user.ID) }},
		{"CreateContext", true, func() error {
			_, err := s.CreateContext(ctx, a, realm, storage.Context{ID: "org", Name: "Org"})
			return err
		}},
		{"UpdateContext", true, func() error {
			_, err := s.UpdateContext(ctx, a, realm, "org", func(c *storage.Context) error { c.Name = "Acme"; return nil })
			return err
		}},
		{"AddGroupMemberIn", true, func() error { return s.AddGroupMemberIn(ctx, a, realm, "org", group.ID, user.ID) }},
		{"RemoveGroupMemberIn", true, func() error { return s.RemoveGroupMemberIn(ctx, a, realm, "org", group.ID, user.ID) }},
		{"DeleteContext", true, func() error { return s.DeleteContext(ctx, a, realm, "org") }},
		{"GrantGroupResource", true, func() error { return s.GrantGroupResource(ctx, a, realm, group.ID, "reports-read") }},
		{"RevokeGroupResource", true, func() error { return s.RevokeGroupResource(ctx, a, realm, group.ID, "reports-read") }},
		{"CreateClient", true, func() error {
			_, err := s.CreateClient(ctx, a, realm, storage.Client{ClientID: "app", OwnerID: user.ID, Name: "app",
				TokenEndpointAuthMethod: storage.AuthMethodSecretBasic, Status: storage.StatusActive}, nil)
			return err
		}},
		{"UpdateClient", true, func() error {
			_, err := s.UpdateClient(ctx, a, realm, "app", func(c *storage.Client) error { c.Status = storage.StatusDisabled; return nil })
			return err
		}},
		{"GrantConsent", true, func() error {
			_, err := s.GrantConsent(ctx, a, realm, user.ID, "app", []string{"openid"})
			return err
		}},
		{"RevokeConsent", true, func() error { return s.RevokeConsent(ctx, a, realm, user.ID, "app") }},
		{"AddClientSecret", true, func() (err error) {
			secret, err = s.AddClientSecret(ctx, a, realm, "app", verifier)
			return err
		}},
		{"TouchClientSecret", false, func() error { return s.TouchClientSecret(ctx, realm, "app", secret.ID, time.Now()) }},
		{"DeactivateClientSecret", true, func() error { return s.DeactivateClientSecret(ctx, a, realm, "app", secret.ID) }},
		{"DeleteClient", true, func() error { return s.DeleteClient(ctx, a, realm, "app") }},
		{"DeleteGroup", true, func() error { return s.DeleteGroup(ctx, a, realm, group.ID) }},
		{"DeleteResource", true, func() error { return s.DeleteResource(ctx, a, realm, "reports-read") }},
		{"DeleteUser", true, func() error { return s.DeleteUser(ctx, a, realm, user.ID) }},
		{"CreateSigningKey", false, func() error {
			_, err := s.CreateSigningKey(ctx, a, realm, storage.SigningKey{KID: "k", Algorithm: "ES256",
				PrivateKeyEncrypted: []byte("sealed"), PublicJWK: []byte(`{}`)})
			return err
		}},
		{"SetSigningKeyState", false, func() error {
			return s.SetSigningKeyState(ctx, a, realm, "k", storage.KeyStateActive, time.Now())
		}},
		{"ResealSigningKey", false, func() error { return s.ResealSigningKey(ctx, a, realm, "k", []byte("sealed"), []byte("resealed")) }},
		{"DeleteSigningKey", false, func() error {
			if err := s.SetSigningKeyState(ctx, a, realm, "k", storage.KeyStateRetired, time.Now()); err != nil {
				return err // the active key is never deleted
			}
			return s.DeleteSigningKey(ctx, a, realm, "k")
		}},
		{"AppendAudit", false, func() error {
			return s.AppendAudit(ctx, realm, storage.AuditEntry{Actor: a, Action: "test.refused", TargetType: "user", TargetID: "x"})
		}},
	}

	listed := map[string]bool{}
	for _, st := range steps {
		listed[st.method] = true
	}
	actorType := reflect.TypeFor[storage.Actor]()
	store := reflect.TypeFor[storage.Store]()
	for i := range store.NumMethod() {
		m := store.Method(i)
		changes := m.Name == "TouchClientSecret" || m.Name == "AppendAudit"
		for j := range m.Type.NumIn() {
			changes = changes || m.Type.In(j) == actorType
		}
		if changes {
			require.True(t, listed[m.Name], "%s changes the store: list it here and decide whether it raises the stamp", m.Name)
		}
	}

	for _, st := range steps {
		before, err := stamps.ChangeStamp(ctx)
		require.NoError(t, err)
		require.NoError(t, st.do(), st.method)
		after, err := stamps.ChangeStamp(ctx)
		require.NoError(t, err)
		if st.raises {
			require.Greater(t, after, before, "%s raises the stamp", st.method)
		} else {
			require.Equal(t, before, after, "%s leaves the stamp (see writes.go)", st.method)
		}
	}
}
