package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version and commit are set at build time:
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=$(git rev-parse HEAD)"
//
// Without them, the module version and VCS revision recorded by the Go
// toolchain are used where it recorded them.
var (
	version = "dev"
	commit  = ""
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			v, c := buildVersion()
			fmt.Fprintf(cmd.OutOrStdout(), "gatehouse %s (commit %s, %s)\n", v, c, runtime.Version())
		},
	}
}

// buildVersion returns the version and commit, falling back on the build
// information: `go install …@v1.2.3` records the module version, a build
// in a git checkout records the revision.
func buildVersion() (v, c string) {
	v, c = version, commit
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v, orUnknown(c)
	}
	if v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	if c == "" {
		modified := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				c = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if c != "" && modified {
			c += "-dirty"
		}
	}
	return v, orUnknown(c)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
