package main_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse/gatehouse/clienthash"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/storage/postgres/pgtest"
)

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// The production path, as docs/operations.md tells an operator: migrate
// (twice), status, bootstrap, the signing-key lifecycle, serve on
// PostgreSQL and Redis, stop on SIGTERM, and replace the key encryption
// secret.
func TestProductionLifecycle(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	redisURL := testenv.RedisURL(t)
	bin := build(t)
	addr := freeAddr(t)
	issuer := "http://" + addr
	oldSecret := randomSecret()
	env := append(cleanEnv(),
		"GATEHOUSE_DATABASE_URL="+dsn, "GATEHOUSE_REDIS_URL="+redisURL,
		"GATEHOUSE_KEYS_ENCRYPTION_SECRET="+oldSecret, "GATEHOUSE_PASSWORD_PRELOGIN_SECRET="+randomSecret(),
		"GATEHOUSE_ADDR="+addr, "GATEHOUSE_ISSUER="+issuer,
		"GATEHOUSE_PASSWORD_ARGON2_MEMORY_KIB=1024", "GATEHOUSE_PASSWORD_ARGON2_TIME=1")
	run := func(extraEnv []string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(append([]string{}, env...), extraEnv...)
		cmd.Stdin = nil // not a terminal: bootstrap generates the password
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	mustRun := func(args ...string) string {
		t.Helper()
		out, err := run(nil, args...)
		require.NoError(t, err, "%v: %s", args, out)
		return out
	}

	out, err := run(nil, "serve")
	require.Error(t, err, "serve refuses an unmigrated database")
	require.Contains(t, out, "run `gatehouse migrate up` first")
	require.Contains(t, mustRun("migrate", "status"), "pending")

	require.Contains(t, mustRun("migrate", "up"), "applied migration 1")
	require.Equal(t, "schema is up to date\n", mustRun("migrate", "up"), "a second migrate up is a no-op")
	status := mustRun("migrate", "status")
	require.Contains(t, status, "applied")
	require.NotContains(t, status, "pending")

	var boot map[string]string
	require.NoError(t, json.Unmarshal([]byte(mustRun("bootstrap", "--json", "--username", "root")), &boot))
	for _, k := range []string{"issuer", "admin_user_id", "admin_username", "admin_client_id", "admin_client_secret", "admin_password"} {
		require.NotEmpty(t, boot[k], k)
	}
	require.Equal(t, issuer, boot["issuer"])
	out, err = run(nil, "bootstrap", "--username", "ROOT")
	require.Error(t, err)
	require.Contains(t, out, "already exists")

	// The key lifecycle by hand: a rotation publishes first, a second one
	// changes nothing, a pending key can be withdrawn, --now activates.
	require.Contains(t, mustRun("keys", "rotate"), "published signing key")
	list := mustRun("keys", "list")
	require.Regexp(t, `(?m)^(\S+)\s+ES256\s+next\s.*signs from `, list)
	pending := regexp.MustCompile(`(?m)^(\S+)\s+ES256\s+next\s`).FindStringSubmatch(list)[1]
	require.Contains(t, mustRun("keys", "rotate"), "published signing key "+pending)
	out, err = run(nil, "keys", "retire", "nope")
	require.Error(t, err)
	require.Contains(t, out, `no signing key "nope"`)
	require.Contains(t, mustRun("keys", "retire", pending), "unpublished")
	require.NotContains(t, mustRun("keys", "list"), pending)
	require.Contains(t, mustRun("keys", "rotate", "--now"), "activated signing key")
	require.Contains(t, mustRun("keys", "rotate", "--now"), "activated signing key")
	retired := regexp.MustCompile(`(?m)^(\S+)\s+ES256\s+retired\s`).FindStringSubmatch(mustRun("keys", "list"))
	require.NotNil(t, retired)
	out, err = run(nil, "keys", "retire", retired[1])
	require.Error(t, err, "a retired key whose tokens may live needs --force")
	require.Contains(t, out, "force")
	out, err = run([]string{"GATEHOUSE_KEYS_ENCRYPTION_SECRET=" + base64.StdEncoding.EncodeToString(make([]byte, 32))}, "keys", "rotate")
	require.Error(t, err, "a foreign secret must not activate a key the servers cannot read")
	require.Contains(t, out, "keys.encryption_secret (GATEHOUSE_KEYS_ENCRYPTION_SECRET)")
	// A new secret here, the old one as previous, while the servers hold
	// only the old one: the stored keys open, but a key sealed under the
	// new secret would stop every server from loading its keys.
	out, err = run([]string{"GATEHOUSE_KEYS_ENCRYPTION_SECRET=" + randomSecret(), "GATEHOUSE_KEYS_PREVIOUS_ENCRYPTION_SECRETS=" + oldSecret},
		"keys", "rotate", "--now")
	require.Error(t, err, "a secret rollout half done must not publish a key the servers cannot open")
	require.Contains(t, out, "run gatehouse keys reencrypt, then rotate")

	serve, _, stderr := startServer(t, bin, env, issuer, "serve")

	w, err := clienthash.WireSecret(boot["admin_client_secret"], boot["admin_client_id"])
	require.NoError(t, err)
	_, err = (&clientcredentials.Config{ClientID: boot["admin_client_id"], ClientSecret: w, TokenURL: issuer + "/oauth2/token"}).Token(context.Background())
	require.NoError(t, err, "the bootstrap client works against PostgreSQL: %s", stderr.String())

	require.NoError(t, serve.Process.Signal(os.Interrupt))
	done := make(chan error, 1)
	go func() { done <- serve.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop on SIGINT")
	}
	logs := stderr.String()
	require.Contains(t, logs, `"msg":"stopped"`)
	for _, secret := range []string{boot["admin_client_secret"], boot["admin_password"], w} {
		require.NotContains(t, logs, secret)
	}

	// Replacing keys.encryption_secret: the new one with the old one
	// still accepted, reencrypt, then the new one alone.
	newSecret := randomSecret()
	out, err = run([]string{"GATEHOUSE_KEYS_ENCRYPTION_SECRET=" + newSecret}, "keys", "reencrypt")
	require.Error(t, err, "the new secret alone cannot read the keys yet")
	require.Contains(t, out, "keys.encryption_secret (GATEHOUSE_KEYS_ENCRYPTION_SECRET) is not the one")
	both := []string{"GATEHOUSE_KEYS_ENCRYPTION_SECRET=" + newSecret, "GATEHOUSE_KEYS_PREVIOUS_ENCRYPTION_SECRETS=" + oldSecret}
	out, err = run(both, "keys", "reencrypt")
	require.NoError(t, err, out)
	require.Regexp(t, `re-encrypted [1-9]\d* signing key`, out)
	out, err = run([]string{"GATEHOUSE_KEYS_ENCRYPTION_SECRET=" + newSecret}, "keys", "list")
	require.NoError(t, err, "after reencrypt the new secret alone reads every key: %s", out)
	_, err = run(nil, "keys", "list")
	require.Error(t, err, "the old secret no longer does")
}
