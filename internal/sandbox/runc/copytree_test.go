package runc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// writeTree creates the entries of tree below dir: a name ending in "/" is
// a directory, any other a file holding its own name. Modes are set after
// creation, so the umask does not reduce them.
func writeTree(t testing.TB, dir string, tree map[string]os.FileMode) {
	t.Helper()
	for name := range tree {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(name), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for name, mode := range tree {
		if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
			t.Fatal(err)
		}
	}
}

func openDir(t *testing.T, dir string) int {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func TestCopyTreeKeepsContentAndModes(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]os.FileMode{
		"a.txt":     0o444,
		"d/":        0o555,
		"d/e/":      0o750,
		"d/e/x":     0o555,
		"d/setuid":  0o4755,
		"d/sticky/": 0o1777,
	})
	dst := t.TempDir()

	if err := copyTree(src, openDir(t, dst), "copy"); err != nil {
		t.Fatalf("copyTree: %v", err)
	}

	want := map[string]os.FileMode{
		"a.txt":    0o444,
		"d":        0o555 | os.ModeDir,
		"d/e":      0o750 | os.ModeDir,
		"d/e/x":    0o555,
		"d/setuid": 0o755,
		"d/sticky": 0o777 | os.ModeDir,
	}
	for name, mode := range want {
		info, err := os.Lstat(filepath.Join(dst, "copy", name))
		if err != nil {
			t.Errorf("copy of %q: %v", name, err)
			continue
		}
		if info.Mode() != mode {
			t.Errorf("copy of %q has mode %v, want %v", name, info.Mode(), mode)
		}
		if !info.IsDir() {
			content, err := os.ReadFile(filepath.Join(dst, "copy", name))
			if err != nil || string(content) != name {
				t.Errorf("copy of %q holds %q (%v), want %q", name, content, err, name)
			}
		}
	}
}

func TestCopyTreeCopiesOneFile(t *testing.T) {
	src := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(src, []byte("content"), 0o400); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()

	if err := copyTree(src, openDir(t, dst), "g"); err != nil {
		t.Fatalf("copyTree: %v", err)
	}

	content, err := os.ReadFile(filepath.Join(dst, "g"))
	if err != nil || string(content) != "content" {
		t.Errorf("copy holds %q (%v), want %q", content, err, "content")
	}
	if info, err := os.Stat(filepath.Join(dst, "g")); err != nil || info.Mode() != 0o400 {
		t.Errorf("copy mode %v (%v), want 0400", info.Mode(), err)
	}
}

func TestCopyTreeRejectsSpecialFiles(t *testing.T) {
	cases := map[string]func(dir string) error{
		"symlink at the top": func(dir string) error { return os.Symlink("/etc", filepath.Join(dir, "src")) },
		"nested symlink": func(dir string) error {
			if err := os.MkdirAll(filepath.Join(dir, "src", "sub"), 0o755); err != nil {
				return err
			}
			return os.Symlink("/etc/shadow", filepath.Join(dir, "src", "sub", "link"))
		},
		"named pipe": func(dir string) error {
			if err := os.Mkdir(filepath.Join(dir, "src"), 0o755); err != nil {
				return err
			}
			return unix.Mkfifo(filepath.Join(dir, "src", "pipe"), 0o644)
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := setup(dir); err != nil {
				t.Fatal(err)
			}
			src := filepath.Join(dir, "src")

			_, measureErr := measureTree(src, 4096)
			copyErr := copyTree(src, openDir(t, t.TempDir()), "copy")

			for label, err := range map[string]error{"measureTree": measureErr, "copyTree": copyErr} {
				if err == nil || !strings.Contains(err.Error(), "but a sandbox root holds only regular files and directories") {
					t.Errorf("%s: %v, want a rejection of the special file", label, err)
				}
			}
		})
	}
}

func TestMeasureTreeRoundsToPages(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]os.FileMode{"a": 0o444, "d/": 0o755, "d/b": 0o444})
	if err := os.WriteFile(filepath.Join(src, "d", "b"), make([]byte, 4097), 0o444); err != nil {
		t.Fatal(err)
	}

	size, err := measureTree(src, 4096)

	if err != nil {
		t.Fatal(err)
	}
	// "a" holds one byte: one page; "d/b" 4097 bytes: two pages.
	if size.bytes != 3*4096 {
		t.Errorf("bytes = %d, want %d", size.bytes, 3*4096)
	}
	if size.entries != 4 {
		t.Errorf("entries = %d, want 4 (top, a, d, d/b)", size.entries)
	}
}

func TestRootfsDirIn(t *testing.T) {
	open := t.TempDir()
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	private := filepath.Join(open, "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	// t.TempDir's own parent is 0700, so walk from a directory tree
	// whose ancestors are known: /run/moat is always accepted.
	cases := []struct {
		stateDir string
		want     string
	}{
		{"/run/moat", "/run/moat/rootfs"},
		{"/run/moat/selftest-x", "/run/moat/selftest-x/rootfs"},
		{"/run/no-such-dir/state", "/run/no-such-dir/state/rootfs"},
		{filepath.Join(private, "state"), DefaultRootfsDir},
	}
	for _, c := range cases {
		got, err := RootfsDirIn(c.stateDir)
		if got != c.want {
			t.Errorf("RootfsDirIn(%q) = %q (%v), want %q", c.stateDir, got, err, c.want)
		}
		if (got == DefaultRootfsDir) != (err != nil) && c.stateDir != "/run/moat" {
			t.Errorf("RootfsDirIn(%q) error %v, want one exactly when it falls back", c.stateDir, err)
		}
	}
}

func TestMakeSearchableOpensOnlyItsParent(t *testing.T) {
	base := t.TempDir()
	if err := os.Chmod(filepath.Dir(base), 0o711); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(base, "open")
	state := filepath.Join(open, "state")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}

	if err := makeSearchable(filepath.Join(state, "rootfs")); err != nil {
		t.Fatalf("makeSearchable below a private state dir: %v", err)
	}
	if info, err := os.Stat(state); err != nil || info.Mode().Perm() != 0o701 {
		t.Errorf("state dir mode %v (%v), want 0701 (o+x added)", info.Mode().Perm(), err)
	}

	if err := os.Chmod(open, 0o700); err != nil {
		t.Fatal(err)
	}
	err := makeSearchable(filepath.Join(state, "rootfs"))
	if err == nil || !strings.Contains(err.Error(), open) {
		t.Errorf("makeSearchable below a private grandparent: %v, want an error naming %q", err, open)
	}
}
