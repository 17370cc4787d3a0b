package oauth

import (
	"strconv"
)

// strconvQuote quotes a client-supplied name for an error description,
// escaping anything unprintable so that it cannot forge log or JSON
// structure.
func strconvQuote(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strconv.Quote(s)
}
