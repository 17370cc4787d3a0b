package admin

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxFilterLen bounds a text filter of a list: longer than any username,
// email or id the API stores, so a longer one could never match.
const maxFilterLen = 512

// queryText returns the query parameter field, a text filter of a list.
// Values no stored entity can hold (invalid UTF-8, control characters such
// as NUL, which PostgreSQL text rejects) answer 400 naming the field
// instead of reaching a backend.
func queryText(q url.Values, field string) (string, error) {
	s := q.Get(field)
	if len(s) > maxFilterLen || !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", invalidField(field, field+" must be at most 512 bytes of text without control characters.")
	}
	return s, nil
}

// queryID returns the query parameter field, which holds a UUID in its
// canonical spelling when given (openapi.yaml: format uuid; see isID).
func queryID(q url.Values, field, what string) (string, error) {
	s := q.Get(field)
	if s != "" && !isID(s) {
		return "", invalidField(field, field+" is "+what+" id.")
	}
	return s, nil
}
