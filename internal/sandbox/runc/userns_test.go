package runc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/sandbox"
)

// usernsProbe prints the namespace's id maps, the owner it sees on host
// root's files, and what it can do as its own root: nothing.
const usernsProbe = `
import ctypes, errno, os
print("uid_map", " ".join(open("/proc/self/uid_map").read().split()))
print("gid_map", " ".join(open("/proc/self/gid_map").read().split()))
print("usr owner", os.stat("/usr").st_uid, os.stat("/job/probe.py").st_uid)
print("ids", os.getuid(), os.getgid())
open("/tmp/mine", "w").close()
for label, fn in [("chmod /tmp", lambda: os.chmod("/tmp", 0o777)),
                  ("chown to root", lambda: os.chown("/tmp/mine", 0, 0)),
                  ("setuid root", lambda: os.setuid(0))]:
    try:
        fn()
        print(label, "ok")
    except OSError as e:
        print(label, errno.errorcode[e.errno])
`

func TestUserNamespaceMapsToUnownedRange(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, map[string]string{"probe.py": usernsProbe}), python, "/job/probe.py")

	out := runSpec(t, context.Background(), rt, spec)

	if !out.Res.UserNamespace {
		t.Fatalf("Result.UserNamespace = false, want true on this host (stderr %q)", out.Stderr)
	}
	base := out.Res.HostUID - testUID
	if base%idsPerRun != 0 || base < DefaultHostIDBase || base >= DefaultHostIDBase+DefaultHostIDSlots*idsPerRun {
		t.Errorf("HostUID = %d: base %d is not a slot of %d + n*65536", out.Res.HostUID, base, DefaultHostIDBase)
	}
	if out.Res.HostGID != base+testGID {
		t.Errorf("HostGID = %d, want %d", out.Res.HostGID, base+testGID)
	}

	want := []string{
		fmt.Sprintf("uid_map 0 %d 65536", base),
		fmt.Sprintf("gid_map 0 %d 65536", base),
		// Host root is not mapped: its files belong to the overflow uid.
		"usr owner 65534 65534",
		fmt.Sprintf("ids %d %d", testUID, testGID),
		// /tmp belongs to the namespace's root, which the job is not.
		"chmod /tmp EPERM",
		"chown to root EPERM",
		// setuid is not on the seccomp allowlist.
		"setuid root ENOSYS",
	}
	got := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	if !slices.Equal(got, want) {
		t.Errorf("probe printed\n%s\nwant\n%s\n(stderr %q)", strings.Join(got, "\n"), strings.Join(want, "\n"), out.Stderr)
	}
}

// TestUserNamespaceHostUID looks at the job's process from the host: its
// uid must be the mapped one, not the uid the job sees.
func TestUserNamespaceHostUID(t *testing.T) {
	rt := newTestRuntime(t)
	marker := "marker-" + ids.NewRun()
	spec := newSpec(t, newBundle(t, nil), "/bin/sh", "-c", "sleep 2; echo done", marker)

	seen := make(chan string, 1)
	go func() { seen <- hostUIDOf(t, marker, 10*time.Second) }()
	out := runSpec(t, context.Background(), rt, spec)

	uidLine := <-seen
	want := fmt.Sprintf("%d\t%d\t%d\t%d", out.Res.HostUID, out.Res.HostUID, out.Res.HostUID, out.Res.HostUID)
	if uidLine != want {
		t.Errorf("host /proc/<pid>/status Uid = %q, want %q", uidLine, want)
	}
	if out.Res.HostUID == testUID {
		t.Errorf("HostUID = %d: the job ran as its own uid on the host", out.Res.HostUID)
	}
}

// hostUIDOf returns the Uid line of the first host process whose command
// line carries marker.
func hostUIDOf(t *testing.T, marker string, timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, p := range processesWithMarker(t, marker) {
			pid, _, _ := strings.Cut(p, ":")
			status, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(status), "\n") {
				if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
					return strings.TrimSpace(rest)
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "no process with the marker"
}

func TestUserNamespaceDistinctPerConcurrentRun(t *testing.T) {
	rt := newTestRuntime(t)
	bundle := newBundle(t, nil)

	results := make(chan sandbox.Result, 3)
	for range 3 {
		spec := newSpec(t, bundle, "/bin/sleep", "1")
		go func() {
			res, err := rt.Run(context.Background(), spec, nil, nil)
			if err != nil {
				t.Errorf("Run: %v", err)
			}
			results <- res
		}()
	}

	seen := map[uint32]bool{}
	for range 3 {
		res := <-results
		if !res.UserNamespace {
			t.Errorf("a run had no user namespace")
		}
		if seen[res.HostUID] {
			t.Errorf("two concurrent runs ran as host uid %d", res.HostUID)
		}
		seen[res.HostUID] = true
	}
}

func TestUserNamespaceOff(t *testing.T) {
	rt := newTestRuntime(t)
	rt.cfg.UserNamespace = UserNamespaceOff
	spec := newSpec(t, newBundle(t, nil), "/bin/cat", "/proc/self/uid_map")

	out := runSpec(t, context.Background(), rt, spec)

	if out.Res.UserNamespace {
		t.Error("Result.UserNamespace = true with user namespaces off")
	}
	if out.Res.HostUID != testUID || out.Res.HostGID != testGID {
		t.Errorf("HostUID %d HostGID %d, want the job's own %d %d", out.Res.HostUID, out.Res.HostGID, testUID, testGID)
	}
	if got := strings.Join(strings.Fields(out.Stdout), " "); got != "0 0 4294967295" {
		t.Errorf("uid_map = %q, want the initial namespace's %q", got, "0 0 4294967295")
	}
}

func TestUserNamespaceRejectsWideIDs(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, nil), "/bin/true")
	spec.UID = idsPerRun

	_, err := rt.Run(context.Background(), spec, nil, nil)

	if err == nil || !strings.Contains(err.Error(), "maps ids below 65536") {
		t.Errorf("Run with uid %d: error %v, want one about the 65536-id map", spec.UID, err)
	}
	assertNoTrace(t, rt, spec.ID)
}

func TestIDSlotsAreExclusive(t *testing.T) {
	h := &host{cfg: Config{HostIDBase: DefaultHostIDBase, HostIDSlots: 2, SlotDir: t.TempDir()}}

	first, err := h.acquireIDSlot("r-0000000000000001")
	if err != nil {
		t.Fatal(err)
	}
	second, err := h.acquireIDSlot("r-0000000000000001")
	if err != nil {
		t.Fatal(err)
	}
	if first.hostBase == second.hostBase {
		t.Errorf("both holders got host base %d", first.hostBase)
	}

	if _, err := h.acquireIDSlot("r-0000000000000002"); err == nil || !strings.Contains(err.Error(), "all 2 user namespace id slots") {
		t.Errorf("third acquire: %v, want every slot in use", err)
	}

	if err := first.release(); err != nil {
		t.Fatal(err)
	}
	third, err := h.acquireIDSlot("r-0000000000000003")
	if err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
	if third.hostBase != first.hostBase {
		t.Errorf("after release got base %d, want the freed %d", third.hostBase, first.hostBase)
	}
	_ = second.release()
	_ = third.release()
}

func TestUserNamespacesSupported(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]bool{"96368\n": true, "1": true, "0\n": false, "": false, "many": false, "-1": false}
	for content, want := range cases {
		p := filepath.Join(dir, "max")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := userNamespacesSupported(p); got != want {
			t.Errorf("sysctl %q: supported = %v, want %v", content, got, want)
		}
	}
	if userNamespacesSupported(filepath.Join(dir, "missing")) {
		t.Error("a missing sysctl file counts as supported")
	}
}

func TestCheckIDRangeUnowned(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	passwd := write("passwd", "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n")
	inRange := write("passwd-bad", "mallory:x:1610678273:100::/:/bin/sh\n")
	subuid := write("subuid", "alice:100000:65536\n")
	overlap := write("subuid-bad", "bob:1610000000:1000000\n")
	const first, last = DefaultHostIDBase, DefaultHostIDBase + DefaultHostIDSlots*idsPerRun - 1

	if err := checkIDRangeUnowned(first, last, []string{passwd, filepath.Join(dir, "missing")}, []string{subuid}); err != nil {
		t.Errorf("clean databases: %v", err)
	}
	if err := checkIDRangeUnowned(first, last, []string{inRange}, nil); err == nil || !strings.Contains(err.Error(), `"mallory"`) {
		t.Errorf("user inside the range: %v, want an error naming mallory", err)
	}
	if err := checkIDRangeUnowned(first, last, nil, []string{overlap}); err == nil || !strings.Contains(err.Error(), `"bob"`) {
		t.Errorf("overlapping subuid range: %v, want an error naming bob", err)
	}
}

func TestValidateIDRange(t *testing.T) {
	if err := validateIDRange(DefaultHostIDBase, DefaultHostIDSlots); err != nil {
		t.Errorf("default range: %v", err)
	}
	for _, c := range []struct{ base, slots uint32 }{{0, 1}, {12345*65536 + 1, 1}, {DefaultHostIDBase, 0}, {0x7fff0000, 2}} {
		if err := validateIDRange(c.base, c.slots); err == nil {
			t.Errorf("base %d slots %d accepted", c.base, c.slots)
		}
	}
}

// TestUserNamespaceExtraMounts mounts a directory and a file whose host
// parents only root may search (t.TempDir is 0700): runc opens the sources
// on the host side, and moat creates the mount points.
func TestUserNamespaceExtraMounts(t *testing.T) {
	rt := newTestRuntime(t)
	sdk := t.TempDir()
	if err := os.Chmod(sdk, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sdk, "client.py"), []byte("sdk"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := newSpec(t, newBundle(t, nil), "/bin/cat", "/opt/moat/sdk/client.py", "/opt/one-file")
	spec.Mounts = []sandbox.Mount{
		{Source: sdk, Destination: "/opt/moat/sdk"},
		{Source: filepath.Join(sdk, "client.py"), Destination: "/opt/one-file"},
	}

	out := runSpec(t, context.Background(), rt, spec)

	if !out.Res.UserNamespace || out.Res.ExitCode != 0 || out.Stdout != "sdksdk" {
		t.Errorf("userns %v exit %d stdout %q, want true 0 %q (stderr %q)", out.Res.UserNamespace, out.Res.ExitCode, out.Stdout, "sdksdk", out.Stderr)
	}
}
