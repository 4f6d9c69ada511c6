package doctor

import (
	"fmt"
	"strconv"
	"strings"
)

// advisory is one runc vulnerability and the first fixed release of each
// release branch that received the fix.
type advisory struct {
	cves     []string
	severity string
	impact   string
	// fixedIn is sorted oldest first. A version on a branch newer than the
	// last entry has the fix; one on an older branch that is not listed
	// does not.
	fixedIn []string
}

// runcAdvisories are the runc security fixes that matter to moat's
// sandboxes. Sources, as published by the runc project:
//   - CVE-2024-21626 (GHSA-xr7r-f8xq-vfvv, CVSS 8.6): fixed in 1.1.12, per
//     the runc 1.1.12 release notes.
//   - CVE-2024-45310 (GHSA-jfvp-7x6p-h2pv, low): fixed in 1.1.14 and
//     1.2.0-rc.3, per the runc 1.1.14 release notes and the advisory's
//     fixed versions.
//   - CVE-2025-31133, CVE-2025-52565, CVE-2025-52881 (high, container
//     breakouts through writes to /proc): fixed in 1.2.8 and 1.3.3, per the
//     runc 1.2.8 and 1.3.3 release notes.
//   - CVE-2026-41579 (low, limited host writes through a /dev symlink):
//     fixed in 1.3.6, 1.4.3 and 1.5.0-rc.3, per those release notes.
//
// NOTE: the 1.4.0-rc.3 boundary for the 2025 fixes was not confirmed in a
// runc release note. It only matters for 1.4.0 release candidates.
var runcAdvisories = []advisory{
	{
		cves: []string{"CVE-2024-21626"}, severity: "high",
		impact:  "container breakout through a leaked file descriptor",
		fixedIn: []string{"1.1.12"},
	},
	{
		cves: []string{"CVE-2024-45310"}, severity: "low",
		impact:  "a container can create empty files and directories on the host",
		fixedIn: []string{"1.1.14", "1.2.0-rc.3"},
	},
	{
		cves: []string{"CVE-2025-31133", "CVE-2025-52565", "CVE-2025-52881"}, severity: "high",
		impact:  "container breakout through writes to masked /proc paths",
		fixedIn: []string{"1.2.8", "1.3.3", "1.4.0-rc.3"},
	},
	{
		cves: []string{"CVE-2026-41579"}, severity: "low",
		impact:  "limited host writes through a /dev symlink in the rootfs",
		fixedIn: []string{"1.3.6", "1.4.3", "1.5.0-rc.3"},
	},
}

// ClassifyRuncVersion compares an upstream runc version (as printed by
// `runc --version`, build metadata such as "+ds1" ignored) with the known
// advisories. It returns StatusFail when a high-severity fix is missing or
// the version cannot be read, StatusWarn when only low-severity fixes are
// missing, and StatusOK otherwise, with a sentence that names the CVEs.
//
// The check goes by upstream version only: a distribution may backport a
// fix without changing it (Debian's 1.1.5+ds1-1+deb12u1 carries the
// CVE-2024-21626 fix), so such a package still fails here.
func ClassifyRuncVersion(text string) (status, detail string) {
	v, err := parseVersion(text)
	if err != nil {
		return StatusFail, fmt.Sprintf("cannot read the version %q (%v), so its security fixes are unknown", text, err)
	}

	var high, low []string
	for _, a := range runcAdvisories {
		if hasFix(v, a.fixedIn) {
			continue
		}
		missing := fmt.Sprintf("%s (%s: %s)", strings.Join(a.cves, ", "), a.severity, a.impact)
		if a.severity == "high" {
			high = append(high, missing)
		} else {
			low = append(low, missing)
		}
	}

	switch {
	case len(high) > 0:
		return StatusFail, "lacks the fixes for " + strings.Join(append(high, low...), "; ") +
			"; distribution packages may carry backported fixes, but this check goes by the upstream version"
	case len(low) > 0:
		return StatusWarn, "lacks the low-severity fixes for " + strings.Join(low, "; ")
	}
	return StatusOK, "has every runc security fix moat checks for (" + knownCVEs() + ")"
}

func knownCVEs() string {
	var all []string
	for _, a := range runcAdvisories {
		all = append(all, a.cves...)
	}
	return strings.Join(all, ", ")
}

// hasFix reports whether v contains a fix released in fixedIn.
func hasFix(v version, fixedIn []string) bool {
	for _, text := range fixedIn {
		f, err := parseVersion(text)
		if err != nil {
			panic(fmt.Sprintf("invalid version %q in runcAdvisories: %v", text, err))
		}
		if f.major == v.major && f.minor == v.minor {
			return v.compare(f) >= 0
		}
	}

	newest, _ := parseVersion(fixedIn[len(fixedIn)-1])
	return v.major > newest.major || (v.major == newest.major && v.minor > newest.minor)
}

// version is a semantic version without build metadata.
type version struct {
	major, minor, patch int
	// pre holds the dot-separated pre-release identifiers ("rc", "3");
	// empty for a release.
	pre []string
}

// parseVersion reads "1.2.3", "v1.2.3", "1.4.0-rc.3" and "1.1.5+ds1".
func parseVersion(text string) (version, error) {
	s := strings.TrimPrefix(strings.TrimSpace(text), "v")
	s, _, _ = strings.Cut(s, "+")
	core, pre, hasPre := strings.Cut(s, "-")

	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return version{}, fmt.Errorf("want MAJOR.MINOR.PATCH, got %q", core)
	}
	var nums [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return version{}, fmt.Errorf("version part %q is not a number", p)
		}
		nums[i] = n
	}

	v := version{major: nums[0], minor: nums[1], patch: nums[2]}
	if hasPre {
		if pre == "" {
			return version{}, fmt.Errorf("empty pre-release in %q", text)
		}
		v.pre = strings.Split(pre, ".")
	}
	return v, nil
}

// compare orders versions by semantic versioning precedence: a release
// comes after its pre-releases, numeric identifiers compare as numbers.
func (v version) compare(o version) int {
	for _, d := range []int{v.major - o.major, v.minor - o.minor, v.patch - o.patch} {
		if d != 0 {
			return sign(d)
		}
	}

	switch {
	case len(v.pre) == 0 && len(o.pre) == 0:
		return 0
	case len(v.pre) == 0:
		return 1
	case len(o.pre) == 0:
		return -1
	}

	for i := 0; i < len(v.pre) && i < len(o.pre); i++ {
		if c := comparePre(v.pre[i], o.pre[i]); c != 0 {
			return c
		}
	}
	return sign(len(v.pre) - len(o.pre))
}

func comparePre(a, b string) int {
	na, errA := strconv.Atoi(a)
	nb, errB := strconv.Atoi(b)
	switch {
	case errA == nil && errB == nil:
		return sign(na - nb)
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return strings.Compare(a, b)
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
