package signin

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/clienthash"
)

//go:embed web/assets
var assetFS embed.FS

// assetsPath is where the router serves the static assets.
const assetsPath = "/assets/"

// Cache lifetimes of assets. A versioned URL names its content (the hash
// is in the name), so it can be cached for a year and never revalidated
// (RFC 8246 immutable); an unversioned URL is revalidated every time with
// its ETag, so a new release is seen at once.
const (
	cacheVersioned   = "public, max-age=31536000, immutable"
	cacheUnversioned = "no-cache"
)

// asset is one static file, held in memory.
type asset struct {
	name      string // as in web/assets, e.g. login.mjs
	versioned string // name with a content hash, e.g. login.0123456789ab.mjs
	etag      string // strong ETag (RFC 9110 §8.8.3) over the content
	ctype     string
	body      []byte
}

// assetSet is every asset by the names it is served under.
type assetSet struct {
	byName map[string]*asset // the plain names
	byPath map[string]*asset // plain and versioned names
}

var contentTypes = map[string]string{
	".mjs": "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".svg": "image/svg+xml",
}

// sharedAssets are assets that live elsewhere in the repository: the
// client-side hashing module is clienthash's, so the page runs exactly
// the code its vectors test (docs/client-side-hashing.md).
var sharedAssets = map[string][]byte{
	"gatehouse-clienthash.mjs": clienthash.JSModule,
}

// importRewrites are the references between assets that must name the
// versioned file, or a cached login.mjs would load a stale module. Keys
// are assets, values the assets they reference; referenced files are
// loaded first.
var importRewrites = map[string][]string{
	"login.mjs":   {"gatehouse-clienthash.mjs"},
	"account.mjs": {"gatehouse-clienthash.mjs"},
}

// loadAssets reads the embedded assets, rewriting each reference listed
// in importRewrites to the referenced file's versioned name.
func loadAssets() (*assetSet, error) {
	entries, err := assetFS.ReadDir("web/assets")
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries)+len(sharedAssets))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	for name := range sharedAssets {
		names = append(names, name)
	}
	s := &assetSet{byName: map[string]*asset{}, byPath: map[string]*asset{}}
	// Two passes: files that reference others are read after the rest.
	for _, pass := range []bool{false, true} {
		for _, name := range names {
			if _, refs := importRewrites[name]; refs != pass {
				continue
			}
			if err := s.add(name); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

func (s *assetSet) add(name string) error {
	ext := path.Ext(name)
	ctype, ok := contentTypes[ext]
	if !ok {
		return fmt.Errorf("signin: asset %s: unknown type", name)
	}
	body, shared := sharedAssets[name]
	if !shared {
		var err error
		if body, err = assetFS.ReadFile("web/assets/" + name); err != nil {
			return err
		}
	}
	for _, ref := range importRewrites[name] {
		dep, ok := s.byName[ref]
		if !ok {
			return fmt.Errorf("signin: asset %s references %s, which is missing", name, ref)
		}
		old := []byte("'./" + ref + "'")
		if !bytes.Contains(body, old) {
			return fmt.Errorf("signin: asset %s does not import %s as %s", name, ref, old)
		}
		body = bytes.ReplaceAll(body, old, []byte("'./"+dep.versioned+"'"))
	}
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:6])
	a := &asset{
		name:      name,
		versioned: strings.TrimSuffix(name, ext) + "." + h + ext,
		etag:      `"` + hex.EncodeToString(sum[:16]) + `"`,
		ctype:     ctype,
		body:      body,
	}
	s.byName[name] = a
	s.byPath[name] = a
	s.byPath[a.versioned] = a
	return nil
}

// handleAsset serves an asset from memory. http.ServeContent answers
// If-None-Match with 304 when it matches the ETag set here, and HEAD and
// Range requests, as RFC 9110 requires.
func (p *Pages) handleAsset(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, assetsPath)
	a, ok := p.assets.byPath[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	// An asset opened on its own (the SVG is then a document) may load
	// and run nothing.
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if name == a.versioned {
		h.Set("Cache-Control", cacheVersioned)
	} else {
		h.Set("Cache-Control", cacheUnversioned)
	}
	// No Last-Modified: the ETag is the validator.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// AssetURL returns the versioned URL of the asset name, as pages link to
// it (also the dev demo pages of internal/devdemo, which share the
// stylesheet).
// An unknown name is a template defect: it returns an error, so the
// template fails in the tests rather than linking to nothing.
func (p *Pages) AssetURL(name string) (string, error) {
	a, ok := p.assets.byName[name]
	if !ok {
		return "", fmt.Errorf("signin: no asset %q", name)
	}
	return p.base + assetsPath + a.versioned, nil
}
