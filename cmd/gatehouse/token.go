package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse/gatehouse/clienthash"
)

// The client commands read one set of environment names, the ones the
// dev banner exports: GATEHOUSE_CLI_ISSUER, GATEHOUSE_CLI_CLIENT_ID,
// GATEHOUSE_CLI_CLIENT_SECRET and GATEHOUSE_CLI_PASSWORD. The server
// ignores GATEHOUSE_CLI_* (docs/configuration.md).
const (
	envIssuer       = "GATEHOUSE_CLI_ISSUER"
	envClientID     = "GATEHOUSE_CLI_CLIENT_ID"
	envClientSecret = "GATEHOUSE_CLI_CLIENT_SECRET"
	envPassword     = "GATEHOUSE_CLI_PASSWORD"
	defaultIssuer   = "http://127.0.0.1:8080"
)

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Get an access token, doing the client-side derivations",
		Long: `Get an access token from a Gatehouse server as a client would: the client secret S is
turned into W, and with --username the password is hashed after asking prelogin for the
user's salt. Nothing secret but W and b64u(P) leaves this machine.

When the server refuses, its own error (RFC 6749 §5.2) is printed, and after a rate
limit (429) or an overload (503) also when to try again.`,
		Args: cobra.NoArgs,
		RunE: runToken,
	}
	f := cmd.Flags()
	f.String("issuer", envOr(envIssuer, defaultIssuer), "the server's issuer URL ("+envIssuer+")")
	f.String("client-id", os.Getenv(envClientID), "client_id ("+envClientID+")")
	f.String("client-secret", "", "the client secret S, b64u (default $"+envClientSecret+"); none for a public client")
	f.String("auth-method", "client_secret_basic", "how the client authenticates: client_secret_basic or client_secret_post (ignored without a secret)")
	f.String("username", "", "log in as this user (password grant)")
	f.String("password", "", "the user's password (default: "+envPassword+")")
	f.String("scope", "", "space-separated scopes to request (default: all permitted)")
	return cmd
}

func runToken(cmd *cobra.Command, _ []string) error {
	f := cmd.Flags()
	issuer, _ := f.GetString("issuer")
	id, _ := f.GetString("client-id")
	s := secretFlag(f, "client-secret", envClientSecret)
	method, _ := f.GetString("auth-method")
	username, _ := f.GetString("username")
	password, _ := f.GetString("password")
	scope, _ := f.GetString("scope")
	if id == "" {
		return fmt.Errorf("give the client with --client-id (or %s)", envClientID)
	}
	issuer = strings.TrimSuffix(issuer, "/")
	style, err := authStyle(method, s)
	if err != nil {
		return err
	}
	w := ""
	if s != "" {
		if w, err = wireSecret(s, id); err != nil {
			return fmt.Errorf("client-secret: %w", err)
		}
	}
	ctx := cmd.Context()
	var tok *oauth2.Token
	if username == "" {
		cfg := clientcredentials.Config{ClientID: id, ClientSecret: w, TokenURL: issuer + "/oauth2/token",
			Scopes: strings.Fields(scope), AuthStyle: style}
		tok, err = cfg.Token(ctx)
	} else {
		tok, err = passwordToken(ctx, issuer, oauth2.Config{ClientID: id, ClientSecret: w,
			Endpoint: oauth2.Endpoint{TokenURL: issuer + "/oauth2/token", AuthStyle: style}, Scopes: strings.Fields(scope)},
			username, password)
	}
	if err != nil {
		return explainTokenError(err)
	}
	out := map[string]any{"access_token": tok.AccessToken, "token_type": tok.TokenType, "expires_in": int(time.Until(tok.Expiry).Round(time.Second).Seconds()), "scope": tok.Extra("scope")}
	if tok.RefreshToken != "" {
		out["refresh_token"] = tok.RefreshToken
	}
	return printJSON(cmd, out)
}

// authStyle picks the client authentication explicitly. Left at
// AuthStyleAutoDetect, x/oauth2 retries a refused request with the other
// style and reports the second answer, so that a wrong password or a
// refused scope came back as invalid_client. Without a secret the client
// is public and sends only client_id in the body (RFC 6749 §2.3.1, §3.2.1).
func authStyle(method, secret string) (oauth2.AuthStyle, error) {
	if secret == "" {
		return oauth2.AuthStyleInParams, nil
	}
	switch method {
	case "client_secret_basic":
		return oauth2.AuthStyleInHeader, nil
	case "client_secret_post":
		return oauth2.AuthStyleInParams, nil
	}
	return 0, fmt.Errorf("auth-method: %q is neither client_secret_basic nor client_secret_post", method)
}

func passwordToken(ctx context.Context, issuer string, cfg oauth2.Config, username, password string) (*oauth2.Token, error) {
	if password == "" {
		password = os.Getenv(envPassword)
	}
	if password == "" {
		return nil, fmt.Errorf("give the password with --password or %s", envPassword)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, issuer+"/oauth2/prelogin",
		strings.NewReader(url.Values{"username": {username}}.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var params clienthash.LoginParams
	if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&params) != nil {
		return nil, fmt.Errorf("prelogin at %s failed: %s", issuer, res.Status)
	}
	wire, err := clienthash.LoginPassword(password, params)
	if err != nil {
		return nil, err
	}
	return cfg.PasswordCredentialsToken(ctx, username, wire)
}

// explainTokenError turns a refused token request into the server's own
// words: error and error_description (RFC 6749 §5.2), the HTTP status, and
// after 429 or 503 when to try again (Retry-After, RFC 9110 §10.2.3), so
// that a wrong password (invalid_grant), a refused scope (invalid_scope),
// a wrong client secret (invalid_client) and a rate limit read differently.
// Other errors (the server unreachable, …) pass through unchanged.
func explainTokenError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return err
	}
	code := re.ErrorCode
	if code == "" {
		code = "no OAuth error in the answer"
	}
	msg := fmt.Sprintf("token request refused (HTTP %d, %s)", re.Response.StatusCode, code)
	if re.ErrorDescription != "" {
		msg += ": " + re.ErrorDescription
	}
	if s := re.Response.StatusCode; s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable {
		if d, ok := retryAfter(re.Response.Header.Get("Retry-After"), time.Now()); ok {
			msg += fmt.Sprintf(" Retry in %s.", d)
		} else {
			msg += " Retry later."
		}
	}
	return errors.New(msg)
}

// retryAfter reads Retry-After, either delay-seconds or an HTTP-date
// (RFC 9110 §10.2.3), as a wait from now.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now).Round(time.Second), 0), true
	}
	return 0, false
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
