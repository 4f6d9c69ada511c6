// Package ids validates and creates the identifiers moat uses for orgs,
// principals, jobs, datasets and runs.
//
// Every identifier that reaches a file path, a cgroup name, a network
// namespace name or a SQL view name passes through this package first, so
// those places can rely on the grammar: lowercase ASCII letters, digits, '-'
// and '_', starting with a letter, at most 63 characters. Dataset names may
// contain one '.' between two such parts (for example
// "ethereum.transactions").
package ids

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
)

// ErrInvalid is wrapped by every validation error of this package.
var ErrInvalid = errors.New("invalid identifier")

var (
	namePattern    = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	datasetPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}(\.[a-z][a-z0-9_]{0,62})?$`)
	runPattern     = regexp.MustCompile(`^r-[0-9a-f]{16}$`)
)

// ValidateName checks an org, principal, job or webhook name. kind names the
// value in the error ("org", "job", ...).
func ValidateName(kind, value string) error {
	if namePattern.MatchString(value) {
		return nil
	}
	return fmt.Errorf("%w: %s %q: use 1 to 63 lowercase letters, digits, '-' or '_', starting with a letter", ErrInvalid, kind, value)
}

// ValidateDataset checks a dataset name such as "watchlist" or
// "ethereum.transactions". '-' is not allowed because the name becomes a SQL
// view name.
func ValidateDataset(value string) error {
	if datasetPattern.MatchString(value) {
		return nil
	}
	return fmt.Errorf("%w: dataset %q: use lowercase letters, digits and '_', starting with a letter, with at most one '.' between two such parts", ErrInvalid, value)
}

// ValidateRun checks a run id as produced by NewRun.
func ValidateRun(value string) error {
	if runPattern.MatchString(value) {
		return nil
	}
	return fmt.Errorf("%w: run %q: run ids look like r-0123456789abcdef (see 'moat runs list')", ErrInvalid, value)
}

// NewRun returns a fresh random run id ("r-" and 16 hex digits). The id
// appears in cgroup, netns and runc container names, so it is short and
// path-safe.
func NewRun() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand.Read does not fail on Linux since Go 1.24; a failure
		// here means the process cannot be trusted to make tokens either.
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return "r-" + hex.EncodeToString(b[:])
}
