package runc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/moatdev/moat/internal/sandbox"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// runDirs are the host paths of one run's files. Two layouts exist: Run's,
// whose rootfs is a tmpfs in RootfsDir holding /etc, /job and the extra
// mounts as copies (copied is true), and Render's, whose rootfs is an empty
// directory in the bundle with those bind-mounted from the host.
type runDirs struct {
	top    string // WorkDir/<id>
	bundle string // runc bundle: config.json (and rootfs/ in Render's layout)
	rootfs string // root of the container
	etc    string // generated /etc, bind-mounted read-only (Render's layout)
	copied bool   // rootfs holds /etc, /job and the extra mounts itself
}

func newRunDirs(workDir, id string) runDirs {
	top := filepath.Join(workDir, id)
	return runDirs{
		top:    top,
		bundle: filepath.Join(top, "bundle"),
		rootfs: filepath.Join(top, "bundle", "rootfs"),
		etc:    filepath.Join(top, "etc"),
	}
}

// mountPoints are the directories the rootfs needs for the fixed mounts.
var mountPoints = []string{"usr", "etc", "job", "tmp", "proc", "dev"}

// hostRootDirs are the top-level directories that hold programs and
// libraries. On merged-/usr hosts they are symlinks into /usr.
var hostRootDirs = []string{"bin", "sbin", "lib", "lib32", "lib64", "libx32"}

// prepareRootfs creates the run's directories below d.top (which the caller
// created), the empty rootfs with its
// mount points and symlinks, and the generated /etc. It returns bind mounts
// for top-level directories that are real directories on the host (hosts
// without merged /usr).
func prepareRootfs(d runDirs, uid, gid uint32) ([]specs.Mount, error) {
	for _, dir := range []string{d.bundle, d.rootfs, d.etc} {
		// 0755: the job's non-root user must traverse its root and /etc.
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create run directory: %w", err)
		}
	}

	for _, name := range mountPoints {
		if err := os.Mkdir(filepath.Join(d.rootfs, name), 0o755); err != nil {
			return nil, fmt.Errorf("create mount point: %w", err)
		}
	}

	extra, err := mirrorHostRootDirs(d.rootfs)
	if err != nil {
		return nil, err
	}

	if err := writeEtc(d.etc, uid, gid); err != nil {
		return nil, err
	}
	return extra, nil
}

// mirrorHostRootDirs gives the rootfs the host's /bin, /lib, ... layout: a
// symlink where the host has a symlink into /usr, a read-only bind mount
// where the host has a real directory, nothing where the host has none.
func mirrorHostRootDirs(rootfs string) ([]specs.Mount, error) {
	var mounts []specs.Mount
	for _, name := range hostRootDirs {
		host := "/" + name
		info, err := os.Lstat(host)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("inspect host %q: %w", host, err)
		}

		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			if err := mirrorSymlink(rootfs, name); err != nil {
				return nil, err
			}
		case info.IsDir():
			if err := os.Mkdir(filepath.Join(rootfs, name), 0o755); err != nil {
				return nil, fmt.Errorf("create mount point: %w", err)
			}
			mounts = append(mounts, readOnlyBind(host, host, true))
		}
	}
	return mounts, nil
}

// mirrorSymlink copies the host's /<name> symlink into the rootfs. Only
// targets inside /usr are accepted: /usr is the only host tree mounted in the
// sandbox, so any other target would dangle or point somewhere unintended.
func mirrorSymlink(rootfs, name string) error {
	target, err := os.Readlink("/" + name)
	if err != nil {
		return fmt.Errorf("read host symlink %q: %w", "/"+name, err)
	}

	resolved := filepath.Clean(filepath.Join("/", target))
	if !strings.HasPrefix(resolved, "/usr/") {
		return fmt.Errorf("host %q points to %q, outside /usr: this host layout is not supported", "/"+name, target)
	}

	if err := os.Symlink(strings.TrimPrefix(resolved, "/"), filepath.Join(rootfs, name)); err != nil {
		return fmt.Errorf("create symlink in rootfs: %w", err)
	}
	return nil
}

// etcFiles are the contents of the minimal /etc: the job user,
// loopback-only hosts and a file-only name service switch. No resolv.conf:
// no resolver exists in the sandbox.
func etcFiles(uid, gid uint32) map[string]string {
	return map[string]string{
		"passwd": fmt.Sprintf("root:x:0:0:root:/root:/usr/sbin/nologin\n"+
			"job:x:%d:%d:moat job:/tmp:/usr/sbin/nologin\n"+
			"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n", uid, gid),
		"group": fmt.Sprintf("root:x:0:\njob:x:%d:\nnogroup:x:65534:\n", gid),
		"hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost\n",
		"nsswitch.conf": "passwd: files\ngroup: files\nshadow: files\n" +
			"hosts: files\nnetworks: files\nprotocols: files\nservices: files\n",
		"hostname": "moat-job\n",
	}
}

// writeEtc writes etcFiles into the new, empty directory dir.
func writeEtc(dir string, uid, gid uint32) error {
	for name, content := range etcFiles(uid, gid) {
		if err := writeNewFile(filepath.Join(dir, name), content, 0o644); err != nil {
			return fmt.Errorf("write generated /etc/%s: %w", name, err)
		}
	}
	return nil
}

// writeNewFile creates path, which must not exist (a symlink in its place
// is not followed), and writes content to it.
func writeNewFile(path, content string, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, perm)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readOnlyBind is a non-recursive read-only bind mount: submounts of the
// host source (another filesystem mounted below /usr, say) stay invisible.
func readOnlyBind(source, destination string, exec bool) specs.Mount {
	options := []string{"bind", "ro", "nosuid", "nodev"}
	if !exec {
		options = append(options, "noexec")
	}
	return specs.Mount{Destination: destination, Type: "bind", Source: source, Options: options}
}

// createMountPoints creates the destinations of the extra mounts in the
// rootfs of Render's layout: a directory, or an empty file when the source
// is a file. runc would create them itself, but a user namespace root may
// not write to the host-root-owned rootfs. validateSpec has kept every
// destination away from the fixed mounts and the symlinks into /usr, so no
// path here crosses a symlink.
func createMountPoints(rootfs string, mounts []sandbox.Mount) error {
	for _, m := range mounts {
		target := filepath.Join(rootfs, m.Destination)
		info, err := os.Stat(m.Source)
		if err != nil {
			return fmt.Errorf("mount source %q: %w", m.Source, err)
		}

		if info.IsDir() {
			err = os.MkdirAll(target, 0o755)
		} else {
			err = os.MkdirAll(filepath.Dir(target), 0o755)
			if err == nil {
				err = os.WriteFile(target, nil, 0o444)
			}
		}
		if err != nil {
			return fmt.Errorf("create mount point %q: %w", m.Destination, err)
		}
	}
	return nil
}
