package admin

import (
	"encoding/json"
	"strings"
)

// storableJSON reports whether every string and member name of the JSON
// document raw is text PostgreSQL's jsonb accepts: it refuses \u0000,
// unpaired surrogate escapes and invalid UTF-8, which would otherwise
// fail the write with a 500. Decoded, NUL stays U+0000 and the other two
// become U+FFFD, which no JSON Web Key Set has reason to hold.
func storableJSON(raw []byte) bool {
	var v any
	return json.Unmarshal(raw, &v) == nil && storableValue(v)
}

func storableValue(v any) bool {
	switch v := v.(type) {
	case string:
		return !strings.ContainsAny(v, "\x00\uFFFD")
	case []any:
		for _, e := range v {
			if !storableValue(e) {
				return false
			}
		}
	case map[string]any:
		for k, e := range v {
			if !storableValue(k) || !storableValue(e) {
				return false
			}
		}
	}
	return true
}
