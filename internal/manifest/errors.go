package manifest

import (
	"errors"
	"strings"
)

// Sentinel errors, checked with errors.Is.
var (
	// ErrInvalid is wrapped by every error that Parse returns.
	ErrInvalid = errors.New("invalid manifest")
	// ErrInvalidQuantity is wrapped by the errors of ParseBytes and ParseCPU.
	ErrInvalidQuantity = errors.New("invalid quantity")
	// ErrInvalidMaximums is wrapped by the errors of Maximums.Validate.
	ErrInvalidMaximums = errors.New("invalid platform maximums")
)

// FileName is the manifest's file name at the top of a job bundle.
const FileName = "moat.yaml"

// Problem is one thing wrong in a manifest.
type Problem struct {
	// Field is the path of the field, such as "resources.memory" or
	// "inputs[1]". It is empty for problems of the whole document, such as
	// a YAML syntax error.
	Field string
	// Message is what is wrong with the value and how to fix it.
	Message string
}

// ValidationError lists every problem Parse found. It wraps ErrInvalid.
type ValidationError struct {
	Problems []Problem
}

// Error returns one line per problem, each in the form
// "moat.yaml: resources.memory: <message>".
func (e *ValidationError) Error() string {
	lines := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		if p.Field == "" {
			lines = append(lines, FileName+": "+p.Message)
			continue
		}
		lines = append(lines, FileName+": "+p.Field+": "+p.Message)
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns ErrInvalid, so errors.Is(err, ErrInvalid) holds.
func (e *ValidationError) Unwrap() error {
	return ErrInvalid
}

// problems collects Problems in the order they are found.
type problems []Problem

func (ps *problems) add(field, message string) {
	*ps = append(*ps, Problem{Field: field, Message: message})
}

// err returns nil when nothing was added.
func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}
