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
// the client-side KDF, its iterations and salt. For an unknown user, or
// one without a password, it answers a salt derived from a server secret
// and the username, with default iterations: stable across calls and
// shaped like a real answer, so that prelogin does not reveal which
// usernames exist.
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
	params := clienthash.LoginParams{
		KDF: clienthash.KDFPBKDF2SHA256,
		// What a real user would have at least: a smaller count than the
		// configured minimum would mark the answer as made up.
		Iterations: max(clienthash.DefaultIterations, p.opts.MinPasswordIterations),
		Salt:       clienthash.Encode(p.opts.Salter.FakeSalt(p.opts.Realm, username)),
	}
	u, err := p.opts.Store.GetUserByUsername(ctx, p.opts.Realm, username)
	switch {
	case err == nil && u.Password != nil:
		params = clienthash.LoginParams{KDF: u.Password.KDF, Iterations: u.Password.Iterations, Salt: clienthash.Encode(u.Password.Salt)}
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		p.writeError(ctx, w, err)
		return
	}
	writeJSON(w, params)
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
