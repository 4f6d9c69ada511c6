// Package sandbox runs one job process tree in an isolated container and
// reports how it ended and what it used.
//
// Spec is the portable description of a sandbox; a Runtime backend renders
// it (the runc backend to an OCI runtime spec) and supervises the run. A
// Runtime never decides the run's terminal cause: it reports facts (exit
// status, usage, whether it killed the container and why) and package worker
// applies the precedence rule.
package sandbox

import (
	"context"
	"errors"
	"io"
	"time"
)

// Sentinel causes a caller passes to context.WithCancelCause to say why it
// stopped a run. Run reports the cause it saw in Result.KillCause.
var (
	ErrTimeout   = errors.New("wall-clock timeout")
	ErrCancelled = errors.New("cancelled")
)

// Limits are the hard resource limits of one sandbox.
type Limits struct {
	// CPU is the CPU quota in cores (0.5 = half a core). Must be > 0.
	CPU float64
	// MemoryBytes is the cgroup memory limit, tmpfs pages included.
	MemoryBytes int64
	// Pids is the cgroup pids limit.
	Pids int64
	// TmpBytes is the size of the /tmp tmpfs; it must be below MemoryBytes.
	TmpBytes int64
}

// Mount is an extra read-only bind mount into the sandbox.
type Mount struct {
	Source      string // host path
	Destination string // path inside the sandbox
}

// Spec describes one sandbox.
type Spec struct {
	// ID is the run id; container, cgroup and state names derive from it.
	ID string
	// BundleDir is the host path of the immutable bundle copy, mounted
	// read-only at /job, which is also the working directory.
	BundleDir string
	// Args is the process to start, Args[0] an absolute path inside the
	// sandbox (for example /usr/bin/python3).
	Args []string
	// Env is the complete environment; nothing is inherited.
	Env []string
	// Mounts are extra read-only mounts (the Python SDK).
	Mounts []Mount
	// NetnsPath is the network namespace to join (/var/run/netns/NAME).
	// Empty means a fresh namespace with only lo.
	NetnsPath string
	Limits    Limits
	// UID and GID the process runs as; never 0.
	UID, GID uint32
}

// Usage is the run's resource consumption, read from its cgroup before removal.
type Usage struct {
	CPUSeconds      float64
	PeakMemoryBytes int64
	OOMKills        int64
	PidsHits        int64
}

// Result is the outcome of a sandbox run.
type Result struct {
	// ExitCode is the exit status of the job's PID 1; 128+n when a signal
	// n ended it. -1 if it never started.
	ExitCode int
	// KillCause is the cause from the context when moat killed the
	// container (ErrTimeout, ErrCancelled, ...); nil otherwise.
	KillCause error
	Usage     Usage
	Wall      time.Duration
	// SpecHash is the hex sha256 of the rendered runtime spec.
	SpecHash string
	// RuntimeVersion is the backend's version line (for example "runc 1.5.3").
	RuntimeVersion string
	// SeccompProfile is the version name of the seccomp profile the job
	// ran under (for example "moat-seccomp-1"); empty if it had none.
	SeccompProfile string
	// SeccompSHA256 is the hex sha256 of that profile's canonical JSON.
	SeccompSHA256 string
	// UserNamespace reports whether the job ran in its own user namespace,
	// its ids mapped to an unprivileged host range. False means the host
	// did not support one or the backend had it turned off, and the job's
	// uid was a host uid.
	UserNamespace bool
	// HostUID and HostGID are the host ids the job's Spec.UID and Spec.GID
	// mapped to: equal to them without a user namespace, 0 if the run
	// never got that far.
	HostUID, HostGID uint32
}

// Runtime is a sandbox backend.
type Runtime interface {
	// Name returns the backend name ("runc", "runsc").
	Name() string
	// Run starts the sandbox, copies the job's stdout and stderr to the
	// writers until it ends, and removes every trace of it (container,
	// cgroups, state, mounts) before returning. When ctx is cancelled Run
	// kills every process of the container and reports
	// context.Cause(ctx) as Result.KillCause. An error means the sandbox
	// could not be set up or supervised (an infrastructure error); the
	// Result is then partial.
	Run(ctx context.Context, spec Spec, stdout, stderr io.Writer) (Result, error)
}
