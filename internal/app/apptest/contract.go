package apptest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// SpecPath is the path of openapi.yaml, found from this file so that tests
// in any package read the same one.
func SpecPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "openapi.yaml")
}

var spec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

// Spec loads and validates openapi.yaml once per test binary.
func Spec() (*openapi3.T, routers.Router, error) {
	spec.once.Do(func() {
		// The browser endpoints answer HTML pages, documented as strings.
		openapi3filter.RegisterBodyDecoder("text/html", func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
			b, err := io.ReadAll(r)
			return string(b), err
		})
		doc, err := openapi3.NewLoader().LoadFromFile(SpecPath())
		if err == nil {
			err = doc.Validate(openapi3.NewLoader().Context)
		}
		if err != nil {
			spec.err = err
			return
		}
		// Match paths on whatever host the test server listens on.
		doc.Servers = nil
		spec.doc = doc
		spec.router, spec.err = gorillamux.NewRouter(doc)
	})
	return spec.doc, spec.router, spec.err
}

// validateResponses checks every response the server gives against
// openapi.yaml: its status must be documented and its body must match the
// schema. A request to a path the spec does not know is left to the route
// contract test.
func validateResponses(t *testing.T, next http.Handler) http.Handler {
	_, router, err := Spec()
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())

		route, params, err := router.FindRoute(r)
		if err != nil {
			return
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{
				Request: r, PathParams: params, Route: route,
				Options: &openapi3filter.Options{ExcludeRequestBody: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
			},
			Status: rec.Code, Header: rec.Header(), Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
			Options: &openapi3filter.Options{IncludeResponseStatus: true},
		}
		if err := openapi3filter.ValidateResponse(r.Context(), in); err != nil {
			t.Errorf("%s %s → %d does not match openapi.yaml: %v", r.Method, r.URL.Path, rec.Code, err)
		}
	})
}
