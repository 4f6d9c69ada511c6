package cgroup

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// killPids sends SIGKILL to each pid that belongs to the cgroup at path p.
func killPids(pids []int, p string) error {
	var errs []error
	for _, pid := range pids {
		if err := killMember(pid, p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// killMember sends SIGKILL to pid if the process is in the cgroup at path p.
//
// The pidfd pins the process: if pid was reused by a host process between
// the read of cgroup.procs and pidfd_open, the membership check finds the new
// process outside the cgroup and skips it, and if the process exits after
// the check the signal fails with ESRCH instead of reaching a reused pid.
func killMember(pid int, p string) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pidfd_open pid %d: %w", pid, err)
	}
	defer unix.Close(fd)

	if !isMember(pid, p) {
		return nil
	}

	err = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	if err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("kill pid %d of cgroup %q: %w", pid, p, err)
	}
	return nil
}

// isMember reports whether /proc/<pid>/cgroup places the process in the
// cgroup at path p or below it, in any hierarchy.
func isMember(pid int, p string) bool {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return false
	}
	defer f.Close()

	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		// Lines are "hierarchy-id:controllers:path"; the path may contain ':'.
		parts := strings.SplitN(scanner.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[2] == p || strings.HasPrefix(parts[2], p+"/") {
			return true
		}
	}
	return false
}

// WaitEmpty polls until g has no process left or ctx is done. It returns
// the remaining pids with the context's error on timeout.
func WaitEmpty(ctx context.Context, g Group) error {
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()

	for {
		pids, err := g.Pids()
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}

		select {
		case <-ctx.Done():
			return fmt.Errorf("cgroup %q still has processes %v: %w", g.Path(), pids, ctx.Err())
		case <-ticker.C:
		}
	}
}
