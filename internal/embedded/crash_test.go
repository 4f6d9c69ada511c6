package embedded_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/config"
	"github.com/moatdev/moat/internal/embedded"
	"github.com/moatdev/moat/internal/store"
	"github.com/moatdev/moat/internal/worker"
)

// crashRunArg makes the test binary act as a moat process that runs one
// bundle and is then killed by the test: args are the data dir, the state
// dir, the runc binary, the bundle dir and the runtime.
const crashRunArg = "__crash-run"

// crashRun is the body of that process. It returns only if the run ends,
// which the test does not let happen.
func crashRun(args []string) error {
	if len(args) != 5 {
		return fmt.Errorf("usage: %s DATA_DIR STATE_DIR RUNC BUNDLE RUNTIME", crashRunArg)
	}
	cfg := config.Default(args[0])
	cfg.StateDir = args[1]
	cfg.RuncPath = args[2]

	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(args[0], "moat.db"))
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	runner, err := embedded.New(embedded.Options{
		Config: cfg, Store: st, Audit: &audit.Recorder{Store: st, Log: logger}, Log: logger,
		QueryCommand: []string{os.Args[0], embedded.QueryEngineCommand},
		Runtime:      args[4],
	})
	if err != nil {
		return err
	}
	_, err = runner.Run(ctx, args[3], "acme", "admin", os.Stdout)
	return err
}

func TestCrashedWorkerRunIsReaped(t *testing.T) {
	h := newHarness(t, nil)
	marker := "4242005"
	dir := h.bundle(map[string]string{
		"moat.yaml": fmt.Sprintf(shManifest, "orphan", "120s"),
		"run.sh":    "#!/bin/sh\nsetsid sleep " + marker + "1 &\nsleep " + marker + "2\n",
	})

	// A separate moat process starts the run and is killed while the job
	// sleeps, as a crash or an OOM kill of the worker would.
	cmd := exec.Command(os.Args[0], crashRunArg, h.dataDir, h.cfg.StateDir, h.cfg.RuncPath, dir, "runc")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lostID := waitForRunningRun(t, h, marker)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if findProcess(marker) == "" {
		t.Fatal("the job died with its worker; the test cannot show the reaper at work")
	}

	// The next run of any moat process reaps the lost run first.
	run, _ := h.run(context.Background(), h.bundle(trivialJob), "acme")
	if run.Cause != worker.CauseSucceeded {
		t.Fatalf("the next run ended as %q: %s", run.Cause, run.Reason)
	}

	lost, err := h.store.GetRun(context.Background(), lostID)
	if err != nil {
		t.Fatal(err)
	}
	if lost.Cause != worker.CauseWorkerLost || lost.State != store.RunFinished {
		t.Fatalf("lost run: state %q cause %q, want finished worker_lost", lost.State, lost.Cause)
	}
	if !strings.Contains(lost.Reason, fmt.Sprint(cmd.Process.Pid)) {
		t.Errorf("reason %q does not name the dead worker's pid %d", lost.Reason, cmd.Process.Pid)
	}
	if pid := findProcess(marker); pid != "" {
		t.Errorf("process %s of the lost run survived the reaper", pid)
	}
	h.assertNothingLeft(lostID)

	events := h.events(lostID)
	last := events[len(events)-1]
	if last.Type != "run.finished" || last.Details["cause"] != worker.CauseWorkerLost {
		t.Errorf("last audit event of the lost run = %s %v, want run.finished with cause worker_lost", last.Type, last.Details)
	}
}

// waitForRunningRun waits until a run is running and its job's marker
// process exists, and returns the run's id.
func waitForRunningRun(t *testing.T, h *harness, marker string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		runs, err := h.store.ListRuns(context.Background(), store.RunFilter{State: store.RunRunning})
		if err == nil && len(runs) == 1 && findProcess(marker) != "" {
			return runs[0].ID
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the crash-run process never started its job")
	return ""
}

// A run started with one backend and lost is reaped by a moat process that
// uses the other backend: the run does not record its backend, so the
// reaper asks every backend of the host.
func TestCrashedRunscRunIsReapedByRunc(t *testing.T) {
	h := newHarness(t, nil)
	dir := h.bundle(map[string]string{
		"moat.yaml": fmt.Sprintf(shManifest, "orphan-gvisor", "120s"),
		"run.sh":    "#!/bin/sh\nsleep 120\n",
	})

	cmd := exec.Command(os.Args[0], crashRunArg, h.dataDir, h.cfg.StateDir, h.cfg.RuncPath, dir, "runsc")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lostID := waitForSandbox(t, h, filepath.Join(h.cfg.StateDir, "runsc"))
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	run, _ := h.run(context.Background(), h.bundle(trivialJob), "acme")
	if run.Cause != worker.CauseSucceeded {
		t.Fatalf("the next run ended as %q: %s", run.Cause, run.Reason)
	}

	lost, err := h.store.GetRun(context.Background(), lostID)
	if err != nil {
		t.Fatal(err)
	}
	if lost.Cause != worker.CauseWorkerLost {
		t.Fatalf("lost run cause %q, want worker_lost", lost.Cause)
	}
	if left, _ := filepath.Glob(filepath.Join(h.cfg.StateDir, "runsc", "*"+lostID+"*")); len(left) > 0 {
		t.Errorf("runsc state of the lost run remains: %v", left)
	}
	h.assertNothingLeft(lostID)
}

// waitForSandbox waits until a run is running and runsc has recorded its
// sandbox under stateRoot ("<id>_sandbox:<id>.state"), and returns the run's
// id. Killing moat earlier would leave runsc itself still starting the
// sandbox, a different case from a crash during the run.
func waitForSandbox(t *testing.T, h *harness, stateRoot string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		runs, err := h.store.ListRuns(context.Background(), store.RunFilter{State: store.RunRunning})
		if err == nil && len(runs) == 1 {
			if m, _ := filepath.Glob(filepath.Join(stateRoot, runs[0].ID+"_sandbox*")); len(m) > 0 {
				return runs[0].ID
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the crash-run process never started its container")
	return ""
}
