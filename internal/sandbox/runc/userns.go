package runc

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// User namespaces
//
// Each run gets its own user namespace whose ids 0-65535 map to a block of
// 65536 host ids that no host user owns. The blocks are slots above
// HostIDBase: slot n maps container id 0 to HostIDBase + n*65536, so the
// job's uid 10001 runs as host uid HostIDBase + n*65536 + 10001. A run holds
// its slot through an exclusive flock on SlotDir/<n> from before the
// container starts until its cgroup is empty and removed, so concurrent
// runs, in this process or in any other moat process using the same SlotDir,
// never share host ids. Accounting the kernel keeps per host uid (pipe
// buffer pages, for one) is therefore per run, and a process that escaped
// one sandbox would neither own another run's files nor be allowed to
// signal its processes.
//
// The default base 0x60000000 (1610612736) lies in the range systemd sets
// aside for container id ranges (0x00080000-0x6FFFFFFF, systemd.io/UIDS-GIDS),
// and 1024 slots end at 0x63FFFFFF, far below 2^31 where tools that treat
// uid_t as signed misbehave. New fails if /etc/passwd, /etc/group,
// /etc/subuid or /etc/subgid assign any id of the range.

// idsPerRun is the number of ids mapped into each run's user namespace:
// every 16-bit id, root and nobody (65534) included.
const idsPerRun = 1 << 16

const (
	// DefaultHostIDBase is the first host id of slot 0.
	DefaultHostIDBase uint32 = 0x60000000
	// DefaultHostIDSlots is the number of slots, the maximum of concurrent
	// runs with a user namespace on one host.
	DefaultHostIDSlots uint32 = 1024
	// maxHostID keeps every mapped id below 2^31.
	maxHostID = 1<<31 - 1
)

// UserNamespaceMode selects whether runs get a user namespace.
type UserNamespaceMode string

const (
	// UserNamespaceAuto gives every run a user namespace when the host
	// supports one at run time, and runs without one (reported in
	// sandbox.Result.UserNamespace) when it does not.
	UserNamespaceAuto UserNamespaceMode = "auto"
	// UserNamespaceOff never creates one: the job's uid is a host uid.
	UserNamespaceOff UserNamespaceMode = "off"
)

// maxUserNamespacesPath is the sysctl that is 0 when user namespaces are
// disabled.
const maxUserNamespacesPath = "/proc/sys/user/max_user_namespaces"

// userNamespacesSupported reports whether the sysctl file at path allows
// creating user namespaces: it exists and holds a number above 0.
func userNamespacesSupported(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	return err == nil && n > 0
}

// idSlot is a block of host ids held by one run until release.
type idSlot struct {
	hostBase uint32
	lock     *os.File
}

// release drops the flock, letting another run take the slot.
func (s *idSlot) release() error {
	return s.lock.Close()
}

// acquireIDSlot takes a free slot for run id. It starts at a slot derived
// from the id, so concurrent runs rarely probe the same slots, and tries
// each slot once.
//
// NOTE: a crashed moat process drops its locks while its container may
// still run, so until the next moat process reaps that container another
// run can be given the same host id block.
func (h *host) acquireIDSlot(id string) (*idSlot, error) {
	hash := fnv.New32a()
	_, _ = hash.Write([]byte(id))
	start := hash.Sum32() % h.cfg.HostIDSlots

	for i := range h.cfg.HostIDSlots {
		slot := (start + i) % h.cfg.HostIDSlots
		f, err := lockSlot(filepath.Join(h.cfg.SlotDir, strconv.FormatUint(uint64(slot), 10)))
		if errors.Is(err, unix.EWOULDBLOCK) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &idSlot{hostBase: h.cfg.HostIDBase + slot*idsPerRun, lock: f}, nil
	}
	return nil, fmt.Errorf("all %d user namespace id slots in %q are in use: raise HostIDSlots or wait for runs to end", h.cfg.HostIDSlots, h.cfg.SlotDir)
}

// lockSlot opens (creating it if needed) and exclusively flocks the slot
// file at path without blocking. The kernel drops the lock when the
// process dies, so a crashed moat never leaks slots.
func lockSlot(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open user namespace slot %q: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, err
		}
		return nil, fmt.Errorf("lock user namespace slot %q: %w", path, err)
	}
	return f, nil
}

// addUserNamespace puts the container in a new user namespace that maps
// container ids 0-65535 to the host ids starting at hostBase.
func addUserNamespace(spec *specs.Spec, hostBase uint32) {
	spec.Linux.Namespaces = append([]specs.LinuxNamespace{{Type: specs.UserNamespace}}, spec.Linux.Namespaces...)
	mapping := []specs.LinuxIDMapping{{ContainerID: 0, HostID: hostBase, Size: idsPerRun}}
	spec.Linux.UIDMappings = mapping
	spec.Linux.GIDMappings = append([]specs.LinuxIDMapping(nil), mapping...)
}

// validateIDRange checks the configured host id range: whole 65536-id
// blocks above the 16-bit ids and below 2^31.
func validateIDRange(base, slots uint32) error {
	if base%idsPerRun != 0 || base < idsPerRun {
		return fmt.Errorf("runc backend: host id base %d: use a multiple of 65536 above 65535, such as %d", base, DefaultHostIDBase)
	}
	if slots == 0 || uint64(base)+uint64(slots)*idsPerRun-1 > maxHostID {
		return fmt.Errorf("runc backend: host id base %d with %d slots ends above 2^31-1: lower the base or the slot count", base, slots)
	}
	return nil
}

// hostIDFiles are the databases that assign host ids to users and groups.
var hostIDFiles = struct{ ids, ranges []string }{
	ids:    []string{"/etc/passwd", "/etc/group"},
	ranges: []string{"/etc/subuid", "/etc/subgid"},
}

// checkIDRangeUnowned fails if a user, group or subordinate id range in the
// host's databases overlaps [first, last]. A missing file assigns nothing.
// Files owned by ids of the range cannot be found this way; the range is
// chosen where no distribution or tool puts them.
func checkIDRangeUnowned(first, last uint32, idFiles, rangeFiles []string) error {
	for _, file := range idFiles {
		err := scanColonFile(file, func(fields []string) error {
			if len(fields) < 3 {
				return nil
			}
			id, err := strconv.ParseUint(fields[2], 10, 32)
			if err == nil && uint32(id) >= first && uint32(id) <= last {
				return fmt.Errorf("%q gives %q the id %d, inside moat's user namespace range %d-%d: set HostIDBase to a free range", file, fields[0], id, first, last)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}

	for _, file := range rangeFiles {
		err := scanColonFile(file, func(fields []string) error {
			if len(fields) < 3 {
				return nil
			}
			start, err1 := strconv.ParseUint(fields[1], 10, 32)
			count, err2 := strconv.ParseUint(fields[2], 10, 32)
			if err1 != nil || err2 != nil || count == 0 {
				return nil
			}
			if start <= uint64(last) && start+count-1 >= uint64(first) {
				return fmt.Errorf("%q gives %q the ids %d-%d, overlapping moat's user namespace range %d-%d: set HostIDBase to a free range", file, fields[0], start, start+count-1, first, last)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// scanColonFile calls fn with the colon-separated fields of each line of
// path; a missing file has no lines.
func scanColonFile(path string, fn func(fields []string) error) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %q: %w", path, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := fn(strings.Split(line, ":")); err != nil {
			return err
		}
	}
	return nil
}
