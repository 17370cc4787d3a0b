// Command gatehouse is the Gatehouse authorization server and its
// administration tool: serve, migrate, bootstrap, keys, version, and the
// client commands token, secret, clients and users (admincli.go, token.go).
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
