package mio

import (
	"errors"
	"fmt"
	"sort"
)

// Issue codes (spec §4). errors.Is(err, ErrX) is true for a
// *ValidationError when any of its issues has code ErrX.
var (
	ErrRequired          = errors.New("required")
	ErrInvalidString     = errors.New("invalid string")
	ErrInvalidIdentifier = errors.New("invalid identifier")
	ErrInvalidDate       = errors.New("invalid date")
	ErrPeriod            = errors.New("outside or bad period")
	ErrInvalidUnit       = errors.New("invalid unit")
	ErrInvalidCode       = errors.New("invalid code")
	ErrInvalidDecimal    = errors.New("invalid decimal")
	ErrInvalidValue      = errors.New("invalid value")
	ErrDuplicateSourceID = errors.New("duplicate source id")
	ErrDanglingReference = errors.New("dangling reference")
	ErrUnsupported       = errors.New("unsupported")
	ErrInvalidJSON       = errors.New("invalid JSON")
	ErrEmptyExport       = errors.New("empty export")
	ErrEntryTooLarge     = errors.New("entry too large")
	ErrConfig            = errors.New("invalid configuration")
	ErrTooManyIssues     = errors.New("too many issues")
)

// ErrInternal reports a builder bug (for example a written length that
// differs from the planned Size); it is not a ValidationError.
var ErrInternal = errors.New("mio: internal error")

// maxIssues caps a ValidationError.
const maxIssues = 1000

// Issue is one input problem. Messages never contain input values (names,
// KVNR, free text, measurements): they name the field and the rule.
type Issue struct {
	Path    string
	Code    error
	Message string
}

// String renders "path: code: message".
func (i Issue) String() string { return i.Path + ": " + i.Code.Error() + ": " + i.Message }

// ValidationError carries all input problems at once, sorted by path and
// code.
type ValidationError struct {
	Issues []Issue
}

// Error summarises the issues.
func (e *ValidationError) Error() string {
	if len(e.Issues) == 0 {
		return "mio: invalid export"
	}
	return fmt.Sprintf("mio: invalid export: %d issue(s), first: %s", len(e.Issues), e.Issues[0])
}

// Is matches any issue code.
func (e *ValidationError) Is(target error) bool {
	for _, i := range e.Issues {
		if i.Code == target {
			return true
		}
	}
	return false
}

// issues collects problems.
type issues struct{ list []Issue }

func (s *issues) add(path string, code error, format string, args ...any) {
	s.list = append(s.list, Issue{Path: path, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (s *issues) err() error {
	if len(s.list) == 0 {
		return nil
	}
	l := s.list
	sort.SliceStable(l, func(a, b int) bool {
		if l[a].Path != l[b].Path {
			return l[a].Path < l[b].Path
		}
		return l[a].Code.Error() < l[b].Code.Error()
	})
	if len(l) > maxIssues {
		l = append(l[:maxIssues:maxIssues], Issue{Path: "", Code: ErrTooManyIssues, Message: "more issues omitted"})
	}
	return &ValidationError{Issues: l}
}
