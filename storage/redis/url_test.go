package redis_test

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/storage/redis"
)

func TestSentinelURL(t *testing.T) {
	for _, tc := range []struct {
		url       string
		want      goredis.FailoverOptions
		tls       bool
		wantError string
	}{
		{url: "redis+sentinel://:pw@h1:26379,h2:26380/mymaster/3?sentinel_password=sp",
			want: goredis.FailoverOptions{MasterName: "mymaster", SentinelAddrs: []string{"h1:26379", "h2:26380"}, DB: 3, Password: "pw", SentinelPassword: "sp"}},
		{url: "rediss+sentinel://app:pw@[::1]:26379/mymaster", tls: true,
			want: goredis.FailoverOptions{MasterName: "mymaster", SentinelAddrs: []string{"[::1]:26379"}, Username: "app", Password: "pw"}},
		{url: "redis+sentinel://h1:26379", wantError: "primary's name"},
		{url: "redis+sentinel://h1:26379/m/x", wantError: "must be a number"},
		{url: "redis+sentinel://h1:26379/m/0/1", wantError: "primary's name"},
		{url: "redis+sentinel://h1:26379/m?db=1", wantError: "only the sentinel_password"},
		// A mistyped escape is an error, not a silently empty password.
		{url: "redis+sentinel://h1:26379/m?sentinel_password=a%zz", wantError: "not valid query syntax"},
		{url: "redis+sentinel://h1/m", wantError: "host:port"},
		{url: "redis+sentinel://h1:26379,/m", wantError: "host:port"},
		{url: "redis+sentinel://h1:99999/m", wantError: "host:port"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			u, hosts, err := redis.SplitHosts(tc.url)
			var o *goredis.FailoverOptions
			if err == nil {
				o, err = redis.FailoverOptions(u, hosts)
			}
			if tc.wantError != "" {
				require.ErrorContains(t, err, tc.wantError)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.tls, o.TLSConfig != nil)
			require.Equal(t, tc.want.MasterName, o.MasterName)
			require.Equal(t, tc.want.SentinelAddrs, o.SentinelAddrs)
			require.Equal(t, tc.want.DB, o.DB)
			require.Equal(t, tc.want.Username, o.Username)
			require.Equal(t, tc.want.Password, o.Password)
			require.Equal(t, tc.want.SentinelPassword, o.SentinelPassword)
			require.NotZero(t, o.ReadTimeout, "the short timeouts apply")
		})
	}
}

func TestClusterURL(t *testing.T) {
	c, kind, err := redis.NewClient("rediss+cluster://u:p@[::1]:7000,h2:7001")
	require.NoError(t, err)
	defer c.Close()
	require.Equal(t, redis.Cluster, kind)
	o := c.(*goredis.ClusterClient).Options()
	require.Equal(t, []string{"[::1]:7000", "h2:7001"}, o.Addrs)
	require.Equal(t, "u", o.Username)
	require.Equal(t, "p", o.Password)
	require.NotNil(t, o.TLSConfig)
	require.NotZero(t, o.ReadTimeout, "the short timeouts apply")

	for _, bad := range []string{"redis+cluster://h1:7000/2", "redis+cluster://h1:7000?x=1", "redis+cluster://h1:7000?%zz", "redis+cluster://h1", "http://h1:80", "h1:6379"} {
		_, _, err := redis.NewClient(bad)
		require.Error(t, err, bad)
	}
	_, kind, err = redis.NewClient("redis://127.0.0.1:6379/0")
	require.NoError(t, err)
	require.Equal(t, redis.Standalone, kind)
}

// An invalid or unreachable URL is reported without its password.
func TestURLErrorsHidePasswords(t *testing.T) {
	for _, url := range []string{
		"redis+sentinel://:pw-secret@h1:26379/m/x",
		"redis+cluster://u:pw-secret@h1/",
		"redis+cluster://u:pw-secret@127.0.0.1:1",
		"redis+sentinel://:pw-secret@127.0.0.1:1/m",
		// An unescaped '/', '?' or '#' in the password ends the authority
		// early; what precedes it must not be named as the address.
		"redis://:pw-secret/x@h1:6379",
		"redis://u:pw-secret?x@h1:6379",
		"redis+sentinel://:pw-secret#x@h1:26379/m",
		"redis+cluster://u:pw-secret/x@h1:1,h2:2",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := redis.Open(ctx, url)
		cancel()
		require.Error(t, err, url)
		require.NotContains(t, err.Error(), "pw-secret")
	}
}
