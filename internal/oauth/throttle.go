package oauth

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

// LoginThrottle configures how the password grant slows down guessing
// without letting anyone lock a user out (OWASP ASVS 2.2.1). Only failures
// count. Each bucket lets a number of failures through freely; after them,
// each further failure makes the next attempt wait, from BaseDelay
// doubling up to MaxDelay, answered 429 with Retry-After before any
// hashing. A bucket is forgotten ForgetAfter after its latest failure.
//
// Buckets: per (username, client) and per username, which bound guessing
// one account; per (client, source address), which bounds spraying one
// password over many usernames; per source address, which bounds spraying
// over many clients (anyone with an admin resource can create clients of
// their own). A source address from which the user signed in within
// KnownSourceTTL is exempt from the username buckets and the spraying
// buckets, so that an attacker elsewhere cannot keep the real user out;
// guessing from there is bounded per (username, source) instead.
// docs/operations.md describes the model and its limits.
type LoginThrottle struct {
	FreePerUserClient int           // default 10
	FreePerSource     int           // per (client, source address); default 25
	FreePerUser       int           // default 50
	FreePerAddress    int           // per source address, over all clients; default 100
	BaseDelay         time.Duration // default 1s
	MaxDelay          time.Duration // default 15m
	ForgetAfter       time.Duration // default 24h; at least MaxDelay
	KnownSourceTTL    time.Duration // default 720h
}

func (t *LoginThrottle) setDefaults() {
	if t.FreePerUserClient <= 0 {
		t.FreePerUserClient = 10
	}
	if t.FreePerSource <= 0 {
		t.FreePerSource = 25
	}
	if t.FreePerUser <= 0 {
		t.FreePerUser = 50
	}
	if t.FreePerAddress <= 0 {
		t.FreePerAddress = 100
	}
	if t.BaseDelay <= 0 {
		t.BaseDelay = time.Second
	}
	if t.MaxDelay <= 0 {
		t.MaxDelay = 15 * time.Minute
	}
	if t.ForgetAfter <= 0 {
		t.ForgetAfter = 24 * time.Hour
	}
	// A bucket must outlive the wait it imposes.
	t.ForgetAfter = max(t.ForgetAfter, t.MaxDelay)
	if t.KnownSourceTTL <= 0 {
		t.KnownSourceTTL = 720 * time.Hour
	}
}

// loginAttempt is one password-grant attempt's view of the throttle.
type loginAttempt struct {
	p *Provider
	// Keys are digests of the username, client and source: bounded in
	// size, and no username or address in clear in token state.
	known, user, userClient, source, address, userSource string
	knownSource                                          bool      // the source is known: only userSource counts
	at                                                   time.Time // when begin counted the attempt
}

func (p *Provider) loginAttempt(clientID, username, source string) *loginAttempt {
	// An invalid username cannot be an account: it is counted like an
	// unknown one, under the name as given.
	name, err := storage.CanonicalUsername(username)
	if err != nil {
		name = username
	}
	realm := p.opts.Realm
	key := func(kind string, parts ...string) string {
		b := []byte(realm)
		for _, part := range parts {
			b = append(append(b, 0), part...)
		}
		return kind + ":" + digest128("gatehouse login "+kind, b)
	}
	return &loginAttempt{p: p,
		known:      key("ks", name, source),
		user:       key("u", name),
		userClient: key("uc", name, clientID),
		source:     key("s", clientID, source),
		address:    key("a", source),
		userSource: key("us", name, source),
	}
}

// begin decides, in one token-state round trip and before any hashing,
// whether the attempt may go on, returning how long it must wait
// otherwise. An attempt that goes on is already counted as a failure in
// each of its buckets, so that concurrent attempts see it: the attempts
// checked before any of them fails cannot all pass (a wrong guess is
// counted before it is verified). succeeded and abandoned take that count
// back.
func (a *loginAttempt) begin(ctx context.Context) (time.Duration, error) {
	t := &a.p.opts.Throttle
	a.at = a.p.now()
	marked, wait, err := a.p.opts.State.TryAttempt(ctx, storage.Attempt{
		Marker: a.known,
		Known:  []storage.Bucket{{Key: a.userSource, Free: t.FreePerUserClient}},
		Unknown: []storage.Bucket{{Key: a.user, Free: t.FreePerUser}, {Key: a.userClient, Free: t.FreePerUserClient},
			{Key: a.source, Free: t.FreePerSource}, {Key: a.address, Free: t.FreePerAddress}},
		At: a.at, BaseDelay: t.BaseDelay, MaxDelay: t.MaxDelay, Keep: t.ForgetAfter,
	})
	a.knownSource = marked
	return wait, err
}

// counted are the keys begin counted the attempt on.
func (a *loginAttempt) counted() []string {
	if a.knownSource {
		return []string{a.userSource}
	}
	return []string{a.user, a.userClient, a.source, a.address}
}

// succeeded remembers the source as the user's and forgets the failures
// of this user and client, and of this user from this source. From the
// username bucket (others may be guessing from elsewhere) and the
// spraying buckets (whoever sprays could reset them with an account of
// their own) it takes back only this attempt's count.
func (a *loginAttempt) succeeded(ctx context.Context) error {
	var takeBack []string
	if !a.knownSource {
		takeBack = []string{a.user, a.source, a.address}
	}
	return a.p.opts.State.SettleAttempt(ctx, storage.Settlement{At: a.at, TakeBack: takeBack,
		Forget: []string{a.userClient, a.userSource}, Marker: a.known, MarkKeep: a.p.opts.Throttle.KnownSourceTTL})
}

// abandoned takes back the attempt's count when it ended before a
// password was verified (the hashing queue was full, the client went
// away, storage failed): only failures count.
func (a *loginAttempt) abandoned(ctx context.Context) error {
	return a.p.opts.State.SettleAttempt(context.WithoutCancel(ctx), storage.Settlement{At: a.at, TakeBack: a.counted()})
}

// tooManyAttempts is the answer to a throttled attempt.
func tooManyAttempts(wait time.Duration) error {
	e := *errTooManyAttempts
	e.RetryAfter = max(1, int((wait+time.Second-1)/time.Second))
	return &e
}

// authenticateUser checks a username and client-side password hash. An
// unknown user, a user without a password, a wrong password and a disabled
// user all give the same invalid_grant after the same server-side work,
// and count as the same failure, so that neither the answer, its timing
// nor the throttle tells which usernames exist.
func (p *Provider) authenticateUser(ctx context.Context, clientID, username, source string, pw []byte) (storage.User, error) {
	attempt := p.loginAttempt(clientID, username, source)
	wait, err := attempt.begin(ctx)
	if err != nil {
		return storage.User{}, err
	}
	if wait > 0 {
		return storage.User{}, tooManyAttempts(wait)
	}
	user, err := p.verifyUser(ctx, username, pw)
	var oe *oauthError
	if errors.As(err, &oe) && oe.Code == errInvalidGrant.Code {
		return storage.User{}, err // counted by begin
	} else if err != nil {
		if serr := attempt.abandoned(ctx); serr != nil {
			p.opts.Logger.WarnContext(ctx, "login throttle: cannot take back an abandoned attempt", "err", serr)
		}
		return storage.User{}, err
	}
	if err := attempt.succeeded(ctx); err != nil {
		return storage.User{}, err
	}
	return user, nil
}

// verifyUser is authenticateUser without the throttle.
func (p *Provider) verifyUser(ctx context.Context, username string, pw []byte) (storage.User, error) {
	user, err := p.opts.Store.GetUserByUsername(ctx, p.opts.Realm, username)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, err
	}
	if err != nil || user.Password == nil {
		if err := p.opts.Hasher.VerifyDummy(ctx, pw); err != nil {
			return storage.User{}, err
		}
		return storage.User{}, errInvalidGrant.withCause(errors.New("unknown user or no password"))
	}
	ok, err := p.opts.Hasher.Verify(ctx, user.Password.Hash, pw)
	if err != nil {
		return storage.User{}, err
	}
	if !ok || user.Status != storage.StatusActive {
		return storage.User{}, errInvalidGrant.withCause(errors.New("wrong password or disabled user"))
	}
	if p.opts.Hasher.NeedsRehash(user.Password.Hash) {
		go p.rehash(user.ID, user.Password.Hash, pw)
	}
	return user, nil
}
