package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Signing is done here rather than through go-jose's Signer: a token's
// protected header is the same for every token of a key and typ, so it is
// encoded once (header), and the signing input, signature and compact
// serialization (RFC 7515 §7.1) are appended into one buffer. go-jose
// marshals the header through a map with reflection on every call and
// copies the parts several times, about a third of the token endpoint's
// allocations. Verification stays with go-jose.

// header returns the base64url protected header of the key's tokens of
// typ, made once per typ: {"alg":…,"kid":…,"typ":…} (typ left out when
// empty), the members in the order go-jose writes them.
func (a *activeKey) header(typ string) (string, error) {
	if h, ok := a.headers.Load(typ); ok {
		return h.(string), nil
	}
	h := struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ,omitempty"`
	}{a.alg, a.kid, typ}
	b, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("header for key %s: %w", a.kid, err)
	}
	actual, _ := a.headers.LoadOrStore(typ, base64.RawURLEncoding.EncodeToString(b))
	return actual.(string), nil
}

// signCompact returns header.payload.signature, payload and signature
// base64url encoded.
func (a *activeKey) signCompact(header string, payload []byte) (string, error) {
	enc := base64.RawURLEncoding
	b := make([]byte, 0, len(header)+1+enc.EncodedLen(len(payload))+1+enc.EncodedLen(a.sigLen))
	b = append(b, header...)
	b = append(b, '.')
	b = enc.AppendEncode(b, payload)
	sig, err := a.signature(b)
	if err != nil {
		return "", fmt.Errorf("sign with key %s: %w", a.kid, err)
	}
	b = append(b, '.')
	b = enc.AppendEncode(b, sig)
	return string(b), nil
}

// signature signs the JWS signing input with the key's algorithm
// (RFC 7518 §3.3, §3.4; RFC 8037 §3.1).
func (a *activeKey) signature(input []byte) ([]byte, error) {
	switch k := a.priv.(type) {
	case *ecdsa.PrivateKey:
		digest := sha256.Sum256(input)
		der, err := ecdsa.SignASN1(rand.Reader, k, digest[:])
		if err != nil {
			return nil, err
		}
		return rawECDSA(der, a.sigLen/2)
	case ed25519.PrivateKey:
		return ed25519.Sign(k, input), nil
	case *rsa.PrivateKey:
		digest := sha256.Sum256(input)
		return rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:])
	}
	return nil, fmt.Errorf("unsupported key type %T", a.priv)
}

// sigLen returns the length of priv's JWS signatures.
func sigLen(priv crypto.Signer) int {
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		return 2 * ((k.Curve.Params().BitSize + 7) / 8)
	case ed25519.PrivateKey:
		return ed25519.SignatureSize
	case *rsa.PrivateKey:
		return k.Size()
	}
	return 0
}

// rawECDSA turns an ASN.1 ECDSA signature into the JWS form: R and S as
// unsigned big-endian integers of size bytes each, concatenated (RFC 7518
// §3.4).
func rawECDSA(der []byte, size int) ([]byte, error) {
	var r, s []byte
	var inner cryptobyte.String
	in := cryptobyte.String(der)
	if !in.ReadASN1(&inner, asn1.SEQUENCE) || !in.Empty() ||
		!inner.ReadASN1Integer(&r) || !inner.ReadASN1Integer(&s) || !inner.Empty() {
		return nil, errors.New("malformed ECDSA signature")
	}
	out := make([]byte, 2*size)
	for i, v := range [][]byte{r, s} {
		for len(v) > 0 && v[0] == 0 {
			v = v[1:]
		}
		if len(v) > size {
			return nil, errors.New("ECDSA signature value too large")
		}
		copy(out[(i+1)*size-len(v):(i+1)*size], v)
	}
	return out, nil
}
