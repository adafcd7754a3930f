package main

import (
	"context"
	"crypto/fips140"
	"fmt"
	"runtime"
	"runtime/debug"
)

func init() {
	register(command{name: "version", summary: "print version, Go version and FIPS mode", run: runVersion})
}

// version is set at link time with -ldflags "-X main.version=v1.2.3".
var version = ""

// buildVersion returns the version stamped at link time, else the module
// version from the build info, else "devel".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func runVersion(_ context.Context, e *env, args []string) int {
	fs := newFlags("version")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parseFlags(fs, args); err != nil {
		return e.fail(exitUsage, "version: %v", err)
	}
	fips := "off"
	if fips140.Enabled() {
		fips = "on"
	}
	if *asJSON {
		if err := e.writeJSON(map[string]string{"version": buildVersion(), "go": runtime.Version(), "fips": fips}); err != nil {
			return exitUsage
		}
		return exitOK
	}
	fmt.Fprintf(e.stdout, "digakit %s (%s, fips140 %s)\n", buildVersion(), runtime.Version(), fips)
	return exitOK
}
