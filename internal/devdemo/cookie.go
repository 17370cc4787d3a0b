package devdemo

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// flowState is what /dev/start remembers for /dev/callback: the values
// the callback must find again (state, nonce) and the PKCE verifier that
// redeems the code. It travels in an HttpOnly cookie, signed so that
// neither the browser nor anyone who can set cookies on the issuer's host
// can choose it.
type flowState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Expires  int64  `json:"e"` // Unix seconds
}

// errBadCookie means the flow cookie is missing, forged or expired: the
// callback does not belong to a sign-in this browser started here.
var errBadCookie = errors.New("devdemo: no valid flow cookie")

// sealer signs and checks flow cookies with a key that lives as long as
// the process: a restart ends the sign-ins in progress, which is fine for
// a dev-only page.
type sealer struct{ key []byte }

func newSealer() (sealer, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return sealer{}, err
	}
	return sealer{key: k}, nil
}

// seal encodes f as payload.mac, both base64url.
func (s sealer) seal(f flowState) (string, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + base64.RawURLEncoding.EncodeToString(s.mac(p)), nil
}

// open checks v's MAC in constant time and its expiry at now, and returns
// the flow; any failure is errBadCookie.
func (s sealer) open(v string, now time.Time) (flowState, error) {
	p, m, ok := strings.Cut(v, ".")
	if !ok {
		return flowState{}, errBadCookie
	}
	mac, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil || !hmac.Equal(mac, s.mac(p)) {
		return flowState{}, errBadCookie
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return flowState{}, errBadCookie
	}
	var f flowState
	if json.Unmarshal(b, &f) != nil || f.State == "" || f.Nonce == "" || f.Verifier == "" || now.Unix() >= f.Expires {
		return flowState{}, errBadCookie
	}
	return f, nil
}

func (s sealer) mac(payload string) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte("gatehouse-devdemo-flow\x00" + payload))
	return h.Sum(nil)
}

// randomValue returns 32 random bytes, base64url: a state or a nonce.
func randomValue() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
