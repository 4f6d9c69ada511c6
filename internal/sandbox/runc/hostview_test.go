package runc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moatdev/moat/internal/sandbox"
)

// hostViewProbe prints, each between "== NAME" lines, the /proc files in
// which a job could find host paths.
const hostViewProbe = `
for path in ("/proc/self/mountinfo", "/proc/self/mounts", "/proc/self/cgroup", "/proc/1/cmdline"):
    print("==", path)
    with open(path, "rb") as f:
        print(f.read().decode().replace("\0", " "))
`

// TestProcShowsNoHostPaths runs a job with a bundle and an extra mount and
// checks that nothing in its /proc names the run id or a host directory
// of moat's: a bind mount's root field in mountinfo is its host source.
func TestProcShowsNoHostPaths(t *testing.T) {
	rt := newTestRuntime(t)
	bundle := newBundle(t, map[string]string{"view.py": hostViewProbe})
	sdk := t.TempDir()
	if err := os.WriteFile(filepath.Join(sdk, "client.py"), []byte("sdk\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	spec := newSpec(t, bundle, python, "/job/view.py")
	spec.Mounts = []sandbox.Mount{{Source: sdk, Destination: "/opt/moat/python"}}

	out := runSpec(t, context.Background(), rt, spec)

	if out.Res.ExitCode != 0 || !strings.Contains(out.Stdout, "== /proc/1/cmdline") {
		t.Fatalf("probe exit %d, stdout %q, stderr %q", out.Res.ExitCode, out.Stdout, out.Stderr)
	}
	if testing.Verbose() {
		t.Logf("job's /proc:\n%s", out.Stdout)
	}
	hostPaths := map[string]string{
		"run id":       spec.ID,
		"work dir":     rt.cfg.WorkDir,
		"rootfs dir":   rt.cfg.RootfsDir,
		"state root":   rt.cfg.StateRoot,
		"bundle":       bundle,
		"mount source": sdk,
		"/run/moat":    moatRunDir,
		"test tempdir": filepath.Dir(bundle),
	}
	for name, p := range hostPaths {
		if strings.Contains(out.Stdout, p) {
			t.Errorf("the job's /proc contains the %s %q", name, p)
		}
	}
}

// TestMountinfoBindsOnlyUsr checks the job's mount table: the root is a
// read-only tmpfs, and the only mount of a host disk whose root field is
// not "/" is /usr. runc's binds of device nodes (from the host's devtmpfs)
// and of /proc subdirectories show one-component roots such as "/null".
func TestMountinfoBindsOnlyUsr(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, nil), "/bin/cat", "/proc/self/mountinfo")

	out := runSpec(t, context.Background(), rt, spec)

	var binds []string
	var root string
	for _, line := range strings.Split(strings.TrimSpace(out.Stdout), "\n") {
		fields := strings.Fields(line)
		sep := slices.Index(fields, "-")
		if sep < 6 || sep+2 >= len(fields) {
			t.Fatalf("mountinfo line %q has no filesystem type after \"-\"", line)
		}
		source, mountpoint, fstype := fields[3], fields[4], fields[sep+1]
		if mountpoint == "/" {
			root = fields[5] + " " + fstype
		}
		oneComponent := strings.Count(source, "/") == 1
		if source == "/" || ((fstype == "devtmpfs" || fstype == "proc") && oneComponent) {
			continue
		}
		binds = append(binds, source+" on "+mountpoint)
	}
	if !strings.HasPrefix(root, "ro,") || !strings.HasSuffix(root, " tmpfs") {
		t.Errorf("root mount = %q, want a read-only tmpfs", root)
	}
	if want := []string{"/usr on /usr"}; !slices.Equal(binds, want) {
		t.Errorf("mounts with a host source: %q, want %q", binds, want)
	}
}

// modeProbe prints the type and permission bits of each path given.
const modeProbe = `
import os, stat, sys
for p in sys.argv[1:]:
    st = os.lstat(p)
    kind = "dir" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other"
    print(p, kind, oct(stat.S_IMODE(st.st_mode)))
st = os.statvfs("/")
print("root bytes", st.f_blocks * st.f_frsize)
`

// TestRootfsCopiesKeepModes checks the copies of the bundle and of an extra
// mount keep their permission bits, lose setuid, and sit on a tmpfs capped
// near their size.
func TestRootfsCopiesKeepModes(t *testing.T) {
	rt := newTestRuntime(t)
	bundle := t.TempDir()
	writeTree(t, bundle, map[string]os.FileMode{
		"probe.py":      0o444,
		"bin/":          0o555,
		"bin/tool":      0o555,
		"lib/":          0o555,
		"lib/util.py":   0o444,
		"setuid-binary": 0o4755,
	})
	if err := os.WriteFile(filepath.Join(bundle, "probe.py"), []byte(modeProbe), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bundle, 0o555); err != nil {
		t.Fatal(err)
	}
	oneFile := filepath.Join(t.TempDir(), "one.txt")
	if err := os.WriteFile(oneFile, []byte("one"), 0o440); err != nil {
		t.Fatal(err)
	}

	spec := newSpec(t, bundle, python, "/job/probe.py",
		"/job", "/job/probe.py", "/job/bin", "/job/bin/tool", "/job/lib/util.py", "/job/setuid-binary", "/opt/one.txt", "/etc/passwd")
	spec.Mounts = []sandbox.Mount{{Source: oneFile, Destination: "/opt/one.txt"}}
	out := runSpec(t, context.Background(), rt, spec)

	want := []string{
		"/job dir 0o555",
		"/job/probe.py file 0o444",
		"/job/bin dir 0o555",
		"/job/bin/tool file 0o555",
		"/job/lib/util.py file 0o444",
		"/job/setuid-binary file 0o755",
		"/opt/one.txt file 0o440",
		"/etc/passwd file 0o644",
	}
	got := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	if len(got) != len(want)+1 || !slices.Equal(got[:len(want)], want) {
		t.Fatalf("probe printed\n%s\nwant\n%s\nthen the root's size (stderr %q)", strings.Join(got, "\n"), strings.Join(want, "\n"), out.Stderr)
	}
	var rootBytes int64
	if _, err := fmt.Sscanf(got[len(want)], "root bytes %d", &rootBytes); err != nil {
		t.Fatal(err)
	}
	if rootBytes <= 0 || rootBytes > rootfsMarginBytes+64<<10 {
		t.Errorf("root tmpfs holds %d bytes, want at most the margin %d plus the few pages copied", rootBytes, rootfsMarginBytes)
	}
}

// TestRunRejectsSymlinkInBundle checks a bundle with a symbolic link is not
// copied: the run fails before runc starts and leaves nothing behind.
func TestRunRejectsSymlinkInBundle(t *testing.T) {
	rt := newTestRuntime(t)
	bundle := newBundle(t, map[string]string{"main.sh": "exit 0\n"})
	if err := os.Mkdir(filepath.Join(bundle, "lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/shadow", filepath.Join(bundle, "lib", "shadow")); err != nil {
		t.Fatal(err)
	}
	spec := newSpec(t, bundle, "/bin/sh", "/job/main.sh")

	res, err := rt.Run(context.Background(), spec, nil, nil)

	if err == nil || !strings.Contains(err.Error(), "is a symbolic link") {
		t.Errorf("Run: error %v, want one about the symbolic link", err)
	}
	if res.ExitCode != -1 {
		t.Errorf("ExitCode = %d, want -1 (never started)", res.ExitCode)
	}
	assertNoTrace(t, rt, spec.ID)
}
