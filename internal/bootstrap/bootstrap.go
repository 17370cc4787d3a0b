// Package bootstrap creates the first administrator of a realm and an API
// client owned by them, hashing the password on the client side exactly as
// any Gatehouse client would, so that the server side never sees it.
package bootstrap

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/storage"
)

// Input says whom to create. An empty Password is generated.
type Input struct {
	Realm      string // default storage.DefaultRealm
	Username   string // default "admin"
	Password   string
	Iterations int // client-side PBKDF2 iterations; default clienthash.DefaultIterations
}

// Result is what was created. AdminPassword is set only when it was
// generated; AdminClientSecret is S (b64u), shown once.
type Result struct {
	AdminUserID       string `json:"admin_user_id"`
	AdminUsername     string `json:"admin_username"`
	AdminPassword     string `json:"admin_password,omitempty"`
	AdminClientID     string `json:"admin_client_id"`
	AdminClientSecret string `json:"admin_client_secret"`
}

// ErrExists means the administrator already exists.
var ErrExists = errors.New("an administrator with that username already exists")

var actor = storage.System("bootstrap")

// Run creates the administrator (a member of the administrators group)
// and an admin client that may request every resource of the realm.
func Run(ctx context.Context, store storage.Store, hasher *credential.PasswordHasher, in Input) (Result, error) {
	if in.Realm == "" {
		in.Realm = storage.DefaultRealm
	}
	if in.Username == "" {
		in.Username = "admin"
	}
	if in.Iterations == 0 {
		in.Iterations = clienthash.DefaultIterations
	}
	res := Result{AdminUsername: in.Username}
	if in.Password == "" {
		p, err := randomString(18)
		if err != nil {
			return Result{}, err
		}
		in.Password, res.AdminPassword = p, p
	}
	if _, err := store.GetUserByUsername(ctx, in.Realm, in.Username); err == nil {
		return Result{}, fmt.Errorf("%s: %w", in.Username, ErrExists)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return Result{}, err
	}
	admins, err := store.GetGroupByName(ctx, in.Realm, storage.AdministratorsGroup)
	if err != nil {
		return Result{}, fmt.Errorf("administrators group: %w", err)
	}
	realm, err := store.GetRealm(ctx, in.Realm)
	if err != nil {
		return Result{}, err
	}
	verifier, err := passwordVerifier(ctx, hasher, in.Password, in.Iterations)
	if err != nil {
		return Result{}, err
	}
	user, err := store.CreateUser(ctx, actor, in.Realm, storage.User{
		Username: in.Username, DisplayName: "Administrator", Language: realm.DefaultLanguage,
		Status: storage.StatusActive, Password: verifier,
	}, []string{admins.ID})
	if err != nil {
		return Result{}, fmt.Errorf("create administrator: %w", err)
	}
	res.AdminUserID = user.ID

	suffix, err := randomString(6)
	if err != nil {
		return Result{}, err
	}
	res.AdminClientID = "admin-" + suffix
	secret, err := clienthash.NewClientSecret()
	if err != nil {
		return Result{}, err
	}
	w := clienthash.ClientSecretWire(secret, res.AdminClientID)
	if _, err := store.CreateClient(ctx, actor, in.Realm, storage.Client{
		ClientID: res.AdminClientID, OwnerID: user.ID, Name: "Bootstrap admin client", AllScopes: true,
		GrantTypes:              []string{"client_credentials", "password", "refresh_token"},
		TokenEndpointAuthMethod: storage.AuthMethodSecretBasic, Status: storage.StatusActive,
	}, [][]byte{clienthash.ClientSecretVerifier(w)}); err != nil {
		return Result{}, fmt.Errorf("create admin client: %w", err)
	}
	res.AdminClientSecret = clienthash.Encode(secret)
	return res, nil
}

// passwordVerifier does what a client does when setting a password (derive
// P with a fresh salt), then what the server does (argon2id of P).
func passwordVerifier(ctx context.Context, hasher *credential.PasswordHasher, password string, iterations int) (*storage.PasswordVerifier, error) {
	set, err := clienthash.NewPasswordSetting(password, password, iterations)
	if err != nil {
		return nil, err
	}
	p, err := credential.ValidatePasswordSetting(set, min(iterations, 1000))
	if err != nil {
		return nil, err
	}
	phc, err := hasher.Hash(ctx, p)
	if err != nil {
		return nil, err
	}
	salt, err := clienthash.Decode(set.Salt)
	if err != nil {
		return nil, err
	}
	return &storage.PasswordVerifier{KDF: set.KDF, Iterations: set.Iterations, Salt: salt, Hash: phc}, nil
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
