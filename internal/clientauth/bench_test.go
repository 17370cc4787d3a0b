package clientauth_test

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/storage"
)

// BenchmarkAuthenticateBasic measures client_secret_basic against the
// memory store: the authentication cost on the token endpoint's hot path
// without a database round trip. Run with -benchmem.
func BenchmarkAuthenticateBasic(b *testing.B) {
	e := newEnv(b)
	w, v := e.newWire("svc:reports/v2")
	e.client("svc:reports/v2", storage.AuthMethodSecretBasic, [][]byte{v})
	a := e.authenticator(false)
	hr, form := request{authz: []string{basic("svc:reports/v2", w)}}.http()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(ctx, hr, form); err != nil {
			b.Fatal(err)
		}
	}
}
