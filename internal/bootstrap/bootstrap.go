package bootstrap

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/storage"
)

// Input says whom to create. An empty Password is generated.
type Input struct {
	Realm    string // default storage.DefaultRealm
	Username string // default "admin"
	Password string
	// Iterations is the client-side PBKDF2 count: the configured
	// password.iterations, which the server accepts exactly; default
	// clienthash.DefaultIterations (the setting's default).
	Iterations int
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

// ErrExists means a user with the administrator's username already exists.
var ErrExists = errors.New("a user with that username already exists; choose another username")

// ErrInvalidUsername means the username breaks the rule the management API
// enforces for every user.
var ErrInvalidUsername = errors.New("a username is 1 to 64 letters, digits or . _ @ + -, starting with a letter or digit")

// usernamePattern is the management API's rule (internal/admin): no
// spaces, control or confusable characters, safe in logs, URLs and Basic
// headers.
var usernamePattern = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N}._@+-]{0,63}$`)

var actor = storage.System("bootstrap")

// Run creates the administrator (a member of the administrators group)
// and an admin client that may request every resource of the realm. It
// returns an error wrapping ErrExists if the username is taken; it never
// touches an existing user. If the client cannot be created or the user
// cannot join the administrators group, the new user is removed again, so
// that Run can simply be retried.
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
	if !usernamePattern.MatchString(in.Username) || utf8.RuneCountInString(in.Username) > 64 {
		return Result{}, fmt.Errorf("%q: %w", in.Username, ErrInvalidUsername)
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
	// The user joins the administrators group last: until then, removing
	// a half-created administrator is not refused as taking away the
	// realm's last active administrator (storage.ErrLastAdministrator).
	user, err := store.CreateUser(ctx, actor, in.Realm, storage.User{
		Username: in.Username, DisplayName: "Administrator", Language: realm.DefaultLanguage,
		Status: storage.StatusActive, Password: verifier,
	}, nil)
	if errors.Is(err, storage.ErrAlreadyExists) {
		// Another bootstrap took the username between the check and now.
		return Result{}, fmt.Errorf("%s: %w", in.Username, ErrExists)
	}
	if err != nil {
		return Result{}, fmt.Errorf("create administrator: %w", err)
	}
	res.AdminUserID = user.ID

	res.AdminClientID, res.AdminClientSecret, err = createClient(ctx, store, in.Realm, user.ID)
	if err == nil {
		if err = store.AddGroupMember(ctx, actor, in.Realm, admins.ID, user.ID); err != nil {
			err = fmt.Errorf("make %s an administrator: %w", in.Username, err)
		}
	}
	if err != nil {
		if derr := store.DeleteUser(ctx, actor, in.Realm, user.ID); derr != nil {
			err = fmt.Errorf("%w (and removing the half-created administrator failed: %v)", err, derr)
		}
		return Result{}, err
	}
	return res, nil
}

// createClient creates the admin client, owned by ownerID, with a fresh
// secret S, registering only its verifier V. It returns the client_id and
// S (b64u).
func createClient(ctx context.Context, store storage.Store, realm, ownerID string) (clientID, secretS string, err error) {
	suffix, err := randomString(6)
	if err != nil {
		return "", "", err
	}
	clientID = "admin-" + suffix
	secret, err := clienthash.NewClientSecret()
	if err != nil {
		return "", "", err
	}
	w := clienthash.ClientSecretWire(secret, clientID)
	if _, err := store.CreateClient(ctx, actor, realm, storage.Client{
		ClientID: clientID, OwnerID: ownerID, Name: "Bootstrap admin client", AllScopes: true,
		GrantTypes:              []string{"client_credentials", "password", "refresh_token"},
		TokenEndpointAuthMethod: storage.AuthMethodSecretBasic, Status: storage.StatusActive,
	}, [][]byte{clienthash.ClientSecretVerifier(w)}); err != nil {
		return "", "", fmt.Errorf("create admin client: %w", err)
	}
	return clientID, clienthash.Encode(secret), nil
}

// passwordVerifier does what a client does when setting a password (derive
// P with a fresh salt), then what the server does (argon2id of P).
func passwordVerifier(ctx context.Context, hasher *credential.PasswordHasher, password string, iterations int) (*storage.PasswordVerifier, error) {
	set, err := clienthash.NewPasswordSetting(password, password, iterations)
	if err != nil {
		return nil, err
	}
	return hasher.NewVerifier(ctx, set, iterations)
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
