package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/config"
)

const goodSecret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

func prod() []string {
	return []string{
		"GATEHOUSE_DATABASE_URL=postgres://gh:pw@db:5432/gatehouse",
		"GATEHOUSE_REDIS_URL=redis://redis:6379/0",
		"GATEHOUSE_KEYS_ENCRYPTION_SECRET=" + goodSecret,
		"GATEHOUSE_PASSWORD_PRELOGIN_SECRET=" + goodSecret,
		"GATEHOUSE_ISSUER=https://auth.example.com",
	}
}

func TestDefaultsValidateInDev(t *testing.T) {
	c, err := config.Load("", []string{"GATEHOUSE_DEV=true"}, nil)
	require.NoError(t, err)
	require.NoError(t, c.Validate())
	require.Equal(t, 15*time.Minute, c.Token.AccessTTL)
	require.Equal(t, "127.0.0.1:8080", c.Addr)

	c, err = config.Load("", []string{}, nil)
	require.NoError(t, err)
	err = c.Validate()
	require.ErrorContains(t, err, "database_url (GATEHOUSE_DATABASE_URL): is required")
}

func TestProductionEnvironment(t *testing.T) {
	c, err := config.Load("", prod(), nil)
	require.NoError(t, err)
	require.NoError(t, c.Validate())
}

func TestInvalidSettingsAreNamed(t *testing.T) {
	for key, value := range map[string]string{
		"GATEHOUSE_ADDR":                       "nonsense",
		"GATEHOUSE_ISSUER":                     "http://auth.example.com",
		"GATEHOUSE_TOKEN_ACCESS_TTL":           "1s",
		"GATEHOUSE_TOKEN_SIGNING_ALG":          "HS256",
		"GATEHOUSE_KEYS_ENCRYPTION_SECRET":     "c2hvcnQ=",
		"GATEHOUSE_PASSWORD_MIN_ITERATIONS":    "10",
		"GATEHOUSE_LOG_FORMAT":                 "xml",
		"GATEHOUSE_REDIS_URL":                  "http://redis",
		"GATEHOUSE_PASSWORD_ARGON2_MEMORY_KIB": "1",
	} {
		env := append(prod(), key+"="+value)
		c, err := config.Load("", env, nil)
		require.NoError(t, err, key)
		err = c.Validate()
		require.Error(t, err, key)
		require.Contains(t, err.Error(), key, "the error names the setting")
		require.NotContains(t, err.Error(), "\n")
	}
	_, err := config.Load("", append(prod(), "GATEHOUSE_TOKEN_ACCESS_TTL=soon"), nil)
	require.Error(t, err, "a malformed duration fails at load")
}

func TestUnknownSettingsAreErrors(t *testing.T) {
	_, err := config.Load("", append(prod(), "GATEHOUSE_DATABSE_URL=x"), nil)
	require.ErrorContains(t, err, "GATEHOUSE_DATABSE_URL")

	path := filepath.Join(t.TempDir(), "gatehouse.yaml")
	require.NoError(t, os.WriteFile(path, []byte("token:\n  acess_ttl: 5m\n"), 0o600))
	_, err = config.Load(path, prod(), nil)
	require.ErrorContains(t, err, "token.acess_ttl")
}

func TestPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.yaml")
	require.NoError(t, os.WriteFile(path, []byte("addr: 0.0.0.0:9000\ntoken:\n  access_ttl: 5m\n  refresh_ttl: 48h\n"), 0o600))
	c, err := config.Load(path, append(prod(), "GATEHOUSE_TOKEN_ACCESS_TTL=10m"), nil)
	require.NoError(t, err)
	require.Equal(t, "0.0.0.0:9000", c.Addr, "file over default")
	require.Equal(t, 10*time.Minute, c.Token.AccessTTL, "env over file")
	require.Equal(t, 48*time.Hour, c.Token.RefreshTTL)

	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("addr", "", "")
	fs.String("issuer", "", "")
	require.NoError(t, fs.Parse([]string{"--addr", "127.0.0.1:7000"}))
	c, err = config.Load(path, prod(), fs)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:7000", c.Addr, "flag over file")
	require.Equal(t, "https://auth.example.com", c.Issuer, "an unset flag changes nothing")
}

func TestRedaction(t *testing.T) {
	c, err := config.Load("", prod(), nil)
	require.NoError(t, err)
	s := c.String()
	require.NotContains(t, s, goodSecret)
	require.NotContains(t, s, ":pw@")
	require.Contains(t, s, "db:5432")
}

// docs/configuration.md documents every key with its environment name.
func TestEveryKeyIsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	require.NoError(t, err)
	for _, key := range config.KeyNames() {
		require.True(t, strings.Contains(string(doc), "`"+key+"`"), "docs/configuration.md lacks `%s`", key)
		require.True(t, strings.Contains(string(doc), config.EnvName(key)), "docs/configuration.md lacks %s", config.EnvName(key))
	}
}
