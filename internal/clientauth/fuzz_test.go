package clientauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	gjson "github.com/go-jose/go-jose/v4/json"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/clientauth"
	"github.com/gatehouse/gatehouse/storage"
)

// Fuzz targets of client authentication. Each builds its memory store
// once; the seeds run with every go test (docs/testing.md).

// requireAuthError fails unless err is one of the two errors client
// authentication may end in on a store that always answers.
func requireAuthError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("authenticated")
	}
	if !errors.Is(err, clientauth.ErrInvalidClient) && !errors.Is(err, clientauth.ErrInvalidRequest) {
		t.Fatalf("error of another kind: %v", err)
	}
}

// FuzzBasicHeader parses any Authorization header as client_secret_basic:
// what parses has a client_id and reads back the same when encoded again
// (RFC 6749 §2.3.1: form-urlencoded id and secret), and only the client's
// own id and W authenticate.
func FuzzBasicHeader(f *testing.F) {
	e := newEnv(f)
	const id = "svc:reports/v2"
	w, v := e.newWire(id)
	e.client(id, storage.AuthMethodSecretBasic, [][]byte{v})
	a := e.authenticator(false)
	for _, h := range []string{
		basic(id, w), basic("app", w), "basic " + base64.StdEncoding.EncodeToString([]byte("svc%3Areports%2Fv2:"+w)),
		"Basic   " + base64.StdEncoding.EncodeToString([]byte("a:b")), rawBasic("a+b:c%20d"), rawBasic("%zz:x"), rawBasic(":x"),
		rawBasic("a"), rawBasic("a:b:c"), "Basic YQ", "Basic YQ==", "Basic YR==", "Bearer x", "Basic", "", rawBasic("\x00:\xff"),
	} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, header string) {
		gotID, gotSecret, err := clientauth.ParseBasic(header)
		if err != nil {
			if !errors.Is(err, clientauth.ErrInvalidClient) {
				t.Fatalf("parse error of another kind: %v", err)
			}
		} else {
			if gotID == "" {
				t.Fatal("parsed an empty client_id")
			}
			id2, secret2, err := clientauth.ParseBasic(basic(gotID, gotSecret))
			if err != nil || id2 != gotID || secret2 != gotSecret {
				t.Fatalf("(%q, %q) reads back as (%q, %q, %v)", gotID, gotSecret, id2, secret2, err)
			}
		}
		hr, form := request{authz: []string{header}}.http()
		res, err := a.Authenticate(context.Background(), hr, form)
		if err == nil {
			if gotID != id || gotSecret != w || res.Client.ClientID != id || res.Method != storage.AuthMethodSecretBasic {
				t.Fatalf("header %q authenticated %q by %s", header, res.Client.ClientID, res.Method)
			}
			return
		}
		requireAuthError(t, err)
	})
}

// FuzzBasicRoundTrip encodes any client_id and secret as RFC 6749 §2.3.1
// says and parses them back unchanged.
func FuzzBasicRoundTrip(f *testing.F) {
	for _, s := range [][2]string{{"app", "secret"}, {"svc:reports/v2", "a+b c%"}, {"ü", ":"}, {"", "x"}, {"\x00\xff", "\r\n"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, id, secret string) {
		gotID, gotSecret, err := clientauth.ParseBasic(basic(id, secret))
		switch {
		case id == "" && err == nil:
			t.Fatal("an empty client_id parsed")
		case id != "" && (err != nil || gotID != id || gotSecret != secret):
			t.Fatalf("(%q, %q) reads back as (%q, %q, %v)", id, secret, gotID, gotSecret, err)
		}
	})
}

// assertionForm is a private_key_jwt request with assertion.
func assertionForm(assertion string) request {
	return request{form: url.Values{"client_assertion_type": {clientauth.AssertionType}, "client_assertion": {assertion}}}
}

// FuzzClientAssertion presents any string as a private_key_jwt assertion:
// none authenticates, and none panics. The seeds are near misses: signed
// by a key the client did not register, with alg none or HS256 keyed with
// the public key, or in shapes go-jose must refuse.
func FuzzClientAssertion(f *testing.F) {
	e := newEnv(f)
	fx := newAssertionFixture(e)
	a := e.authenticator(false)
	stranger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	good := fx.sign(f, fx.es, "es1", fx.claims("jwt-es"))
	dot := strings.LastIndexByte(good, '.')
	pub := marshal(f, jose.JSONWebKey{Key: fx.es.Public()})
	for _, s := range []string{
		fx.sign(f, stranger, "es1", fx.claims("jwt-es")),
		fx.sign(f, stranger, "", fx.claims("jwt-ed")),
		signWith(f, jose.HS256, []byte(pub), "es1", fx.claims("jwt-mixed")),
		signWith(f, jose.HS256, fx.octKey, "es1", fx.claims("jwt-mixed")),
		good[:dot+1], good[:dot], good[:dot+1] + strings.Repeat("A", 86), good + ".x",
		"eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"jwt-es","sub":"jwt-es"}`)) + ".",
		"a.b.c.d.e", `{"payload":"e30","signatures":[]}`, "", strings.Repeat(".", 3),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, assertion string) {
		hr, form := assertionForm(assertion).http()
		_, err := a.Authenticate(context.Background(), hr, form)
		requireAuthError(t, err)
	})
}

// FuzzClientAssertionClaims signs any payload with the key jwt-es
// registered: an assertion authenticates only if its claims, as go-jose
// reads them, meet RFC 7523 §3 as this server applies it (iss = sub =
// client_id, aud only the issuer or the token endpoint, exp within the
// allowed lifetime, a jti of at most 256 bytes).
func FuzzClientAssertionClaims(f *testing.F) {
	e := newEnv(f)
	fx := newAssertionFixture(e)
	a := e.authenticator(false)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: fx.es, KeyID: "es1"}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	now := e.clock.Now().Unix()
	for _, s := range []string{
		fmt.Sprintf(`{"iss":"jwt-es","sub":"jwt-es","aud":%q,"jti":"a","exp":%d}`, issuer, now+60),
		fmt.Sprintf(`{"iss":"jwt-es","sub":"jwt-es","aud":[%q,%q],"jti":"b","exp":%d,"iat":%d,"nbf":%d}`, issuer, tokenEndpoint, now+60, now, now),
		fmt.Sprintf(`{"iss":"jwt-es","sub":"jwt-es","aud":[%q,""],"jti":"c","exp":%d}`, issuer, now+60),
		fmt.Sprintf(`{"iss":"jwt-es","sub":"jwt-rs","aud":%q,"jti":"d","exp":%d}`, issuer, now+60),
		fmt.Sprintf(`{"iss":"jwt-es","sub":"jwt-es","aud":%q,"jti":"e","exp":1e300}`, issuer),
		fmt.Sprintf(`{"iss":"jwt-es","sub":"jwt-es","aud":%q,"jti":"f","exp":%d.999}`, issuer, now+300+30),
		fmt.Sprintf(`{"iss":"jwt-es","iss":"jwt-rs","sub":"jwt-es","aud":%q,"jti":"g","exp":%d}`, issuer, now+60),
		fmt.Sprintf(`{"ISS":"jwt-es","sub":"jwt-es","aud":%q,"jti":"h","exp":%d}`, issuer, now+60),
		`{}`, `[]`, `null`, `"x"`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		jws, err := signer.Sign([]byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		assertion, err := jws.CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		hr, form := assertionForm(assertion).http()
		res, err := a.Authenticate(context.Background(), hr, form)
		if err != nil {
			requireAuthError(t, err)
			return
		}
		var c jwt.Claims
		if err := gjson.Unmarshal([]byte(payload), &c); err != nil {
			t.Fatalf("authenticated with unreadable claims: %v", err)
		}
		if why := claimsProblem(c, e.clock.Now()); why != "" || res.Client.ClientID != "jwt-es" {
			t.Fatalf("authenticated %q although %s: %s", res.Client.ClientID, why, payload)
		}
	})
}

// claimsProblem says what is wrong with the claims of an assertion of
// jwt-es at now, or "".
func claimsProblem(c jwt.Claims, now time.Time) string {
	switch {
	case c.Issuer != "jwt-es" || c.Subject != "jwt-es":
		return "iss or sub is not the client"
	case len(c.Audience) == 0:
		return "no aud"
	case c.Expiry == nil:
		return "no exp"
	case c.ID == "" || len(c.ID) > 256:
		return "jti missing or too long"
	}
	for _, v := range c.Audience {
		if v != issuer && v != tokenEndpoint {
			return "aud names " + v
		}
	}
	exp := c.Expiry.Time()
	if exp.Before(now.Add(-30*time.Second)) || exp.After(now.Add(clientauth.DefaultMaxAssertionLifetime+30*time.Second)) {
		return "exp out of range"
	}
	return ""
}
