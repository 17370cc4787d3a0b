package keys

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// JWKSMaxAge is how long resource servers may cache the JWKS
// (Cache-Control max-age). A new key is published at least twice as long
// before it signs (MinPublishLead), so that no cached copy lacks it.
const JWKSMaxAge = 5 * time.Minute

// JWKS returns the serialised public key set and its strong ETag (a quoted
// digest of the body). Both change only when the key set does.
func (m *Manager) JWKS() (body []byte, etag string) {
	set := m.set.Load()
	return set.jwks, set.etag
}

// Response header values shared by every response; never modified.
var (
	// Resource servers may cache the set for JWKSMaxAge. That never hides
	// a key they still need: a retired key stays published for the longest
	// token lifetime, and a new key is published PublishLead before it
	// signs. Only RotateNow (a compromised key) makes verifiers meet an
	// unknown kid and refetch, as go-oidc and the common JOSE libraries do.
	cacheControl = []string{"public, max-age=" + strconv.Itoa(int(JWKSMaxAge/time.Second))}
	// RFC 7517 §8.5 registers this type; JWKS consumers accept it as JSON.
	contentType = []string{"application/jwk-set+json"}
	allowed     = []string{"GET, HEAD"}
)

// JWKSHandler serves the public key set for GET and HEAD, with ETag and
// Cache-Control, answering 304 Not Modified to a matching If-None-Match.
// The body and header values are prepared when the key set changes, so a
// request allocates nothing here.
func (m *Manager) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h["Allow"] = allowed
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		set := m.set.Load()
		h["Etag"] = set.etagHeader
		h["Cache-Control"] = cacheControl
		if etagMatches(r.Header["If-None-Match"], set.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h["Content-Type"] = contentType
		h["Content-Length"] = set.lengthHeader
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusOK)
			return
		}
		_, _ = w.Write(set.jwks)
	})
}

// etagMatches evaluates If-None-Match (RFC 9110 §13.1.2): "*" or a list of
// entity tags compared weakly, that is ignoring a W/ prefix.
func etagMatches(values []string, etag string) bool {
	for _, v := range values {
		for v != "" {
			var tag string
			tag, v, _ = strings.Cut(v, ",")
			tag = strings.TrimSpace(tag)
			if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
				return true
			}
		}
	}
	return false
}
