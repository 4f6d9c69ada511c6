// Package runsc is the sandbox.Runtime backend that runs each job under
// gVisor (Debian's runsc, release 2022-12-19). gVisor's sentry implements
// the Linux syscall interface in user space, so the job talks to the host
// kernel only through the sentry and its gofer.
//
// # Life of a run
//
// Run prepares the run directory and OCI spec exactly as the runc backend
// does (runc.Render), adapts the spec to gVisor (adapt.go), creates the
// run's cgroup itself with the limits applied, and starts
//
//	runsc --root <StateRoot> --network=<host|none> --oci-seccomp run --bundle <bundle> <id>
//
// as a child process. runsc forks the sandbox, so it can waitpid it and
// exits with the job's status even for jobs that end within milliseconds.
// `runsc wait` from another process loses that status when the sandbox is
// gone before it connects.
//
// # Why moat creates the cgroup
//
// runsc configures and, when the container is destroyed, removes only the
// cgroup directories it created itself. `runsc run` destroys the container
// as soon as the job exits, so the usage counters (and on cgroup v1 the OOM
// kill count, which is kept only in the leaf) would be gone before moat
// reads them. moat therefore creates the leaf in the memory, cpu, cpuacct
// and pids hierarchies (v1) or the unified one (v2) and writes the limits;
// runsc joins that leaf without touching it, creates and removes the other
// v1 controllers' directories, and moat reads the usage and then removes
// every directory.
//
// # What the sandbox's cgroup contains
//
// The sandbox (sentry) process, the gofer process and, on the ptrace
// platform, one stub process per address space of the job. Threads of the
// job are sentry goroutines. gVisor's own memory, about 15 to 45 MB,
// counts against the memory limit.
package runsc

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/moatdev/moat/internal/cgroup"
	"github.com/moatdev/moat/internal/sandbox/ocirun"
)

// DefaultBinary is the path of runsc in Debian's runsc package.
const DefaultBinary = "/usr/bin/runsc"

// Config configures the runsc backend. Zero values take the defaults below.
type Config struct {
	// Binary is the runsc executable. Default: DefaultBinary if it exists,
	// else "runsc" looked up on PATH.
	Binary string
	// StateRoot is runsc's --root, owned by moat alone. Default:
	// /run/moat/runsc.
	StateRoot string
	// WorkDir holds one directory per run (rootfs, /etc, bundle, logs).
	// Default: /run/moat/sandboxes-runsc.
	WorkDir string
	// CgroupParent is the cgroup below which each run gets /<parent>/<id>.
	// Default: "moat-runsc", apart from the runc backend's parent so that
	// neither backend's Reap removes the other's runs.
	CgroupParent string
	// Logger receives kills, cleanup failures and runsc errors. Default:
	// slog.Default().
	Logger *slog.Logger
}

// Runtime runs sandboxes with runsc. It is safe for concurrent use.
type Runtime struct {
	host
	version string
}

// New checks the runsc binary and the cgroup layout and returns the
// backend.
func New(cfg Config) (*Runtime, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}

	version, err := Version(cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("runsc backend: %w", err)
	}

	hierarchy, err := cgroup.Detect()
	if err != nil {
		return nil, fmt.Errorf("runsc backend: %w", err)
	}
	mounts, err := detectMounts()
	if err != nil {
		return nil, fmt.Errorf("runsc backend: %w", err)
	}

	for _, dir := range []string{cfg.StateRoot, cfg.WorkDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("runsc backend: create %q: %w", dir, err)
		}
	}
	h := host{cfg: cfg, hierarchy: hierarchy, mounts: mounts, log: cfg.Logger}
	return &Runtime{host: h, version: version}, nil
}

// Name returns "runsc".
func (r *Runtime) Name() string { return "runsc" }

// withDefaults fills in the defaults and validates the paths.
func withDefaults(cfg Config) (Config, error) {
	if cfg.Binary == "" {
		found, err := ocirun.FindBinary("runsc", DefaultBinary, "install it with 'apt-get install runsc'")
		if err != nil {
			return cfg, err
		}
		cfg.Binary = found
	}
	if cfg.StateRoot == "" {
		cfg.StateRoot = "/run/moat/runsc"
	}
	if cfg.WorkDir == "" {
		cfg.WorkDir = "/run/moat/sandboxes-runsc"
	}
	if cfg.CgroupParent == "" {
		cfg.CgroupParent = "moat-runsc"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}

	dirs := map[string]string{"state root": cfg.StateRoot, "work dir": cfg.WorkDir}
	return cfg, ocirun.CheckDirs("runsc", dirs, cfg.CgroupParent)
}

// Version runs `<binary> --version` and returns "runsc <release>", for
// example "runsc 0.0~20221219.0".
func Version(binary string) (string, error) {
	return ocirun.Version("runsc", binary)
}
