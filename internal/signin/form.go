package signin

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"unicode/utf8"
)

// Limits of what the forms accept. The login form is well under 1 KiB
// (a 43-character password, tokens of a few dozen characters), so a body
// of 8 KiB leaves room for long usernames and percent-encoding while
// bounding what one request can make the server parse.
const (
	maxFormBytes   = 8 << 10
	maxIDLen       = 256 // auth: the pending request id
	maxCSRFLen     = 256
	maxUsernameLen = 256 // as prelogin's bound in internal/oauth/prelogin.go
	maxPasswordLen = 256 // b64u(P) is 43; longer is refused as not hashed
)

// fieldLimits are the fields each form may carry, with their maximum
// lengths in bytes.
var (
	loginFields   = map[string]int{"auth": maxIDLen, "csrf": maxCSRFLen, "username": maxUsernameLen, "password": maxPasswordLen}
	consentFields = map[string]int{"auth": maxIDLen, "csrf": maxCSRFLen, "decision": 8}
)

// readForm reads a urlencoded POST body strictly: the content type must
// be application/x-www-form-urlencoded, the body at most maxFormBytes,
// every field one the form has (fields), present at most once, valid
// UTF-8 and within its length limit. The query string is ignored: the
// forms post their fields in the body only. Any violation is errBadForm.
func readForm(w http.ResponseWriter, r *http.Request, fields map[string]int) (map[string]string, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, fmt.Errorf("%w: content type %q", errBadForm, mt)
	}
	if cs, ok := params["charset"]; ok && cs != "utf-8" && cs != "UTF-8" {
		return nil, fmt.Errorf("%w: charset %q", errBadForm, cs)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, fmt.Errorf("%w: body over %d bytes", errBadForm, maxFormBytes)
		}
		return nil, fmt.Errorf("%w: %v", errBadForm, err)
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadForm, err)
	}
	out := make(map[string]string, len(vals))
	for k, vs := range vals {
		limit, ok := fields[k]
		switch {
		case !ok:
			return nil, fmt.Errorf("%w: unknown field %q", errBadForm, k)
		case len(vs) != 1:
			return nil, fmt.Errorf("%w: field %q given %d times", errBadForm, k, len(vs))
		case len(vs[0]) > limit:
			return nil, fmt.Errorf("%w: field %q over %d bytes", errBadForm, k, limit)
		case !utf8.ValidString(vs[0]):
			return nil, fmt.Errorf("%w: field %q not UTF-8", errBadForm, k)
		}
		out[k] = vs[0]
	}
	return out, nil
}

// pendingID reads the auth query parameter of a page URL: exactly one,
// non-empty and bounded. A bad one is reported as ErrPendingGone: to the
// user it is a sign-in request that cannot be found.
func pendingID(r *http.Request) (string, bool) {
	vs := r.URL.Query()["auth"]
	if len(vs) != 1 || vs[0] == "" || len(vs[0]) > maxIDLen || !utf8.ValidString(vs[0]) {
		return "", false
	}
	return vs[0], true
}

// isWirePassword reports whether s can be b64u(P): exactly 43 characters
// of base64url without padding (docs/client-side-hashing.md). Anything
// else was not derived by the page's script.
func isWirePassword(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
