package oauth

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage"
)

// email_verified says what the user's record says: true only once a
// mailed link was followed (docs/accounts.md).
func TestEmailVerifiedClaim(t *testing.T) {
	for _, verified := range []bool{false, true} {
		var c idClaims
		profileClaims(&c, storage.User{Email: "ada@example.com", EmailVerified: verified}, []string{scopeEmail})
		require.Equal(t, "ada@example.com", c.Email)
		require.NotNil(t, c.EmailVerified)
		require.Equal(t, verified, *c.EmailVerified)
	}
	var c idClaims
	profileClaims(&c, storage.User{Email: "ada@example.com", EmailVerified: true}, []string{scopeProfile})
	require.Nil(t, c.EmailVerified, "only with the email scope")
}
