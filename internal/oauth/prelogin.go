package oauth

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/storage"
)

// maxUsernameLen bounds the username accepted by prelogin; longer names
// cannot exist, and the bound keeps the fake-salt HMAC cheap.
const maxUsernameLen = 256

// handlePrelogin tells a client how to derive a user's password hash:
// the client-side KDF, its iterations and salt. For an unknown user, one
// without a password, or a name that cannot be a username, it makes up an
// answer: the configured iterations and a salt derived from a server
// secret and the canonical username. Every stored password has exactly
// those iterations (unless the setting changed since it was set, see
// docs/client-side-hashing.md) and a salt of the same length, so the
// answer is the same shape for a real user and an unknown name, and the
// same for every spelling of one name and every request.
func (p *Provider) handlePrelogin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		p.writeError(ctx, w, &oauthError{Code: "invalid_request", Status: http.StatusMethodNotAllowed,
			Description: "The prelogin endpoint accepts POST only."})
		return
	}
	username, err := preloginUsername(r)
	if err != nil {
		p.writeError(ctx, w, err)
		return
	}
	canonical, err := storage.CanonicalUsername(username)
	if err != nil {
		// No account can have this name: made up like an unknown one,
		// keyed by the name as given.
		writeJSON(w, p.madeUpLoginParams(username))
		return
	}
	u, err := p.opts.Store.GetUserByUsername(ctx, p.opts.Realm, canonical)
	switch {
	case err == nil && u.Password != nil:
		writeJSON(w, clienthash.LoginParams{KDF: u.Password.KDF, Iterations: u.Password.Iterations, Salt: clienthash.Encode(u.Password.Salt)})
	case err == nil || errors.Is(err, storage.ErrNotFound):
		writeJSON(w, p.madeUpLoginParams(canonical))
	default:
		p.writeError(ctx, w, err)
	}
}

// madeUpLoginParams is prelogin's answer for a name without a password.
func (p *Provider) madeUpLoginParams(name string) clienthash.LoginParams {
	return clienthash.LoginParams{
		KDF:        clienthash.KDFPBKDF2SHA256,
		Iterations: p.opts.PasswordIterations,
		Salt:       clienthash.Encode(p.opts.Salter.FakeSalt(p.opts.Realm, name)),
	}
}

// preloginUsername reads the username from a form or JSON body.
func preloginUsername(r *http.Request) (string, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var username string
	if mt == "application/json" {
		var body struct {
			Username string `json:"username"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			return "", invalidRequest("The body must be a JSON object with a username.")
		}
		username = body.Username
	} else {
		form, err := parseForm(r)
		if err != nil {
			return "", err
		}
		username = form.Get("username")
	}
	if username == "" || len(username) > maxUsernameLen {
		return "", invalidRequest("The username parameter is missing or too long.")
	}
	return username, nil
}
