package redis

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Deployment is the kind of Redis a URL names.
type Deployment int

// The deployments Open connects to.
const (
	Standalone Deployment = iota // redis:// or rediss://
	Sentinel                     // redis+sentinel://, a primary found through Sentinel
	Cluster                      // redis+cluster://, a Redis Cluster
)

// Short timeouts: an outage must turn into a fast 503, not a hung request;
// the pool reconnects by itself when Redis (or a promoted replica) is back.
const (
	dialTimeout  = time.Second
	readTimeout  = 500 * time.Millisecond
	writeTimeout = 500 * time.Millisecond
	poolTimeout  = time.Second
)

// newClient parses a redis_url (see docs/configuration.md) into a client:
//
//	redis[s]://[[user]:password@]host:port[/db]
//	redis[s]+sentinel://[[user]:password@]host:port[,host:port...]/primary-name[/db][?sentinel_password=...]
//	redis[s]+cluster://[[user]:password@]host:port[,host:port...]
//
// The user and password are those of the Redis servers; Sentinel's own
// password, when it has one, is the sentinel_password query parameter.
// Errors never repeat the URL (it may hold a password).
func newClient(raw string) (goredis.UniversalClient, Deployment, error) {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, 0, errors.New("not a URL")
	}
	switch scheme {
	case "redis", "rediss":
		o, err := goredis.ParseURL(raw)
		if err != nil {
			return nil, 0, errors.New("not a valid redis:// URL")
		}
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = dialTimeout, readTimeout, writeTimeout, poolTimeout
		o.MaxRetries = 1
		return goredis.NewClient(o), Standalone, nil
	case "redis+sentinel", "rediss+sentinel":
		u, hosts, err := splitHosts(raw)
		if err != nil {
			return nil, 0, err
		}
		o, err := failoverOptions(u, hosts)
		if err != nil {
			return nil, 0, err
		}
		return goredis.NewFailoverClient(o), Sentinel, nil
	case "redis+cluster", "rediss+cluster":
		u, hosts, err := splitHosts(raw)
		if err != nil {
			return nil, 0, err
		}
		if strings.Trim(u.Path, "/") != "" && strings.Trim(u.Path, "/") != "0" {
			return nil, 0, errors.New("a Redis Cluster has only database 0")
		}
		if u.RawQuery != "" || u.ForceQuery {
			return nil, 0, errors.New("redis+cluster:// takes no parameters")
		}
		o := &goredis.ClusterOptions{Addrs: hosts, TLSConfig: tlsFor(scheme),
			DialTimeout: dialTimeout, ReadTimeout: readTimeout, WriteTimeout: writeTimeout, PoolTimeout: poolTimeout,
			// A redirect (MOVED, ASK) after a resharding or a failover
			// is followed at once; more would outlast the request.
			MaxRetries: 1, MaxRedirects: 3}
		o.Username, o.Password = credentials(u)
		return goredis.NewClusterClient(o), Cluster, nil
	}
	return nil, 0, errors.New("must be redis://, rediss://, redis+sentinel://, rediss+sentinel://, redis+cluster:// or rediss+cluster://")
}

// failoverOptions reads a redis+sentinel:// URL whose path is
// /primary-name[/db].
func failoverOptions(u *url.URL, hosts []string) (*goredis.FailoverOptions, error) {
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if parts[0] == "" || len(parts) > 2 {
		return nil, errors.New("redis+sentinel:// needs the primary's name as its path (/mymaster or /mymaster/0)")
	}
	db := 0
	if len(parts) == 2 {
		n, err := strconv.Atoi(parts[1])
		if err != nil || n < 0 {
			return nil, errors.New("the database after the primary's name must be a number")
		}
		db = n
	}
	// ParseQuery, not Query, which drops what it cannot decode: a
	// mistyped sentinel_password must be an error, not no password.
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, errors.New("redis+sentinel:// parameters are not valid query syntax")
	}
	sentinelPassword := q.Get("sentinel_password")
	q.Del("sentinel_password")
	if len(q) > 0 {
		return nil, errors.New("redis+sentinel:// takes only the sentinel_password parameter")
	}
	o := &goredis.FailoverOptions{MasterName: parts[0], SentinelAddrs: hosts, SentinelPassword: sentinelPassword, DB: db,
		TLSConfig:   tlsFor(u.Scheme),
		DialTimeout: dialTimeout, ReadTimeout: readTimeout, WriteTimeout: writeTimeout, PoolTimeout: poolTimeout,
		MaxRetries: 1}
	o.Username, o.Password = credentials(u)
	return o, nil
}

// splitHosts parses a URL whose authority holds a comma-separated list of
// host:port (which net/url refuses when one is an IPv6 literal).
func splitHosts(raw string) (*url.URL, []string, error) {
	scheme, rest, _ := strings.Cut(raw, "://")
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	userinfo := ""
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, authority = authority[:i+1], authority[i+1:]
	}
	var hosts []string
	for _, h := range strings.Split(authority, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" {
			return nil, nil, fmt.Errorf("every address must be host:port")
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, nil, fmt.Errorf("every address must be host:port")
		}
		hosts = append(hosts, h)
	}
	u, err := url.Parse(scheme + "://" + userinfo + "placeholder" + tail)
	if err != nil {
		return nil, nil, errors.New("not a valid URL")
	}
	return u, hosts, nil
}

func credentials(u *url.URL) (user, password string) {
	if u.User == nil {
		return "", ""
	}
	password, _ = u.User.Password()
	return u.User.Username(), password
}

// tlsFor is the TLS configuration of a rediss* scheme, nil otherwise; the
// server name is each address's own host.
func tlsFor(scheme string) *tls.Config {
	if strings.HasPrefix(scheme, "rediss") {
		return &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return nil
}

// redact names the addresses of a URL without its password, for errors.
// A password holding an unescaped '/', '?' or '#' ends the authority
// early, so that what precedes the separator would be part of the
// password: when an '@' follows the separator the authority is ambiguous
// and no address is named.
func redact(raw string) string {
	if _, rest, ok := strings.Cut(raw, "://"); ok {
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if strings.Contains(rest[end:], "@") {
			return "the configured address"
		}
		authority := rest[:end]
		if i := strings.LastIndex(authority, "@"); i >= 0 {
			authority = authority[i+1:]
		}
		if authority != "" {
			return authority
		}
	}
	return "the configured address"
}
