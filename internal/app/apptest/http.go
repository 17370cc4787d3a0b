package apptest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/clienthash"
)

// Response is a decoded answer.
type Response struct {
	Status int
	Header http.Header
	Body   map[string]any // the JSON object, when the answer is one
	Raw    string
}

// Str returns a string member of the JSON body.
func (r Response) Str(key string) string {
	s, _ := r.Body[key].(string)
	return s
}

// Do sends req and decodes the answer.
func (s *Server) Do(req *http.Request) Response {
	s.T.Helper()
	res, err := http.DefaultClient.Do(req)
	require.NoError(s.T, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(s.T, err)
	out := Response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	if len(raw) > 0 && strings.Contains(res.Header.Get("Content-Type"), "json") && raw[0] == '{' {
		require.NoError(s.T, json.Unmarshal(raw, &out.Body), "body: %s", raw)
	}
	return out
}

// Post sends a form to path, authenticating with client_secret_basic when
// c is not nil.
func (s *Server) Post(path string, c *Client, form url.Values) Response {
	s.T.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
	require.NoError(s.T, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c != nil {
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Wire(s.T)))
	}
	return s.Do(req)
}

// PostJSON sends a raw JSON body to path.
func (s *Server) PostJSON(path, body string) Response {
	s.T.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	require.NoError(s.T, err)
	req.Header.Set("Content-Type", "application/json")
	return s.Do(req)
}

// Token runs a token request and requires success.
func (s *Server) Token(c *Client, form url.Values) Response {
	s.T.Helper()
	r := s.Post("/oauth2/token", c, form)
	require.Equal(s.T, http.StatusOK, r.Status, r.Raw)
	s.Remember(r.Str("access_token"), r.Str("refresh_token"))
	return r
}

// Login runs prelogin and the password grant as a client application
// would, hashing the password on the client side.
func (s *Server) Login(c *Client, username, password string, extra url.Values) Response {
	s.T.Helper()
	wire := s.LoginPassword(username, password)
	form := url.Values{"grant_type": {"password"}, "username": {username}, "password": {wire}}
	for k, v := range extra {
		form[k] = v
	}
	r := s.Post("/oauth2/token", c, form)
	s.Remember(r.Str("access_token"), r.Str("refresh_token"))
	return r
}

// LoginPassword runs prelogin and derives the wire password b64u(P).
func (s *Server) LoginPassword(username, password string) string {
	s.T.Helper()
	pre := s.Post("/oauth2/prelogin", nil, url.Values{"username": {username}})
	require.Equal(s.T, http.StatusOK, pre.Status, pre.Raw)
	iterations, _ := pre.Body["iterations"].(float64)
	wire, err := clienthash.LoginPassword(password, clienthash.LoginParams{
		KDF: pre.Str("kdf"), Iterations: int(iterations), Salt: pre.Str("salt"),
	})
	require.NoError(s.T, err)
	s.Remember(wire)
	return wire
}

// Bearer sends a request with a bearer token and an optional JSON body.
func (s *Server) Bearer(method, path, token, body string) Response {
	s.T.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	require.NoError(s.T, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return s.Do(req)
}
