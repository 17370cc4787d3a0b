package credential

import (
	"context"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/storage"
)

// NewVerifier checks a password-setting object as ValidatePasswordSetting
// does and returns what a user's record keeps of it: the client's KDF,
// iterations and salt, and argon2id of P (docs/client-side-hashing.md).
// Its errors are ValidatePasswordSetting's (*FieldError,
// ErrConfirmationMismatch) and Hash's (ErrBusy); nothing is hashed for an
// object that is refused.
func (h *PasswordHasher) NewVerifier(ctx context.Context, s clienthash.PasswordSetting, iterations int) (*storage.PasswordVerifier, error) {
	p, err := ValidatePasswordSetting(s, iterations)
	if err != nil {
		return nil, err
	}
	salt, err := clienthash.Decode(s.Salt) // valid: ValidatePasswordSetting decoded it
	if err != nil {
		return nil, &FieldError{Field: "salt", Reason: "must be base64url"}
	}
	phc, err := h.Hash(ctx, p)
	if err != nil {
		return nil, err
	}
	return &storage.PasswordVerifier{KDF: s.KDF, Iterations: s.Iterations, Salt: salt, Hash: phc}, nil
}
