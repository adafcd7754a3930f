//go:build production

package main

import "context"

func init() {
	register(command{name: "sandbox", summary: "not available in this build", run: func(_ context.Context, e *env, _ []string) int {
		return e.fail(exitUsage, "sandbox: not available in this build")
	}})
}
