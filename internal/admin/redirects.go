package admin

import (
	"net/url"
	"slices"
	"strings"
)

// Bounds of a client's redirect URI lists.
const (
	maxRedirectURIs   = 20
	maxRedirectURILen = 2000 // what every browser carries in a Location header
)

// loopbackHosts may receive a redirect over plain http: the traffic never
// leaves the device (RFC 8252 §7.3, §8.3).
var loopbackHosts = []string{"127.0.0.1", "::1", "localhost"}

// validateRedirectURIs checks a list of redirect_uris or
// post_logout_redirect_uris. The authorization server compares them
// exactly as strings (RFC 6749 §3.1.2.3, OIDC Core §3.1.2.1), so each
// must be a complete absolute URI: no fragment (RFC 6749 §3.1.2), no
// userinfo (which phishing uses to dress one host as another), and one of
// three kinds of destination:
//   - https, for web applications;
//   - http to a loopback host, for native applications (RFC 8252 §7.3);
//   - a private-use scheme, which RFC 8252 §7.1 requires to hold a
//     period (reverse domain name, com.example.app:/callback).
//
// Anything else — javascript:, data:, file:, vbscript: and the like — is
// refused: a browser sent there runs or reveals what it should not.
func validateRedirectURIs(field string, uris []string) error {
	if len(uris) > maxRedirectURIs {
		return invalidField(field, field+" holds at most "+itoa(maxRedirectURIs)+" URIs.")
	}
	for i, u := range uris {
		if slices.Contains(uris[:i], u) {
			return invalidField(field, field+" lists a URI twice.")
		}
		if detail := redirectURIProblem(u); detail != "" {
			return invalidField(field, "Each of "+field+" must be "+detail)
		}
	}
	return nil
}

// redirectURIProblem returns what is wrong with u as the end of a
// sentence, or "" when it is a valid redirect URI. The detail never
// repeats the URI itself.
func redirectURIProblem(u string) string {
	if u == "" || len(u) > maxRedirectURILen {
		return "1 to " + itoa(maxRedirectURILen) + " bytes long."
	}
	// RFC 3986 URIs are ASCII; anything else must be percent-encoded, and
	// a space or control character would not survive a Location header.
	for i := 0; i < len(u); i++ {
		if u[i] <= ' ' || u[i] >= 0x7f {
			return "ASCII without spaces or control characters (percent-encode the rest, RFC 3986)."
		}
	}
	if strings.Contains(u, "#") {
		return "without a fragment (RFC 6749 §3.1.2)."
	}
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" {
		return "an absolute URI (RFC 3986 §4.3)."
	}
	if p.User != nil {
		return "without userinfo (user@ before the host)."
	}
	switch scheme := strings.ToLower(p.Scheme); {
	case scheme == "https":
		if p.Host == "" || p.Hostname() == "" {
			return "an https URI with a host."
		}
	case scheme == "http":
		if !slices.Contains(loopbackHosts, p.Hostname()) {
			return "https, or http only to a loopback host (127.0.0.1, [::1] or localhost; RFC 8252 §7.3)."
		}
	case strings.Contains(scheme, "."):
		// A private-use scheme of a native application (RFC 8252 §7.1).
	default:
		return "https, http to a loopback host, or a private-use scheme with a period such as com.example.app:/callback (RFC 8252 §7.1)."
	}
	return ""
}
