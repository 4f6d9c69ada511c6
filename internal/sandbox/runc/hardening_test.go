package runc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
)

// terminalProbe tries to reach a terminal: TIOCSTI (push input into a
// terminal's queue, CVE-2017-5226 in bubblewrap) on stdin, stdout and
// stderr, the controlling terminal /dev/tty and a new pty through
// /dev/ptmx. It then reads stdin.
const terminalProbe = `
import errno, fcntl, os, stat, termios
def attempt(label, fn):
    try:
        fn()
        print(label, "ok")
    except OSError as e:
        print(label, errno.errorcode[e.errno])
for fd in (0, 1, 2):
    attempt("tiocsti %d" % fd, lambda fd=fd: fcntl.ioctl(fd, termios.TIOCSTI, b"x"))
print("isatty", [os.isatty(fd) for fd in (0, 1, 2)])
attempt("open /dev/tty", lambda: os.close(os.open("/dev/tty", os.O_RDWR)))
attempt("open /dev/ptmx", lambda: os.close(os.open("/dev/ptmx", os.O_RDWR)))
print("stdin fifo", stat.S_ISFIFO(os.fstat(0).st_mode), os.read(0, 1))
print("dev", " ".join(sorted(os.listdir("/dev"))))
`

func TestNoTerminalReachable(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, map[string]string{"tty.py": terminalProbe}), python, "/job/tty.py")

	out := runSpec(t, context.Background(), rt, spec)

	want := []string{
		// No descriptor is a terminal, so TIOCSTI has nothing to inject into.
		"tiocsti 0 ENOTTY",
		"tiocsti 1 ENOTTY",
		"tiocsti 2 ENOTTY",
		"isatty [False, False, False]",
		// The job has no controlling terminal.
		"open /dev/tty ENXIO",
		// /dev/ptmx points into /dev/pts, which is not mounted.
		"open /dev/ptmx ENOENT",
		// runc gives a foreground container a pipe as stdin; it is fed
		// from moat's /dev/null and reads end-of-file at once.
		"stdin fifo True b''",
		"dev fd full null ptmx random shm stderr stdin stdout tty urandom zero",
	}
	got := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	if !slices.Equal(got, want) {
		t.Errorf("probe printed\n%s\nwant\n%s\n(stderr %q)", strings.Join(got, "\n"), strings.Join(want, "\n"), out.Stderr)
	}
}

// rlimitProbe prints the limits and tries to raise the core hard limit
// through prlimit64, so the errno is the kernel's.
const rlimitProbe = `
import ctypes, errno, resource
print("core", resource.getrlimit(resource.RLIMIT_CORE))
print("nofile", resource.getrlimit(resource.RLIMIT_NOFILE))
libc = ctypes.CDLL(None, use_errno=True)
class Rlimit(ctypes.Structure):
    _fields_ = [("cur", ctypes.c_ulong), ("max", ctypes.c_ulong)]
for name, res in (("core", resource.RLIMIT_CORE), ("nofile", resource.RLIMIT_NOFILE)):
    new = Rlimit(1 << 20, 1 << 20)
    rc = libc.prlimit(0, res, ctypes.byref(new), None)
    print("raise", name, "ok" if rc == 0 else errno.errorcode[ctypes.get_errno()])
`

func TestRlimitsCannotBeRaised(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, map[string]string{"rl.py": rlimitProbe}), python, "/job/rl.py")

	out := runSpec(t, context.Background(), rt, spec)

	want := []string{"core (0, 0)", "nofile (1024, 1024)", "raise core EPERM", "raise nofile EPERM"}
	got := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	if !slices.Equal(got, want) {
		t.Errorf("probe printed %q, want %q (stderr %q)", got, want, out.Stderr)
	}
}

// procProbe reads each path given and prints what it found, then prints
// the options of the mounts at the read-only paths.
const procProbe = `
import errno, os, sys
masked, readonly = sys.argv[1].split(","), sys.argv[2].split(",")
for p in masked:
    try:
        if os.path.isdir(p):
            print(p, "dir", os.listdir(p))
        else:
            with open(p, "rb") as f:
                print(p, "file", len(f.read()))
    except OSError as e:
        print(p, errno.errorcode[e.errno])
options = {}
for line in open("/proc/self/mountinfo"):
    fields = line.split()
    options[fields[4]] = fields[5].split(",")[0]
for p in readonly:
    print(p, options.get(p, "not a mount"))
for p in ("/proc/sys/kernel/core_pattern", "/proc/sys/vm/drop_caches"):
    try:
        open(p, "w").close()
        print("write", p, "ok")
    except OSError as e:
        print("write", p, errno.errorcode[e.errno])
`

// TestProcPathsMaskedAndReadOnly checks every masked path the host has
// reads as empty (a file masked by /dev/null, a directory by an empty
// read-only tmpfs) and every read-only path is a read-only mount.
func TestProcPathsMaskedAndReadOnly(t *testing.T) {
	rt := newTestRuntime(t)
	s := newSpec(t, newBundle(t, nil), "/x")
	linux := renderLinux(s, "/x")
	var masked []string
	for _, p := range linux.MaskedPaths {
		if strings.HasPrefix(p, "/proc/") {
			masked = append(masked, p)
		}
	}
	spec := newSpec(t, newBundle(t, map[string]string{"proc.py": procProbe}), python, "/job/proc.py",
		strings.Join(masked, ","), strings.Join(linux.ReadonlyPaths, ","))

	out := runSpec(t, context.Background(), rt, spec)

	var want []string
	for _, p := range masked {
		info, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			want = append(want, p+" ENOENT")
		case err != nil:
			t.Fatal(err)
		case info.IsDir():
			want = append(want, p+" dir []")
		default:
			want = append(want, p+" file 0")
		}
	}
	for _, p := range linux.ReadonlyPaths {
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			want = append(want, p+" not a mount")
		} else {
			want = append(want, p+" ro")
		}
	}
	want = append(want, "write /proc/sys/kernel/core_pattern EROFS", "write /proc/sys/vm/drop_caches EROFS")

	got := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	if !slices.Equal(got, want) {
		t.Errorf("probe printed\n%s\nwant\n%s\n(stderr %q)", strings.Join(got, "\n"), strings.Join(want, "\n"), out.Stderr)
	}
}

// diskProbe fills a tmpfs through a file unlinked while open (its pages
// still count), then checks a normal file fails too until that one is
// closed.
const diskProbe = `
import errno, os, sys
mount = sys.argv[1]
path = os.path.join(mount, "hidden")
fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
os.unlink(path)
written = 0
chunk = b"x" * (256 << 10)
try:
    while True:
        written += os.write(fd, chunk)
except OSError as e:
    print("unlinked", errno.errorcode[e.errno])
st = os.statvfs(mount)
print("full", st.f_bavail == 0)
try:
    with open(os.path.join(mount, "visible"), "wb") as f:
        f.write(chunk)
        f.flush()
    print("second ok")
except OSError as e:
    print("second", errno.errorcode[e.errno])
os.close(fd)
with open(os.path.join(mount, "visible"), "wb") as f:
    f.write(chunk)
print("after close ok")
print("written", written)
`

// TestTmpfsCapsEndInENOSPC fills /tmp and /dev/shm past their caps through
// an unlinked file: tmpfs counts the pages of a file unlinked while open,
// so hiding data that way cannot escape the cap.
func TestTmpfsCapsEndInENOSPC(t *testing.T) {
	rt := newTestRuntime(t)
	bundle := newBundle(t, map[string]string{"disk.py": diskProbe})

	for _, c := range []struct {
		mount string
		size  int64
	}{{"/tmp", 16 << 20}, {"/dev/shm", devShmBytes}} {
		t.Run(c.mount, func(t *testing.T) {
			spec := newSpec(t, bundle, python, "/job/disk.py", c.mount)
			spec.Limits.TmpBytes = 16 << 20

			out := runSpec(t, context.Background(), rt, spec)

			lines := strings.Split(strings.TrimSpace(out.Stdout), "\n")
			want := []string{"unlinked ENOSPC", "full True", "second ENOSPC", "after close ok"}
			if len(lines) != 5 || !slices.Equal(lines[:4], want) {
				t.Fatalf("probe printed %q, want %q then the byte count (stderr %q)", lines, want, out.Stderr)
			}
			var written int64
			if _, err := fmt.Sscanf(lines[4], "written %d", &written); err != nil {
				t.Fatal(err)
			}
			if written > c.size || written < c.size-(1<<20) {
				t.Errorf("wrote %d bytes before ENOSPC, want about the %d-byte cap", written, c.size)
			}
		})
	}
}
