package clientauth

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/storage"
)

// AssertionType is the only accepted client_assertion_type (RFC 7523 §2.2).
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Form parameters of client authentication. Each may appear at most once.
const (
	paramClientID      = "client_id"
	paramClientSecret  = "client_secret"
	paramAssertion     = "client_assertion"
	paramAssertionType = "client_assertion_type"
)

// credentials is what a request presents, before anything is checked
// against storage.
type credentials struct {
	method        string // one of the storage.AuthMethod* names
	clientID      string // empty for private_key_jwt: the assertion names it
	formClientID  string // the client_id form field, if any
	secret        string // W as sent, for the secret methods
	assertion     string
	assertionType string
}

var strictStd = base64.StdEncoding.Strict()

// extract works out which single method the request uses and pulls its
// credentials out of the header and the form. Ambiguity is
// ErrInvalidRequest; credentials that cannot be read are ErrInvalidClient.
func extract(h http.Header, form url.Values) (credentials, error) {
	for _, p := range []string{paramClientID, paramClientSecret, paramAssertion, paramAssertionType} {
		if len(form[p]) > 1 {
			return credentials{}, invalidRequest("parameter " + p + " is repeated")
		}
	}
	authz := h.Values("Authorization")
	if len(authz) > 1 {
		return credentials{}, invalidRequest("Authorization header is repeated")
	}
	cr := credentials{
		formClientID:  form.Get(paramClientID),
		secret:        form.Get(paramClientSecret),
		assertion:     form.Get(paramAssertion),
		assertionType: form.Get(paramAssertionType),
	}
	// RFC 6749 §2.3.1: an empty client_secret is the same as none.
	hasBasic, hasPost := len(authz) == 1, cr.secret != ""
	hasAssertion := cr.assertion != "" || cr.assertionType != ""
	if count(hasBasic, hasPost, hasAssertion) > 1 {
		return credentials{}, invalidRequest("several client authentication methods at once")
	}
	switch {
	case hasBasic:
		return fromBasic(authz[0], cr)
	case hasPost:
		cr.method, cr.clientID = storage.AuthMethodSecretPost, cr.formClientID
	case hasAssertion:
		cr.method = storage.AuthMethodPrivateKeyJWT
		return cr, nil
	default:
		cr.method, cr.clientID = storage.AuthMethodNone, cr.formClientID
	}
	if cr.clientID == "" {
		return credentials{}, invalidClient("no client_id")
	}
	return cr, nil
}

// fromBasic reads client_secret_basic credentials from the Authorization
// header value. RFC 6749 §2.3.1: client_id and secret are form-urlencoded
// before the Basic encoding, so both are decoded ("%2D" is "-", "+" is a
// space).
func fromBasic(header string, cr credentials) (credentials, error) {
	id, secret, err := parseBasic(header)
	if err != nil {
		return credentials{}, err
	}
	if cr.formClientID != "" && cr.formClientID != id {
		return credentials{}, invalidRequest("client_id of the Basic header and of the form differ")
	}
	cr.method, cr.clientID, cr.secret = storage.AuthMethodSecretBasic, id, secret
	return cr, nil
}

// parseBasic parses "Basic base64(urlencode(id) ":" urlencode(secret))",
// strictly: case-insensitive scheme, canonical standard base64, a split
// at the first colon, valid percent escapes, a non-empty client_id.
func parseBasic(header string) (id, secret string, err error) {
	scheme, rest, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", "", invalidClient("Authorization header is not Basic")
	}
	raw, err := strictStd.DecodeString(strings.TrimLeft(rest, " "))
	if err != nil {
		return "", "", invalidClient("Basic credentials are not valid base64")
	}
	encID, encSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", invalidClient("Basic credentials have no colon")
	}
	if id, err = url.QueryUnescape(encID); err != nil {
		return "", "", invalidClient("Basic client_id is not form-urlencoded")
	}
	if secret, err = url.QueryUnescape(encSecret); err != nil {
		return "", "", invalidClient("Basic secret is not form-urlencoded")
	}
	if id == "" {
		return "", "", invalidClient("Basic client_id is empty")
	}
	return id, secret, nil
}

func count(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
