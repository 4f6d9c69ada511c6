package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/moatdev/moat/internal/bundle"
	"github.com/moatdev/moat/internal/gateway"
	"github.com/moatdev/moat/internal/manifest"
	"github.com/moatdev/moat/internal/netns"
	"github.com/moatdev/moat/internal/query"
	"github.com/moatdev/moat/internal/sandbox"
	"github.com/moatdev/moat/internal/store"
)

// environment is everything a run needs around its sandbox. close releases
// it in reverse order of creation.
type environment struct {
	spec    sandbox.Spec
	gateway *gateway.Server
	undo    []func() error
	names   []string
}

func (e *environment) push(name string, undo func() error) {
	e.names = append(e.names, name)
	e.undo = append(e.undo, undo)
}

// close runs every undo step, last first, and logs each failure; one
// failing step does not stop the others.
func (e *environment) close(logger *slog.Logger) {
	for i := len(e.undo) - 1; i >= 0; i-- {
		if err := e.undo[i](); err != nil {
			logger.Error("release run resource failed", "resource", e.names[i], "err", err)
		}
	}
	e.undo, e.names = nil, nil
}

// openEnvironment creates the run's network namespace, opens the gateway
// listener inside it, and renders the sandbox spec. On error everything
// created so far is released.
func (w *Worker) openEnvironment(ctx context.Context, run store.Run, b *bundle.Bundle, in resolved, runDir string, kill func(reason string), logger *slog.Logger) (env *environment, err error) {
	env = &environment{}
	defer func() {
		if err != nil {
			env.close(logger)
			env = nil
		}
	}()

	nsName := "moat-" + run.ID
	nsPath, err := netns.Create(nsName)
	if err != nil {
		return nil, fmt.Errorf("create network namespace %q: %w", nsName, err)
	}
	env.push("netns "+nsName, func() error { return netns.Delete(nsName) })

	// The listener lives in the run's namespace: only the job can reach it,
	// and the job can reach nothing else.
	ln, err := netns.Listen(nsPath, "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("open gateway listener in %q: %w", nsName, err)
	}
	env.push("gateway listener", func() error {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})

	engine := w.lazyEngine(run, in, runDir, logger)
	env.push("query engine", engine.close)

	gw, token, err := gateway.New(gateway.Config{
		Run: gateway.Run{
			ID: run.ID, Org: run.Org, Job: run.Job, Actor: run.Actor,
			Datasets: in.datasets, Webhooks: b.Manifest.Webhooks, WebhookURLs: in.webhookURLs,
		},
		Limits: w.cfg.GatewayLimits,
		Engine: engine.get,
		Store:  w.cfg.Store,
		Audit:  w.cfg.Audit,
		Log:    logger,

		OnPolicyViolation: kill,
	})
	if err != nil {
		return nil, fmt.Errorf("create gateway: %w", err)
	}
	env.gateway = gw

	srv := &http.Server{Handler: gw.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("gateway server stopped", "err", err)
		}
	}()
	env.push("gateway server", func() error {
		gw.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return srv.Close()
		}
		return nil
	})

	gatewayURL := "http://" + ln.Addr().String()
	env.spec = w.sandboxSpec(run, b, nsPath, gatewayURL, token)
	return env, nil
}

// sandboxSpec renders the portable sandbox description of a run.
func (w *Worker) sandboxSpec(run store.Run, b *bundle.Bundle, nsPath, gatewayURL, token string) sandbox.Spec {
	m := b.Manifest
	entry := filepath.Join(jobDir, filepath.Clean("/"+m.Entrypoint))

	args := []string{entry}
	if m.Runtime == manifest.RuntimePython3 {
		// -u keeps output unbuffered so the log streams live; -B writes no
		// bytecode (the bundle is read-only anyway).
		args = []string{"/usr/bin/python3", "-u", "-B", entry}
	}

	// The environment is complete: nothing of the worker's is inherited.
	env := []string{
		"MOAT_GATEWAY_URL=" + gatewayURL,
		"MOAT_TOKEN=" + token,
		"MOAT_RUN_ID=" + run.ID,
		"MOAT_ORG=" + run.Org,
		"MOAT_JOB=" + run.Job,
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=/tmp",
		"LANG=C.UTF-8",
		"PYTHONPATH=" + sdkMountPoint,
	}

	r := m.Resources
	return sandbox.Spec{
		ID:        run.ID,
		BundleDir: b.Dir,
		Args:      args,
		Env:       env,
		Mounts:    []sandbox.Mount{{Source: w.cfg.SDKDir, Destination: sdkMountPoint}},
		NetnsPath: nsPath,
		Limits: sandbox.Limits{
			CPU: r.CPU, MemoryBytes: r.MemoryBytes, Pids: r.Pids, TmpBytes: r.TmpBytes,
		},
		UID: JobUID,
		GID: JobGID,
	}
}

// engineHandle starts the run's query engine on the first query, so runs
// that never query pay nothing for it.
type engineHandle struct {
	mu     sync.Mutex
	cfg    query.Config
	cmd    []string
	client *query.Client
	log    *slog.Logger
}

func (w *Worker) lazyEngine(run store.Run, in resolved, runDir string, logger *slog.Logger) *engineHandle {
	cfg := w.cfg.Query
	cfg.Views = in.views
	cfg.TempDir = filepath.Join(runDir, "spill")
	return &engineHandle{cfg: cfg, cmd: w.cfg.QueryCommand, log: logger}
}

func (h *engineHandle) get(ctx context.Context) (gateway.QueryEngine, error) {
	h.mu.Lock()
	defer h.mu.Unlock()

	if h.client != nil {
		return h.client, nil
	}
	if len(h.cmd) == 0 {
		return nil, errors.New("no query engine command configured")
	}
	if err := os.MkdirAll(h.cfg.TempDir, 0o700); err != nil {
		return nil, fmt.Errorf("create spill directory: %w", err)
	}

	// The engine lives as long as the run, not as long as the request that
	// started it, so it does not inherit the request's cancellation.
	client, err := query.Start(context.WithoutCancel(ctx), h.cfg, h.cmd[0], h.cmd[1:]...)
	if err != nil {
		return nil, err
	}
	h.log.Info("query engine started", "views", len(h.cfg.Views))
	h.client = client
	return client, nil
}

func (h *engineHandle) close() error {
	h.mu.Lock()
	defer h.mu.Unlock()

	if h.client == nil {
		return nil
	}
	err := h.client.Close()
	h.client = nil
	h.log.Info("query engine stopped")
	return err
}
