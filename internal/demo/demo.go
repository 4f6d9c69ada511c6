// Package demo runs moat's end-to-end demonstration: two orgs, the real
// Ethereum sample data, a local webhook receiver, an alert job that finds
// large transfers and watchlist hits, and a hostile job whose attacks all
// fail. It checks its own outcome and returns an error if any expected
// result is missing.
package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/catalog"
	"github.com/moatdev/moat/internal/config"
	"github.com/moatdev/moat/internal/dataset"
	"github.com/moatdev/moat/internal/embedded"
	"github.com/moatdev/moat/internal/store"
)

// The demo's tenants and people.
const (
	orgAcme   = "acme"
	orgGlobex = "globex"
	userAlice = "alice"
	userBob   = "bob"
)

// Options configure a demo run.
type Options struct {
	Config config.Config
	Store  store.Store
	Audit  *audit.Recorder
	Log    *slog.Logger
	// Actor is the platform admin who sets up orgs and datasets.
	Actor string
	// ReceiverAddr is the loopback host:port of the webhook receiver.
	ReceiverAddr string
	Out          io.Writer
}

// Run executes the demo and reports what happened to opts.Out.
func Run(ctx context.Context, opts Options) error {
	p := &printer{w: opts.Out}

	rcv, err := startReceiver(opts.ReceiverAddr, func(d Delivery) { p.delivery(d) })
	if err != nil {
		return err
	}
	defer rcv.Close()

	// The receiver is on loopback, which webhook delivery refuses by
	// default; the demo allowlists its exact host:port, as an operator
	// would for an internal alerting endpoint.
	cfg := opts.Config
	cfg.EgressAllow = append(append([]string(nil), cfg.EgressAllow...), rcv.Addr())
	p.step("webhook receiver listening on http://%s (allowlisted for delivery: %s only)", rcv.Addr(), rcv.Addr())

	if err := setUp(ctx, opts, cfg, rcv.Addr(), p); err != nil {
		return err
	}

	bundles, cleanup, err := materializeExamples(filepath.Join(cfg.DataDir, "examples"), rcv.Addr(),
		filepath.Join(cfg.DataDir, dataset.OrgPath(orgGlobex, "watchlist"), "data.parquet"))
	if err != nil {
		return err
	}
	defer cleanup()

	runner, err := embedded.New(embedded.Options{Config: cfg, Store: opts.Store, Audit: opts.Audit, Log: opts.Log})
	if err != nil {
		return err
	}

	alertRun, err := runAlertJob(ctx, runner, opts, bundles, rcv, p)
	if err != nil {
		return err
	}
	hostileRun, err := runHostileJob(ctx, runner, opts, bundles, rcv, p)
	if err != nil {
		return err
	}

	p.step("demo finished: alert run %s %s, hostile run %s %s", alertRun.ID, alertRun.Cause, hostileRun.ID, hostileRun.Cause)
	p.line("  next: moat runs show %s --json; moat audit list --run %s", alertRun.ID, hostileRun.ID)
	return nil
}

// setUp creates the orgs, principals, datasets and webhook destination.
func setUp(ctx context.Context, opts Options, cfg config.Config, receiver string, p *printer) error {
	st := opts.Store
	for _, org := range []string{orgAcme, orgGlobex} {
		if _, err := st.EnsureOrg(ctx, opts.Actor, org); err != nil {
			return fmt.Errorf("create org %s: %w", org, err)
		}
	}
	people := []store.Principal{
		{Name: userAlice, Role: store.RoleDeveloper, Org: orgAcme},
		{Name: userBob, Role: store.RoleDeveloper, Org: orgGlobex},
	}
	for _, who := range people {
		if err := st.EnsurePrincipal(ctx, opts.Actor, who); err != nil {
			return fmt.Errorf("create principal %s: %w", who.Name, err)
		}
	}
	p.step("orgs %s and %s; developers %s (%s) and %s (%s)", orgAcme, orgGlobex, userAlice, orgAcme, userBob, orgGlobex)

	cat := &catalog.Catalog{DataDir: cfg.DataDir, SharedData: cfg.SharedData, Store: st, Audit: opts.Audit}
	imports := []catalog.Request{
		{Name: "ethereum.transactions"},
		{Name: "ethereum.token_transfers"},
		{Name: "watchlist", Org: orgAcme, File: "", Schema: watchlistSchema},
		{Name: "watchlist", Org: orgGlobex, File: "", Schema: watchlistSchema},
	}
	for _, req := range imports {
		req.Actor = opts.Actor
		if req.Org != "" {
			path, err := writeWatchlist(cfg.DataDir, req.Org)
			if err != nil {
				return err
			}
			req.File = path
		}
		d, err := cat.Import(ctx, req)
		if err != nil {
			return err
		}
		owner := "public"
		if d.Org != "" {
			owner = "org " + d.Org + ", partition " + d.Path
		}
		p.line("  imported %-26s %6d rows  (%s)", d.Name, d.Rows, owner)
	}

	hook := store.Webhook{Org: orgAcme, Name: "alerts", URL: "http://" + receiver + "/alerts/acme"}
	if err := st.SetWebhook(ctx, opts.Actor, hook); err != nil {
		return err
	}
	p.line("  org %s delivers webhook %q to %s", orgAcme, hook.Name, hook.URL)
	return nil
}

const watchlistSchema = "address VARCHAR, label VARCHAR"
