package oauth

import (
	"encoding/json"
	"strconv"
)

// The token endpoint writes two JSON documents per request, the access
// token's claims and the response; encoding/json spends most of its time
// on them in reflection (a custom marshaller for aud, a map for the
// response). They are appended by hand here, byte for byte what
// encoding/json writes (jsonenc_test.go compares the two).

// appendJSONString appends s as encoding/json writes a string, HTML
// escaping included. Plain printable ASCII, what issuers, ids, scopes and
// tokens nearly always are, is copied as it is; anything else goes
// through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSON appends the claims as json.Marshal(c) writes them.
func (c *accessClaims) appendJSON(b []byte) []byte {
	b = append(b, `{"iss":`...)
	b = appendJSONString(b, c.Issuer)
	b = append(b, `,"sub":`...)
	b = appendJSONString(b, c.Subject)
	b = append(b, `,"aud":`...)
	switch {
	case len(c.Audience) == 1:
		b = appendJSONString(b, c.Audience[0])
	case c.Audience == nil:
		b = append(b, "null"...)
	default:
		b = append(b, '[')
		for i, a := range c.Audience {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, a)
		}
		b = append(b, ']')
	}
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, c.Expiry, 10)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, c.IssuedAt, 10)
	if c.IssuedAtMicros != 0 {
		b = append(b, `,"iat_us":`...)
		b = strconv.AppendInt(b, c.IssuedAtMicros, 10)
	}
	b = append(b, `,"jti":`...)
	b = appendJSONString(b, c.JTI)
	b = append(b, `,"client_id":`...)
	b = appendJSONString(b, c.ClientID)
	b = append(b, `,"scope":`...)
	b = appendJSONString(b, c.Scope)
	b = append(b, `,"gty":`...)
	b = appendJSONString(b, c.Grant)
	if c.Locale != "" {
		b = append(b, `,"locale":`...)
		b = appendJSONString(b, c.Locale)
	}
	if c.SessionID != "" {
		b = append(b, `,"sid":`...)
		b = appendJSONString(b, c.SessionID)
	}
	if c.Context != "" {
		b = append(b, `,"context":`...)
		b = appendJSONString(b, c.Context)
	}
	return append(b, '}')
}

// tokenResponseMembers are the members a successful token response can
// have (RFC 6749 §5.1, OIDC Core §3.1.3.3), sorted as encoding/json sorts
// a map's keys.
var tokenResponseMembers = [...]string{"access_token", "expires_in", "id_token", "refresh_token", "scope", "token_type"}

// appendTokenResponse appends m, fosite's response map, as json.Marshal(m)
// writes it. ok is false, and b unchanged, when m holds a member or a value
// type it does not know: the caller then uses encoding/json.
func appendTokenResponse(b []byte, m map[string]any) (_ []byte, ok bool) {
	start, n := len(b), 0
	b = append(b, '{')
	for _, k := range tokenResponseMembers {
		v, found := m[k]
		if !found {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":`...)
		switch v := v.(type) {
		case string:
			b = appendJSONString(b, v)
		case int64:
			b = strconv.AppendInt(b, v, 10)
		default:
			return b[:start], false
		}
	}
	if n != len(m) {
		return b[:start], false
	}
	return append(b, '}'), true
}
