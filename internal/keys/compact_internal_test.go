package keys

import (
	"bytes"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// der builds an ASN.1 ECDSA signature from R and S as big-endian bytes.
func der(r, s []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, v := range [][]byte{r, s} {
			b.AddASN1(asn1.INTEGER, func(b *cryptobyte.Builder) {
				if len(v) == 0 || v[0]&0x80 != 0 {
					b.AddUint8(0) // positive: a leading zero octet
				}
				b.AddBytes(v)
			})
		}
	})
	return b.BytesOrPanic()
}

// A JWS ECDSA signature is R and S left-padded to the curve size (RFC 7518
// §3.4), whatever length their ASN.1 encoding has.
func TestRawECDSA(t *testing.T) {
	full := bytes.Repeat([]byte{0xff}, 32)
	short := []byte{0x01, 0x02}
	cases := []struct {
		name string
		r, s []byte
		want []byte
	}{
		{"full width, sign octet", full, full, append(bytes.Clone(full), full...)},
		{"short values padded", short, []byte{0x7f}, append(append(make([]byte, 30), short...), append(make([]byte, 31), 0x7f)...)},
		{"zero", []byte{0}, full, append(make([]byte, 32), full...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := rawECDSA(der(tc.r, tc.s), 32)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("got %x, want %x", got, tc.want)
			}
		})
	}
	for name, bad := range map[string][]byte{
		"too large":      der(bytes.Repeat([]byte{1}, 33), short),
		"trailing bytes": append(der(short, short), 0),
		"not a sequence": {0x02, 0x01, 0x01},
		"empty":          nil,
	} {
		if _, err := rawECDSA(bad, 32); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
