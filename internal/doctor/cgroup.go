package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

const cgroupRoot = "/sys/fs/cgroup"

// requiredControllers are the controllers the sandboxes' limits and usage
// accounting use: memory and pids caps, CPU quota, CPU time.
var requiredControllers = []string{"memory", "cpu", "cpuacct", "pids"}

// v1Controllers names the cgroup v1 controllers that can appear in a
// cgroup mount's options; other options (rw, relatime, name=systemd) are
// not controllers.
var v1Controllers = []string{
	"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb", "memory",
	"misc", "net_cls", "net_prio", "perf_event", "pids", "rdma",
}

// CgroupLayout is the cgroup mount layout of the host.
type CgroupLayout struct {
	// Mode is "v1", "v2", "hybrid" (v1 controllers plus a cgroup2 mount
	// elsewhere, like /sys/fs/cgroup/unified) or "none".
	Mode string
	// UnifiedMount is the cgroup2 mount point, empty when cgroup2 is not
	// mounted.
	UnifiedMount string
	// V1Controllers lists the controllers of the v1 mounts, sorted.
	V1Controllers []string
}

// ParseCgroupMounts reads /proc/self/mounts text and returns the cgroup
// layout under /sys/fs/cgroup.
func ParseCgroupMounts(mounts string) CgroupLayout {
	var layout CgroupLayout

	for _, line := range strings.Split(mounts, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 4 {
			continue
		}
		target, fstype, options := fields[1], fields[2], fields[3]
		if target != cgroupRoot && !strings.HasPrefix(target, cgroupRoot+"/") {
			continue
		}

		switch fstype {
		case "cgroup2":
			layout.UnifiedMount = target
		case "cgroup":
			for _, opt := range strings.Split(options, ",") {
				if slices.Contains(v1Controllers, opt) && !slices.Contains(layout.V1Controllers, opt) {
					layout.V1Controllers = append(layout.V1Controllers, opt)
				}
			}
		}
	}
	slices.Sort(layout.V1Controllers)

	hasV1 := len(layout.V1Controllers) > 0
	switch {
	case hasV1 && layout.UnifiedMount != "":
		layout.Mode = "hybrid"
	case hasV1:
		layout.Mode = "v1"
	case layout.UnifiedMount == cgroupRoot:
		layout.Mode = "v2"
	default:
		layout.Mode = "none"
	}
	return layout
}

// availableControllers returns the controllers runc can use in this layout.
// In v1 and hybrid mode runc puts limits in the v1 hierarchies. In v2 mode
// the controllers are those listed in cgroup.controllers, and cpu.stat
// (present in every v2 cgroup) replaces the v1 cpuacct controller.
func availableControllers(layout CgroupLayout, v2Controllers string) []string {
	if layout.Mode != "v2" {
		return layout.V1Controllers
	}

	available := strings.Fields(v2Controllers)
	if slices.Contains(available, "cpu") {
		available = append(available, "cpuacct")
	}
	return available
}

func checkCgroups() Check {
	mounts, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return fail("cgroups", "cannot read /proc/self/mounts: "+err.Error(), "run moat on Linux with /proc mounted")
	}

	layout := ParseCgroupMounts(string(mounts))
	if layout.Mode == "none" {
		return fail("cgroups", "no cgroup filesystem is mounted under "+cgroupRoot,
			"mount cgroup v2: mount -t cgroup2 none "+cgroupRoot)
	}

	var v2Controllers []byte
	if layout.Mode == "v2" {
		v2Controllers, err = os.ReadFile(filepath.Join(cgroupRoot, "cgroup.controllers"))
		if err != nil {
			return fail("cgroups", "cannot read the cgroup v2 controllers: "+err.Error(), "check that "+cgroupRoot+" is a cgroup2 mount")
		}
	}

	available := availableControllers(layout, string(v2Controllers))
	var missing []string
	for _, c := range requiredControllers {
		if !slices.Contains(available, c) {
			missing = append(missing, c)
		}
	}

	detail := describeLayout(layout, available)
	if len(missing) > 0 {
		return fail("cgroups", fmt.Sprintf("%s; missing controllers: %s", detail, strings.Join(missing, ", ")), controllerFix(layout, missing))
	}
	return ok("cgroups", detail)
}

func describeLayout(layout CgroupLayout, available []string) string {
	detail := "cgroup " + layout.Mode
	if layout.Mode == "hybrid" {
		detail += " (cgroup2 at " + layout.UnifiedMount + ")"
	}
	sorted := slices.Sorted(slices.Values(available))
	return detail + "; controllers " + strings.Join(sorted, ", ")
}

func controllerFix(layout CgroupLayout, missing []string) string {
	if layout.Mode == "v2" {
		return "boot a kernel with the " + strings.Join(missing, ", ") +
			" controller(s) enabled (for memory, add cgroup_enable=memory to the kernel command line); /sys/fs/cgroup/cgroup.controllers lists what is enabled"
	}
	first := missing[0]
	return fmt.Sprintf("mount each missing v1 hierarchy, for example: mkdir -p %s/%s && mount -t cgroup -o %s cgroup %s/%s",
		cgroupRoot, first, first, cgroupRoot, first)
}
