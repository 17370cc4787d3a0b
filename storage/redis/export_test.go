package redis

// NewClient is newClient, for tests that look behind the TokenState.
var NewClient = newClient

// FailoverOptions is failoverOptions for a URL, for the URL tests.
var FailoverOptions = failoverOptions

// SplitHosts is splitHosts, for the URL tests.
var SplitHosts = splitHosts
