package runsc

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/moatdev/moat/internal/sandbox"
)

// cpuPeriodMicros is the CFS period; the quota is Limits.CPU times it.
const cpuPeriodMicros = 100_000

// limitControllers are the v1 controllers whose leaf moat creates and
// configures. runsc leaves a pre-created leaf alone (no limits written, not
// removed), so the counters moat reads (cpuacct.usage,
// memory.max_usage_in_bytes, memory.oom_control, pids.events) survive the
// end of `runsc run`.
var limitControllers = []string{"memory", "cpu", "cpuacct", "pids"}

// cgroupMounts are the host's cgroup mount points: v1 controller name to
// mount point, or the unified mount when no v1 controller is mounted.
type cgroupMounts struct {
	v1      map[string]string
	unified string
}

// detectMounts reads /proc/self/mountinfo. Lines are "id parent
// major:minor root mountpoint options [optional...] - fstype source
// superoptions".
func detectMounts() (cgroupMounts, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return cgroupMounts{}, fmt.Errorf("detect cgroup mounts: %w", err)
	}
	defer f.Close()

	m := cgroupMounts{v1: map[string]string{}}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		sep := slices.Index(fields, "-")
		if sep < 5 || len(fields) < sep+4 {
			continue
		}
		switch fields[sep+1] {
		case "cgroup2":
			if m.unified == "" {
				m.unified = fields[4]
			}
		case "cgroup":
			for _, opt := range strings.Split(fields[sep+3], ",") {
				if slices.Contains(limitControllers, opt) {
					m.v1[opt] = fields[4]
				}
			}
		}
	}
	if err := scanner.Err(); err != nil {
		return cgroupMounts{}, fmt.Errorf("detect cgroup mounts: %w", err)
	}
	return m, m.check()
}

// check fails closed when a limit could not be applied: every limit
// controller must be mounted on v1, or the unified hierarchy must exist.
func (m cgroupMounts) check() error {
	if len(m.v1) == 0 {
		if m.unified == "" {
			return errors.New("no cgroup hierarchy is mounted: mount cgroup v2 at /sys/fs/cgroup")
		}
		return nil
	}
	for _, c := range limitControllers {
		if _, ok := m.v1[c]; !ok {
			return fmt.Errorf("cgroup v1 controller %q is not mounted: moat cannot limit or measure the sandbox without it", c)
		}
	}
	return nil
}

// pidsLimit raises the requested pids limit to minPids, because the limit
// also caps gVisor's own threads and processes: with 32, runsc fails to
// start the container, and 64 is too few once the job forks.
func pidsLimit(requested int64) int64 {
	return max(requested, minPids)
}

// minPids is the smallest pids limit a runsc sandbox gets.
const minPids = 512

// createCgroup creates the leaf at path p (for example "/moat-runsc/r-…")
// and writes the memory, CPU and pids limits. Swap is disabled by setting
// the memory+swap limit to the memory limit. It fails if the leaf exists.
func (m cgroupMounts) createCgroup(p string, l sandbox.Limits) error {
	if len(m.v1) == 0 {
		return m.createUnified(p, l)
	}

	for _, c := range limitControllers {
		if err := mkdirLeaf(filepath.Join(m.v1[c], p)); err != nil {
			return err
		}
	}

	memory := filepath.Join(m.v1["memory"], p)
	cpu := filepath.Join(m.v1["cpu"], p)
	pids := filepath.Join(m.v1["pids"], p)
	writes := []control{
		{memory, "memory.limit_in_bytes", strconv.FormatInt(l.MemoryBytes, 10), true},
		// Absent without swap accounting; there is no swap to limit then.
		{memory, "memory.memsw.limit_in_bytes", strconv.FormatInt(l.MemoryBytes, 10), false},
		{cpu, "cpu.cfs_period_us", strconv.Itoa(cpuPeriodMicros), true},
		{cpu, "cpu.cfs_quota_us", strconv.FormatInt(cpuQuota(l.CPU), 10), true},
		{pids, "pids.max", strconv.FormatInt(pidsLimit(l.Pids), 10), true},
	}
	return writeControls(writes)
}

// createUnified is createCgroup on a cgroup v2 host: it enables the
// controllers for the parent's children and writes the limits to the leaf.
//
// NOTE: the v2 path is not exercised on the cgroup v1 hybrid host the tests
// run on.
func (m cgroupMounts) createUnified(p string, l sandbox.Limits) error {
	leaf := filepath.Join(m.unified, p)
	parent := filepath.Dir(leaf)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("create cgroup parent %q: %w", parent, err)
	}
	for dir := parent; dir != m.unified; dir = filepath.Dir(dir) {
		if err := writeControl(filepath.Join(filepath.Dir(dir), "cgroup.subtree_control"), "+memory +cpu +pids"); err != nil {
			return err
		}
	}
	if err := writeControl(filepath.Join(parent, "cgroup.subtree_control"), "+memory +cpu +pids"); err != nil {
		return err
	}
	if err := mkdirLeaf(leaf); err != nil {
		return err
	}

	writes := []control{
		{leaf, "memory.max", strconv.FormatInt(l.MemoryBytes, 10), true},
		{leaf, "memory.swap.max", "0", false},
		{leaf, "cpu.max", fmt.Sprintf("%d %d", cpuQuota(l.CPU), cpuPeriodMicros), true},
		{leaf, "pids.max", strconv.FormatInt(pidsLimit(l.Pids), 10), true},
	}
	return writeControls(writes)
}

// cpuQuota converts cores to the CFS quota per period.
func cpuQuota(cores float64) int64 { return int64(cores * cpuPeriodMicros) }

// mkdirLeaf creates the parents of dir if needed and dir itself, failing
// if dir exists: an existing leaf belongs to another run or a leftover.
func mkdirLeaf(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("create cgroup parent %q: %w", filepath.Dir(dir), err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("create cgroup %q: %w", dir, err)
	}
	return nil
}

// control is one write to a cgroup control file.
type control struct {
	dir, file, value string
	// required is false for files a kernel may lack (swap accounting).
	required bool
}

func writeControls(writes []control) error {
	for _, w := range writes {
		err := writeControl(filepath.Join(w.dir, w.file), w.value)
		if errors.Is(err, fs.ErrNotExist) && !w.required {
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// writeControl writes value to an existing control file; it never creates
// the file.
func writeControl(file, value string) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("set cgroup limit %q: %w", file, err)
	}
	_, err = f.WriteString(value)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("set cgroup limit %q to %q: %w", file, value, err)
	}
	return nil
}
