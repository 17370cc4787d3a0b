package apptest

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

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
	return s.DoFrom("", req)
}

var (
	sourcesMu sync.Mutex
	sources   = map[string]*http.Client{}
)

// clientFrom returns an HTTP client whose connections leave from the
// loopback address source (such as 127.0.0.2: Linux routes all of
// 127.0.0.0/8 to the loopback interface), so that the server sees
// requests from different peers; "" is the default client.
func clientFrom(source string) *http.Client {
	if source == "" {
		return http.DefaultClient
	}
	sourcesMu.Lock()
	defer sourcesMu.Unlock()
	if c, ok := sources[source]; ok {
		return c
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 5 * time.Second}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	sources[source] = c
	return c
}

// DoFrom sends req from the loopback address source (see clientFrom) and
// decodes the answer.
func (s *Server) DoFrom(source string, req *http.Request) Response {
	s.T.Helper()
	res, err := clientFrom(source).Do(req)
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
	return s.LoginFrom("", c, username, password, extra)
}

// LoginFrom is Login from the loopback address source (see clientFrom).
func (s *Server) LoginFrom(source string, c *Client, username, password string, extra url.Values) Response {
	s.T.Helper()
	wire := s.LoginPassword(username, password)
	form := url.Values{"grant_type": {"password"}, "username": {username}, "password": {wire}}
	for k, v := range extra {
		form[k] = v
	}
	req, err := http.NewRequest(http.MethodPost, s.URL+"/oauth2/token", strings.NewReader(form.Encode()))
	require.NoError(s.T, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Wire(s.T)))
	r := s.DoFrom(source, req)
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
