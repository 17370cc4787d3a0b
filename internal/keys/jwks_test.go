package keys_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/storage/memory"
)

// jwksKIDs returns the kids of a serialised key set, checking on the way
// that every key is a public signing key with its algorithm.
func jwksKIDs(t testing.TB, body []byte) []string {
	t.Helper()
	var set struct{ Keys []map[string]any }
	require.NoError(t, json.Unmarshal(body, &set))
	kids := []string{}
	for _, k := range set.Keys {
		require.Equal(t, "sig", k["use"])
		require.Contains(t, []any{keys.ES256, keys.RS256, keys.EdDSA}, k["alg"])
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			require.NotContains(t, k, private, "private member in the JWKS")
		}
		kids = append(kids, k["kid"].(string))
	}
	return kids
}

func TestJWKSIsPublic(t *testing.T) {
	for _, alg := range []string{keys.ES256, keys.RS256, keys.EdDSA} {
		t.Run(alg, func(t *testing.T) {
			m := newManager(t, memory.New(), alg, newClock())
			must(m.RotateNow(ctx))
			body, etag := m.JWKS()
			require.Len(t, jwksKIDs(t, body), 2)
			sum := sha256.Sum256(body)
			require.Equal(t, `"`+base64.RawURLEncoding.EncodeToString(sum[:18])+`"`, etag, "a strong ETag: the digest of the body")
		})
	}
}

func TestJWKSHandler(t *testing.T) {
	m := newManager(t, memory.New(), keys.ES256, newClock())
	body, etag := m.JWKS()
	h := m.JWKSHandler()
	serve := func(method string, inm ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/.well-known/jwks.json", nil)
		for _, v := range inm {
			req.Header.Add("If-None-Match", v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	cacheable := func(t *testing.T, rec *httptest.ResponseRecorder) {
		require.Equal(t, etag, rec.Header().Get("ETag"))
		require.Equal(t, "public, max-age=300", rec.Header().Get("Cache-Control"))
	}

	t.Run("GET", func(t *testing.T) {
		rec := serve(http.MethodGet)
		require.Equal(t, http.StatusOK, rec.Code)
		cacheable(t, rec)
		require.Equal(t, "application/jwk-set+json", rec.Header().Get("Content-Type"))
		require.Equal(t, strconv.Itoa(len(body)), rec.Header().Get("Content-Length"))
		require.Equal(t, body, rec.Body.Bytes())
		require.Len(t, jwksKIDs(t, rec.Body.Bytes()), 1)
	})
	t.Run("HEAD", func(t *testing.T) {
		rec := serve(http.MethodHead)
		require.Equal(t, http.StatusOK, rec.Code)
		cacheable(t, rec)
		require.Empty(t, rec.Body.Bytes())
	})
	for name, inm := range map[string][]string{
		"exact":           {etag},
		"weak":            {"W/" + etag},
		"in a list":       {`"other", ` + etag + `,"third"`},
		"second header":   {`"other"`, etag},
		"any":             {"*"},
		"HEAD with match": {etag},
	} {
		t.Run("304 "+name, func(t *testing.T) {
			method := http.MethodGet
			if strings.HasPrefix(name, "HEAD") {
				method = http.MethodHead
			}
			rec := serve(method, inm...)
			require.Equal(t, http.StatusNotModified, rec.Code)
			cacheable(t, rec)
			require.Empty(t, rec.Body.Bytes())
		})
	}
	for name, inm := range map[string][]string{
		"stale":     {`"stale"`},
		"prefix":    {etag[:len(etag)-2] + `"`},
		"unquoted":  {strings.Trim(etag, `"`)},
		"empty":     {""},
		"list miss": {`"a", "b"`},
	} {
		t.Run("200 "+name, func(t *testing.T) {
			rec := serve(http.MethodGet, inm...)
			require.Equal(t, http.StatusOK, rec.Code)
			require.Equal(t, body, rec.Body.Bytes())
		})
	}
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		t.Run(method, func(t *testing.T) {
			rec := serve(method)
			require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
			require.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
			require.Empty(t, rec.Body.Bytes())
		})
	}
	t.Run("a rotation changes the ETag", func(t *testing.T) {
		must(m.RotateNow(ctx))
		rec := serve(http.MethodGet, etag)
		require.Equal(t, http.StatusOK, rec.Code)
		require.NotEqual(t, etag, rec.Header().Get("ETag"))
		require.Len(t, jwksKIDs(t, rec.Body.Bytes()), 2)
	})
}

// reusableWriter is a ResponseWriter that keeps its header map between
// requests, as net/http's own does, so that what is measured is the
// handler's work alone.
type reusableWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *reusableWriter) Header() http.Header         { return w.h }
func (w *reusableWriter) WriteHeader(code int)        { w.code = code }
func (w *reusableWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

func TestJWKSHandlerDoesNotAllocate(t *testing.T) {
	m := newManager(t, memory.New(), keys.ES256, newClock())
	h := m.JWKSHandler()
	_, etag := m.JWKS()
	get := httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil)
	cond := httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil)
	cond.Header.Set("If-None-Match", `"x", `+etag)
	w := &reusableWriter{h: http.Header{}}
	for _, req := range []*http.Request{get, cond} {
		allocs := testing.AllocsPerRun(100, func() {
			clear(w.h)
			h.ServeHTTP(w, req)
		})
		require.Zero(t, allocs)
	}
}
