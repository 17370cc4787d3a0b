// Package devdemo serves the pages of the demo relying party that
// `gatehouse serve --dev` registers as the client "demo", so that a
// newcomer signs in with a browser within a minute of starting
// (issue 12, "A newcomer's first minutes"; docs/browser-sign-in.md).
//
// It is an ordinary OpenID Connect relying party that happens to live in
// the same process: GET /dev/start begins the authorization code flow
// with PKCE S256, state and nonce (RFC 6749 §4.1, RFC 7636, OpenID
// Connect Core §3.1.2.1), and GET /dev/callback checks the state,
// redeems the code at the token endpoint and verifies the ID token with
// go-oidc, then shows the claims. It talks to the issuer's discovery,
// JWKS and token endpoints through the server's own handler rather than
// the network, so it works whatever the issuer URL resolves to inside
// the process. The pages are mounted only when the app is told the demo
// client's id, which only --dev does.
package devdemo
