package authz

import (
	"errors"
	"slices"

	"github.com/gatehouse/gatehouse/storage"
)

// ErrInvalidToken covers every access token that is not acceptable:
// malformed, badly signed, foreign, expired, revoked, or one whose user,
// client or client owner is disabled or gone. Callers answer 401 without
// saying which.
var ErrInvalidToken = errors.New("invalid access token")

// Principal is who an access token speaks for and what it may do now.
type Principal struct {
	// UserID is the acting user: the token's user for user tokens, the
	// client's owner for client tokens.
	UserID string
	// ClientID is the client the token was issued to.
	ClientID string
	// ClientToken is true for client_credentials tokens, which act on the
	// client's own behalf.
	ClientToken bool
	// Held are the admin resources the principal holds now, sorted: the
	// token's scope cut down to the current resources of the user (user
	// tokens) and to the client's current ceiling (its allowed scopes ∩
	// its owner's resources). Every decision uses Held, so that a lost
	// group takes effect at the next request, not when the token expires;
	// the scope as issued is deliberately not kept here, so that nothing
	// can decide with it.
	Held []string
	// Context is the context the token is for, "" for realm-wide: Held
	// is then what the principal holds there (realm-wide resources
	// included), and it acts in that context and those below it only
	// (docs/contexts.md).
	Context string
	// TokenID is the token's jti.
	TokenID string
	// ThirdParty is true for a user token issued to a third-party
	// application of the browser flow (registered for the authorization
	// code flow without skip_consent): the user consented to its admin
	// resources and OIDC scopes, and it acts through those alone, never
	// through the user's self-service (docs/browser-sign-in.md).
	ThirdParty bool
}

// Has reports whether the principal holds the admin resource now.
func (p Principal) Has(resource string) bool {
	_, ok := slices.BinarySearch(p.Held, resource)
	return ok
}

// Missing returns the first of resources the principal does not hold, and
// false when it holds them all.
func (p Principal) Missing(resources []string) (string, bool) {
	for _, r := range resources {
		if !p.Has(r) {
			return r, true
		}
	}
	return "", false
}

// Actor returns who to record in the audit log for what the principal
// does.
func (p Principal) Actor() storage.Actor {
	if p.ClientToken {
		return storage.Actor{Type: storage.ActorClient, ID: p.ClientID}
	}
	return storage.Actor{Type: storage.ActorUser, ID: p.UserID}
}

// Intersect returns the elements of a that are also in b, sorted and
// without duplicates.
func Intersect(a, b []string) []string {
	out := make([]string, 0, min(len(a), len(b)))
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
