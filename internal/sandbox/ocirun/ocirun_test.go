package ocirun

import (
	"errors"
	"testing"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct{ tool, out, want string }{
		{"runsc", "runsc version 0.0~20221219.0\nspec: 1.0.2-dev\n", "runsc 0.0~20221219.0"},
		{"runc", "runc version 1.5.3\ncommit: v1.5.3\nspec: 1.3.0\n", "runc 1.5.3"},
	} {
		got, err := ParseVersion(tc.tool, tc.out)
		if err != nil || got != tc.want {
			t.Errorf("ParseVersion(%q) = %q, %v; want %q", tc.tool, got, err, tc.want)
		}
	}
	if _, err := ParseVersion("runsc", "runc version 1.5.3\n"); err == nil {
		t.Error("ParseVersion accepted runc's output as runsc's")
	}
}

func TestUndoRunsNewestFirstAndKeepsGoing(t *testing.T) {
	var order []string
	failure := errors.New("step failed")
	var u Undo
	u.Add("first", func() error { order = append(order, "first"); return nil })
	u.Add("second", func() error { order = append(order, "second"); return failure })
	u.Add("third", func() error { order = append(order, "third"); return nil })

	err := u.Run()
	if !errors.Is(err, failure) || err.Error() != "second: step failed" {
		t.Errorf("Run() = %v, want %q wrapping the step's error", err, "second: step failed")
	}
	if got := len(order); got != 3 || order[0] != "third" || order[1] != "second" || order[2] != "first" {
		t.Errorf("steps ran in order %q, want third, second, first", order)
	}
	if err := u.Run(); err != nil || len(order) != 3 {
		t.Errorf("second Run() = %v after %d steps; want nil and no step run again", err, len(order))
	}
}

func TestRunIDsKeepsOnlyValidIDsSorted(t *testing.T) {
	names := []string{"r-00000000000000ff", "lost+found", "r-0000000000000001", "r-00000000000000ff", "r-xyz"}
	got := RunIDs(names)
	if len(got) != 2 || got[0] != "r-0000000000000001" || got[1] != "r-00000000000000ff" {
		t.Errorf("RunIDs(%q) = %q, want [r-0000000000000001 r-00000000000000ff]", names, got)
	}
}
