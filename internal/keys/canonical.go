package keys

import (
	"encoding/base64"
	"strings"
)

var strictRawURL = base64.RawURLEncoding.Strict()

// canonicalCompact reports whether token is three parts of unpadded
// base64url, each in its one spelling: RFC 7515 §2 allows no line breaks,
// whitespace or other characters, and RFC 4648 §3.5 wants the pad bits of
// the last character zero. go-jose decodes each part leniently (skipping CR
// and LF, ignoring pad bits) and verifies the signature over the parts
// encoded again, so without this check one token would verify under many
// spellings.
func canonicalCompact(token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if strings.ContainsAny(p, "\r\n") {
			return false
		}
		if _, err := strictRawURL.DecodeString(p); err != nil {
			return false
		}
	}
	return true
}
