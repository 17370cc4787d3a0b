package oauth

import (
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/storage"
)

func TestGrantScopes(t *testing.T) {
	permitted := []string{"users-read", "groups-read", "users-read"}
	for _, tc := range []struct {
		requested []string
		want      []string
		err       bool
	}{
		{nil, []string{"groups-read", "users-read"}, false},
		{[]string{"users-read"}, []string{"users-read"}, false},
		{[]string{"users-read", "users-read", "groups-read"}, []string{"groups-read", "users-read"}, false},
		{[]string{"users-write"}, nil, true},
		{[]string{"users-*"}, nil, true},
		{[]string{"users-read", "clients-read"}, nil, true},
	} {
		got, err := grantScopes(permitted, tc.requested)
		if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
			t.Errorf("grantScopes(%v) = %v, %v; want %v, error %v", tc.requested, got, err, tc.want, tc.err)
		}
	}
}

func TestClientAllowed(t *testing.T) {
	owner := []string{"groups-read", "users-read"}
	c := storage.Client{Scopes: []string{"users-read", "clients-read"}}
	if got := clientAllowed(c, owner); !slices.Equal(got, []string{"users-read"}) {
		t.Errorf("allowed ∩ owner = %v", got)
	}
	c.AllScopes = true
	if got := clientAllowed(c, owner); !slices.Equal(got, owner) {
		t.Errorf("all scopes ∩ owner = %v", got)
	}
}

// BenchmarkScopeDecision is the scope computation of a token request with a
// realistic number of resources.
func BenchmarkScopeDecision(b *testing.B) {
	owner := []string{"admin-login", "audit-read", "clients-read", "clients-write", "groups-read", "groups-write",
		"languages-read", "languages-write", "resources-read", "resources-write", "tokens-introspect", "tokens-revoke",
		"users-read", "users-write"}
	c := storage.Client{Scopes: []string{"users-read", "groups-read", "clients-read", "audit-read"}}
	requested := []string{"users-read", "audit-read"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := grantScopes(clientAllowed(c, owner), requested); err != nil {
			b.Fatal(err)
		}
	}
}
