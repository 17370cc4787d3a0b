package oauth

import (
	"encoding/json"
	"reflect"
	"testing"
)

// awkward holds what appendJSONString must not copy as it is.
var awkward = []string{"", "plain", `q"uote`, `back\slash`, "<script>&", "tab\tnew\nline\x00", "ünïcödé", "\u2028\u2029", "del\x7f", "bad utf-8 \xff"}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range awkward {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	}
}

func TestAccessClaimsAppendJSONMatchesEncodingJSON(t *testing.T) {
	full := accessClaims{Issuer: "https://id.example", Subject: "u-1", Audience: audience{"https://id.example"},
		Expiry: 1_900_000_900, IssuedAt: 1_900_000_000, IssuedAtMicros: 123_456, JTI: "j", ClientID: "c",
		Scope: "users-read openid", Grant: grantPassword, Locale: "en", SessionID: "f", Context: "acme.app-1"}
	// Every field set: a claim added to the struct but not to appendJSON
	// makes this case fail.
	v := reflect.ValueOf(full)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("the full case leaves %s unset", v.Type().Field(i).Name)
		}
	}
	cases := []accessClaims{full, {}, {Audience: audience{}}, {Audience: audience{"a", "b"}, Grant: grantClientCredentials}}
	for _, s := range awkward {
		c := full
		c.Issuer, c.Subject, c.Audience, c.ClientID, c.Scope, c.Locale, c.SessionID, c.Context = s, s, audience{s, s}, s, s, s, s, s
		cases = append(cases, c)
	}
	for _, c := range cases {
		want, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.appendJSON(nil); string(got) != string(want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

func TestAppendTokenResponseMatchesEncodingJSON(t *testing.T) {
	cases := []map[string]any{
		{"access_token": "a.b.c", "token_type": "bearer", "expires_in": int64(900), "scope": "users-read"},
		{"access_token": "a.b.c", "token_type": "bearer", "expires_in": int64(-1), "scope": "", "refresh_token": "ghr_x", "id_token": "i.d.t"},
		{"access_token": `<"&>`, "token_type": "bearer"},
	}
	for _, m := range cases {
		want, _ := json.Marshal(m)
		got, ok := appendTokenResponse([]byte("prefix"), m)
		if !ok || string(got) != "prefix"+string(want) {
			t.Errorf("got %s (%v), want prefix%s", got, ok, want)
		}
	}
	// Anything else is left to encoding/json.
	for _, m := range []map[string]any{
		{"access_token": "a", "token_type": "bearer", "issued_token_type": "x"},
		{"access_token": "a", "token_type": "bearer", "expires_in": 900},
	} {
		if got, ok := appendTokenResponse([]byte("prefix"), m); ok || string(got) != "prefix" {
			t.Errorf("%v: got %s, %v; want it refused", m, got, ok)
		}
	}
}
