// Command gatehouse is the Gatehouse authorization server and its
// administration tool: serve, migrate, bootstrap, keys, version, and the
// client commands token, secret, clients, users, groups and resources
// (token.go, secret.go, admincli.go and the *cli.go files).
// backends.go is the only place that picks concrete backends.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse:", oneLine(err))
		os.Exit(1)
	}
}
