package oauth

import (
	"net"
	"net/url"
	"slices"
)

// redirectURIRegistered reports whether uri is one of the client's
// registered redirect URIs, compared as exact strings (RFC 9700 §4.1.3).
// The one exception is RFC 8252 §7.3: a native app's loopback IP redirect
// (http://127.0.0.1 or http://[::1]) may name any port, because the app
// listens on whatever port the system gives it; everything else about it
// must still match exactly.
func redirectURIRegistered(registered []string, uri string) bool {
	if slices.Contains(registered, uri) {
		return true
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || !isLoopbackIP(u.Hostname()) || u.Port() == "" {
		return false
	}
	for _, reg := range registered {
		r, err := url.Parse(reg)
		if err != nil || r.Scheme != "http" || r.Hostname() != u.Hostname() {
			continue
		}
		portless := *u
		portless.Host = hostOnly(u)
		regPortless := *r
		regPortless.Host = hostOnly(r)
		if portless.String() == regPortless.String() {
			return true
		}
	}
	return false
}

func isLoopbackIP(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hostOnly is u's host without its port, IPv6 literals in brackets.
func hostOnly(u *url.URL) string {
	h := u.Hostname()
	if ip := net.ParseIP(h); ip != nil && ip.To4() == nil {
		return "[" + h + "]"
	}
	return h
}
