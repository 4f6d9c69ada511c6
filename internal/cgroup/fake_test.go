package cgroup

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeFiles creates dir and the given files in it.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestV2Stats(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, filepath.Join(root, "moat", "r-1"), map[string]string{
		"cpu.stat":      "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n",
		"memory.peak":   "67108864\n",
		"memory.events": "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n",
		"pids.events":   "max 7\n",
	})
	g, err := NewV2(root).Group("/moat/r-1")
	if err != nil {
		t.Fatal(err)
	}

	got, err := g.Stats()

	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	want := Stats{CPUSeconds: 1.5, PeakMemoryBytes: 64 << 20, OOMKills: 1, PidsHits: 7}
	if got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

func TestV2StatsWithoutMemoryPeak(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, filepath.Join(root, "g"), map[string]string{
		"cpu.stat":      "usage_usec 10\n",
		"memory.events": "oom_kill 0\n",
		"pids.events":   "max 0\n",
	})
	g, _ := NewV2(root).Group("/g")

	got, err := g.Stats()

	if err != nil {
		t.Fatalf("Stats without memory.peak (kernel < 5.19): %v", err)
	}
	if got.PeakMemoryBytes != 0 || got.CPUSeconds != 0.00001 {
		t.Errorf("Stats = %+v, want peak 0 and 10 µs of CPU", got)
	}
}

func TestV2StatsMissingFileFails(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, filepath.Join(root, "g"), map[string]string{"memory.peak": "1\n"})
	g, _ := NewV2(root).Group("/g")

	if _, err := g.Stats(); err == nil {
		t.Error("Stats of a cgroup without cpu.stat returned no error")
	}
}

func TestV2KillWritesCgroupKill(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "g")
	writeFiles(t, dir, map[string]string{"cgroup.kill": "", "cgroup.procs": ""})
	g, _ := NewV2(root).Group("/g")

	if err := g.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}

	if got := readFile(t, filepath.Join(dir, "cgroup.kill")); got != "1" {
		t.Errorf("cgroup.kill = %q, want %q", got, "1")
	}
}

func TestV2KillFallsBackToFreezer(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "g")
	writeFiles(t, dir, map[string]string{"cgroup.freeze": "0", "cgroup.events": "populated 0\nfrozen 1\n", "cgroup.procs": ""})
	g, _ := NewV2(root).Group("/g")

	if err := g.Kill(); err != nil {
		t.Fatalf("Kill without cgroup.kill: %v", err)
	}

	if got := readFile(t, filepath.Join(dir, "cgroup.freeze")); got != "0" {
		t.Errorf("cgroup.freeze = %q after Kill, want %q (thawed)", got, "0")
	}
}

func TestV2KillOfRemovedGroup(t *testing.T) {
	g, _ := NewV2(t.TempDir()).Group("/gone")

	if err := g.Kill(); err != nil {
		t.Errorf("Kill of a removed cgroup: %v, want nil", err)
	}
}

func TestV2RemoveRefusesWithProcesses(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, filepath.Join(root, "g"), map[string]string{"cgroup.procs": "4242\n"})
	g, _ := NewV2(root).Group("/g")

	err := g.Remove()

	if err == nil || !strings.Contains(err.Error(), "4242") {
		t.Errorf("Remove = %v, want an error naming pid 4242", err)
	}
}

func TestV2RemoveNested(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "g", "child", "grandchild"), 0o755); err != nil {
		t.Fatal(err)
	}
	g, _ := NewV2(root).Group("/g")

	if err := g.Remove(); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if g.Exists() {
		t.Error("cgroup still exists after Remove")
	}
	if err := g.Remove(); err != nil {
		t.Errorf("second Remove: %v, want nil", err)
	}
}

func TestV2PidsIncludesChildren(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, filepath.Join(root, "g"), map[string]string{"cgroup.procs": "3\n1\n"})
	writeFiles(t, filepath.Join(root, "g", "sub"), map[string]string{"cgroup.procs": "2\n3\n"})
	g, _ := NewV2(root).Group("/g")

	got, err := g.Pids()

	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 2, 3}; !reflect.DeepEqual(got, want) {
		t.Errorf("Pids = %v, want %v", got, want)
	}
}

func TestChildren(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"moat/r-b", "moat/r-a"} {
		if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFiles(t, filepath.Join(root, "moat"), map[string]string{"cgroup.procs": ""})

	got, err := NewV2(root).Children("/moat")

	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"r-a", "r-b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Children = %q, want %q", got, want)
	}
}

func TestGroupRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"", "/", "moat/r-1", "/moat/../etc", "/moat/"} {
		if _, err := NewV2(t.TempDir()).Group(p); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("V2 Group(%q) error = %v, want ErrInvalidPath", p, err)
		}
		if _, err := NewV1(nil, "").Group(p); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("V1 Group(%q) error = %v, want ErrInvalidPath", p, err)
		}
	}
}

func TestV1Stats(t *testing.T) {
	base := t.TempDir()
	mounts := map[string]string{}
	for _, c := range []string{"cpuacct", "memory", "pids", "freezer"} {
		mounts[c] = filepath.Join(base, c)
	}
	writeFiles(t, filepath.Join(mounts["cpuacct"], "moat", "r-1"), map[string]string{"cpuacct.usage": "2500000000\n"})
	writeFiles(t, filepath.Join(mounts["memory"], "moat", "r-1"), map[string]string{
		"memory.max_usage_in_bytes": "1048576\n",
		"memory.oom_control":        "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
	})
	writeFiles(t, filepath.Join(mounts["pids"], "moat", "r-1"), map[string]string{"pids.events": "max 4\n"})
	g, err := NewV1(mounts, filepath.Join(base, "unified")).Group("/moat/r-1")
	if err != nil {
		t.Fatal(err)
	}

	got, err := g.Stats()

	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	want := Stats{CPUSeconds: 2.5, PeakMemoryBytes: 1 << 20, OOMKills: 3, PidsHits: 4}
	if got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

func TestV1RemoveCoversEveryHierarchy(t *testing.T) {
	base := t.TempDir()
	mounts := map[string]string{"cpu": filepath.Join(base, "cpu,cpuacct"), "cpuacct": filepath.Join(base, "cpu,cpuacct"), "name=systemd": filepath.Join(base, "systemd")}
	unified := filepath.Join(base, "unified")
	for _, dir := range []string{mounts["cpu"], mounts["name=systemd"], unified} {
		if err := os.MkdirAll(filepath.Join(dir, "moat", "r-1"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	v := NewV1(mounts, unified)
	g, _ := v.Group("/moat/r-1")

	children, err := v.Children("/moat")
	if err != nil || !reflect.DeepEqual(children, []string{"r-1"}) {
		t.Errorf("Children = %q, %v, want [r-1]", children, err)
	}
	if err := g.Remove(); err != nil {
		t.Fatalf("Remove: %v", err)
	}

	for _, dir := range []string{mounts["cpu"], mounts["name=systemd"], unified} {
		if _, err := os.Stat(filepath.Join(dir, "moat", "r-1")); !os.IsNotExist(err) {
			t.Errorf("%q still has the cgroup (stat: %v)", dir, err)
		}
	}
}

const hybridMountinfo = `22 27 0:21 / /proc rw,relatime - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw
`

func TestParseMountinfoHybrid(t *testing.T) {
	h, err := parseMountinfo(strings.NewReader(hybridMountinfo))
	if err != nil {
		t.Fatal(err)
	}

	v, ok := h.(*V1)
	if !ok {
		t.Fatalf("layout = %T, want *V1", h)
	}
	wantControllers := map[string]string{
		"cpu": "/sys/fs/cgroup/cpu", "cpuacct": "/sys/fs/cgroup/cpuacct", "memory": "/sys/fs/cgroup/memory",
		"pids": "/sys/fs/cgroup/pids", "name=systemd": "/sys/fs/cgroup/systemd",
	}
	if !reflect.DeepEqual(v.controllers, wantControllers) {
		t.Errorf("controllers = %v, want %v", v.controllers, wantControllers)
	}
	if !contains(v.dirs, "/sys/fs/cgroup/unified") {
		t.Errorf("dirs = %q, want the hybrid cgroup2 mount included", v.dirs)
	}
}

func TestParseMountinfoUnified(t *testing.T) {
	input := "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"

	h, err := parseMountinfo(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}

	v, ok := h.(*V2)
	if !ok || v.root != "/sys/fs/cgroup" {
		t.Errorf("layout = %#v, want *V2 at /sys/fs/cgroup", h)
	}
}

func TestParseMountinfoNone(t *testing.T) {
	_, err := parseMountinfo(strings.NewReader("22 27 0:21 / /proc rw - proc proc rw\n"))

	if !errors.Is(err, ErrNoCgroups) {
		t.Errorf("error = %v, want ErrNoCgroups", err)
	}
}

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/mnt/a\040b\134c`); got != `/mnt/a b\c` {
		t.Errorf("unescapeMount = %q", got)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
