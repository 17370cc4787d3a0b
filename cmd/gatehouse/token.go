package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse/gatehouse/clienthash"
)

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Get an access token, doing the client-side derivations",
		Long: `Get an access token from a Gatehouse server as a client would: the client secret S is
turned into W, and with --username the password is hashed after asking prelogin for the
user's salt. Nothing secret but W and b64u(P) leaves this machine.`,
		Args: cobra.NoArgs,
		RunE: runToken,
	}
	f := cmd.Flags()
	f.String("issuer", "http://127.0.0.1:8080", "the server's issuer URL")
	f.String("client-id", "", "client_id")
	f.String("client-secret", "", "the client secret S (b64u)")
	f.String("username", "", "log in as this user (password grant)")
	f.String("password", "", "the user's password (default: GATEHOUSE_CLI_PASSWORD)")
	f.String("scope", "", "space-separated scopes to request (default: all permitted)")
	_ = cmd.MarkFlagRequired("client-id")
	return cmd
}

func runToken(cmd *cobra.Command, _ []string) error {
	f := cmd.Flags()
	issuer, _ := f.GetString("issuer")
	id, _ := f.GetString("client-id")
	s, _ := f.GetString("client-secret")
	username, _ := f.GetString("username")
	password, _ := f.GetString("password")
	scope, _ := f.GetString("scope")
	issuer = strings.TrimSuffix(issuer, "/")
	w := ""
	if s != "" {
		var err error
		if w, err = clienthash.WireSecret(s, id); err != nil {
			return fmt.Errorf("client-secret: %w", err)
		}
	}
	var scopes []string
	if scope != "" {
		scopes = strings.Fields(scope)
	}
	ctx := cmd.Context()
	var tok *oauth2.Token
	var err error
	if username == "" {
		cfg := clientcredentials.Config{ClientID: id, ClientSecret: w, TokenURL: issuer + "/oauth2/token", Scopes: scopes}
		tok, err = cfg.Token(ctx)
	} else {
		tok, err = passwordToken(ctx, issuer, id, w, username, password, scopes)
	}
	if err != nil {
		return err
	}
	out := map[string]any{"access_token": tok.AccessToken, "token_type": tok.TokenType, "expires_in": int(time.Until(tok.Expiry).Round(time.Second).Seconds()), "scope": tok.Extra("scope")}
	if tok.RefreshToken != "" {
		out["refresh_token"] = tok.RefreshToken
	}
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func passwordToken(ctx context.Context, issuer, id, w, username, password string, scopes []string) (*oauth2.Token, error) {
	if password == "" {
		password = os.Getenv("GATEHOUSE_CLI_PASSWORD")
	}
	if password == "" {
		return nil, errors.New("give the password with --password or GATEHOUSE_CLI_PASSWORD")
	}
	res, err := http.PostForm(issuer+"/oauth2/prelogin", url.Values{"username": {username}})
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var params clienthash.LoginParams
	if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&params) != nil {
		return nil, fmt.Errorf("prelogin failed: %s", res.Status)
	}
	wire, err := clienthash.LoginPassword(password, params)
	if err != nil {
		return nil, err
	}
	cfg := oauth2.Config{ClientID: id, ClientSecret: w, Endpoint: oauth2.Endpoint{TokenURL: issuer + "/oauth2/token"}, Scopes: scopes}
	return cfg.PasswordCredentialsToken(ctx, username, wire)
}

func newSecretCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "secret", Short: "Client-secret helpers (docs/client-side-hashing.md)"}
	wire := &cobra.Command{
		Use:   "wire",
		Short: "Print W, what a client sends as client_secret, derived from S",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, _ := cmd.Flags().GetString("client-id")
			s, _ := cmd.Flags().GetString("secret")
			w, err := clienthash.WireSecret(s, id)
			if err != nil {
				return fmt.Errorf("secret: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), w)
			return nil
		},
	}
	newS := &cobra.Command{
		Use:   "new",
		Short: "Generate a secret S and print S and the verifier V to register",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, _ := cmd.Flags().GetString("client-id")
			s, err := clienthash.NewClientSecret()
			if err != nil {
				return err
			}
			v, _ := clienthash.VerifierFor(clienthash.Encode(s), id)
			return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]string{"client_id": id, "secret": clienthash.Encode(s), "verifier": v})
		},
	}
	password := &cobra.Command{
		Use:   "password",
		Short: "Print the password object (hashed on this side) that the management API takes",
		Long: `Print {"kdf","iterations","salt","hash","confirmation"} for a password read from
GATEHOUSE_CLI_PASSWORD or --password: what a client sends whenever a password is set.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, _ := cmd.Flags().GetString("password")
			if pw == "" {
				pw = os.Getenv("GATEHOUSE_CLI_PASSWORD")
			}
			if pw == "" {
				return errors.New("give the password with --password or GATEHOUSE_CLI_PASSWORD")
			}
			iterations, _ := cmd.Flags().GetInt("iterations")
			set, err := clienthash.NewPasswordSetting(pw, pw, iterations)
			if err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(set)
		},
	}
	password.Flags().String("password", "", "the password (prefer GATEHOUSE_CLI_PASSWORD)")
	password.Flags().Int("iterations", clienthash.DefaultIterations,
		"client-side PBKDF2 iterations: the server's password.iterations (its discovery document's password_iterations)")
	cmd.AddCommand(password)
	for _, c := range []*cobra.Command{wire, newS} {
		c.Flags().String("client-id", "", "client_id")
		_ = c.MarkFlagRequired("client-id")
	}
	wire.Flags().String("secret", "", "the client secret S (b64u)")
	_ = wire.MarkFlagRequired("secret")
	cmd.AddCommand(wire, newS)
	return cmd
}
