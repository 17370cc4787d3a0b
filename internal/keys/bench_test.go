package keys_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/storage/memory"
)

// accessClaims is the size of a typical access token's claims.
var accessClaims = []byte(`{"iss":"http://127.0.0.1:8080","sub":"3f0c9a4e-8a4b-4b43-9d0e-6f1f2b7c9a10","aud":["http://127.0.0.1:8080"],` +
	`"exp":1893456000,"iat":1893455100,"jti":"b7d1c3e2-0f4a-4e5b-9c6d-7e8f9a0b1c2d","client_id":"reports","scope":"users-read groups-read"}`)

func BenchmarkSignES256(b *testing.B) { benchSign(b, keys.ES256) }
func BenchmarkSignEdDSA(b *testing.B) { benchSign(b, keys.EdDSA) }
func BenchmarkSignRS256(b *testing.B) { benchSign(b, keys.RS256) }

func benchSign(b *testing.B, alg string) {
	m := newManager(b, memory.New(), alg, newClock())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Sign(accessClaims, "at+jwt"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify…Fresh verifies tokens never seen before: the signature
// check itself. BenchmarkVerify…Remembered verifies one token again and
// again, as a resource server introspecting a token on every call does.
func BenchmarkVerifyES256Fresh(b *testing.B)      { benchVerifyFresh(b, keys.ES256) }
func BenchmarkVerifyEdDSAFresh(b *testing.B)      { benchVerifyFresh(b, keys.EdDSA) }
func BenchmarkVerifyES256Remembered(b *testing.B) { benchVerify(b, keys.ES256) }

func benchVerifyFresh(b *testing.B, alg string) {
	m := newManager(b, memory.New(), alg, newClock())
	tokens := make([]string, b.N)
	for i := range tokens {
		tokens[i] = must(m.Sign([]byte(fmt.Sprintf(`{"sub":"reports","jti":"%d"}`, i)), "at+jwt"))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for _, tok := range tokens {
		if _, err := m.Verify(tok, "at+jwt"); err != nil {
			b.Fatal(err)
		}
	}
}

func benchVerify(b *testing.B, alg string) {
	m := newManager(b, memory.New(), alg, newClock())
	tok := must(m.Sign(accessClaims, "at+jwt"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Verify(tok, "at+jwt"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJWKSHandler measures the handler alone, with a ResponseWriter
// that is reused as net/http reuses its own.
func BenchmarkJWKSHandler(b *testing.B) {
	m := newManager(b, memory.New(), keys.ES256, newClock())
	h := m.JWKSHandler()
	req := httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil)
	w := &reusableWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
	if w.code != 0 && w.code != http.StatusOK {
		b.Fatal(w.code)
	}
}

// BenchmarkJWKSHandlerServer is the same over real HTTP on loopback, for
// scale: the handler is a negligible part of it.
func BenchmarkJWKSHandlerServer(b *testing.B) {
	m := newManager(b, memory.New(), keys.ES256, newClock())
	srv := httptest.NewServer(m.JWKSHandler())
	defer srv.Close()
	client := srv.Client()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(srv.URL)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body) // so that the connection is reused
			_ = resp.Body.Close()
		}
	})
}
