package manifest

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Floors below which a manifest's resources, and the platform maximums, are
// rejected.
const (
	// MinCPU is 10 millicores: 1 ms of CPU per 100 ms CFS period, the
	// smallest quota the kernel accepts with the usual period.
	MinCPU = 0.01
	// MinMemoryBytes keeps a job from being OOM-killed before its code runs:
	// Debian 12's /usr/bin/python3 (3.11) alone peaks at about 8 MB resident
	// (getrusage ru_maxrss of an empty script).
	MinMemoryBytes = 16 << 20
	// MinPids is one process.
	MinPids = 1
	// MinTimeout is the shortest wall-clock timeout.
	MinTimeout = time.Second
)

// Resources are the limits one run of a job gets. The worker turns them
// into cgroup limits, the /tmp tmpfs size and the wall-clock timeout.
type Resources struct {
	// CPU is the CPU quota in cores (0.5 is half a core).
	CPU float64
	// MemoryBytes is the cgroup memory limit, /tmp pages included.
	MemoryBytes int64
	// Pids is the cgroup pids limit (processes and threads).
	Pids int64
	// TmpBytes is the size of the /tmp tmpfs. It is below MemoryBytes.
	TmpBytes int64
	// Timeout is the wall-clock limit of one run.
	Timeout time.Duration
}

// DefaultResources returns the values used for fields a manifest omits:
// cpu 0.5, memory 256Mi, pids 64, tmp 32Mi, timeout 60s. Parse lowers each
// default to the platform maximum when the maximum is smaller, and an omitted
// tmp to half of memory when memory is small.
func DefaultResources() Resources {
	return Resources{
		CPU:         0.5,
		MemoryBytes: 256 << 20,
		Pids:        64,
		TmpBytes:    32 << 20,
		Timeout:     60 * time.Second,
	}
}

// Maximums are the platform's upper bounds on a manifest's resources, set by
// an operator. A manifest requesting more is rejected, not clamped. Each
// field has the unit of the Resources field of the same name, and the
// operator's configuration keys are max_cpu, max_memory, max_pids, max_tmp
// and max_timeout.
type Maximums struct {
	CPU         float64
	MemoryBytes int64
	Pids        int64
	TmpBytes    int64
	Timeout     time.Duration
}

// DefaultMaximums returns the maximums used when an operator sets none:
// cpu 2, memory 2Gi, pids 256, tmp 512Mi, timeout 15m.
func DefaultMaximums() Maximums {
	return Maximums{
		CPU:         2,
		MemoryBytes: 2 << 30,
		Pids:        256,
		TmpBytes:    512 << 20,
		Timeout:     15 * time.Minute,
	}
}

// Validate checks that every maximum is at least its floor (MinCPU,
// MinMemoryBytes, ...) and that max_tmp is below max_memory. The error wraps
// ErrInvalidMaximums and names each bad setting by its configuration key.
func (m Maximums) Validate() error {
	var bad []string

	if math.IsNaN(m.CPU) || math.IsInf(m.CPU, 0) || m.CPU < MinCPU {
		bad = append(bad, fmt.Sprintf("max_cpu %s is below the minimum %s cores: set it to at least %s", FormatCPU(m.CPU), FormatCPU(MinCPU), FormatCPU(MinCPU)))
	}
	if m.MemoryBytes < MinMemoryBytes {
		bad = append(bad, fmt.Sprintf("max_memory %s is below the minimum %s: set it to at least %s", FormatBytes(m.MemoryBytes), FormatBytes(MinMemoryBytes), FormatBytes(MinMemoryBytes)))
	}
	if m.Pids < MinPids {
		bad = append(bad, fmt.Sprintf("max_pids %d is below the minimum %d: set it to at least %d", m.Pids, MinPids, MinPids))
	}
	if m.TmpBytes <= 0 {
		bad = append(bad, fmt.Sprintf("max_tmp %s is not positive: set a size such as 512Mi", FormatBytes(m.TmpBytes)))
	}
	if m.TmpBytes >= m.MemoryBytes {
		// /tmp is a tmpfs whose pages count against the memory limit, so a
		// tmp as large as memory would let /tmp alone OOM-kill the job.
		bad = append(bad, fmt.Sprintf("max_tmp %s is not below max_memory %s: lower max_tmp or raise max_memory", FormatBytes(m.TmpBytes), FormatBytes(m.MemoryBytes)))
	}
	if m.Timeout < MinTimeout {
		bad = append(bad, fmt.Sprintf("max_timeout %s is below the minimum %s: set it to at least %s", m.Timeout, MinTimeout, MinTimeout))
	}

	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidMaximums, strings.Join(bad, "; "))
	}
	return nil
}
