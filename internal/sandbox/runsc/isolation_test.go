package runsc

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moatdev/moat/internal/sandbox/sandboxtest"
)

// writeProbe tries to create a file in each directory given and prints
// "<dir> <errno name or ok>"; then it fills /tmp until the write fails.
const writeProbe = `
import errno, os, sys
for d in sys.argv[1:]:
    try:
        with open(os.path.join(d, "probe"), "w") as f:
            f.write("x")
        print(d, "ok")
    except OSError as e:
        print(d, errno.errorcode[e.errno])
try:
    with open("/tmp/fill", "wb") as f:
        for _ in range(64):
            f.write(b"\0" * (1 << 20))
            f.flush()
    print("fill ok")
except OSError as e:
    print("fill", errno.errorcode[e.errno])
`

// The bundle directory is world-writable on the host, so only the
// read-only mount stops the write to /job: that write must fail with EROFS.
// The other directories are root-owned, where gVisor checks permissions
// before the mount flag and returns EACCES.
func TestRunReadOnlyRootAndTmpLimit(t *testing.T) {
	rt := newTestRuntime(t)
	bundle := newBundle(t, map[string]string{"probe.py": writeProbe})
	if err := os.Chmod(bundle, 0o777); err != nil {
		t.Fatal(err)
	}
	spec := newSpec(t, bundle, python, "/job/probe.py", "/job", "/", "/usr", "/etc", "/tmp")

	out := runSpec(t, context.Background(), rt, spec)

	got := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	want := []string{"/job EROFS", "/ EACCES", "/usr EACCES", "/etc EACCES", "/tmp ok", "fill ENOSPC"}
	if !slices.Equal(got, want) {
		t.Errorf("write probe printed %q, want %q (stderr %q)", got, want, out.Stderr)
	}
	if _, err := os.Stat(filepath.Join(bundle, "probe")); err == nil {
		t.Error("the job created a file in the host's bundle directory")
	}
}

// The job sees exactly the spec's variables. Unlike runc, runsc does not
// keep their order: PATH sometimes comes last.
func TestRunEnvironmentIsExact(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, nil), "/usr/bin/env")
	spec.Env = []string{"PATH=/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8", "MOAT_RUN_ID=" + spec.ID, "SECRET_X=a b=c"}

	out := runSpec(t, context.Background(), rt, spec)

	got := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	want := slices.Clone(spec.Env)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("environment (sorted) = %q, want exactly %q", got, want)
	}
}

const identityProbe = `
import os
print(os.getuid(), os.getgid(), os.getgroups())
status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\t" in line)
print(status["CapEff"].strip(), status["CapBnd"].strip(), status["Seccomp"].strip())
print(os.getcwd(), open("/proc/sys/kernel/hostname").read().strip())
`

func TestRunIdentity(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, nil), python, "-c", identityProbe)

	out := runSpec(t, context.Background(), rt, spec)

	want := "1000 1000 []\n0000000000000000 0000000000000000 2\n/job moat-job\n"
	if out.Stdout != want {
		t.Errorf("identity probe printed %q, want %q (stderr %q)", out.Stdout, want, out.Stderr)
	}
}

// seccompProbe calls syscalls directly and prints "<name> <errno name>".
// unshare(CLONE_NEWUSER) and keyctl are denied with EPERM by moat's
// profile. clone3 returns ENOSYS (gVisor does not implement it), which
// lets threads and subprocesses fall back to clone.
const seccompProbe = `
import ctypes, errno, subprocess, threading
libc = ctypes.CDLL(None, use_errno=True)
for name, nr, arg in [("unshare", 272, 0x10000000), ("keyctl", 250, 0), ("clone3", 435, 0)]:
    ctypes.set_errno(0)
    r = libc.syscall(nr, arg, 0, 0, 0, 0)
    print(name, errno.errorcode.get(ctypes.get_errno(), "ok") if r == -1 else "ok")
t = threading.Thread(target=lambda: print("thread ok"))
t.start(); t.join()
print(subprocess.run(["/bin/echo", "subprocess ok"], capture_output=True, text=True).stdout.strip())
`

func TestSeccompUnderGVisor(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, nil), python, "-c", seccompProbe)

	out := runSpec(t, context.Background(), rt, spec)

	got := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	want := []string{"unshare EPERM", "keyctl EPERM", "clone3 ENOSYS", "thread ok", "subprocess ok"}
	if !slices.Equal(got, want) {
		t.Errorf("seccomp probe printed %q, want %q (stderr %q)", got, want, out.Stderr)
	}
}

// networkProbe connects to 127.0.0.1:<port> for each port argument and
// prints "ok <greeting>" or the errno name.
const networkProbe = `
import errno, socket, sys
for port in sys.argv[1:]:
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", int(port)))
        print("ok", s.recv(100).decode())
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e)))
    finally:
        s.close()
`

func TestRunNetworkNamespace(t *testing.T) {
	rt := newTestRuntime(t)
	hostListener := listenGreeting(t, "host")

	path, inner := sandboxtest.GatewayNetns(t)

	hostPort := hostListener.Addr().(*net.TCPAddr).Port
	innerPort := inner.Addr().(*net.TCPAddr).Port
	spec := newSpec(t, newBundle(t, nil), python, "-c", networkProbe, fmt.Sprint(hostPort), fmt.Sprint(innerPort))
	spec.NetnsPath = path

	out := runSpec(t, context.Background(), rt, spec)

	got := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	want := []string{"ECONNREFUSED", "ok gateway"}
	if hostPort == innerPort {
		want[0] = "ok gateway"
	}
	if !slices.Equal(got, want) {
		t.Errorf("network probe printed %q, want %q (stderr %q)", got, want, out.Stderr)
	}
}

// Without NetnsPath the sandbox gets --network=none: gVisor's own stack
// with only loopback, in a new namespace.
func TestRunWithoutNetnsReachesNothing(t *testing.T) {
	rt := newTestRuntime(t)
	hostListener := listenGreeting(t, "host")

	hostPort := hostListener.Addr().(*net.TCPAddr).Port
	spec := newSpec(t, newBundle(t, nil), python, "-c", networkProbe, fmt.Sprint(hostPort))

	out := runSpec(t, context.Background(), rt, spec)

	if got := strings.TrimSpace(out.Stdout); got != "ECONNREFUSED" {
		t.Errorf("network probe printed %q, want %q (stderr %q)", got, "ECONNREFUSED", out.Stderr)
	}
}
