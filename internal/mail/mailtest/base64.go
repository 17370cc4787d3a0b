package mailtest

import (
	"encoding/base64"
	"io"
	"strings"
)

// newBase64Reader decodes a base64 body broken into lines.
func newBase64Reader(r io.Reader) io.Reader {
	b, err := io.ReadAll(r)
	if err != nil {
		return errReader{err}
	}
	clean := strings.Join(strings.Fields(string(b)), "")
	return base64.NewDecoder(base64.StdEncoding, strings.NewReader(clean))
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
