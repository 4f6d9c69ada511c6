// Package embedded wires moat's parts together for embedded mode, where one
// process is store client, scheduler, worker and gateway for the runs it
// submits. 'moat run' and 'moat demo' use it; several such processes may
// share one data directory.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/authz"
	"github.com/moatdev/moat/internal/bundle"
	"github.com/moatdev/moat/internal/config"
	"github.com/moatdev/moat/internal/egress"
	"github.com/moatdev/moat/internal/gateway"
	"github.com/moatdev/moat/internal/outbox"
	"github.com/moatdev/moat/internal/query"
	"github.com/moatdev/moat/internal/sandbox"
	"github.com/moatdev/moat/internal/sandbox/runc"
	"github.com/moatdev/moat/internal/sandbox/runsc"
	"github.com/moatdev/moat/internal/scheduler"
	"github.com/moatdev/moat/internal/sdk"
	"github.com/moatdev/moat/internal/store"
	"github.com/moatdev/moat/internal/worker"
)

// Runner submits and executes runs in this process.
type Runner struct {
	cfg     config.Config
	store   store.Store
	audit   *audit.Recorder
	log     *slog.Logger
	queue   scheduler.Queue
	worker  *worker.Worker
	runtime sandbox.Runtime
	reaper  *worker.Reaper
}

// Options assemble a Runner.
type Options struct {
	Config config.Config
	Store  store.Store
	Audit  *audit.Recorder
	Log    *slog.Logger
	// QueryCommand starts the query engine process; empty means this
	// binary's hidden engine subcommand.
	QueryCommand []string
	// Runtime names the sandbox backend: "runc" (the default when empty)
	// or "runsc".
	Runtime string
}

// Runtimes lists the sandbox backends embedded mode can use.
var Runtimes = []string{"runc", "runsc"}

// newRuntime builds the named sandbox backend. Each backend keeps its state
// under its own directory of state_dir, so runc and runsc runs never see
// each other's containers.
func newRuntime(name string, cfg config.Config, logger *slog.Logger) (sandbox.Runtime, error) {
	switch name {
	case "", "runc":
		// Run roots go in state_dir/rootfs unless a private ancestor keeps
		// user namespace roots out. Id slots stay host-wide (the default
		// SlotDir), so runs of different state dirs never share host ids.
		rootfsDir, reason := runc.RootfsDirIn(cfg.StateDir)
		if reason != nil && logger != nil {
			logger.Warn("sandbox roots go to the default directory", "rootfs_dir", rootfsDir, "reason", reason)
		}
		rt, err := runc.New(runc.Config{
			Binary:    cfg.RuncPath,
			StateRoot: filepath.Join(cfg.StateDir, "runc"),
			WorkDir:   filepath.Join(cfg.StateDir, "sandboxes"),
			RootfsDir: rootfsDir,
			Logger:    logger,
		})
		if err != nil {
			return nil, fmt.Errorf("set up runc: %w (run 'moat doctor')", err)
		}
		return rt, nil
	case "runsc":
		rt, err := runsc.New(runsc.Config{
			StateRoot: filepath.Join(cfg.StateDir, "runsc"),
			WorkDir:   filepath.Join(cfg.StateDir, "sandboxes-runsc"),
			Logger:    logger,
		})
		if err != nil {
			return nil, fmt.Errorf("set up runsc: %w (run 'moat doctor')", err)
		}
		return rt, nil
	default:
		return nil, fmt.Errorf("unknown runtime %q: use one of %v", name, Runtimes)
	}
}

// New builds the runtime, worker and queue of embedded mode.
func New(opts Options) (*Runner, error) {
	cfg := opts.Config

	rt, err := newRuntime(opts.Runtime, cfg, opts.Log)
	if err != nil {
		return nil, err
	}

	sdkDir, err := sdk.WritePython(filepath.Join(cfg.DataDir, "sdk", "python"))
	if err != nil {
		return nil, err
	}

	queryCmd := opts.QueryCommand
	if len(queryCmd) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find moat binary for the query engine: %w", err)
		}
		queryCmd = []string{exe, QueryEngineCommand}
	}

	policy := egress.Policy{Allow: cfg.EgressAllow}
	if err := policy.Validate(); err != nil {
		return nil, fmt.Errorf("egress_allow: %w", err)
	}
	dialer := &egress.Dialer{Policy: policy, Timeout: 10 * time.Second, Logger: opts.Log}
	deliverer := &outbox.Deliverer{
		Store:     opts.Store,
		Client:    outbox.NewClient(dialer, 15*time.Second),
		Logger:    opts.Log,
		UserAgent: "moat-webhook/1",
	}

	g := cfg.Gateway
	w := worker.New(worker.Config{
		DataDir: cfg.DataDir,
		Runtime: rt,
		Store:   opts.Store,
		Audit:   opts.Audit,
		Log:     opts.Log,
		SDKDir:  sdkDir,
		GatewayLimits: gateway.Limits{
			MaxQueries: g.MaxQueries, MaxWebhookCalls: g.MaxWebhookCalls, MaxWebhookBody: g.MaxWebhookBytes,
			MaxDenials: g.MaxDenials,
		},
		Query: query.Config{
			MemoryBytes: g.QueryMemory, Threads: g.QueryThreads, MaxTempBytes: g.MaxSpillBytes,
			StatementTimeout: g.QueryTimeout, MaxRows: g.MaxResultRows, MaxBytes: g.MaxResultBytes,
		},
		QueryCommand:      queryCmd,
		LogMaxBytes:       cfg.LogMaxBytes,
		LogLinesPerSecond: cfg.LogLinesPerSecond,
		Deliverer:         deliverer,
	})

	reaper := &worker.Reaper{
		Store: opts.Store, Audit: opts.Audit, Log: opts.Log,
		Runtimes: func() []worker.SandboxReaper { return reapers(rt, opts.Runtime, cfg, opts.Log) },
	}

	return &Runner{
		reaper:  reaper,
		cfg:     cfg,
		store:   opts.Store,
		audit:   opts.Audit,
		log:     opts.Log,
		queue:   &scheduler.Embedded{Store: opts.Store, Audit: opts.Audit},
		worker:  w,
		runtime: rt,
	}, nil
}

// reapers returns the leftover cleaners of every backend this host can run:
// a crashed process may have used another backend than this one. A backend
// that cannot be set up here (runsc not installed) had no runs to leave.
func reapers(current sandbox.Runtime, currentName string, cfg config.Config, logger *slog.Logger) []worker.SandboxReaper {
	var out []worker.SandboxReaper
	if sr, ok := current.(worker.SandboxReaper); ok {
		out = append(out, sr)
	}
	if currentName == "" {
		currentName = "runc"
	}
	for _, name := range Runtimes {
		if name == currentName {
			continue
		}
		other, err := newRuntime(name, cfg, logger)
		if err != nil {
			logger.Debug("no leftovers to reap for unavailable runtime", "runtime", name, "err", err)
			continue
		}
		if sr, ok := other.(worker.SandboxReaper); ok {
			out = append(out, sr)
		}
	}
	return out
}

// QueryEngineCommand is the hidden subcommand that runs a query engine
// process.
const QueryEngineCommand = "__query-engine"

// Run loads the bundle in dir, installs its immutable copy, records the job
// and bundle version, queues a run for org as actor and executes it. live
// receives the job's output as it happens. A bundle that fails validation
// is audited and returned as an error; no run exists for it.
func (r *Runner) Run(ctx context.Context, dir, org, actor string, live io.Writer) (store.Run, error) {
	// Every moat process first cleans up after processes that crashed:
	// their runs end as worker_lost and their sandboxes are removed.
	if lost, err := r.reaper.ReapLost(ctx); err != nil {
		r.log.Error("reap runs of crashed workers failed", "err", err, "runs", lost)
	} else if len(lost) > 0 {
		r.log.Warn("reaped runs of crashed workers", "runs", lost)
	}

	if err := r.authorize(ctx, org, actor); err != nil {
		return store.Run{}, err
	}
	b, err := r.load(ctx, dir, org, actor)
	if err != nil {
		return store.Run{}, err
	}

	run, err := r.queue.Submit(ctx, store.Run{
		Org: org, Job: b.Manifest.Name, Digest: b.Digest, Actor: actor, Limits: worker.LimitsJSON(b),
		Worker: worker.Identity(),
	})
	if err != nil {
		return store.Run{}, err
	}
	return r.worker.Execute(ctx, run, b, live)
}

// authorize checks that actor may run jobs for org and audits a denial.
func (r *Runner) authorize(ctx context.Context, org, actor string) error {
	p, err := r.store.GetPrincipal(ctx, actor)
	if err != nil {
		return fmt.Errorf("look up principal %q: %w", actor, err)
	}
	d := authz.Decide(p, authz.RunJob, org)
	if d.Allow {
		return nil
	}
	_, _ = r.audit.Record(ctx, store.Event{
		Type: audit.AuthzDenied, Actor: actor, Org: org, Decision: audit.Deny, Reason: d.Reason,
		Details: map[string]any{"action": string(authz.RunJob), "message": d.Message},
	})
	return d.Err()
}

// load validates and installs a bundle and records it for the org.
func (r *Runner) load(ctx context.Context, dir, org, actor string) (*bundle.Bundle, error) {
	b, err := bundle.Load(dir, bundle.DefaultLimits(), r.cfg.Maximums)
	if err != nil {
		_, _ = r.audit.Record(ctx, store.Event{
			Type: "bundle.rejected", Actor: actor, Org: org, Decision: audit.Deny,
			Reason: err.Error(), Details: map[string]any{"path": dir},
		})
		return nil, err
	}

	if _, err := r.store.GetOrg(ctx, org); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("org %q does not exist: create it with 'moat org create %s'", org, org)
		}
		return nil, err
	}

	path, err := b.Install(filepath.Join(r.cfg.DataDir, "bundles"))
	if err != nil {
		return nil, fmt.Errorf("install bundle: %w", err)
	}
	rel, err := filepath.Rel(r.cfg.DataDir, path)
	if err != nil {
		return nil, err
	}

	if err := r.store.EnsureJob(ctx, actor, store.Job{Org: org, Name: b.Manifest.Name, Kind: string(b.Manifest.Kind)}); err != nil {
		return nil, fmt.Errorf("record job: %w", err)
	}
	err = r.store.PutBundleVersion(ctx, actor, store.BundleVersion{
		Org: org, Job: b.Manifest.Name, Digest: b.Digest, Path: rel,
		Manifest: b.ManifestBytes, SizeBytes: b.Size,
	})
	if err != nil {
		return nil, fmt.Errorf("record bundle version: %w", err)
	}
	return b, nil
}

// RuntimeName returns the sandbox backend's name.
func (r *Runner) RuntimeName() string { return r.runtime.Name() }
