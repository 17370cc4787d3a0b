package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/spf13/cobra"
	"golang.org/x/oauth2"
)

func newAuthorizeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "authorize",
		Short: "Sign in with a browser (authorization code flow with PKCE) and print the tokens",
		Long: `Run the authorization code flow as a native application does (RFC 8252): listen on
http://127.0.0.1:<port>/callback, print the authorization URL (and open it in a browser
unless --no-open), wait for the browser to come back, redeem the code with the PKCE
verifier and verify the ID token. The tokens and the ID token's claims are printed as
JSON; the browser is told it may close the window.

The client must be registered with the authorization_code grant and the redirect URI
http://127.0.0.1/callback (any port matches, RFC 8252 §7.3). 'serve --dev' registers
such a client, "demo".

--client-id and --client-secret are not read from GATEHOUSE_CLI_CLIENT_ID and
GATEHOUSE_CLI_CLIENT_SECRET: those name the admin API client, not a browser client.`,
		Example: "  gatehouse authorize --client-id demo\n  gatehouse authorize --client-id demo --scope 'openid profile users-read' --no-open",
		Args:    cobra.NoArgs,
		RunE:    runAuthorize,
	}
	f := cmd.Flags()
	f.String("issuer", envOr(envIssuer, defaultIssuer), "the server's issuer URL ("+envIssuer+")")
	f.String("client-id", "", "client_id of a client registered for the authorization code flow")
	f.String("client-secret", "", "the client secret S, b64u, for a confidential client; none for a public one")
	f.String("auth-method", "client_secret_basic", "with a secret: client_secret_basic or client_secret_post")
	f.String("scope", "openid profile", "space-separated scopes to request")
	f.Int("port", 0, "loopback port to listen on (0: any free port)")
	f.Bool("no-open", false, "only print the URL, do not try to open a browser")
	f.Duration("timeout", 5*time.Minute, "how long to wait for the browser")
	return cmd
}

// authorizeFlow is one run of the authorization code flow from the
// command line.
type authorizeFlow struct {
	config   oauth2.Config
	verifier *oidc.IDTokenVerifier
	issuer   string
	state    string
	nonce    string
	pkce     string
}

func runAuthorize(cmd *cobra.Command, _ []string) error {
	f := cmd.Flags()
	issuer, _ := f.GetString("issuer")
	id, _ := f.GetString("client-id")
	s, _ := f.GetString("client-secret")
	method, _ := f.GetString("auth-method")
	scope, _ := f.GetString("scope")
	port, _ := f.GetInt("port")
	noOpen, _ := f.GetBool("no-open")
	timeout, _ := f.GetDuration("timeout")
	if id == "" {
		return errors.New("give the client with --client-id (serve --dev registers \"demo\")")
	}
	if port < 0 || port > 65535 {
		return fmt.Errorf("port: %d is not a port number", port)
	}
	if timeout <= 0 {
		return errors.New("timeout: must be positive")
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
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return fmt.Errorf("discovery at %s: %w", issuer, err)
	}
	// RFC 8252 §7.3: the loopback IP literal, not "localhost", which may
	// resolve elsewhere or to the other address family.
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return fmt.Errorf("port: %w", err)
	}
	defer l.Close()
	redirect := fmt.Sprintf("http://127.0.0.1:%d/callback", l.Addr().(*net.TCPAddr).Port)

	ep := provider.Endpoint()
	ep.AuthStyle = style // set, not guessed (see authStyle)
	af := &authorizeFlow{
		config:   oauth2.Config{ClientID: id, ClientSecret: w, Endpoint: ep, RedirectURL: redirect, Scopes: strings.Fields(scope)},
		verifier: provider.Verifier(&oidc.Config{ClientID: id}),
		issuer:   issuer, pkce: oauth2.GenerateVerifier(),
	}
	if af.state, err = randomToken(); err == nil {
		af.nonce, err = randomToken()
	}
	if err != nil {
		return err
	}
	authURL := af.config.AuthCodeURL(af.state, oauth2.S256ChallengeOption(af.pkce), oidc.Nonce(af.nonce))
	stderr := cmd.ErrOrStderr()
	fmt.Fprintf(stderr, "Open this URL in a browser and sign in:\n\n  %s\n\nWaiting for the browser at %s (at most %s).\n", authURL, redirect, timeout)
	if !noOpen {
		openBrowser(authURL)
	}

	answers := make(chan callbackAnswer)
	srv := &http.Server{Handler: af.callbackHandler(answers), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
	}()

	select {
	case <-ctx.Done():
		if cmd.Context().Err() != nil {
			return cmd.Context().Err()
		}
		return fmt.Errorf("no answer from the browser within %s: is the client %q registered with the authorization_code grant "+
			"and the redirect URI http://127.0.0.1/callback (any port matches)? Did the sign-in finish in the browser?", timeout, id)
	case a := <-answers:
		out, err := af.finish(ctx, a)
		a.reply <- err
		if err != nil {
			return err
		}
		return printJSON(cmd, out)
	}
}

// callbackAnswer is the browser's answer at the redirect URI, handed from
// the listener to the command, which replies with the outcome for the
// browser's page.
type callbackAnswer struct {
	code, iss, errCode, errDescription string
	reply                              chan error
}

// callbackHandler answers the redirect URI. An answer whose state is not
// this run's is refused and not passed on (RFC 6749 §10.12): anything
// on this machine can reach the listener.
func (af *authorizeFlow) callbackHandler(answers chan<- callbackAnswer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(af.state)) != 1 {
			browserPage(w, http.StatusBadRequest, "This answer does not belong to this sign-in",
				"The state differs from the one gatehouse authorize sent; the answer was ignored.")
			return
		}
		a := callbackAnswer{code: q.Get("code"), iss: q.Get("iss"), errCode: q.Get("error"),
			errDescription: q.Get("error_description"), reply: make(chan error, 1)}
		select {
		case answers <- a:
		case <-r.Context().Done():
			return
		}
		if err := <-a.reply; err != nil {
			browserPage(w, http.StatusBadRequest, "Sign-in failed", err.Error()+" The terminal says more. You may close this window.")
			return
		}
		browserPage(w, http.StatusOK, "Signed in", "gatehouse authorize received the tokens. You may close this window.")
	})
	return mux
}

// finish checks the answer, redeems the code and verifies the ID token,
// returning what is printed.
func (af *authorizeFlow) finish(ctx context.Context, a callbackAnswer) (map[string]any, error) {
	// RFC 9207: an answer that names another issuer is a mix-up.
	if a.iss != "" && a.iss != af.issuer {
		return nil, fmt.Errorf("the answer names the issuer %q, not %q (RFC 9207)", a.iss, af.issuer)
	}
	if a.errCode != "" {
		msg := "the authorization server refused: " + a.errCode
		if a.errDescription != "" {
			msg += ": " + a.errDescription
		}
		return nil, errors.New(msg)
	}
	if a.code == "" {
		return nil, errors.New("the answer carries neither a code nor an error")
	}
	tok, err := af.config.Exchange(ctx, a.code, oauth2.VerifierOption(af.pkce))
	if err != nil {
		return nil, explainTokenError(err)
	}
	out := map[string]any{
		"access_token": tok.AccessToken, "token_type": tok.TokenType,
		"expires_in": int(time.Until(tok.Expiry).Round(time.Second).Seconds()),
		"expiry":     tok.Expiry.UTC().Format(time.RFC3339), "scope": tok.Extra("scope"),
	}
	if tok.RefreshToken != "" {
		out["refresh_token"] = tok.RefreshToken
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		if slices.Contains(af.config.Scopes, oidc.ScopeOpenID) {
			return nil, errors.New("the token response has no id_token although openid was requested")
		}
		return out, nil
	}
	idt, err := af.verifier.Verify(ctx, rawID)
	if err != nil {
		return nil, fmt.Errorf("the ID token does not verify: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(af.nonce)) != 1 {
		return nil, errors.New("the ID token's nonce is not the one sent (OpenID Connect Core §3.1.3.7)")
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		return nil, fmt.Errorf("the ID token's at_hash: %w", err)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, err
	}
	out["id_token"], out["id_token_claims"] = rawID, claims
	return out, nil
}

var browserTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · gatehouse authorize</title></head>
<body><main><h1>{{.Title}}</h1><p>{{.Text}}</p></main></body></html>
`))

// browserPage answers the browser at the redirect URI with a small page,
// which loads nothing and may not be framed or stored.
func browserPage(w http.ResponseWriter, status int, title, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_ = browserTemplate.Execute(w, struct{ Title, Text string }{title, text})
}

// openBrowser tries to open u in the desktop's browser; where there is
// none (a server, a container) the printed URL is the way.
func openBrowser(u string) {
	name := "xdg-open"
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		return
	}
	c := exec.Command(name, u)
	if c.Start() == nil {
		go func() { _ = c.Wait() }()
	}
}

// randomToken returns 32 random bytes, base64url: a state or a nonce.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
