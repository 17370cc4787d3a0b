package storagetest

import (
	"encoding/base64"
	"errors"
	"fmt"
	"testing"

	"github.com/gatehouse/gatehouse/storage"
)

// FuzzCursors is the body of a backend's cursor fuzz target: it puts a few
// entities of every listed kind into s, adds the cursors s returns for
// them and some near misses as seeds, and lists every kind with each fuzzed
// cursor and limit. A list answers a page or an error wrapping
// storage.ErrInvalidCursor, nothing else, and never panics.
func FuzzCursors(f *testing.F, s storage.Store) {
	must := func(err error) {
		if err != nil {
			f.Fatal(err)
		}
	}
	var owner, group string
	for i := range 3 {
		u, err := s.CreateUser(ctx, actor, realm, storage.User{Username: fmt.Sprintf("user%d", i), Language: "en", Status: storage.StatusActive}, nil)
		must(err)
		owner = u.ID
		g, err := s.CreateGroup(ctx, actor, realm, storage.Group{Name: fmt.Sprintf("group%d", i)})
		must(err)
		group = g.ID
		must(s.AddGroupMember(ctx, actor, realm, group, u.ID))
		_, err = s.CreateClient(ctx, actor, realm, storage.Client{ClientID: fmt.Sprintf("client%d", i), OwnerID: owner, Name: "c",
			TokenEndpointAuthMethod: storage.AuthMethodNone, Status: storage.StatusActive}, nil)
		must(err)
		_, err = s.CreateLanguage(ctx, actor, realm, storage.Language{Code: []string{"de", "fr", "it"}[i], Name: "l"})
		must(err)
	}
	lists := []func(opts storage.ListOptions) (string, error){
		func(o storage.ListOptions) (string, error) {
			p, err := s.ListUsers(ctx, realm, storage.UserFilter{}, o)
			return p.NextCursor, err
		},
		func(o storage.ListOptions) (string, error) {
			p, err := s.ListGroups(ctx, realm, o)
			return p.NextCursor, err
		},
		func(o storage.ListOptions) (string, error) {
			p, err := s.ListGroupMembers(ctx, realm, group, o)
			return p.NextCursor, err
		},
		func(o storage.ListOptions) (string, error) {
			p, err := s.ListClients(ctx, realm, "", o)
			return p.NextCursor, err
		},
		func(o storage.ListOptions) (string, error) {
			p, err := s.ListClients(ctx, realm, owner, o)
			return p.NextCursor, err
		},
		func(o storage.ListOptions) (string, error) {
			p, err := s.ListResources(ctx, realm, o)
			return p.NextCursor, err
		},
		func(o storage.ListOptions) (string, error) {
			p, err := s.ListLanguages(ctx, realm, o)
			return p.NextCursor, err
		},
		func(o storage.ListOptions) (string, error) {
			p, err := s.ListAudit(ctx, realm, storage.AuditFilter{}, o)
			return p.NextCursor, err
		},
	}
	for _, list := range lists {
		next, err := list(storage.ListOptions{Limit: 1})
		must(err)
		f.Add(next, 1)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	for _, c := range []string{"", "!", "AA", b64([]byte("\x00")), b64([]byte("\xff\xfe")), b64([]byte("user1\x00")), b64([]byte("-1")),
		b64([]byte("0")), b64([]byte("99999999999999999999")), b64([]byte("9223372036854775807")), "dXNlcjE=", "dXNlcjE\n"} {
		f.Add(c, 0)
	}
	f.Fuzz(func(t *testing.T, cursor string, limit int) {
		for i, list := range lists {
			if _, err := list(storage.ListOptions{Cursor: cursor, Limit: limit}); err != nil && !errors.Is(err, storage.ErrInvalidCursor) {
				t.Fatalf("list %d with cursor %q: %v", i, cursor, err)
			}
		}
	})
}
