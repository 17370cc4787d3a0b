package clienthash_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/clienthash"
)

type vectors struct {
	Password []struct {
		Note            string `json:"note"`
		PasswordUTF8Hex string `json:"password_utf8_hex"`
		Salt            string `json:"salt"`
		Iterations      int    `json:"iterations"`
		P               string `json:"P"`
	} `json:"password"`
	ClientSecret []struct {
		ClientID string `json:"client_id"`
		S        string `json:"S"`
		W        string `json:"W"`
		V        string `json:"V"`
	} `json:"client_secret"`
}

// sharedVectors is where the normative vectors sit when the repository is
// checked out beside them; testdata/vectors.json is this repository's copy
// (docs/client-side-hashing.md).
var sharedVectors = filepath.Join("..", "..", "shared", "vectors", "client-side-hashing.json")

func load(t *testing.T, path string) vectors {
	t.Helper()
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && path == sharedVectors {
		// The copy in testdata still runs; TestVectorCopyIsCurrent keeps
		// it identical whenever the shared file is there.
		t.Skipf("normative vectors not found at %s (they sit in shared/ beside the repository)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Password) == 0 || len(v.ClientSecret) == 0 {
		t.Fatalf("%s holds no vectors", path)
	}
	return v
}

func TestVectors(t *testing.T) {
	for _, path := range []string{filepath.Join("testdata", "vectors.json"), sharedVectors} {
		t.Run(path, func(t *testing.T) {
			v := load(t, path)
			for _, pv := range v.Password {
				pw, err := hex.DecodeString(pv.PasswordUTF8Hex)
				if err != nil {
					t.Fatal(err)
				}
				got, err := clienthash.LoginPassword(string(pw), clienthash.LoginParams{KDF: clienthash.KDFPBKDF2SHA256, Iterations: pv.Iterations, Salt: pv.Salt})
				if err != nil {
					t.Fatal(err)
				}
				if got != pv.P {
					t.Errorf("%s: P = %s, want %s", pv.Note, got, pv.P)
				}
			}
			for _, cv := range v.ClientSecret {
				w, err := clienthash.WireSecret(cv.S, cv.ClientID)
				if err != nil {
					t.Fatal(err)
				}
				if w != cv.W {
					t.Errorf("%s: W = %s, want %s", cv.ClientID, w, cv.W)
				}
				vv, err := clienthash.VerifierFor(cv.S, cv.ClientID)
				if err != nil {
					t.Fatal(err)
				}
				if vv != cv.V {
					t.Errorf("%s: V = %s, want %s", cv.ClientID, vv, cv.V)
				}
			}
		})
	}
}

// The copy in testdata must not drift from the normative file.
func TestVectorCopyIsCurrent(t *testing.T) {
	shared, err := os.ReadFile(sharedVectors)
	if err != nil {
		t.Skipf("normative vectors not found: %v", err)
	}
	local, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shared, local) {
		t.Fatal("testdata/vectors.json differs from ../shared/vectors/client-side-hashing.json: copy it again")
	}
}

func TestPasswordSetting(t *testing.T) {
	s, err := clienthash.NewPasswordSetting("pässword", "pässword", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if s.KDF != clienthash.KDFPBKDF2SHA256 || s.Iterations != 1000 || len(s.Salt) != 22 || len(s.Hash) != 43 || s.Hash != s.Confirmation {
		t.Fatalf("unexpected setting %+v", s)
	}
	login, err := clienthash.LoginPassword("pa\u0308ssword", clienthash.LoginParams{KDF: s.KDF, Iterations: s.Iterations, Salt: s.Salt})
	if err != nil {
		t.Fatal(err)
	}
	if login != s.Hash {
		t.Fatal("NFD input must derive the same P as NFC")
	}
	typo, err := clienthash.NewPasswordSetting("password", "passwrod", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if typo.Hash == typo.Confirmation {
		t.Fatal("a mistyped confirmation must differ")
	}
	other, _ := clienthash.NewPasswordSetting("pässword", "pässword", 1000)
	if other.Salt == s.Salt {
		t.Fatal("salts must be random")
	}
}

func TestDecodeIsStrict(t *testing.T) {
	for _, in := range []string{"AA==", "A+B/", "A A", "!"} {
		if _, err := clienthash.Decode(in); err == nil {
			t.Errorf("Decode(%q) accepted", in)
		}
	}
	if _, err := clienthash.LoginPassword("x", clienthash.LoginParams{KDF: "md5", Iterations: 1, Salt: "AA"}); err == nil {
		t.Error("unknown KDF accepted")
	}
}

// The JavaScript module reproduces the same vectors under Node's test
// runner.
func TestJavaScriptModule(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed: the JavaScript module is not tested")
	}
	out, err := exec.Command(node, "--test", filepath.Join("js", "clienthash.test.mjs")).CombinedOutput()
	if err != nil {
		t.Fatalf("node --test failed: %v\n%s", err, out)
	}
}
