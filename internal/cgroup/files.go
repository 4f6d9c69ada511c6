package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// readInt reads a file holding one decimal integer ("max" reads as -1).
func readInt(file string) (int64, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}

	s := strings.TrimSpace(string(b))
	if s == "max" {
		return -1, nil
	}

	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %q: %w", file, err)
	}
	return v, nil
}

// readKeyed reads the value of key from a flat keyed file ("key value" per
// line, as memory.events, pids.events and cpu.stat). A missing key reads as
// 0 because the kernel omits counters that never fired in some versions.
func readKeyed(file, key string) (int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()

	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) != 2 || fields[0] != key {
			continue
		}

		v, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse %q key %q: %w", file, key, err)
		}
		return v, nil
	}
	return 0, scanner.Err()
}

// readPids reads a cgroup.procs file. A missing file yields no pids.
func readPids(file string) ([]int, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}

	var pids []int
	for _, line := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(line)
		if err != nil {
			return nil, fmt.Errorf("parse %q: %w", file, err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// unionPids merges pid lists, sorted and without duplicates.
func unionPids(lists ...[]int) []int {
	seen := map[int]bool{}
	var out []int
	for _, list := range lists {
		for _, pid := range list {
			if !seen[pid] {
				seen[pid] = true
				out = append(out, pid)
			}
		}
	}
	sort.Ints(out)
	return out
}

// removeDir removes one cgroup directory and the cgroups below it, deepest
// first. The kernel refuses rmdir with EBUSY for a short time after the last
// process exited (zombies not yet released), so it retries for up to a
// second per directory.
func removeDir(dir string) error {
	children, err := listChildren(dir)
	if err != nil {
		return err
	}
	for _, child := range children {
		if err := removeDir(filepath.Join(dir, child)); err != nil {
			return err
		}
	}

	deadline := time.Now().Add(time.Second)
	for {
		err := syscall.Rmdir(dir)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			return fmt.Errorf("remove cgroup %q: %w", dir, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// listChildren returns the names of the directories below dir; a missing
// dir has none.
func listChildren(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}

	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// sortedUnique sorts names and drops duplicates.
func sortedUnique(names []string) []string {
	sort.Strings(names)
	out := names[:0]
	for i, n := range names {
		if i == 0 || n != names[i-1] {
			out = append(out, n)
		}
	}
	return out
}

// exists reports whether a path exists.
func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// writeFile writes data to an existing control file. It never creates the
// file, so a control file the kernel lacks fails with fs.ErrNotExist.
func writeFile(file, data string) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}

	_, err = f.WriteString(data)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	return err
}
