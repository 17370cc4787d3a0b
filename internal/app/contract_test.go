package app_test

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse/gatehouse/internal/server"
)

// The router and openapi.yaml describe the same API: every route is in the
// spec and every path and method of the spec is routed. (That responses
// match the spec's schemas is checked by every end-to-end test through
// apptest.)
func TestRoutesMatchOpenAPI(t *testing.T) {
	// With the dev demo's pages, which openapi.yaml documents as dev
	// only, and with mail, which mounts the account pages and invitations.
	s := apptest.Start(t, apptest.Memory, func(o *app.Options) { o.DevDemoClientID = "demo" },
		apptest.WithMail(mailtest.Start(t, mailtest.Options{}).URL()))
	srv := server.New(server.Options{}, s.App.Register)
	doc, _, err := apptest.Spec()
	require.NoError(t, err)

	routed := map[string]bool{} // "METHOD path"
	err = srv.Router().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			// No method matcher: the handler answers every method itself
			// (OAuth endpoints answer wrong methods in RFC 6749 form), so
			// the methods the spec lists are the routed ones.
			item := doc.Paths.Find(path)
			if item == nil && !strings.HasSuffix(path, "/admin") {
				t.Errorf("route %s is not in openapi.yaml", path)
			}
			if item != nil {
				for m := range item.Operations() {
					routed[m+" "+path] = true
				}
			}
			return nil
		}
		for _, m := range methods {
			if m == http.MethodHead {
				continue
			}
			routed[m+" "+path] = true
		}
		return nil
	})
	require.NoError(t, err)

	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for m := range item.Operations() {
			documented[m+" "+path] = true
		}
	}
	require.Equal(t, sorted(documented), sorted(routed), "routes and openapi.yaml differ")
	require.Greater(t, len(routed), 40)
}

func sorted(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return slices.Clip(out)
}
