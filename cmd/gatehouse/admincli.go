package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// The clients, users, groups and resources commands use the management
// API (openapi.yaml) as any client would: they authenticate with an admin
// client's secret S (turned into W here), and hash secrets and passwords
// on this side. Where a command names a group or a user, it takes a name
// or an id; names are resolved through the API.

// adminFlags adds the flags that say which server and admin client to use.
func adminFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.String("issuer", envOr(envIssuer, defaultIssuer), "the server's issuer URL ("+envIssuer+")")
	f.String("admin-client-id", os.Getenv(envClientID), "admin client_id ("+envClientID+")")
	// No default from the environment: cobra would print it in --help.
	f.String("admin-client-secret", "", "admin client secret S (default $"+envClientSecret+")")
}

// secretFlag returns a secret given by flag name, or else by the
// environment variable env. Secrets never become flags' defaults, which
// --help and usage errors print.
func secretFlag(f *pflag.FlagSet, name, env string) string {
	if v, _ := f.GetString(name); v != "" {
		return v
	}
	return os.Getenv(env)
}

// api is a management API client.
type api struct {
	issuer string
	http   *http.Client
}

func newAPI(cmd *cobra.Command) (*api, error) {
	f := cmd.Flags()
	issuer, _ := f.GetString("issuer")
	id, _ := f.GetString("admin-client-id")
	s := secretFlag(f, "admin-client-secret", envClientSecret)
	if id == "" || s == "" {
		return nil, fmt.Errorf("give the admin client with --admin-client-id and --admin-client-secret (or %s and %s)", envClientID, envClientSecret)
	}
	w, err := wireSecret(s, id)
	if err != nil {
		return nil, fmt.Errorf("admin-client-secret: %w", err)
	}
	issuer = strings.TrimSuffix(issuer, "/")
	// The style is set for the reason given at authStyle.
	cfg := clientcredentials.Config{ClientID: id, ClientSecret: w, TokenURL: issuer + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}
	return &api{issuer: issuer, http: cfg.Client(cmd.Context())}, nil
}

// call sends a JSON request and decodes the JSON answer into out (if not
// nil). A problem answer (RFC 7807) becomes an error with its detail; a
// refused admin token, the server's OAuth error.
func (a *api) call(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.issuer+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := a.http.Do(req)
	if err != nil {
		if e := explainTokenError(err); e != err {
			return fmt.Errorf("admin client: %w", e)
		}
		return err
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		var p struct{ Title, Detail, Field string }
		_ = json.NewDecoder(res.Body).Decode(&p)
		if p.Field != "" {
			return fmt.Errorf("%s: %s (field %s)", res.Status, p.Detail, p.Field)
		}
		return fmt.Errorf("%s: %s", res.Status, p.Detail)
	}
	if out != nil {
		return json.NewDecoder(res.Body).Decode(out)
	}
	return nil
}

// isID reports whether s is a UUID as the API spells ids (CONTRACT §4).
func isID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}

// groupID resolves a group name or id to its id. An id is used as given,
// so that a caller with groups-write but not groups-read can still name
// groups by id; a name is looked up in the group list (the API has no
// name filter for groups).
func (a *api) groupID(ref string) (string, error) {
	if isID(ref) {
		return ref, nil
	}
	id := ""
	err := eachPage(a, "/admin/groups", "", func(g map[string]any) {
		if g["name"] == ref {
			id, _ = g["id"].(string)
		}
	})
	if err != nil {
		return "", fmt.Errorf("looking up group %q: %w", ref, err)
	}
	if id == "" {
		return "", fmt.Errorf("no group named %q", ref)
	}
	return id, nil
}

// groupIDs resolves each of refs with groupID.
func (a *api) groupIDs(refs []string) ([]string, error) {
	ids := make([]string, len(refs))
	for i, ref := range refs {
		var err error
		if ids[i], err = a.groupID(ref); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// userID resolves a username or user id to the id, looking a username up
// with the list's exact username filter.
func (a *api) userID(ref string) (string, error) {
	if isID(ref) {
		return ref, nil
	}
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := a.call(http.MethodGet, "/admin/users?username="+url.QueryEscape(ref), nil, &page); err != nil {
		return "", fmt.Errorf("looking up user %q: %w", ref, err)
	}
	if len(page.Items) != 1 {
		return "", fmt.Errorf("no user named %q", ref)
	}
	return page.Items[0].ID, nil
}

func printJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// eachPage walks every page of a list (CONTRACT §4: items and next_cursor);
// query holds further parameters, "" for none.
func eachPage(a *api, path, query string, fn func(map[string]any)) error {
	cursor := ""
	for {
		var page struct {
			Items      []map[string]any `json:"items"`
			NextCursor string           `json:"next_cursor"`
		}
		p := path + "?limit=500"
		if query != "" {
			p += "&" + query
		}
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		if err := a.call(http.MethodGet, p, nil, &page); err != nil {
			return err
		}
		for _, it := range page.Items {
			fn(it)
		}
		if cursor = page.NextCursor; cursor == "" {
			return nil
		}
	}
}

// printTable prints every item of a list as a row of the given fields;
// path may carry a query.
func printTable(cmd *cobra.Command, a *api, path string, fields []string) error {
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(fields, "\t")))
	path, query, _ := strings.Cut(path, "?")
	err := eachPage(a, path, query, func(it map[string]any) {
		cells := make([]string, len(fields))
		for i, f := range fields {
			cells[i] = cell(it[f])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

func cell(v any) string {
	if v == nil {
		return "-" // a field the item does not have, or null
	}
	list, ok := v.([]any)
	if !ok {
		return fmt.Sprint(v)
	}
	parts := make([]string, len(list))
	for i, x := range list {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ",")
}

// adminRunE wraps a command body that needs the management API client.
func adminRunE(fn func(cmd *cobra.Command, a *api, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a, err := newAPI(cmd)
		if err != nil {
			return err
		}
		return fn(cmd, a, args)
	}
}

// errNoChange is returned by update commands given nothing to change.
var errNoChange = errors.New("nothing to change: give at least one field flag (see --help)")

// pathSeg escapes one path segment.
func pathSeg(s string) string { return url.PathEscape(s) }
