package runc

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/moatdev/moat/internal/sandbox/sandboxtest"
)

// writeProbe tries to create a file in each directory and prints
// "<dir> <errno name or ok>" per line, then fills /tmp past its size.
const writeProbe = `
import errno, os, sys
for d in ["/", "/usr", "/etc", "/job", "/tmp"]:
    try:
        with open(os.path.join(d, "probe"), "w") as f:
            f.write("x")
        print(d, "ok")
    except OSError as e:
        print(d, errno.errorcode[e.errno])
try:
    with open("/tmp/big", "wb") as f:
        for _ in range(int(sys.argv[1]) // (1 << 20) + 2):
            f.write(b"x" * (1 << 20))
            f.flush()
    print("fill ok")
except OSError as e:
    print("fill", errno.errorcode[e.errno])
`

func TestRunReadOnlyRoot(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, map[string]string{"probe.py": writeProbe}), python, "/job/probe.py")
	spec.Args = append(spec.Args, fmt.Sprint(spec.Limits.TmpBytes))

	out := runSpec(t, context.Background(), rt, spec)

	lines := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	if len(lines) != 6 {
		t.Fatalf("probe printed %q (stderr %q), want 6 lines", out.Stdout, out.Stderr)
	}
	for _, line := range lines[:4] {
		dir, result, _ := strings.Cut(line, " ")
		if result != "EROFS" && result != "EACCES" {
			t.Errorf("write to %s: %s, want EROFS or EACCES", dir, result)
		}
	}
	if lines[4] != "/tmp ok" {
		t.Errorf("write to /tmp: %q, want %q", lines[4], "/tmp ok")
	}
	if lines[5] != "fill ENOSPC" {
		t.Errorf("writing past the /tmp size: %q, want %q", lines[5], "fill ENOSPC")
	}
}

// identityProbe prints the facts the identity test checks, one per line.
const identityProbe = `
import os
print("uid", os.getuid(), os.geteuid())
print("gid", os.getgid(), os.getegid())
print("groups", os.getgroups())
with open("/proc/self/status") as f:
    for line in f:
        key = line.split(":")[0]
        if key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"):
            print(key, line.split()[1])
for p in ("/sys", "/dev/pts", "/etc/resolv.conf", "/var/run"):
    print("exists", p, os.path.exists(p))
print("hostname", os.uname().nodename)
print("cwd", os.getcwd())
`

func TestRunIdentity(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, map[string]string{"id.py": identityProbe}), python, "/job/id.py")

	out := runSpec(t, context.Background(), rt, spec)

	got := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	want := []string{
		fmt.Sprintf("uid %d %d", testUID, testUID),
		fmt.Sprintf("gid %d %d", testGID, testGID),
		"groups []",
		"CapInh 0000000000000000",
		"CapPrm 0000000000000000",
		"CapEff 0000000000000000",
		"CapBnd 0000000000000000",
		"CapAmb 0000000000000000",
		"NoNewPrivs 1",
		"Seccomp 2",
		"exists /sys False",
		"exists /dev/pts False",
		"exists /etc/resolv.conf False",
		"exists /var/run False",
		"hostname moat-job",
		"cwd /job",
	}
	if !slices.Equal(got, want) {
		t.Errorf("identity probe printed\n%s\nwant\n%s\n(stderr %q)", strings.Join(got, "\n"), strings.Join(want, "\n"), out.Stderr)
	}
}

func TestRunEnvironmentIsExact(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, nil), "/usr/bin/env")
	spec.Env = []string{"PATH=/usr/bin", "HOME=/job", "MOAT_RUN_ID=" + spec.ID, "SECRET_NAME=value with spaces"}

	out := runSpec(t, context.Background(), rt, spec)

	got := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	if !slices.Equal(got, spec.Env) {
		t.Errorf("environment = %q, want exactly %q", got, spec.Env)
	}
}

func TestRunEnvironmentWithoutHome(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, nil), "/usr/bin/env")
	spec.Env = []string{"PATH=/usr/bin"}

	out := runSpec(t, context.Background(), rt, spec)

	// runc adds HOME from the user's /etc/passwd entry when it is missing.
	got := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	want := []string{"PATH=/usr/bin", "HOME=/tmp"}
	if !slices.Equal(got, want) {
		t.Errorf("environment = %q, want %q", got, want)
	}
}

// seccompProbe calls denied syscalls through ctypes and prints the errno
// name of each (x86_64 syscall numbers).
const seccompProbe = `
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER = 0x10000000
SIGCHLD = 17
def report(name, rc):
    if rc == 0 and name == "clone":
        os._exit(0)
    print(name, "ok" if rc >= 0 else errno.errorcode[ctypes.get_errno()])
report("unshare", libc.unshare(CLONE_NEWUSER))
report("keyctl", libc.syscall(250, 0, -3, 0))
report("clone", libc.syscall(56, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0))
report("clone3", libc.syscall(435, 0, 0))
report("ptrace", libc.syscall(101, 0, 0, 0, 0))
report("getpid", libc.syscall(39))
`

func TestRunSeccompDenyList(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the probe uses x86_64 syscall numbers")
	}
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, map[string]string{"seccomp.py": seccompProbe}), python, "/job/seccomp.py")

	out := runSpec(t, context.Background(), rt, spec)

	got := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	want := []string{"unshare EPERM", "keyctl EPERM", "clone EPERM", "clone3 ENOSYS", "ptrace EPERM", "getpid ok"}
	if !slices.Equal(got, want) {
		t.Errorf("seccomp probe printed %q, want %q (stderr %q)", got, want, out.Stderr)
	}
}

func TestRunUnshareCommandFails(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, nil), "/usr/bin/unshare", "-U", "/bin/true")

	out := runSpec(t, context.Background(), rt, spec)

	if out.Res.ExitCode == 0 {
		t.Errorf("unshare -U exited 0, want a failure")
	}
	if !strings.Contains(out.Stderr, "Operation not permitted") {
		t.Errorf("unshare -U stderr = %q, want EPERM (Operation not permitted)", out.Stderr)
	}
}

// networkProbe connects to the given ports on 127.0.0.1 and to a TEST-NET-1
// address (192.0.2.0/24, reserved for documentation and never routed), and
// prints the routing table's line count.
const networkProbe = `
import errno, socket, sys
def connect(host, port):
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect((host, port))
        data = s.recv(64).decode()
        return "ok " + data
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e))
    finally:
        s.close()
print("host", connect("127.0.0.1", int(sys.argv[1])))
print("netns", connect("127.0.0.1", int(sys.argv[2])))
print("testnet", connect("192.0.2.1", 80))
with open("/proc/net/route") as f:
    print("routes", len(f.read().strip().splitlines()) - 1)
`

func TestRunNetworkIsolation(t *testing.T) {
	rt := newTestRuntime(t)

	hostListener := sandboxtest.ListenGreeting(t, "host")

	path, inner := sandboxtest.GatewayNetns(t)

	hostPort := hostListener.Addr().(*net.TCPAddr).Port
	innerPort := inner.Addr().(*net.TCPAddr).Port
	spec := newSpec(t, newBundle(t, map[string]string{"net.py": networkProbe}), python, "/job/net.py", fmt.Sprint(hostPort), fmt.Sprint(innerPort))
	spec.NetnsPath = path

	out := runSpec(t, context.Background(), rt, spec)

	got := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	want := []string{
		// Nothing listens on hostPort inside the namespace; the host's
		// listener is unreachable.
		"host ECONNREFUSED",
		"netns ok gateway",
		"testnet ENETUNREACH",
		"routes 0",
	}
	if hostPort == innerPort {
		want[0] = "host ok gateway"
	}
	if !slices.Equal(got, want) {
		t.Errorf("network probe printed %q, want %q (stderr %q)", got, want, out.Stderr)
	}
}

func TestRunFreshNetnsHasNoRoute(t *testing.T) {
	rt := newTestRuntime(t)
	hostListener := sandboxtest.ListenGreeting(t, "host")

	hostPort := hostListener.Addr().(*net.TCPAddr).Port
	spec := newSpec(t, newBundle(t, map[string]string{"net.py": networkProbe}), python, "/job/net.py", fmt.Sprint(hostPort), "1")

	out := runSpec(t, context.Background(), rt, spec)

	got := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	want := []string{"host ECONNREFUSED", "netns ECONNREFUSED", "testnet ENETUNREACH", "routes 0"}
	if !slices.Equal(got, want) {
		t.Errorf("network probe printed %q, want %q (stderr %q)", got, want, out.Stderr)
	}
}
