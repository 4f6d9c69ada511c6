package doctor

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRunOnThisHost(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: the host checks expect root (run the tests as root)")
	}

	checks := Run(context.Background(), Options{DataDir: t.TempDir()})

	var names []string
	for _, c := range checks {
		names = append(names, c.Name)
		if c.Status != StatusOK {
			t.Errorf("check %s = %s: %s (fix: %s)", c.Name, c.Status, c.Detail, c.Fix)
		}
		if c.Detail == "" {
			t.Errorf("check %s has no detail", c.Name)
		}
	}

	want := []string{"root", "runc-version", "runc-seccomp", "kernel-seccomp", "cgroups", "namespaces", "runsc", "netns-dir", "python3", "duckdb", "data-dir"}
	if !slices.Equal(names, want) {
		t.Errorf("checks = %v, want %v", names, want)
	}
}

func TestRuncNotFound(t *testing.T) {
	checks := checkRunc(context.Background(), filepath.Join(t.TempDir(), "no-such-runc"))

	if len(checks) != 2 {
		t.Fatalf("got %d checks, want 2", len(checks))
	}
	for _, c := range checks {
		if c.Status != StatusFail {
			t.Errorf("check %s = %s, want fail", c.Name, c.Status)
		}
		if !strings.Contains(c.Fix, "go install -tags seccomp github.com/opencontainers/runc@v1.5.3") {
			t.Errorf("check %s fix %q does not say how to install runc", c.Name, c.Fix)
		}
	}
}

func TestClassifyRuncVersion(t *testing.T) {
	cases := []struct {
		version  string
		status   string
		mentions []string
		omits    []string
	}{
		{"1.1.5+ds1", StatusFail, []string{"CVE-2024-21626", "CVE-2024-45310", "CVE-2025-31133", "CVE-2025-52565", "CVE-2025-52881", "CVE-2026-41579"}, nil},
		{"1.1.11", StatusFail, []string{"CVE-2024-21626"}, nil},
		{"1.1.12", StatusFail, []string{"CVE-2024-45310", "CVE-2025-31133"}, []string{"CVE-2024-21626"}},
		{"1.1.14", StatusFail, []string{"CVE-2025-31133"}, []string{"CVE-2024-21626", "CVE-2024-45310"}},
		{"1.2.0-rc.2", StatusFail, []string{"CVE-2024-45310"}, []string{"CVE-2024-21626"}},
		{"1.2.0", StatusFail, []string{"CVE-2025-31133", "CVE-2025-52565", "CVE-2025-52881"}, []string{"CVE-2024-21626", "CVE-2024-45310"}},
		{"1.2.7", StatusFail, []string{"CVE-2025-52881"}, nil},
		{"1.2.8", StatusWarn, []string{"CVE-2026-41579"}, []string{"CVE-2025-31133"}},
		{"1.3.2", StatusFail, []string{"CVE-2025-31133"}, nil},
		{"1.3.3", StatusWarn, []string{"CVE-2026-41579"}, []string{"CVE-2025-31133", "CVE-2024-21626"}},
		{"1.3.6", StatusOK, nil, nil},
		{"1.4.0-rc.2", StatusFail, []string{"CVE-2025-31133"}, nil},
		{"1.4.0-rc.3", StatusWarn, []string{"CVE-2026-41579"}, []string{"CVE-2025-31133"}},
		{"1.4.3", StatusOK, nil, nil},
		{"1.5.0-rc.2", StatusWarn, []string{"CVE-2026-41579"}, nil},
		{"1.5.0-rc.3", StatusOK, nil, nil},
		{"1.5.3", StatusOK, nil, nil},
		{"v1.5.3", StatusOK, nil, nil},
		{"1.6.0", StatusOK, nil, nil},
		{"garbage", StatusFail, []string{"cannot read the version"}, nil},
		{"1.5", StatusFail, []string{"cannot read the version"}, nil},
		{"1.5.x", StatusFail, []string{"cannot read the version"}, nil},
		{"1.5.3-", StatusFail, []string{"cannot read the version"}, nil},
		{"", StatusFail, []string{"cannot read the version"}, nil},
	}

	for _, tc := range cases {
		t.Run(tc.version, func(t *testing.T) {
			status, detail := ClassifyRuncVersion(tc.version)

			if status != tc.status {
				t.Errorf("status = %s, want %s (%s)", status, tc.status, detail)
			}
			for _, m := range tc.mentions {
				if !strings.Contains(detail, m) {
					t.Errorf("detail %q does not mention %s", detail, m)
				}
			}
			for _, m := range tc.omits {
				if strings.Contains(detail, m) {
					t.Errorf("detail %q mentions %s, which this version fixes", detail, m)
				}
			}
		})
	}
}

func TestVersionCompare(t *testing.T) {
	ordered := []string{"1.1.5", "1.1.12", "1.2.0-rc.1", "1.2.0-rc.3", "1.2.0-rc.10", "1.2.0", "1.2.8", "1.10.0"}

	for i := 1; i < len(ordered); i++ {
		a, _ := parseVersion(ordered[i-1])
		b, _ := parseVersion(ordered[i])
		if a.compare(b) >= 0 || b.compare(a) <= 0 {
			t.Errorf("%s does not sort before %s", ordered[i-1], ordered[i])
		}
	}

	a, _ := parseVersion("1.1.5+ds1")
	b, _ := parseVersion("1.1.5")
	if a.compare(b) != 0 {
		t.Errorf("build metadata changed the order of 1.1.5+ds1 and 1.1.5")
	}
}

func TestParseRuncVersion(t *testing.T) {
	withSeccomp := "runc version 1.5.3\nspec: 1.3.0\ngo: go1.26.8\nlibseccomp: 2.5.4\n"
	info, err := ParseRuncVersion(withSeccomp)
	if err != nil {
		t.Fatalf("ParseRuncVersion: %v", err)
	}
	if info.Version != "1.5.3" || info.Libseccomp != "2.5.4" {
		t.Errorf("got %+v, want version 1.5.3, libseccomp 2.5.4", info)
	}

	debian := "runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\n"
	info, err = ParseRuncVersion(debian)
	if err != nil {
		t.Fatalf("ParseRuncVersion: %v", err)
	}
	if info.Version != "1.1.5+ds1" || info.Libseccomp != "" {
		t.Errorf("got %+v, want version 1.1.5+ds1 without libseccomp", info)
	}

	if _, err := ParseRuncVersion("Usage: runc [options]\n"); err == nil {
		t.Errorf("ParseRuncVersion accepted output without a version line")
	}
}

func TestSeccompCheck(t *testing.T) {
	if c := seccompCheck("/usr/sbin/runc", ""); c.Status != StatusFail || c.Fix == "" {
		t.Errorf("runc without libseccomp: %+v, want fail with a fix", c)
	}
	if c := seccompCheck("/usr/sbin/runc", "2.5.4"); c.Status != StatusOK {
		t.Errorf("runc with libseccomp: %+v, want ok", c)
	}
}

func TestParseCgroupMounts(t *testing.T) {
	hybrid := `tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
`
	v1Combined := `cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0
`
	v2 := `cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot 0 0
`
	none := `proc /proc proc rw 0 0
cgroup2 /mnt/elsewhere cgroup2 rw 0 0
`

	cases := []struct {
		name        string
		mounts      string
		mode        string
		unified     string
		controllers []string
	}{
		{"hybrid", hybrid, "hybrid", "/sys/fs/cgroup/unified", []string{"cpu", "cpuacct", "memory", "pids"}},
		{"v1 combined", v1Combined, "v1", "", []string{"cpu", "cpuacct", "memory"}},
		{"v2", v2, "v2", "/sys/fs/cgroup", nil},
		{"none", none, "none", "", nil},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseCgroupMounts(tc.mounts)

			if got.Mode != tc.mode {
				t.Errorf("mode = %q, want %q", got.Mode, tc.mode)
			}
			if got.UnifiedMount != tc.unified {
				t.Errorf("unified mount = %q, want %q", got.UnifiedMount, tc.unified)
			}
			if !slices.Equal(got.V1Controllers, tc.controllers) {
				t.Errorf("v1 controllers = %v, want %v", got.V1Controllers, tc.controllers)
			}
		})
	}
}

func TestAvailableControllersV2(t *testing.T) {
	layout := CgroupLayout{Mode: "v2", UnifiedMount: "/sys/fs/cgroup"}

	got := availableControllers(layout, "cpuset cpu io memory hugetlb pids rdma misc\n")

	for _, want := range requiredControllers {
		if !slices.Contains(got, want) {
			t.Errorf("controllers %v lack %s", got, want)
		}
	}

	without := availableControllers(layout, "io memory pids\n")
	if slices.Contains(without, "cpuacct") || slices.Contains(without, "cpu") {
		t.Errorf("controllers %v claim cpu accounting without the cpu controller", without)
	}
}

func TestCheckWritableDir(t *testing.T) {
	dir := t.TempDir()

	if _, err := checkWritableDir(dir); err != nil {
		t.Errorf("existing temp dir: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("the probe left %d files behind", len(entries))
	}

	detail, err := checkWritableDir(filepath.Join(dir, "a", "b"))
	if err != nil || !strings.Contains(detail, "does not exist yet") {
		t.Errorf("missing dir: detail %q, err %v; want ok with \"does not exist yet\"", detail, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !os.IsNotExist(err) {
		t.Errorf("the check created the missing directory")
	}

	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := checkWritableDir(file); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("regular file: err %v, want \"not a directory\"", err)
	}
}

func TestCheckDataDirEmpty(t *testing.T) {
	c := checkDataDir("")

	if c.Status != StatusFail || c.Fix == "" {
		t.Errorf("empty data dir: %+v, want fail with a fix", c)
	}
}

func TestRunscMissingIsAWarning(t *testing.T) {
	t.Setenv("PATH", t.TempDir())

	c := checkRunsc(context.Background(), filepath.Join(t.TempDir(), "no-such-runsc"))

	if c.Status != StatusWarn || !strings.Contains(c.Fix, "apt-get install runsc") {
		t.Errorf("check = %+v, want a warning whose fix installs runsc", c)
	}
}
