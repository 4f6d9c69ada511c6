package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/authz"
	"github.com/moatdev/moat/internal/catalog"
	"github.com/moatdev/moat/internal/config"
	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/store"
)

// app is the context of one command: the loaded configuration, the store,
// the audit recorder, the logger and the acting principal.
type app struct {
	cfg       config.Config
	store     *store.SQLite
	audit     *audit.Recorder
	log       *slog.Logger
	actor     string
	principal store.Principal
	logFile   *os.File
}

// openApp loads the configuration of the data directory, opens its store
// and resolves the acting principal.
func openApp(ctx context.Context, g *globalFlags) (*app, error) {
	cfg, err := config.Load(g.dataDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %q: %w (run moat as root or choose --data-dir)", cfg.DataDir, err)
	}

	a := &app{cfg: cfg}
	if err := a.openLog(g.logLevel); err != nil {
		return nil, err
	}

	st, err := store.Open(ctx, filepath.Join(cfg.DataDir, "moat.db"))
	if err != nil {
		a.close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	a.store = st
	a.audit = &audit.Recorder{Store: st, Log: a.log}

	if err := a.resolveActor(ctx, g.as); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

// openLog sends log lines to stderr at the chosen level and to
// <data-dir>/moat.log at info, as JSON.
func (a *app) openLog(level string) error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("invalid --log-level %q: use debug, info, warn or error", level)
	}

	f, err := os.OpenFile(filepath.Join(a.cfg.DataDir, "moat.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	a.logFile = f

	a.log = slog.New(slog.NewMultiHandler(
		slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}),
		slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo}),
	)).With("pid", os.Getpid())

	// Packages that log through slog.Default (bundle install, dataset
	// import, the query engine's supervisor) follow the same levels.
	slog.SetDefault(a.log)
	return nil
}

// resolveActor picks and loads the principal the CLI acts as. The
// configured default principal is created as a platform admin on first use,
// so a fresh data directory works. A principal named with --as must already
// exist.
func (a *app) resolveActor(ctx context.Context, as string) error {
	if as == "" {
		as = a.cfg.Principal
		err := a.store.EnsurePrincipal(ctx, "system", store.Principal{Name: as, Role: store.RolePlatformAdmin})
		if err != nil {
			return fmt.Errorf("ensure default principal %q: %w", as, err)
		}
	}

	p, err := a.store.GetPrincipal(ctx, as)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("principal %q does not exist: create it with 'moat principal add %s --role developer --org ORG'", as, as)
	}
	if err != nil {
		return fmt.Errorf("look up principal %q: %w", as, err)
	}
	a.actor, a.principal = as, p
	return nil
}

// authorize decides whether the acting principal may perform action on org
// and audits a denial. It returns nil or an error wrapping authz.ErrDenied.
func (a *app) authorize(ctx context.Context, action authz.Action, org string) error {
	return a.record(ctx, authz.Decide(a.principal, action, org), action, org)
}

// record audits a denied decision and returns its error.
func (a *app) record(ctx context.Context, d authz.Decision, action authz.Action, org string) error {
	if d.Allow {
		return nil
	}
	_, _ = a.audit.Record(ctx, store.Event{
		Type: audit.AuthzDenied, Actor: a.actor, Org: orgForAudit(org), Decision: audit.Deny, Reason: d.Reason,
		Details: map[string]any{"action": string(action), "org": org, "message": d.Message},
	})
	return d.Err()
}

// defaultOrg returns org, or the acting principal's own org when org is
// empty, so an org member's listings show its org without a flag.
func (a *app) defaultOrg(org string) string {
	if org == "" {
		return a.principal.Org
	}
	return org
}

// orgForAudit returns org if it is a valid org name and "" otherwise; the
// raw value is kept in the event's details.
func orgForAudit(org string) string {
	if ids.ValidateName("org", org) != nil {
		return ""
	}
	return org
}

// catalog returns the dataset catalog of the data directory.
func (a *app) catalog() *catalog.Catalog {
	return &catalog.Catalog{DataDir: a.cfg.DataDir, SharedData: a.cfg.SharedData, Store: a.store, Audit: a.audit}
}

func (a *app) close() {
	if a.store != nil {
		if err := a.store.Close(); err != nil {
			a.log.Error("close store failed", "err", err)
		}
	}
	if a.logFile != nil {
		_ = a.logFile.Close()
	}
}

// withApp wraps a command body with openApp and close.
func withApp(g *globalFlags, fn func(ctx context.Context, a *app) error) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		a, err := openApp(ctx, g)
		if err != nil {
			return err
		}
		defer a.close()
		return fn(ctx, a)
	}
}

// printTable writes rows as aligned columns.
func printTable(w io.Writer, header []string, rows [][]string) {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = len(h)
	}
	for _, r := range rows {
		for i, c := range r {
			if i < len(widths) && len(c) > widths[i] {
				widths[i] = len(c)
			}
		}
	}
	line := func(cells []string) {
		parts := make([]string, len(cells))
		for i, c := range cells {
			if i == len(cells)-1 {
				parts[i] = c
				continue
			}
			parts[i] = c + strings.Repeat(" ", widths[i]-len(c))
		}
		fmt.Fprintln(w, strings.Join(parts, "  "))
	}
	line(header)
	for _, r := range rows {
		line(r)
	}
}
