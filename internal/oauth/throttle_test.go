package oauth_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/app/apptest"
	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/storage"
)

// Requests leave from distinct loopback addresses (apptest.LoginFrom):
// the throttle counts the TCP peer.
const (
	home      = "127.0.0.1"
	attacker  = "127.0.0.2"
	elsewhere = "127.0.0.3"
	faraway   = "127.0.0.4"
)

// eachBackendThrottled runs fn against a fresh server on every backend,
// with the throttle configured by th.
func eachBackendThrottled(t *testing.T, th oauth.LoginThrottle, fn func(t *testing.T, e *apptest.Server)) {
	for _, b := range apptest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, apptest.Start(t, b, func(o *app.Options) { o.LoginThrottle = th }))
		})
	}
}

// requireThrottled checks a throttled answer: 429, the RFC 6749 error body
// and Retry-After in seconds.
func requireThrottled(t *testing.T, r apptest.Response, retryAfter string) {
	t.Helper()
	require.Equal(t, http.StatusTooManyRequests, r.Status, r.Raw)
	require.Equal(t, "temporarily_unavailable", r.Str("error"))
	require.Equal(t, "Too many failed login attempts; retry later.", r.Str("error_description"))
	require.Equal(t, retryAfter, r.Header.Get("Retry-After"))
}

func requireWrong(t *testing.T, r apptest.Response) {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
	require.Equal(t, "invalid_grant", r.Str("error"))
}

// An attacker guessing a user's password from elsewhere, over several
// clients, is slowed down until every unknown source waits; the user,
// from the address they signed in from before, still gets in.
func TestThrottleKeepsNoUserOut(t *testing.T) {
	th := oauth.LoginThrottle{FreePerUserClient: 2, FreePerUser: 3, BaseDelay: time.Minute, MaxDelay: time.Hour}
	eachBackendThrottled(t, th, func(t *testing.T, e *apptest.Server) {
		owner := e.User("owner", "")
		e.User("uma", "uma-password-1")
		console := e.Client("console", owner.ID, nil)
		evil, evil2 := e.Client("evil", owner.ID, nil), e.Client("evil2", owner.ID, nil)
		require.Equal(t, http.StatusOK, e.LoginFrom(home, &console, "uma", "uma-password-1", nil).Status)

		for _, c := range []*apptest.Client{&evil, &evil2} {
			requireWrong(t, e.LoginFrom(attacker, c, "uma", "guess-1", nil))
			requireWrong(t, e.LoginFrom(attacker, c, "uma", "guess-2", nil))
		}
		requireThrottled(t, e.LoginFrom(attacker, &evil, "uma", "guess-3", nil), "60")
		// Four failures on uma: every source she never signed in from
		// waits, on every client. That is the limit of the model: she
		// too, from a new place, until the delay has passed.
		requireThrottled(t, e.LoginFrom(faraway, &console, "uma", "uma-password-1", nil), "60")

		r := e.LoginFrom(home, &console, "uma", "uma-password-1", nil)
		require.Equal(t, http.StatusOK, r.Status, "her usual address is not kept out: %s", r.Raw)
		r = e.LoginFrom(home, &evil, "uma", "uma-password-1", nil)
		require.Equal(t, http.StatusOK, r.Status, "whatever the client: %s", r.Raw)
	})
}

// Failures of one username at one client get growing delays, doubling up
// to the cap; a success resets them.
func TestThrottleDelaysGrow(t *testing.T) {
	th := oauth.LoginThrottle{FreePerUserClient: 2, BaseDelay: time.Second, MaxDelay: 4 * time.Second}
	eachBackendThrottled(t, th, func(t *testing.T, e *apptest.Server) {
		owner := e.User("owner", "")
		e.User("vic", "vic-password-1")
		c := e.Client("console", owner.ID, nil)
		for range 3 { // two free, the third is let through and sets the first delay
			requireWrong(t, e.LoginFrom(attacker, &c, "vic", "guess", nil))
		}
		for _, wait := range []string{"1", "2", "4", "4"} {
			requireThrottled(t, e.LoginFrom(attacker, &c, "vic", "vic-password-1", nil), wait)
			d, _ := time.ParseDuration(wait + "s")
			e.Clock.Advance(d)
			requireWrong(t, e.LoginFrom(attacker, &c, "vic", "guess", nil))
		}
		requireThrottled(t, e.LoginFrom(attacker, &c, "vic", "vic-password-1", nil), "4")
		e.Clock.Advance(4 * time.Second)
		r := e.LoginFrom(attacker, &c, "vic", "vic-password-1", nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)

		// The success forgot the failures of this user here.
		for range 3 {
			requireWrong(t, e.LoginFrom(attacker, &c, "vic", "typo", nil))
		}
		requireThrottled(t, e.LoginFrom(attacker, &c, "vic", "vic-password-1", nil), "1")
	})
}

// One password tried over many usernames from one source is slowed down
// there, whichever usernames exist, without touching other sources.
func TestThrottleSlowsSpraying(t *testing.T) {
	th := oauth.LoginThrottle{FreePerSource: 3, BaseDelay: time.Minute, MaxDelay: time.Hour}
	eachBackendThrottled(t, th, func(t *testing.T, e *apptest.Server) {
		owner := e.User("owner", "")
		c := e.Client("console", owner.ID, nil)
		for _, u := range []string{"ann", "ben", "cid", "dee", "eve"} {
			e.User(u, u+"-password-1")
		}
		for _, u := range []string{"ann", "nobody", "ben", "cid"} {
			requireWrong(t, e.LoginFrom(attacker, &c, u, "Summer2024!", nil))
		}
		requireThrottled(t, e.LoginFrom(attacker, &c, "dee", "Summer2024!", nil), "60")
		requireThrottled(t, e.LoginFrom(attacker, &c, "someone", "Summer2024!", nil), "60")
		requireWrong(t, e.LoginFrom(elsewhere, &c, "dee", "Summer2024!", nil))
		r := e.LoginFrom(elsewhere, &c, "eve", "eve-password-1", nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
	})
}

// The throttle answers a real user, an unknown name and a name that cannot
// be a username alike, failure after failure.
func TestThrottleDoesNotEnumerate(t *testing.T) {
	th := oauth.LoginThrottle{FreePerUserClient: 2, BaseDelay: time.Second, MaxDelay: time.Minute}
	eachBackendThrottled(t, th, func(t *testing.T, e *apptest.Server) {
		owner := e.User("owner", "")
		e.User("wendy", "wendy-password-1")
		type answer struct {
			status           int
			body, retryAfter string
		}
		var runs [][]answer
		for i, username := range []string{"wendy", "nobody", "no body", "WENDY"} {
			c := e.Client("c"+string(rune('a'+i)), owner.ID, nil) // apart from the other runs
			var run []answer
			for range 5 {
				r := e.LoginFrom(attacker, &c, username, "guess", nil)
				run = append(run, answer{r.Status, r.Raw, r.Header.Get("Retry-After")})
				e.Clock.Advance(500 * time.Millisecond)
			}
			runs = append(runs, run)
			e.Clock.Advance(time.Hour)
		}
		require.Equal(t, http.StatusTooManyRequests, runs[0][3].status, "the sequence is throttled at all")
		for _, run := range runs[1:] {
			require.Equal(t, runs[0], run)
		}
	})
}

// Wrong guesses sent all at once pass the throttle no more often than one
// after the other (free failures and the one that sets the first delay,
// here 4): each attempt is counted before its password is verified, in
// the same token-state operation that checks the buckets. Counting after
// the verification let every attempt checked before the first failure was
// recorded through, up to max_concurrent_hashes + max_queue per opening
// of a bucket.
func TestThrottleCountsParallelGuesses(t *testing.T) {
	th := oauth.LoginThrottle{FreePerUserClient: 3, FreePerUser: 3, FreePerSource: 3, BaseDelay: time.Hour, MaxDelay: time.Hour}
	for _, b := range apptest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			e := apptest.Start(t, b, func(o *app.Options) {
				o.LoginThrottle = th
				// Production-like hashing cost: the verification is the window.
				o.Argon2 = credential.DefaultArgon2Params
				o.MaxConcurrentHashes, o.MaxHashQueue, o.HashQueueWait = 2, 64, 30*time.Second
			})
			owner := e.User("owner", "")
			e.User("pia", "pia-password-1")
			c := e.Client("console", owner.ID, nil)
			// The wire password for a wrong guess, derived once.
			pre := e.Post("/oauth2/prelogin", nil, url.Values{"username": {"pia"}})
			it, _ := pre.Body["iterations"].(float64)
			wire, err := clienthash.LoginPassword("guess", clienthash.LoginParams{KDF: pre.Str("kdf"), Iterations: int(it), Salt: pre.Str("salt")})
			require.NoError(t, err)

			const n = 30
			d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(attacker)}}
			hc := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, MaxConnsPerHost: n, MaxIdleConnsPerHost: n}}
			form := url.Values{"grant_type": {"password"}, "username": {"pia"}, "password": {wire}}.Encode()
			var wg sync.WaitGroup
			start := make(chan struct{})
			statuses := make([]int, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := http.NewRequest(http.MethodPost, e.URL+"/oauth2/token", strings.NewReader(form))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Wire(t)))
					<-start
					res, err := hc.Do(req)
					if !assert.NoError(t, err) {
						return
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					statuses[i] = res.StatusCode
				}()
			}
			close(start)
			wg.Wait()
			count := map[int]int{}
			for _, s := range statuses {
				count[s]++
			}
			// invalid_grant: a password was verified; 429: refused before.
			require.Equal(t, map[int]int{http.StatusBadRequest: 4, http.StatusTooManyRequests: n - 4}, count)
		})
	}
}

// Anyone holding an admin resource may create clients of their own with
// the password grant (POST /admin/me/clients); each is a fresh (client,
// source) spraying bucket, so spraying one password over many usernames
// is also bounded per source address over all clients.
func TestThrottleSprayingOverOwnClients(t *testing.T) {
	th := oauth.LoginThrottle{FreePerSource: 3, FreePerAddress: 5, BaseDelay: time.Hour, MaxDelay: time.Hour}
	eachBackendThrottled(t, th, func(t *testing.T, e *apptest.Server) {
		owner := e.User("owner", "")
		g := e.Group("readers", "users-read")
		e.User("mal", "mal-password-1", g.ID)
		console := e.Client("console", owner.ID, nil, func(c *storage.Client) { c.AllScopes = true })
		tok := e.LoginFrom(attacker, &console, "mal", "mal-password-1", nil).Str("access_token")
		require.NotEmpty(t, tok)
		var victims []string
		for i := range 12 {
			u := "user" + string(rune('a'+i))
			e.User(u, u+"-password-1")
			victims = append(victims, u)
		}
		var guessed, throttled int
		for k := range 3 { // three clients of mal's own
			id := "spray-" + string(rune('a'+k))
			secret, err := clienthash.NewClientSecret()
			require.NoError(t, err)
			w := clienthash.ClientSecretWire(secret, id)
			body := `{"client_id":"` + id + `","name":"x","grant_types":["password"],"secret_verifier":"` + clienthash.Encode(clienthash.ClientSecretVerifier(w)) + `"}`
			r := e.Bearer(http.MethodPost, "/admin/me/clients", tok, body)
			require.Equal(t, http.StatusCreated, r.Status, r.Raw)
			c := apptest.Client{ID: id, Secret: clienthash.Encode(secret)}
			for _, v := range victims[k*4 : k*4+4] {
				switch r := e.LoginFrom(attacker, &c, v, "Summer2024!", nil); r.Status {
				case http.StatusBadRequest:
					guessed++
				case http.StatusTooManyRequests:
					throttled++
				}
			}
		}
		// Four through the first client (free_per_source and one more),
		// two more through the second (free_per_address and one more),
		// then every client waits. mal's own login took nothing.
		require.Equal(t, 6, guessed)
		require.Equal(t, 6, throttled)
		// Other addresses are not concerned.
		requireWrong(t, e.LoginFrom(elsewhere, &console, victims[11], "Summer2024!", nil))
	})
}

// A success takes its own count back from the username and spraying
// buckets, the latest failure's time included, but forgets none of the
// failures before it.
func TestThrottleSuccessTakesBackOnlyItself(t *testing.T) {
	th := oauth.LoginThrottle{FreePerSource: 2, BaseDelay: time.Minute, MaxDelay: time.Hour}
	eachBackendThrottled(t, th, func(t *testing.T, e *apptest.Server) {
		owner := e.User("owner", "")
		c := e.Client("console", owner.ID, nil)
		for _, u := range []string{"ada", "bob", "cy"} {
			e.User(u, u+"-password-1")
		}
		for range 3 {
			requireWrong(t, e.LoginFrom(attacker, &c, "nobody", "guess", nil))
		}
		requireThrottled(t, e.LoginFrom(attacker, &c, "ada", "ada-password-1", nil), "60")
		e.Clock.Advance(time.Minute)
		for _, u := range []string{"ada", "bob"} {
			r := e.LoginFrom(attacker, &c, u, u+"-password-1", nil)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
		}
		// The successes left the spraying bucket as it was: three
		// failures, the latest a minute ago, so one more may be tried now
		// and then the next waits.
		requireWrong(t, e.LoginFrom(attacker, &c, "nobody", "guess", nil))
		requireThrottled(t, e.LoginFrom(attacker, &c, "cy", "cy-password-1", nil), "120")
	})
}

// failingLookups is a store whose user lookups fail while fail is set.
type failingLookups struct {
	storage.Store
	fail *atomic.Bool
}

func (s failingLookups) GetUserByUsername(ctx context.Context, realm, username string) (storage.User, error) {
	if s.fail.Load() {
		return storage.User{}, errors.New("injected failure")
	}
	return s.Store.GetUserByUsername(ctx, realm, username)
}

// Only failures count: an attempt that ends before a password is
// verified (here the user store fails) takes its count back.
func TestThrottleCountsOnlyFailures(t *testing.T) {
	th := oauth.LoginThrottle{FreePerUserClient: 1, FreePerUser: 1, FreePerSource: 1, FreePerAddress: 1,
		BaseDelay: time.Minute, MaxDelay: time.Hour}
	for _, b := range apptest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			var fail atomic.Bool
			e := apptest.Start(t, b, func(o *app.Options) {
				o.LoginThrottle = th
				o.Store = failingLookups{o.Store, &fail}
			})
			owner := e.User("owner", "")
			e.User("ivy", "ivy-password-1")
			c := e.Client("console", owner.ID, nil)
			wire := e.LoginPassword("ivy", "guess") // prelogin reads the user too
			fail.Store(true)
			for range 3 {
				form := url.Values{"grant_type": {"password"}, "username": {"ivy"}, "password": {wire}}
				req, err := http.NewRequest(http.MethodPost, e.URL+"/oauth2/token", strings.NewReader(form.Encode()))
				require.NoError(t, err)
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Wire(t)))
				r := e.DoFrom(attacker, req)
				require.Equal(t, http.StatusInternalServerError, r.Status, r.Raw)
			}
			fail.Store(false)
			requireWrong(t, e.LoginFrom(attacker, &c, "ivy", "guess", nil))
			requireWrong(t, e.LoginFrom(attacker, &c, "ivy", "guess", nil))
			requireThrottled(t, e.LoginFrom(attacker, &c, "ivy", "ivy-password-1", nil), "60")
		})
	}
}
