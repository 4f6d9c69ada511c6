package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// ErrNoCgroups is returned by Detect when no cgroup hierarchy is mounted.
var ErrNoCgroups = errors.New("no cgroup hierarchy mounted")

// Detect reads /proc/self/mountinfo and returns the host's layout: V1 when
// any cgroup v1 hierarchy is mounted (a hybrid host's cgroup2 mount is then
// included for removal only), else V2.
func Detect() (Hierarchy, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("detect cgroups: %w", err)
	}
	defer f.Close()
	return parseMountinfo(f)
}

// parseMountinfo builds the layout from mountinfo lines. Each line is
// "id parent major:minor root mountpoint options [optional...] - fstype
// source superoptions".
func parseMountinfo(r io.Reader) (Hierarchy, error) {
	controllers := map[string]string{}
	unified := ""

	scanner := bufio.NewScanner(r)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		sep := indexOf(fields, "-")
		if sep < 5 || len(fields) < sep+4 {
			continue
		}
		mountpoint := unescapeMount(fields[4])
		fstype := fields[sep+1]
		superOptions := fields[sep+3]

		switch fstype {
		case "cgroup2":
			if unified == "" {
				unified = mountpoint
			}
		case "cgroup":
			for _, opt := range strings.Split(superOptions, ",") {
				if isController(opt) {
					if _, seen := controllers[opt]; !seen {
						controllers[opt] = mountpoint
					}
				}
			}
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("detect cgroups: read mountinfo: %w", err)
	}

	if len(controllers) > 0 {
		return NewV1(controllers, unified), nil
	}
	if unified != "" {
		return NewV2(unified), nil
	}
	return nil, ErrNoCgroups
}

// isController reports whether a v1 super option names a controller or a
// named hierarchy rather than a mount flag.
func isController(opt string) bool {
	switch opt {
	case "rw", "ro", "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods", "nofavordynmods":
		return false
	}
	if strings.HasPrefix(opt, "release_agent=") {
		return false
	}
	return opt != ""
}

func indexOf(fields []string, s string) int {
	for i, f := range fields {
		if f == s {
			return i
		}
	}
	return -1
}

// unescapeMount decodes the octal escapes (\040 for space) mountinfo uses.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}

	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for _, c := range s[i+1 : i+4] {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + byte(c-'0')
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
