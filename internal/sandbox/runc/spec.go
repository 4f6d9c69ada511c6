package runc

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/sandbox"
	"github.com/moatdev/moat/internal/sandbox/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cpuPeriodMicros is the CFS period; the quota is Limits.CPU times it.
const cpuPeriodMicros = 100_000

// devShmBytes caps /dev/shm, which Python's multiprocessing needs for
// semaphores. Its pages count against the memory limit.
const devShmBytes = 4 << 20

// fixedDestinations are the mount destinations the sandbox layout owns; an
// extra mount may not replace them or sit below them.
var fixedDestinations = []string{"/", "/usr", "/etc", "/job", "/tmp", "/proc", "/dev", "/sys", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

// validateSpec checks everything Run relies on before touching the host.
func validateSpec(s sandbox.Spec) error {
	if err := ids.ValidateRun(s.ID); err != nil {
		return err
	}
	if s.UID == 0 || s.GID == 0 {
		return fmt.Errorf("sandbox %q: uid %d gid %d: jobs never run as root; use a non-zero uid and gid", s.ID, s.UID, s.GID)
	}
	if len(s.Args) == 0 || !filepath.IsAbs(s.Args[0]) {
		return fmt.Errorf("sandbox %q: args %q: the first argument must be an absolute path inside the sandbox", s.ID, s.Args)
	}
	if !filepath.IsAbs(s.BundleDir) {
		return fmt.Errorf("sandbox %q: bundle dir %q: use an absolute host path", s.ID, s.BundleDir)
	}
	if info, err := os.Stat(s.BundleDir); err != nil || !info.IsDir() {
		return fmt.Errorf("sandbox %q: bundle dir %q is not a directory", s.ID, s.BundleDir)
	}
	if s.NetnsPath != "" && !filepath.IsAbs(s.NetnsPath) {
		return fmt.Errorf("sandbox %q: netns path %q: use an absolute path such as /var/run/netns/moat-NAME", s.ID, s.NetnsPath)
	}
	if err := validateLimits(s.ID, s.Limits); err != nil {
		return err
	}
	for _, m := range s.Mounts {
		if err := validateMount(s.ID, m); err != nil {
			return err
		}
	}
	return nil
}

func validateLimits(id string, l sandbox.Limits) error {
	switch {
	case l.CPU <= 0:
		return fmt.Errorf("sandbox %q: cpu limit %v: use a quota in cores above 0", id, l.CPU)
	case int64(l.CPU*cpuPeriodMicros) < 1000:
		return fmt.Errorf("sandbox %q: cpu limit %v: the kernel needs at least 0.01 cores", id, l.CPU)
	case l.MemoryBytes <= 0:
		return fmt.Errorf("sandbox %q: memory limit %d: use a positive number of bytes", id, l.MemoryBytes)
	case l.Pids <= 0:
		return fmt.Errorf("sandbox %q: pids limit %d: use a positive number", id, l.Pids)
	case l.TmpBytes <= 0 || l.TmpBytes >= l.MemoryBytes:
		return fmt.Errorf("sandbox %q: tmp size %d: use a positive size below the memory limit %d", id, l.TmpBytes, l.MemoryBytes)
	}
	return nil
}

func validateMount(id string, m sandbox.Mount) error {
	if !filepath.IsAbs(m.Source) {
		return fmt.Errorf("sandbox %q: mount source %q: use an absolute host path", id, m.Source)
	}
	if _, err := os.Stat(m.Source); err != nil {
		return fmt.Errorf("sandbox %q: mount source %q: %w", id, m.Source, err)
	}

	d := m.Destination
	if !filepath.IsAbs(d) || filepath.Clean(d) != d {
		return fmt.Errorf("sandbox %q: mount destination %q: use a clean absolute path", id, d)
	}
	for _, fixed := range fixedDestinations {
		if d == fixed || (fixed != "/" && strings.HasPrefix(d, fixed+"/")) {
			return fmt.Errorf("sandbox %q: mount destination %q overlaps the fixed mount %q: choose a path such as /opt/NAME", id, d, fixed)
		}
	}
	return nil
}

// renderSpec builds the OCI runtime spec of one run.
func renderSpec(s sandbox.Spec, d runDirs, cgroupsPath string, hostDirMounts []specs.Mount) *specs.Spec {
	return &specs.Spec{
		Version:  specs.Version,
		Hostname: "moat-job",
		Root:     &specs.Root{Path: d.rootfs, Readonly: true},
		Process:  renderProcess(s),
		Mounts:   renderMounts(s, d, hostDirMounts),
		Linux:    renderLinux(s, cgroupsPath),
	}
}

func renderProcess(s sandbox.Spec) *specs.Process {
	empty := []string{}
	return &specs.Process{
		Terminal: false,
		User:     specs.User{UID: s.UID, GID: s.GID},
		Args:     append([]string(nil), s.Args...),
		// Exactly the caller's environment: nothing of moat's leaks in.
		Env:             append([]string{}, s.Env...),
		Cwd:             "/job",
		NoNewPrivileges: true,
		Capabilities: &specs.LinuxCapabilities{
			Bounding:    empty,
			Effective:   empty,
			Inheritable: empty,
			Permitted:   empty,
			Ambient:     empty,
		},
		Rlimits: []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024},
			{Type: "RLIMIT_CORE", Hard: 0, Soft: 0},
		},
	}
}

// renderMounts lists the container's mounts. In Run's layout (d.copied)
// /etc, /job and s.Mounts are files of the root tmpfs; otherwise they are
// bind mounts of their host paths.
func renderMounts(s sandbox.Spec, d runDirs, hostDirMounts []specs.Mount) []specs.Mount {
	mounts := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		// runc populates a tmpfs /dev with null, zero, full, random,
		// urandom and tty only; /dev/pts is not mounted (no terminal).
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "noexec", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", fmt.Sprintf("size=%d", devShmBytes)}},
		readOnlyBind("/usr", "/usr", true),
	}
	if !d.copied {
		mounts = append(mounts,
			readOnlyBind(d.etc, "/etc", false),
			// /job keeps exec: bundles may ship their own runtime binary.
			readOnlyBind(s.BundleDir, "/job", true))
	}
	mounts = append(mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777", fmt.Sprintf("size=%d", s.Limits.TmpBytes)}})
	mounts = append(mounts, hostDirMounts...)

	if !d.copied {
		for _, m := range s.Mounts {
			mounts = append(mounts, readOnlyBind(m.Source, m.Destination, true))
		}
	}
	return mounts
}

func renderLinux(s sandbox.Spec, cgroupsPath string) *specs.Linux {
	memory := s.Limits.MemoryBytes
	quota := int64(s.Limits.CPU * cpuPeriodMicros)
	period := uint64(cpuPeriodMicros)

	return &specs.Linux{
		CgroupsPath: cgroupsPath,
		Namespaces: []specs.LinuxNamespace{
			{Type: specs.PIDNamespace},
			{Type: specs.IPCNamespace},
			{Type: specs.UTSNamespace},
			{Type: specs.MountNamespace},
			// An empty path makes runc create a new namespace with only lo.
			{Type: specs.NetworkNamespace, Path: s.NetnsPath},
			{Type: specs.CgroupNamespace},
		},
		Resources: &specs.LinuxResources{
			// Deny every device node; runc adds back its default set
			// (null, zero, full, random, urandom, tty).
			Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			// Swap equal to the limit means no swap on top of it.
			Memory: &specs.LinuxMemory{Limit: &memory, Swap: &memory},
			CPU:    &specs.LinuxCPU{Quota: &quota, Period: &period},
			Pids:   &specs.LinuxPids{Limit: &s.Limits.Pids},
		},
		// runc's default masked and read-only paths: they leak host
		// details (kcore, keys, timers) or allow writes to kernel
		// settings. moat adds /proc/interrupts, whose per-CPU counters
		// are a side channel on other tenants' keyboard and network
		// activity, and /proc/kallsyms, which gives away the kernel's
		// address layout when kptr_restrict is 0. /sys is not mounted at
		// all; its entries stay for runtimes that add one.
		MaskedPaths: []string{
			"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kallsyms",
			"/proc/kcore", "/proc/keys", "/proc/latency_stats",
			"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
			"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
		},
		ReadonlyPaths: []string{
			"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
		},
		Seccomp: seccomp.Profile(),
	}
}

// writeSpec writes config.json into the bundle and returns the hex sha256
// of the exact bytes written.
func writeSpec(bundle string, spec *specs.Spec) (string, error) {
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode runtime spec: %w", err)
	}

	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o600); err != nil {
		return "", fmt.Errorf("write runtime spec: %w", err)
	}

	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}
