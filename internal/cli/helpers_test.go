package cli

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
)

// result is what one in-process CLI invocation produced.
type result struct {
	code   int
	stdout string
	stderr string
}

// moat runs Main with --data-dir dir and args, capturing stdout and stderr.
// Main writes to os.Stdout and os.Stderr directly, so the test swaps them
// for pipes. Tests in this package therefore do not run in parallel.
func moat(t *testing.T, dir string, args ...string) result {
	t.Helper()

	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}

	// Read both pipes while Main runs, so a large output cannot fill a pipe
	// buffer and block Main.
	outDone := drain(outR)
	errDone := drain(errR)

	oldOut, oldErr, oldLog := os.Stdout, os.Stderr, slog.Default()
	os.Stdout, os.Stderr = outW, errW
	code := Main(append([]string{"--data-dir", dir}, args...))
	os.Stdout, os.Stderr = oldOut, oldErr
	// openApp points slog's default logger at the swapped stderr.
	slog.SetDefault(oldLog)

	outW.Close()
	errW.Close()
	r := result{code: code, stdout: <-outDone, stderr: <-errDone}
	t.Logf("moat %s -> exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	return r
}

func drain(r *os.File) <-chan string {
	done := make(chan string, 1)
	go func() {
		var buf bytes.Buffer
		_, _ = io.Copy(&buf, r)
		r.Close()
		done <- buf.String()
	}()
	return done
}

// wantOK fails unless the invocation exited 0.
func wantOK(t *testing.T, r result) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit status %d, want 0; stderr: %s", r.code, r.stderr)
	}
}

// wantFail fails unless the invocation exited with code and stderr contains
// every fragment.
func wantFail(t *testing.T, r result, code int, fragments ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit status %d, want %d", r.code, code)
	}
	for _, f := range fragments {
		if !strings.Contains(r.stderr, f) {
			t.Errorf("stderr %q does not contain %q", r.stderr, f)
		}
	}
}

func wantContains(t *testing.T, subject, got string, fragments ...string) {
	t.Helper()
	for _, f := range fragments {
		if !strings.Contains(got, f) {
			t.Errorf("%s %q does not contain %q", subject, got, f)
		}
	}
}

// dataDir returns a fresh data directory with org acme created.
func dataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	wantOK(t, moat(t, dir, "org", "create", "acme"))
	return dir
}
