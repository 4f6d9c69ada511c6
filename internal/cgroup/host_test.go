package cgroup

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestHostKillAndRemove runs against this host's real cgroups: it moves a
// sleeping child into a fresh cgroup, kills it through Kill and removes the
// cgroup.
func TestHostKillAndRemove(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups")
	}
	h, err := Detect()
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	path := "/moat-cgroup-test-" + strconv.Itoa(os.Getpid())
	dirs := createGroup(t, h, path)

	cmd := exec.Command("/bin/sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	for _, dir := range dirs {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
			_ = cmd.Process.Kill()
			t.Fatalf("join %q: %v", dir, err)
		}
	}
	g, err := h.Group(path)
	if err != nil {
		t.Fatal(err)
	}

	pids, err := g.Pids()
	if err != nil || len(pids) != 1 || pids[0] != cmd.Process.Pid {
		t.Errorf("Pids = %v, %v, want [%d]", pids, err, cmd.Process.Pid)
	}
	if err := g.Remove(); err == nil {
		t.Error("Remove succeeded while a process was in the cgroup")
	}
	if err := g.Kill(); err != nil {
		t.Errorf("Kill: %v", err)
	}

	select {
	case err := <-waited:
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Errorf("sleep ended with %v, want SIGKILL", err)
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("sleep survived Kill")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := WaitEmpty(ctx, g); err != nil {
		t.Fatalf("WaitEmpty: %v", err)
	}
	if _, err := g.Stats(); err != nil {
		t.Errorf("Stats: %v", err)
	}
	if err := g.Remove(); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if g.Exists() {
		t.Error("cgroup exists after Remove")
	}
}

// createGroup makes the cgroup directories a sandbox needs and registers
// their removal.
func createGroup(t *testing.T, h Hierarchy, path string) []string {
	t.Helper()
	var dirs []string
	switch v := h.(type) {
	case *V1:
		for _, c := range []string{"cpuacct", "memory", "pids", "freezer"} {
			if mount, ok := v.controllers[c]; ok {
				dirs = append(dirs, filepath.Join(mount, path))
			}
		}
	case *V2:
		dirs = []string{filepath.Join(v.root, path)}
	}

	for _, dir := range dirs {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Rmdir(dir) })
	}
	return dirs
}
