package admin

import (
	"context"
	"errors"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/storage"
)

// userInput is the body of user create and update. Pointers tell absent
// fields from empty ones: PATCH changes only what is given.
type userInput struct {
	Username    *string                     `json:"username"`
	Email       *string                     `json:"email"`
	DisplayName *string                     `json:"display_name"`
	Language    *string                     `json:"language"`
	Status      *string                     `json:"status"`
	Password    *clienthash.PasswordSetting `json:"password"`
	Groups      *[]string                   `json:"groups"`
}

// passwordInput is the client-side hashed password object
// (docs/client-side-hashing.md).
type passwordInput = clienthash.PasswordSetting

// userChange is validated input, with the password already hashed, ready
// to apply inside a store update without further I/O.
type userChange struct {
	in       userInput
	language string
	password *storage.PasswordVerifier
}

func (c userChange) apply(u *storage.User) {
	if c.in.Username != nil {
		u.Username = *c.in.Username
	}
	if c.in.Email != nil {
		// A new address is not verified until a link mailed there is
		// followed (docs/accounts.md).
		if *c.in.Email != u.Email {
			u.EmailVerified = false
		}
		u.Email = *c.in.Email
	}
	if c.in.DisplayName != nil {
		u.DisplayName = *c.in.DisplayName
	}
	if c.language != "" {
		u.Language = c.language
	}
	if c.in.Status != nil {
		u.Status = storage.Status(*c.in.Status)
	}
	if c.password != nil {
		u.Password = c.password
	}
}

// prepareUserChange validates in, resolves the language (the realm's
// default when creating without one) and hashes the password.
func (a *API) prepareUserChange(ctx context.Context, in userInput, create bool) (userChange, error) {
	c := userChange{in: in}
	if create && in.Username == nil {
		return c, invalidField("username", "The field username is required.")
	}
	if in.Username != nil {
		if err := validateUsername(*in.Username); err != nil {
			return c, err
		}
	}
	if in.Email != nil {
		if err := validateEmail(*in.Email); err != nil {
			return c, err
		}
	}
	if in.DisplayName != nil {
		if err := validateText("display_name", *in.DisplayName, false); err != nil {
			return c, err
		}
	}
	if in.Status != nil && !storage.Status(*in.Status).Valid() {
		return c, invalidField("status", "status is active or disabled.")
	}
	lang, err := a.resolveLanguage(ctx, in.Language, create)
	if err != nil {
		return c, err
	}
	c.language = lang
	if in.Password != nil {
		if c.password, err = a.hashPassword(ctx, *in.Password); err != nil {
			return c, err
		}
	}
	return c, nil
}

// resolveLanguage returns the canonical code of an existing language, or
// the realm's default when creating a user without one.
func (a *API) resolveLanguage(ctx context.Context, code *string, create bool) (string, error) {
	if code == nil {
		if !create {
			return "", nil
		}
		realm, err := a.opts.Store.GetRealm(ctx, a.opts.Realm)
		if err != nil {
			return "", err
		}
		return realm.DefaultLanguage, nil
	}
	canon, err := canonicalLanguage("language", *code)
	if err != nil {
		return "", err
	}
	l, err := a.opts.Store.GetLanguage(ctx, a.opts.Realm, canon)
	if isNotFound(err) {
		return "", withCause(semantic("missing-reference", "language", "The language "+canon+" does not exist."), err)
	}
	return l.Code, err
}

// hashPassword checks a client-side hashed password object and returns the
// verifier to store: the client's KDF parameters and argon2id of P.
func (a *API) hashPassword(ctx context.Context, in passwordInput) (*storage.PasswordVerifier, error) {
	v, err := a.opts.Hasher.NewVerifier(ctx, in, a.opts.PasswordIterations)
	var fe *credential.FieldError
	switch {
	case errors.Is(err, credential.ErrConfirmationMismatch):
		return nil, semantic("password-mismatch", "password.confirmation", "The password and its confirmation differ.")
	case errors.As(err, &fe) && fe.Policy:
		// Well-formed but not this server's parameters: every stored
		// password must look like prelogin's made-up answers.
		return nil, semantic("password-parameters", "password."+fe.Field,
			"The password object is not accepted: "+fe.Field+" "+fe.Reason+". See docs/client-side-hashing.md.")
	case errors.As(err, &fe):
		return nil, invalidField("password."+fe.Field, "The password object is invalid: "+fe.Reason+". See docs/client-side-hashing.md.")
	case errors.Is(err, credential.ErrBusy):
		return nil, withCause(errUnavailable, err)
	}
	return v, err
}

// setPassword replaces a user's password and revokes all their tokens.
func (a *API) setPassword(ctx context.Context, actor storage.Actor, userID string, in passwordInput) error {
	v, err := a.hashPassword(ctx, in)
	if err != nil {
		return err
	}
	// Revoke first: a new password that is saved while the old sessions
	// live on would leave a thief signed in. And again once it is saved
	// (and the change stamp raised): a login with the old password that
	// began in between was issued after the first mark.
	if err := a.revokeUser(ctx, userID); err != nil {
		return err
	}
	if _, err := a.opts.Store.UpdateUser(ctx, actor, a.opts.Realm, userID, func(u *storage.User) error {
		u.Password = v
		return nil
	}); err != nil {
		return asNotFound(err, "The user")
	}
	return a.revokeUser(ctx, userID)
}
