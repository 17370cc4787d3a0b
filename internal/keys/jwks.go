package keys

import "net/http"

// JWKS returns the serialised public key set and its ETag.
func (m *Manager) JWKS() (body []byte, etag string) {
	set := m.set.Load()
	return set.jwks, set.etag
}

// JWKSHandler serves the public key set. Resource servers cache it for five
// minutes: short enough that a rotated-in key is picked up well before the
// previous one's tokens expire (new keys are published on activation and
// verifiers refetch on an unknown kid), long enough to keep them off the
// server. The body is pre-serialised; a request allocates almost nothing.
func (m *Manager) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		set := m.set.Load()
		h := w.Header()
		h["Etag"] = []string{set.etag}
		h["Cache-Control"] = cacheControl
		if r.Header.Get("If-None-Match") == set.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h["Content-Type"] = contentType
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(set.jwks)
	})
}

var (
	cacheControl = []string{"public, max-age=300"}
	contentType  = []string{"application/jwk-set+json"}
)
