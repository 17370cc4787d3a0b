package admin

import (
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/language"

	"github.com/gatehouse/gatehouse/storage"
)

// Size limits of management API input.
const (
	maxNameLen        = 64  // resource names, group names, usernames
	maxDescriptionLen = 512 // descriptions, display names
	maxEmailLen       = 254 // RFC 5321 path limit
	maxListItems      = 100 // resources of a group, groups of a user, scopes of a client
)

// resourceName is an OAuth scope-token (RFC 6749 §3.3), which is what a
// resource travels as.
var resourceName = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)

func validateResourceName(field, name string) error {
	if name == "" || len(name) > maxNameLen || !resourceName.MatchString(name) {
		return invalidField(field, "A resource name is 1 to 64 characters of OAuth scope syntax (printable ASCII without space, \" and \\).")
	}
	// context:<id> is the scope that selects a token's context
	// (docs/contexts.md): a resource of that form would read as one.
	if strings.HasPrefix(name, "context:") {
		return invalidField(field, "Names starting with context: are reserved for the context selector.")
	}
	return nil
}

func validateResourceNames(field string, names []string) error {
	if len(names) > maxListItems {
		return invalidField(field, "Too many resources.")
	}
	for _, n := range names {
		if err := validateResourceName(field, n); err != nil {
			return err
		}
	}
	return nil
}

// usernamePattern allows letters, digits and a few separators; no spaces,
// no control or confusable punctuation, so that usernames are safe in
// logs, URLs and Basic headers.
var usernamePattern = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N}._@+-]*$`)

func validateUsername(u string) error {
	if u == "" || utf8.RuneCountInString(u) > maxNameLen || !usernamePattern.MatchString(u) {
		return invalidField("username", "A username is 1 to 64 letters, digits or . _ @ + -, starting with a letter or digit.")
	}
	if _, err := storage.CanonicalUsername(u); err != nil {
		return invalidUsername(err)
	}
	return nil
}

func validateEmail(e string) error {
	if e == "" {
		return nil
	}
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || len(e) > maxEmailLen {
		return invalidField("email", "The email must be a plain address such as user@example.com.")
	}
	return nil
}

// validateText checks a free-text field: bounded, valid UTF-8, no control
// characters.
func validateText(field, s string, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return invalidField(field, "The field "+field+" is required.")
	}
	if len(s) > maxDescriptionLen || !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return invalidField(field, "The field "+field+" must be at most 512 bytes of text without control characters.")
	}
	return nil
}

// canonicalLanguage validates a BCP 47 tag and returns its canonical form
// (de-at → de-AT).
// languageCodePattern is the shape the schema accepts for a language code.
var languageCodePattern = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`)

func canonicalLanguage(field, code string) (string, error) {
	if code == "" || len(code) > 35 {
		return "", invalidField(field, "A language code is a BCP 47 tag such as en or de-AT.")
	}
	tag, err := language.Parse(code)
	// A tag must start with a language subtag, as typed and as stored:
	// private-use ("x-…") and irregular grandfathered ("i-…") tags, and
	// "und", name no language a user speaks (x/text rewrites some of them
	// into "und-x-…" or "en-x-i-…"), and the schema refuses the first.
	canonical := ""
	if err == nil {
		canonical = tag.String()
	}
	if err != nil || !languageCodePattern.MatchString(code) || !languageCodePattern.MatchString(canonical) ||
		canonical == "und" || strings.HasPrefix(canonical, "und-") || strings.Contains(canonical, "-x-i-") {
		return "", invalidField(field, "A language code is a BCP 47 tag such as en or de-AT.")
	}
	return canonical, nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// isID reports whether s is a UUID in its one canonical spelling (lower
// case, hyphenated). Other spellings PostgreSQL would accept (no hyphens,
// braces, upper case) are not ids here: one entity has one id, in the
// audit log as in every answer.
func isID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}
