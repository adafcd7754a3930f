package mio

import (
	"regexp"
	"strings"
)

func regexpMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }

func trimmed(s string) string { return strings.TrimSpace(s) }
