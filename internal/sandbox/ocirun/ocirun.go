// Package ocirun holds what the runc and runsc backends share to drive an
// OCI runtime CLI: the undo stack of a run, bounded CLI commands, version
// parsing, the kill escalation, exit codes, cgroup removal and the search
// for leftover run ids. What differs between the backends (flags, cgroup
// creation, rootfs, user namespaces, seccomp adaptation) stays in their
// own packages.
package ocirun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// CommandTimeout bounds every CLI command other than `<cli> run`.
const CommandTimeout = 10 * time.Second

// Undo is the stack of cleanup steps of a run. The zero value is empty and
// ready to use.
type Undo struct {
	steps []undoStep
}

type undoStep struct {
	name string
	fn   func() error
}

// Add registers fn under name, which prefixes its error.
func (u *Undo) Add(name string, fn func() error) {
	u.steps = append(u.steps, undoStep{name: name, fn: fn})
}

// Run executes every step, newest first, even after a failed one, and
// returns all failures. Afterwards the stack is empty.
func (u *Undo) Run() error {
	var errs []error
	for i := len(u.steps) - 1; i >= 0; i-- {
		step := u.steps[i]
		if err := step.fn(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", step.name, err))
		}
	}
	u.steps = nil
	return errors.Join(errs...)
}

// Command runs `binary --root stateRoot args...`, bounded by
// CommandTimeout, and returns its combined output. tool ("runc" or
// "runsc") names the CLI in the error.
func Command(tool, binary, stateRoot string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()

	full := append([]string{"--root", stateRoot}, args...)
	out, err := exec.CommandContext(ctx, binary, full...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %q: %w: %s", tool, args, err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// FindBinary returns defaultPath if it exists, else tool looked up on
// PATH. installHint tells the operator how to install tool.
func FindBinary(tool, defaultPath, installHint string) (string, error) {
	if _, err := os.Stat(defaultPath); err == nil {
		return defaultPath, nil
	}
	found, err := exec.LookPath(tool)
	if err != nil {
		return defaultPath, fmt.Errorf("%s backend: %s not found at %q or on PATH: %s", tool, tool, defaultPath, installHint)
	}
	return found, nil
}

// CheckDirs rejects every directory in dirs (keyed by its name in
// messages) that is not a clean absolute path below /, and a cgroup
// parent that is empty or not a single path element.
func CheckDirs(tool string, dirs map[string]string, cgroupParent string) error {
	for name, p := range dirs {
		if !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/" {
			return fmt.Errorf("%s backend: %s %q: use a clean absolute path below /", tool, name, p)
		}
	}
	if strings.ContainsAny(cgroupParent, "/.") || cgroupParent == "" {
		return fmt.Errorf("%s backend: cgroup parent %q: use a single name without '/' or '.'", tool, cgroupParent)
	}
	return nil
}

// Version runs `<binary> --version` and returns "<tool> <version>" from
// its first line.
func Version(tool, binary string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()

	out, err := exec.CommandContext(ctx, binary, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("run %q --version: %w", binary, err)
	}
	return ParseVersion(tool, string(out))
}

// ParseVersion reads the first line of `<tool> --version`, for example
// "runc version 1.5.3", and returns "runc 1.5.3". Output of another tool
// is an error.
func ParseVersion(tool, out string) (string, error) {
	first, _, _ := strings.Cut(out, "\n")
	fields := strings.Fields(first)
	if len(fields) != 3 || fields[0] != tool || fields[1] != "version" {
		return "", fmt.Errorf("unexpected output of %s --version: %q", tool, first)
	}
	return tool + " " + fields[2], nil
}
