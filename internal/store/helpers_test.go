package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moatdev/moat/internal/ids"
)

const (
	testActor  = "alice"
	testRunA   = "r-00000000000000a1"
	testRunB   = "r-00000000000000b2"
	testDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
)

func openTest(t *testing.T) *SQLite {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "state", "moat.db"))
}

func openAt(t *testing.T, path string) *SQLite {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// seedJob creates org and its job "watch" of kind alert.
func seedJob(t *testing.T, s *SQLite, org string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.EnsureOrg(ctx, testActor, org); err != nil {
		t.Fatalf("EnsureOrg(%q): %v", org, err)
	}
	if err := s.EnsureJob(ctx, testActor, Job{Org: org, Name: "watch", Kind: "alert"}); err != nil {
		t.Fatalf("EnsureJob: %v", err)
	}
}

// seedRun creates a queued run of org's job "watch".
func seedRun(t *testing.T, s *SQLite, org, id string) {
	t.Helper()
	seedJob(t, s, org)
	r := Run{ID: id, Org: org, Job: "watch", Digest: testDigest, Actor: testActor}
	if err := s.CreateRun(context.Background(), r); err != nil {
		t.Fatalf("CreateRun(%q): %v", id, err)
	}
}

// wantErr fails unless err wraps target and its message contains every
// fragment.
func wantErr(t *testing.T, err, target error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", target)
	}
	if target != nil && !errors.Is(err, target) {
		t.Fatalf("error %q does not wrap %q", err, target)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not contain %q", err, f)
		}
	}
}

func wantInvalid(t *testing.T, err error, value string) {
	t.Helper()
	wantErr(t, err, ids.ErrInvalid, `"`+value+`"`)
}
