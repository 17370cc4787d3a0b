// Command gatehouse is the Gatehouse authorization server and its
// administration tool: serve, migrate, bootstrap, token, version.
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
