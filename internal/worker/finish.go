package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/bundle"
	"github.com/moatdev/moat/internal/store"
)

// recordStarted audits the start of a run with everything a reviewer needs
// to know what ran where: bundle digest, limits, runtime and kernel.
func (w *Worker) recordStarted(ctx context.Context, run store.Run, b *bundle.Bundle, env *environment) {
	r := b.Manifest.Resources
	_, _ = w.cfg.Audit.Record(ctx, store.Event{
		Type: audit.RunStarted, Actor: run.Actor, Org: run.Org, RunID: run.ID, Job: run.Job,
		Decision: audit.Allow, Reason: "started",
		Details: map[string]any{
			"bundle_digest": b.Digest,
			"runtime":       w.cfg.Runtime.Name(),
			"kernel":        kernelRelease(),
			"arch":          runtime.GOARCH,
			"uid":           env.spec.UID,
			"limits": map[string]any{
				"cpu": r.CPU, "memory_bytes": r.MemoryBytes, "pids": r.Pids,
				"tmp_bytes": r.TmpBytes, "timeout_ms": r.Timeout.Milliseconds(),
			},
			"inputs":   b.Manifest.Inputs,
			"webhooks": b.Manifest.Webhooks,
		},
	})
}

// finish stores the run's terminal state and audits it. It is the only
// place a run gets its cause.
func (w *Worker) finish(ctx context.Context, run store.Run, out runOutcome) (store.Run, error) {
	now := time.Now()
	run.State = store.RunFinished
	run.Cause = out.cause
	run.Reason = out.reason
	run.ExitCode = out.exitCode
	run.CPUSeconds = out.result.Usage.CPUSeconds
	run.PeakMemoryBytes = out.result.Usage.PeakMemoryBytes
	run.OOMKills = out.result.Usage.OOMKills
	run.PidsHits = out.result.Usage.PidsHits
	run.Queries = out.counters.Queries
	run.RowsReturned = out.counters.RowsReturned
	run.WebhookCalls = out.counters.WebhookCalls
	run.LogPath = out.logPath
	run.LogBytes = out.logBytes
	run.LogTruncated = out.trunc
	run.FinishedAt = &now
	if !out.started.IsZero() {
		run.WallMillis = now.Sub(out.started).Milliseconds()
		if out.result.Wall > 0 {
			run.WallMillis = out.result.Wall.Milliseconds()
		}
	}

	// A run finished from a context the user cancelled must still be
	// recorded.
	sctx := context.WithoutCancel(ctx)
	if err := w.cfg.Store.FinishRun(sctx, run); err != nil {
		return run, fmt.Errorf("record finished run %q: %w", run.ID, err)
	}

	decision := audit.Allow
	eventType := audit.RunFinished
	if out.cause == CauseRejected {
		decision, eventType = audit.Deny, audit.RunRejected
	}
	details := map[string]any{
		"cause":             out.cause,
		"exit_code":         run.ExitCode,
		"cpu_seconds":       run.CPUSeconds,
		"peak_memory_bytes": run.PeakMemoryBytes,
		"oom_kills":         run.OOMKills,
		"pids_hits":         run.PidsHits,
		"wall_ms":           run.WallMillis,
		"queries":           run.Queries,
		"rows_returned":     run.RowsReturned,
		"webhook_calls":     run.WebhookCalls,
		"log_bytes":         run.LogBytes,
		"log_dropped_bytes": out.dropped,
		"log_dropped_lines": out.droppedLines,
		"gateway_denials":   out.counters.Denials,
		"log_truncated":     run.LogTruncated,
		"bundle_digest":     run.Digest,
		"spec_sha256":       out.result.SpecHash,
		"seccomp_profile":   out.result.SeccompProfile,
		"seccomp_sha256":    out.result.SeccompSHA256,
		"user_namespace":    out.result.UserNamespace,
		"host_uid":          out.result.HostUID,
		"runtime_version":   out.result.RuntimeVersion,
		"kernel":            kernelRelease(),
	}
	if _, err := w.cfg.Audit.Record(sctx, store.Event{
		Type: eventType, Actor: run.Actor, Org: run.Org, RunID: run.ID, Job: run.Job,
		Decision: decision, Reason: reasonOrCause(out), Details: details,
	}); err != nil {
		return run, err
	}
	return run, nil
}

func reasonOrCause(out runOutcome) string {
	if out.reason != "" {
		return out.reason
	}
	return out.cause
}

// kernelRelease returns uname -r, or "unknown".
func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// LimitsJSON encodes a bundle's resources for the run record.
func LimitsJSON(b *bundle.Bundle) []byte {
	r := b.Manifest.Resources
	data, _ := json.Marshal(map[string]any{
		"cpu": r.CPU, "memory_bytes": r.MemoryBytes, "pids": r.Pids,
		"tmp_bytes": r.TmpBytes, "timeout_ms": r.Timeout.Milliseconds(),
	})
	return data
}
