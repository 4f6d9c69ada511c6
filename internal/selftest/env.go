package selftest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/catalog"
	"github.com/moatdev/moat/internal/config"
	"github.com/moatdev/moat/internal/dataset"
	"github.com/moatdev/moat/internal/embedded"
	"github.com/moatdev/moat/internal/sandbox/runc"
	"github.com/moatdev/moat/internal/store"
)

// The suite's tenants: attacks run for suiteOrg; otherOrg owns the dataset
// they try to read.
const (
	suiteOrg     = "acme"
	otherOrg     = "globex"
	suiteActor   = "admin"
	suiteDataset = "watchlist"
)

// target contains the facts the suite writes into every bundle as
// /job/target.json.
type target struct {
	// HostPort is the port of the suite's listener on the host's
	// 127.0.0.1.
	HostPort int `json:"host_port"`
	// OtherOrgDataset is the host path of otherOrg's dataset file.
	OtherOrgDataset string `json:"other_org_dataset"`
	// HostPaths are strings whose presence in the job's /proc reveals the
	// host's layout.
	HostPaths []string `json:"host_paths"`
	// Markers are the sleep durations, in seconds, the timeout job's
	// processes use, so survivors can be found by command line.
	Markers []int `json:"markers"`
}

// environment is one suite run's private moat: a temporary data directory
// and state directory, a store with two orgs and their datasets, the
// embedded runner and a host listener that no job may reach.
type environment struct {
	cfg      config.Config
	store    *store.SQLite
	audit    *audit.Recorder
	runner   *embedded.Runner
	listener net.Listener
	accepted atomic.Int64
	target   target
	bundles  string
	log      *slog.Logger
}

// setup builds the environment. On error everything created so far is
// removed.
func setup(ctx context.Context, opts Options) (env *environment, err error) {
	env = &environment{log: opts.Log}
	if env.log == nil {
		env.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, env.close())
			env = nil
		}
	}()

	if err := env.makeDirs(opts); err != nil {
		return env, err
	}
	if err := env.openStore(ctx); err != nil {
		return env, err
	}

	// The runtime comes first, so an unavailable one fails before any
	// dataset is imported.
	env.runner, err = embedded.New(embedded.Options{
		Config: env.cfg, Store: env.store, Audit: env.audit, Log: env.log,
		QueryCommand: opts.QueryCommand, Runtime: opts.Runtime,
	})
	if err != nil {
		return env, fmt.Errorf("start runtime %q: %w", opts.Runtime, err)
	}

	if err := env.importDatasets(ctx); err != nil {
		return env, err
	}
	if err := env.listen(); err != nil {
		return env, err
	}
	if err := env.pickMarkers(); err != nil {
		return env, err
	}
	return env, nil
}

// makeDirs creates the temporary data directory and the temporary state
// directory inside the configured one, and the configuration using them.
// The suite's limits are moat's defaults, not the operator's maximums, so
// its manifests are valid on every installation.
func (e *environment) makeDirs(opts Options) error {
	dataDir, err := os.MkdirTemp(opts.TempDir, "moat-selftest-")
	if err != nil {
		return fmt.Errorf("create temporary data directory: %w", err)
	}
	e.cfg = config.Default(dataDir)

	stateParent := opts.StateDir
	if stateParent == "" {
		stateParent = e.cfg.StateDir
	}
	if err := os.MkdirAll(stateParent, 0o700); err != nil {
		return fmt.Errorf("create state directory %q: %w", stateParent, err)
	}
	stateDir, err := os.MkdirTemp(stateParent, "selftest-")
	if err != nil {
		return fmt.Errorf("create temporary state directory in %q: %w", stateParent, err)
	}
	e.cfg.StateDir = stateDir
	e.cfg.RuncPath = opts.RuncPath

	e.bundles = filepath.Join(dataDir, "attacks")
	if err := os.Mkdir(e.bundles, 0o700); err != nil {
		return fmt.Errorf("create bundle directory: %w", err)
	}
	return e.cfg.Validate()
}

func (e *environment) openStore(ctx context.Context) error {
	st, err := store.Open(ctx, filepath.Join(e.cfg.DataDir, "moat.db"))
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	e.store = st
	e.audit = &audit.Recorder{Store: st, Log: e.log}

	if err := st.EnsurePrincipal(ctx, "system", store.Principal{Name: suiteActor, Role: store.RolePlatformAdmin}); err != nil {
		return fmt.Errorf("create principal %q: %w", suiteActor, err)
	}
	for _, org := range []string{suiteOrg, otherOrg} {
		if _, err := st.EnsureOrg(ctx, suiteActor, org); err != nil {
			return fmt.Errorf("create org %q: %w", org, err)
		}
	}
	return nil
}

// importDatasets gives each org a one-row watchlist of its own.
func (e *environment) importDatasets(ctx context.Context) error {
	cat := &catalog.Catalog{DataDir: e.cfg.DataDir, Store: e.store, Audit: e.audit}
	for _, org := range []string{suiteOrg, otherOrg} {
		src := filepath.Join(e.cfg.DataDir, org+"-watchlist.csv")
		csv := fmt.Sprintf("address,label\n0x%s,%s-only\n", strings.Repeat("ab", 20), org)
		if err := os.WriteFile(src, []byte(csv), 0o600); err != nil {
			return err
		}
		_, err := cat.Import(ctx, catalog.Request{
			Name: suiteDataset, File: src, Org: org, Schema: "address VARCHAR, label VARCHAR", Actor: suiteActor,
		})
		if err != nil {
			return fmt.Errorf("import %s's %s: %w", org, suiteDataset, err)
		}
	}

	e.target.OtherOrgDataset = filepath.Join(e.cfg.DataDir, dataset.OrgPath(otherOrg, suiteDataset), "data.parquet")
	if _, err := os.Stat(e.target.OtherOrgDataset); err != nil {
		return fmt.Errorf("%s's dataset file: %w", otherOrg, err)
	}

	e.target.HostPaths = []string{
		e.cfg.DataDir, e.cfg.StateDir,
		filepath.Base(e.cfg.DataDir), filepath.Base(e.cfg.StateDir),
		config.DefaultDataDir, config.Default("").StateDir,
	}
	return nil
}

// listen opens the host listener that the loopback attack must not reach,
// and counts every connection it accepts.
func (e *environment) listen() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("open host listener: %w", err)
	}
	e.listener = ln
	e.target.HostPort = ln.Addr().(*net.TCPAddr).Port

	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.accepted.Add(1)
			c.Close()
		}
	}()
	return nil
}

// pickMarkers chooses three random sleep durations between 10^7 and
// 2*10^7 s, so a survivor of this suite cannot be confused with another
// process.
func (e *environment) pickMarkers() error {
	for range 3 {
		n, err := rand.Int(rand.Reader, big.NewInt(10_000_000))
		if err != nil {
			return err
		}
		e.target.Markers = append(e.target.Markers, 10_000_000+int(n.Int64()))
	}
	return nil
}

// writeBundle writes an attack's files and target.json into a new
// directory.
func (e *environment) writeBundle(a Attack) (string, error) {
	dir := filepath.Join(e.bundles, a.Name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}

	files := map[string]string{}
	for name, content := range a.Files {
		files[name] = content
	}
	data, err := json.Marshal(e.target)
	if err != nil {
		return "", err
	}
	files["target.json"] = string(data)

	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// close releases the environment and removes both temporary directories.
// A directory that still has a mount below it is left in place: removing
// it could delete host files through a bind mount such as /usr.
func (e *environment) close() error {
	var errs []error
	if e.listener != nil {
		errs = append(errs, ignoreClosed(e.listener.Close()))
	}
	if e.store != nil {
		errs = append(errs, e.store.Close())
	}
	for _, dir := range []string{e.cfg.StateDir, e.cfg.DataDir} {
		if dir == "" {
			continue
		}
		errs = append(errs, removeUnmounted(dir))
	}
	return errors.Join(errs...)
}

func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// removeUnmounted removes dir unless a mount point lies at or below it.
func removeUnmounted(dir string) error {
	mounts, err := runc.MountsBelow(dir)
	if err != nil {
		return err
	}
	if len(mounts) > 0 {
		return fmt.Errorf("not removing %q: mounts remain below it: %q (unmount them, then remove it)", dir, mounts)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %q: %w", dir, err)
	}
	return nil
}
