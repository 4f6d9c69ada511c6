// Package worker owns the lifecycle of a run: it resolves the run's inputs
// and webhooks, opens the gateway inside the run's network namespace, starts
// the sandbox, supervises it (timeout, cancellation, log cap), decides the
// terminal cause, and records the result and its audit events.
package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/bundle"
	"github.com/moatdev/moat/internal/gateway"
	"github.com/moatdev/moat/internal/outbox"
	"github.com/moatdev/moat/internal/query"
	"github.com/moatdev/moat/internal/sandbox"
	"github.com/moatdev/moat/internal/store"
)

// Sandbox identity of every job process. It is not 0, owns nothing on the
// host, and has no entry in the host's /etc/passwd.
const (
	JobUID = 10001
	JobGID = 10001
)

// Paths inside the sandbox.
const (
	sdkMountPoint = "/opt/moat/python"
	jobDir        = "/job"
)

// Config assembles a Worker.
type Config struct {
	// DataDir is the data directory; datasets, bundles and run logs live
	// under it.
	DataDir string
	Runtime sandbox.Runtime
	Store   store.Store
	Audit   *audit.Recorder
	Log     *slog.Logger
	// SDKDir is the host directory with moat_job.py, mounted read-only.
	SDKDir        string
	GatewayLimits gateway.Limits
	// Query holds the engine limits; Views is filled per run.
	Query query.Config
	// QueryCommand starts the query engine process: the moat binary and
	// its hidden engine subcommand.
	QueryCommand []string
	// LogMaxBytes caps the run's log (stdout and stderr together).
	LogMaxBytes int64
	// LogLinesPerSecond caps the rate of output lines; zero means 1000.
	LogLinesPerSecond int
	// Deliverer delivers queued webhook calls; nil disables delivery.
	Deliverer *outbox.Deliverer
	// CancelPoll is how often the worker checks the store for a cancel
	// request from another process. Zero means one second.
	CancelPoll time.Duration
}

// Worker executes runs.
type Worker struct {
	cfg Config
	log *slog.Logger
}

// New returns a Worker.
func New(cfg Config) *Worker {
	logger := cfg.Log
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.CancelPoll <= 0 {
		cfg.CancelPoll = time.Second
	}
	if cfg.LogMaxBytes <= 0 {
		cfg.LogMaxBytes = 1 << 20
	}
	if cfg.LogLinesPerSecond <= 0 {
		cfg.LogLinesPerSecond = 1000
	}
	return &Worker{cfg: cfg, log: logger}
}

// Execute runs a queued run of an installed bundle to its end and returns
// the finished run record. live receives the job's output as it happens
// (nil discards it). Execute always records a terminal cause unless the
// store itself fails, which is the returned error.
func (w *Worker) Execute(ctx context.Context, run store.Run, b *bundle.Bundle, live io.Writer) (store.Run, error) {
	logger := w.log.With("run", run.ID, "org", run.Org, "job", run.Job)

	inputs, err := w.resolve(ctx, run, b)
	if err != nil {
		logger.Warn("run rejected", "err", err)
		return w.finish(ctx, run, runOutcome{cause: CauseRejected, reason: err.Error()})
	}

	outcome := w.supervise(ctx, run, b, inputs, live, logger)
	finished, err := w.finish(ctx, run, outcome)

	// Webhook calls the job queued are delivered even when the run failed
	// or was cancelled: the job's alerts up to that point are real.
	w.deliver(ctx, run.ID, logger)
	return finished, err
}

// runOutcome is the result of supervising a run.
type runOutcome struct {
	cause    string
	reason   string
	result   sandbox.Result
	started  time.Time
	counters gateway.Counters
	logPath  string
	logBytes int64
	dropped  int64
	trunc    bool
	// droppedLines counts lines dropped by the line-rate cap.
	droppedLines int64
	exitCode     *int
}

// supervise runs the sandbox and returns how it ended. Every resource it
// creates is released before it returns.
func (w *Worker) supervise(ctx context.Context, run store.Run, b *bundle.Bundle, in resolved, live io.Writer, logger *slog.Logger) runOutcome {
	out := runOutcome{started: time.Now()}

	runDir := filepath.Join(w.cfg.DataDir, "runs", run.ID)
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		out.cause, out.reason = CauseInfrastructure, fmt.Sprintf("create run directory: %v", err)
		return out
	}
	out.logPath = filepath.Join(runDir, "job.log")
	logFile, err := os.OpenFile(out.logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		out.cause, out.reason = CauseInfrastructure, fmt.Sprintf("create run log: %v", err)
		return out
	}
	defer logFile.Close()
	logw := newCappedLog(logFile, live, w.cfg.LogMaxBytes)
	lines := newLineRateLimit(logw, w.cfg.LogLinesPerSecond, nil)

	// The run's context exists before the gateway, so a policy violation
	// the gateway detects can kill the run.
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	kill := func(reason string) {
		logger.Warn("killing run by policy", "reason", reason)
		cancel(fmt.Errorf("%w: %s", ErrKilledByPolicy, reason))
	}

	env, err := w.openEnvironment(ctx, run, b, in, runDir, kill, logger)
	if err != nil {
		out.cause, out.reason = CauseInfrastructure, err.Error()
		return out
	}
	defer env.close(logger)

	if err := w.cfg.Store.MarkRunStarted(ctx, run.ID, out.started); err != nil {
		out.cause, out.reason = CauseInfrastructure, fmt.Sprintf("mark run started: %v", err)
		return out
	}
	w.recordStarted(ctx, run, b, env)

	stopWatch := w.watch(runCtx, cancel, run, b.Manifest.Resources.Timeout, logger)

	logger.Info("sandbox starting", "runtime", w.cfg.Runtime.Name(), "digest", b.Digest)
	res, runErr := w.cfg.Runtime.Run(runCtx, env.spec, lines, lines)
	stopWatch()
	out.droppedLines = lines.close()
	logger.Info("sandbox ended", "exit_code", res.ExitCode, "kill_cause", errString(res.KillCause), "err", runErr)

	// The job is gone: revoke its token before anything else.
	env.gateway.Close()

	out.result = res
	out.cause, out.reason = DecideCause(res, runErr)
	if res.ExitCode >= 0 {
		code := res.ExitCode
		out.exitCode = &code
	}
	out.counters = env.gateway.Counters()
	out.logBytes, out.dropped, out.trunc = logw.stats()
	return out
}

// watch enforces the wall-clock timeout and polls for cancel requests made
// by other moat processes. The returned function stops both.
func (w *Worker) watch(ctx context.Context, cancel context.CancelCauseFunc, run store.Run, timeout time.Duration, logger *slog.Logger) func() {
	timer := time.AfterFunc(timeout, func() {
		logger.Warn("run timed out", "timeout", timeout)
		cancel(sandbox.ErrTimeout)
	})

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ticker := time.NewTicker(w.cfg.CancelPoll)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
			current, err := w.cfg.Store.GetRun(ctx, run.ID)
			if ctx.Err() != nil {
				// The run ended (or was stopped) while the poll was in
				// flight; that is not a failure of the poll.
				return
			}
			if err != nil {
				logger.Error("poll cancel request failed", "err", err)
				continue
			}
			if current.CancelRequested {
				logger.Warn("cancel requested")
				cancel(fmt.Errorf("%w by 'moat runs cancel'", sandbox.ErrCancelled))
				return
			}
		}
	}()

	return func() {
		timer.Stop()
		close(done)
		wg.Wait()
	}
}

// deliver sends the run's queued webhook calls once.
func (w *Worker) deliver(ctx context.Context, runID string, logger *slog.Logger) {
	if w.cfg.Deliverer == nil {
		return
	}
	// Delivery is the platform's work, not the job's: a Ctrl-C that
	// cancelled the run does not drop alerts the job already queued.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, err := w.cfg.Deliverer.DeliverRun(dctx, runID); err != nil {
		logger.Error("webhook delivery failed", "err", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
