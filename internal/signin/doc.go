// Package signin serves Gatehouse's hosted sign-in pages: the login page,
// the consent page, and the error and signed-out pages that the OAuth
// endpoints answer browsers with (it implements oauth.Pages). The OAuth
// provider decides everything through the Flow interface; this package
// only shows forms, reads them strictly and maps the provider's errors to
// pages and statuses.
//
// The login page never submits the typed password. Its script asks
// prelogin for the salt and iterations, derives P with WebCrypto PBKDF2
// exactly as docs/client-side-hashing.md specifies (with clienthash's own
// JavaScript module, clienthash.JSModule, served as an asset), and posts b64u(P) in a hidden field; the password input has no
// name. With JavaScript off, the page says that signing in needs it.
//
// Templates, catalogues (English and German) and assets are embedded.
// Assets are served from memory under content-hashed names with strong
// ETags, so that pages can link to them with a long cache lifetime. Every
// page carries a Content-Security-Policy that allows no inline script or
// style (see contentSecurityPolicy for why it has no form-action).
package signin
