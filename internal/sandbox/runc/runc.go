// Package runc is the sandbox.Runtime backend that runs each job in a runc
// container (runc 1.2 or newer; tested with 1.5.3).
//
// # Life of a run
//
// Run creates WorkDir/<id>/ and mounts a tmpfs of the run's own, capped at
// what it holds, at RootfsDir/<id>. It fills the tmpfs with the job's
// root: mount points, /bin, /lib, /lib64 and /sbin as symlinks into /usr
// (mirroring the host), a generated minimal /etc, a copy of the bundle at
// /job and copies of Spec.Mounts, then makes it read-only. The only host
// directory bind-mounted in is /usr, so /proc/self/mountinfo, which shows
// each bind mount's host source path, reveals no moat path (see
// tmpfsroot.go). It renders the OCI runtime spec to
// WorkDir/<id>/bundle/config.json and starts
//
//	runc --root <StateRoot> run --keep --bundle <bundle> <id>
//
// which creates the container's cgroup at /<CgroupParent>/<id> (cgroupfs
// driver) and waits for the container's PID 1.
//
// # Why --keep
//
// Without --keep, runc destroys the container, its cgroup included, as soon
// as PID 1 exits, so the usage counters are gone before moat can read them.
// A parent cgroup owned by moat does not fully help on cgroup v1, because v1
// counts an OOM kill only in the memory cgroup of the killed process (the
// leaf runc removed), not in its ancestors. With --keep the stopped
// container and its leaf cgroup remain, Run reads the counters from the leaf
// (the same files on v1 and, through package cgroup, on v2), and only then
// runs `runc delete --force`. If moat dies in between, Reap removes the
// leftovers on the next start.
//
// # Killing
//
// When ctx is done, Run sends SIGKILL through `runc kill`: PID 1 of a new pid
// namespace dying takes every process of that namespace with it, setsid'd
// and SIGTERM-ignoring ones included. As a backstop it also kills every
// process listed in the container's cgroup (freeze, kill, thaw on v1;
// cgroup.kill on v2). Every wait is bounded; if runc itself does not return,
// it is killed and `runc delete --force` cleans up.
//
// # Network and name resolution
//
// The container joins Spec.NetnsPath, or a fresh network namespace with only
// lo when it is empty. The generated /etc has no resolv.conf and
// nsswitch.conf resolves from files only: no resolver exists in the sandbox,
// and only "localhost" resolves.
package runc

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/moatdev/moat/internal/cgroup"
	"github.com/moatdev/moat/internal/sandbox/ocirun"
)

// moatRunDir is moat's own directory for runtime state.
const moatRunDir = "/run/moat"

// DefaultBinary is the runc moat prefers over the one on PATH: the
// distribution's runc may lack later container-breakout fixes.
const DefaultBinary = "/usr/local/sbin/runc"

// Config configures the runc backend. Zero values take the defaults below.
type Config struct {
	// Binary is the runc executable. Default: DefaultBinary if it exists,
	// else "runc" looked up on PATH.
	Binary string
	// StateRoot is runc's --root, owned by moat alone. Default: /run/moat/runc.
	StateRoot string
	// WorkDir holds one directory per run (rootfs, /etc, bundle).
	// Default: /run/moat/sandboxes.
	WorkDir string
	// CgroupParent is the cgroup below which each run gets /<parent>/<id>.
	// Default: "moat".
	CgroupParent string
	// RootfsDir holds the mount point of each run's root tmpfs,
	// RootfsDir/<id>. A run's user namespace root must be able to reach
	// it, so New makes RootfsDir mode 0711 and requires every ancestor to
	// be searchable by others. New adds o+x to RootfsDir's parent, which
	// must be moat's own state directory, and to /run/moat. RootfsDirIn
	// picks a RootfsDir inside a state directory. Default:
	// DefaultRootfsDir.
	RootfsDir string
	// UserNamespace is UserNamespaceAuto (the default when empty) or
	// UserNamespaceOff.
	UserNamespace UserNamespaceMode
	// HostIDBase and HostIDSlots place the host ids of user namespaces
	// (see userns.go). Defaults: DefaultHostIDBase, DefaultHostIDSlots.
	HostIDBase  uint32
	HostIDSlots uint32
	// SlotDir holds the lock files of the id slots. Every moat process on
	// a host must use the same one. Default: /run/moat/userns.
	SlotDir string
	// Logger receives kills, cleanup failures and runc errors. Default:
	// slog.Default().
	Logger *slog.Logger
}

// Runtime runs sandboxes with runc. It is safe for concurrent use.
type Runtime struct {
	host
	version string
}

// New checks the runc binary and the cgroup layout and returns the backend.
func New(cfg Config) (*Runtime, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}

	version, err := Version(cfg.Binary)
	if err != nil {
		return nil, err
	}

	hierarchy, err := cgroup.Detect()
	if err != nil {
		return nil, fmt.Errorf("runc backend: %w", err)
	}

	// RootfsDir first: the directories MkdirAll creates for it are 0711,
	// while those created for the others would be 0700 and unreachable.
	if err := makeSearchable(cfg.RootfsDir); err != nil {
		return nil, fmt.Errorf("runc backend: %w", err)
	}
	for _, dir := range []string{cfg.StateRoot, cfg.WorkDir, cfg.SlotDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("runc backend: create %q: %w", dir, err)
		}
	}

	if cfg.UserNamespace == UserNamespaceAuto {
		last := cfg.HostIDBase + cfg.HostIDSlots*idsPerRun - 1
		if err := checkIDRangeUnowned(cfg.HostIDBase, last, hostIDFiles.ids, hostIDFiles.ranges); err != nil {
			return nil, fmt.Errorf("runc backend: %w", err)
		}
	}
	return &Runtime{host: host{cfg: cfg, hierarchy: hierarchy, log: cfg.Logger}, version: version}, nil
}

// Name returns "runc".
func (r *Runtime) Name() string { return "runc" }

// withDefaults fills in the defaults and validates the paths.
func withDefaults(cfg Config) (Config, error) {
	if cfg.Binary == "" {
		found, err := ocirun.FindBinary("runc", DefaultBinary, "install runc 1.2 or newer")
		if err != nil {
			return cfg, err
		}
		cfg.Binary = found
	}
	if cfg.StateRoot == "" {
		cfg.StateRoot = filepath.Join(moatRunDir, "runc")
	}
	if cfg.WorkDir == "" {
		cfg.WorkDir = filepath.Join(moatRunDir, "sandboxes")
	}
	if cfg.CgroupParent == "" {
		cfg.CgroupParent = "moat"
	}
	if cfg.RootfsDir == "" {
		cfg.RootfsDir = DefaultRootfsDir
	}
	if cfg.UserNamespace == "" {
		cfg.UserNamespace = UserNamespaceAuto
	}
	if cfg.HostIDBase == 0 {
		cfg.HostIDBase = DefaultHostIDBase
	}
	if cfg.HostIDSlots == 0 {
		cfg.HostIDSlots = DefaultHostIDSlots
	}
	if cfg.SlotDir == "" {
		cfg.SlotDir = filepath.Join(moatRunDir, "userns")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}

	if cfg.UserNamespace != UserNamespaceAuto && cfg.UserNamespace != UserNamespaceOff {
		return cfg, fmt.Errorf("runc backend: user namespace mode %q: use %q or %q", cfg.UserNamespace, UserNamespaceAuto, UserNamespaceOff)
	}
	if err := validateIDRange(cfg.HostIDBase, cfg.HostIDSlots); err != nil {
		return cfg, err
	}

	dirs := map[string]string{"state root": cfg.StateRoot, "work dir": cfg.WorkDir, "rootfs dir": cfg.RootfsDir, "slot dir": cfg.SlotDir}
	return cfg, ocirun.CheckDirs("runc", dirs, cfg.CgroupParent)
}

// Version runs `<binary> --version` and returns "runc X.Y.Z".
func Version(binary string) (string, error) {
	return ocirun.Version("runc", binary)
}
