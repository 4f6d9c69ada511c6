package runc

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// syscallProbe makes raw x86_64 syscalls through ctypes and prints
// "<label> <errno name or ok>" for each. Pointers are NULL, so a syscall the
// filter lets through fails in the kernel with EFAULT or EINVAL rather
// than doing anything.
const syscallProbe = `
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SIGCHLD = 17

def call(label, nr, *args):
    args = [ctypes.c_ulong(a) for a in args]
    rc = libc.syscall(ctypes.c_long(nr), *args)
    if rc >= 0 and nr == 56:
        # A clone that succeeded: the child leaves at once.
        if rc == 0:
            os._exit(0)
        os.waitpid(rc, 0)
    print(label, "ok" if rc >= 0 else errno.errorcode[ctypes.get_errno()], flush=True)

# Namespaces and mounts.
call("unshare", 272, 0x10000000)
call("setns", 308, 0, 0)
call("mount", 165, 0, 0, 0, 0, 0)
call("umount2", 166, 0, 0)
call("pivot_root", 155, 0, 0)
call("chroot", 161, 0)
call("open_tree", 428, 0, 0, 0)
call("move_mount", 429, 0, 0, 0, 0, 0)
call("fsopen", 430, 0, 0)
call("fsconfig", 431, 0, 0, 0, 0, 0)
call("fsmount", 432, 0, 0, 0)
call("fspick", 433, 0, 0, 0)
call("mount_setattr", 442, 0, 0, 0, 0, 0)
# Other processes.
call("ptrace", 101, 16, 1, 0, 0)
call("process_vm_readv", 310, 1, 0, 0, 0, 0, 0)
call("process_vm_writev", 311, 1, 0, 0, 0, 0, 0)
call("pidfd_getfd", 438, 0, 0, 0)
call("kcmp", 312, 1, 1, 0, 0, 0)
# Keyring and kernel attack surface.
call("keyctl", 250, 0, 0, 0)
call("add_key", 248, 0, 0, 0, 0, 0)
call("request_key", 249, 0, 0, 0, 0)
call("bpf", 321, 0, 0, 0)
call("perf_event_open", 298, 0, 0, 0, 0, 0)
call("userfaultfd", 323, 0)
call("io_uring_setup", 425, 1, 0)
call("io_uring_enter", 426, 0, 0, 0, 0, 0)
call("io_uring_register", 427, 0, 0, 0, 0)
call("fanotify_init", 300, 0, 0)
# Host-wide state.
call("init_module", 175, 0, 0, 0)
call("finit_module", 313, 0, 0, 0)
call("delete_module", 176, 0, 0)
call("kexec_load", 246, 0, 0, 0, 0)
call("kexec_file_load", 320, 0, 0, 0, 0, 0)
call("reboot", 169, 0, 0, 0, 0)
call("swapon", 167, 0, 0)
call("swapoff", 168, 0)
call("acct", 163, 0)
call("settimeofday", 164, 0, 0)
call("clock_settime", 227, 0, 0)
call("clock_adjtime", 305, 0, 0)
call("adjtimex", 159, 0)
call("open_by_handle_at", 304, 0, 0, 0)
call("name_to_handle_at", 303, 0, 0, 0, 0, 0)
# clone with each namespace flag, plain fork, and clone3.
for name, flag in [("newns", 0x20000), ("newcgroup", 0x2000000), ("newuts", 0x4000000),
                   ("newipc", 0x8000000), ("newuser", 0x10000000), ("newpid", 0x20000000),
                   ("newnet", 0x40000000)]:
    call("clone-" + name, 56, flag | SIGCHLD, 0, 0, 0, 0)
call("clone-fork", 56, SIGCHLD, 0, 0, 0, 0)
call("clone3", 435, 0, 0)
# personality: only PER_LINUX.
call("personality-linux", 135, 0)
call("personality-no-aslr", 135, 0x0040000)
call("personality-read-implies-exec", 135, 0x0400000)
call("personality-query", 135, 0xffffffff)
# socket families and types.
for name, family, typ in [("packet", 17, 3), ("packet-dgram", 17, 2), ("raw4", 2, 3),
                          ("raw6", 10, 3 | 0x80000), ("netlink", 16, 3), ("netlink-dgram", 16, 2),
                          ("vsock", 40, 1), ("sctp", 2, 5), ("tcp4", 2, 1 | 0x80000),
                          ("udp6", 10, 2), ("unix", 1, 1)]:
    call("socket-" + name, 41, family, typ, 0)
call("socketpair-inet", 53, 2, 1, 0, 0)
# Not on the allowlist: ENOSYS.
call("sync", 162)
call("vmsplice", 278, 0, 0, 0, 0)
call("shmget", 29, 0, 4096, 0)
call("sethostname", 170, 0, 0)
call("getpid", 39)
`

// TestSeccompBlocksAttacks runs the probe and checks every errno: EPERM for
// the deny list and denied argument values, ENOSYS for clone3 and for
// syscalls outside the allowlist.
func TestSeccompBlocksAttacks(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the probe uses x86_64 syscall numbers")
	}
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, map[string]string{"probe.py": syscallProbe}), python, "/job/probe.py")

	out := runSpec(t, context.Background(), rt, spec)

	want := []string{
		"unshare EPERM", "setns EPERM", "mount EPERM", "umount2 EPERM", "pivot_root EPERM",
		"chroot EPERM", "open_tree EPERM", "move_mount EPERM", "fsopen EPERM", "fsconfig EPERM",
		"fsmount EPERM", "fspick EPERM", "mount_setattr EPERM",
		"ptrace EPERM", "process_vm_readv EPERM", "process_vm_writev EPERM", "pidfd_getfd EPERM", "kcmp EPERM",
		"keyctl EPERM", "add_key EPERM", "request_key EPERM", "bpf EPERM", "perf_event_open EPERM",
		"userfaultfd EPERM", "io_uring_setup EPERM", "io_uring_enter EPERM", "io_uring_register EPERM",
		"fanotify_init EPERM",
		"init_module EPERM", "finit_module EPERM", "delete_module EPERM", "kexec_load EPERM",
		"kexec_file_load EPERM", "reboot EPERM", "swapon EPERM", "swapoff EPERM", "acct EPERM",
		"settimeofday EPERM", "clock_settime EPERM", "clock_adjtime EPERM", "adjtimex EPERM",
		"open_by_handle_at EPERM", "name_to_handle_at EPERM",
		"clone-newns EPERM", "clone-newcgroup EPERM", "clone-newuts EPERM", "clone-newipc EPERM",
		"clone-newuser EPERM", "clone-newpid EPERM", "clone-newnet EPERM", "clone-fork ok",
		"clone3 ENOSYS",
		"personality-linux ok", "personality-no-aslr EPERM", "personality-read-implies-exec EPERM",
		"personality-query EPERM",
		"socket-packet EPERM", "socket-packet-dgram EPERM", "socket-raw4 EPERM", "socket-raw6 EPERM",
		"socket-netlink EPERM", "socket-netlink-dgram EPERM", "socket-vsock EPERM", "socket-sctp EPERM",
		"socket-tcp4 ok", "socket-udp6 ok", "socket-unix ok",
		"socketpair-inet EPERM",
		"sync ENOSYS", "vmsplice ENOSYS", "shmget ENOSYS", "sethostname ENOSYS",
		"getpid ok",
	}
	got := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("probe line %d = %q, want %q", i+1, g, w)
		}
	}
	if t.Failed() {
		t.Logf("stderr: %s", out.Stderr)
	}
}

// abiProbe calls getpid through the 32-bit int 0x80 entry point, or with
// the x32 bit set, from machine code placed in an executable mapping.
const abiProbe = `
import ctypes, mmap, sys
code = {
    # mov eax, 20 (i386 getpid); int 0x80; ret
    "int80": bytes([0xb8, 0x14, 0, 0, 0, 0xcd, 0x80, 0xc3]),
    # mov eax, 0x40000027 (x32 getpid); syscall; ret
    "x32": bytes([0xb8, 0x27, 0, 0, 0x40, 0x0f, 0x05, 0xc3]),
}[sys.argv[1]]
buf = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
buf.write(code)
addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
fn = ctypes.CFUNCTYPE(ctypes.c_long)(addr)
print("started", flush=True)
print("returned", fn(), flush=True)
`

// TestSeccompKillsOtherABIs checks that a syscall through the 32-bit x86 or
// the x32 ABI never runs: the filter lists only x86_64, so the calling
// thread dies of SIGSYS (exit status 128+31).
func TestSeccompKillsOtherABIs(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the probe is x86_64 machine code")
	}
	rt := newTestRuntime(t)
	bundle := newBundle(t, map[string]string{"abi.py": abiProbe})

	for _, abi := range []string{"int80", "x32"} {
		t.Run(abi, func(t *testing.T) {
			out := runSpec(t, context.Background(), rt, newSpec(t, bundle, python, "/job/abi.py", abi))

			if out.Stdout != "started\n" {
				t.Errorf("stdout = %q, want only %q: the call must not return", out.Stdout, "started\n")
			}
			if out.Res.ExitCode != 159 {
				t.Errorf("ExitCode = %d, want 159 (SIGSYS) (stderr %q)", out.Res.ExitCode, out.Stderr)
			}
		})
	}
}

// workloadJob exercises what the allowlist must keep working: threads,
// fork and spawn multiprocessing with semaphores in /dev/shm, subprocess,
// asyncio, a TCP and a Unix socket pair, and coreutils through /bin/sh.
const workloadJob = `
import asyncio, multiprocessing, os, socket, subprocess, threading, tempfile

def square(x):
    return x * x

if __name__ == "__main__":
    results = []
    threads = [threading.Thread(target=lambda i=i: results.append(i)) for i in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    print("threads", sorted(results) == list(range(8)))

    for method in ("fork", "spawn", "forkserver"):
        with multiprocessing.get_context(method).Pool(2) as pool:
            print(method, pool.map(square, [1, 2, 3]))
    lock = multiprocessing.Semaphore(1)
    with lock:
        print("semaphore ok")

    print("subprocess", subprocess.run(["/bin/echo", "hi"], capture_output=True, text=True).stdout.strip())

    async def main():
        await asyncio.sleep(0.01)
        return "ok"
    print("asyncio", asyncio.run(main()))

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname())
    conn, _ = server.accept()
    client.sendall(b"ping")
    print("tcp", conn.recv(4).decode())
    a, b = socket.socketpair()
    a.sendall(b"pong")
    print("socketpair", b.recv(4).decode())

    script = "set -e; cd /tmp; mkdir -p d/e; echo x > d/e/f; cp -r d c; ls c/e; " \
        "sort < /job/work.py | head -c 0; stat -c %s c/e/f; df /tmp >/dev/null; " \
        "date +%Y >/dev/null; id -u; sleep 0.1; rm -r c d; tar -cf /tmp/t.tar /job/work.py 2>/dev/null; echo sh ok"
    print(subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True).stdout.replace("\n", " ").strip())
`

func TestSeccompAllowsJobWorkloads(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, map[string]string{"work.py": workloadJob}), python, "/job/work.py")

	out := runSpec(t, context.Background(), rt, spec)

	want := []string{
		"threads True",
		"fork [1, 4, 9]",
		"spawn [1, 4, 9]",
		"forkserver [1, 4, 9]",
		"semaphore ok",
		"subprocess hi",
		"asyncio ok",
		"tcp ping",
		"socketpair pong",
		"f 2 1000 sh ok",
	}
	got := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	if !slices.Equal(got, want) || out.Res.ExitCode != 0 {
		t.Errorf("workload printed\n%s\nwant\n%s\n(exit %d, stderr %q)", strings.Join(got, "\n"), strings.Join(want, "\n"), out.Res.ExitCode, out.Stderr)
	}
}
