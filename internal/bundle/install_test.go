package bundle

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

func TestInstallWritesReadOnlyCopy(t *testing.T) {
	files := standardFiles()
	b := mustLoad(t, writeBundle(t, files))
	root := filepath.Join(installRoot(t), "bundles")

	dir, err := b.Install(root)
	if err != nil {
		t.Fatalf("Install: %v", err)
	}

	wantDir := filepath.Join(root, strings.TrimPrefix(b.Digest, "sha256:"))
	if dir != wantDir || b.Dir != wantDir {
		t.Errorf("Install = %q, Dir = %q, want %q", dir, b.Dir, wantDir)
	}
	for _, f := range b.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		checkInstalled(t, p, f.Mode)

		content, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(content) != files[f.Path].content {
			t.Errorf("%s content = %q, want %q", f.Path, content, files[f.Path].content)
		}
	}
	for _, d := range []string{".", "lib", "bin"} {
		checkInstalled(t, filepath.Join(dir, d), fs.ModeDir|ModeDir)
	}
}

// checkInstalled checks the mode of p and, when running as root, that root
// owns it.
func checkInstalled(t *testing.T, p string, want fs.FileMode) {
	t.Helper()
	info, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode() != want {
		t.Errorf("%s mode = %v, want %v", p, info.Mode(), want)
	}
	if os.Geteuid() != 0 {
		return
	}
	st := info.Sys().(*syscall.Stat_t)
	if st.Uid != 0 || st.Gid != 0 {
		t.Errorf("%s owner = %d:%d, want 0:0", p, st.Uid, st.Gid)
	}
}

func TestInstallLeavesOutEmptyDirectories(t *testing.T) {
	src := writeBundle(t, standardFiles())
	if err := os.Mkdir(filepath.Join(src, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := mustLoad(t, src)

	dir, err := b.Install(installRoot(t))
	if err != nil {
		t.Fatalf("Install: %v", err)
	}

	if _, err := os.Lstat(filepath.Join(dir, "empty")); !os.IsNotExist(err) {
		t.Errorf("Lstat(empty) error = %v, want not exist", err)
	}
}

func TestInstalledCopyLoadsWithSameDigest(t *testing.T) {
	b := mustLoad(t, writeBundle(t, standardFiles()))
	dir, err := b.Install(installRoot(t))
	if err != nil {
		t.Fatalf("Install: %v", err)
	}

	again := mustLoad(t, dir)

	if again.Digest != b.Digest {
		t.Errorf("digest of installed copy = %s, want %s", again.Digest, b.Digest)
	}
}

func TestInstallCopiesHashedBytesNotSource(t *testing.T) {
	src := writeBundle(t, standardFiles())
	b := mustLoad(t, src)
	// A change to the source after Load must not reach the copy.
	if err := os.WriteFile(filepath.Join(src, "main.py"), []byte("import os; os.system('evil')\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	dir, err := b.Install(installRoot(t))
	if err != nil {
		t.Fatalf("Install: %v", err)
	}

	content, err := os.ReadFile(filepath.Join(dir, "main.py"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(content, []byte("print('hello')\n")) {
		t.Errorf("installed main.py = %q, want the content read by Load", content)
	}
}

func TestInstallTwiceReusesCopy(t *testing.T) {
	root := installRoot(t)
	first := mustLoad(t, writeBundle(t, standardFiles()))
	second := mustLoad(t, writeBundle(t, standardFiles()))

	dir1, err := first.Install(root)
	if err != nil {
		t.Fatalf("first Install: %v", err)
	}
	dir2, err := second.Install(root)
	if err != nil {
		t.Fatalf("second Install: %v", err)
	}

	if dir1 != dir2 {
		t.Errorf("paths differ: %q and %q", dir1, dir2)
	}
	checkRootEntries(t, root, []string{strings.TrimPrefix(first.Digest, "sha256:")})
}

func TestInstallConcurrent(t *testing.T) {
	const installs = 8
	root := installRoot(t)
	bundles := make([]*Bundle, installs)
	for i := range bundles {
		bundles[i] = mustLoad(t, writeBundle(t, standardFiles()))
	}

	dirs := make([]string, installs)
	errs := make([]error, installs)
	var start, done sync.WaitGroup
	start.Add(1)
	for i, b := range bundles {
		done.Go(func() {
			start.Wait()
			dirs[i], errs[i] = b.Install(root)
		})
	}
	start.Done()
	done.Wait()

	for i := range installs {
		if errs[i] != nil {
			t.Errorf("install %d: %v", i, errs[i])
		}
		if dirs[i] != dirs[0] {
			t.Errorf("install %d returned %q, want %q", i, dirs[i], dirs[0])
		}
	}
	checkRootEntries(t, root, []string{strings.TrimPrefix(bundles[0].Digest, "sha256:")})
	if again := mustLoad(t, dirs[0]); again.Digest != bundles[0].Digest {
		t.Errorf("installed digest = %s, want %s", again.Digest, bundles[0].Digest)
	}
}

// checkRootEntries checks that root contains exactly want, so no staging
// directory was left behind.
func checkRootEntries(t *testing.T, root string, want []string) {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("root contains %q, want %q", names, want)
	}
}

func TestInstallRejectsForgedDigest(t *testing.T) {
	b := mustLoad(t, writeBundle(t, standardFiles()))
	root := installRoot(t)

	for _, digest := range []string{"sha256:../../etc", "", "md5:" + strings.Repeat("a", 64), "sha256:" + strings.Repeat("A", 64)} {
		forged := *b
		forged.Digest = digest

		if dir, err := forged.Install(root); err == nil {
			t.Errorf("Install with digest %q = %q, want an error", digest, dir)
		}
	}
	checkRootEntries(t, root, nil)
}

func TestInstallRejectsNonDirectoryInPlace(t *testing.T) {
	b := mustLoad(t, writeBundle(t, standardFiles()))
	root := installRoot(t)
	if err := os.Symlink("/etc", filepath.Join(root, strings.TrimPrefix(b.Digest, "sha256:"))); err != nil {
		t.Fatal(err)
	}

	_, err := b.Install(root)

	if err == nil || !strings.Contains(err.Error(), "exists but is not a directory") {
		t.Errorf("Install error = %v, want one about a non-directory in place", err)
	}
}

func TestInstallLosingRenameReusesWinner(t *testing.T) {
	root := installRoot(t)
	winner := mustLoad(t, writeBundle(t, standardFiles()))
	loser := mustLoad(t, writeBundle(t, standardFiles()))
	// The loser staged its copy before the winner's rename, as in a race.
	stage, err := os.MkdirTemp(root, ".staging-")
	if err != nil {
		t.Fatal(err)
	}
	if err := loser.writeTree(stage); err != nil {
		t.Fatalf("writeTree: %v", err)
	}
	final, err := winner.Install(root)
	if err != nil {
		t.Fatalf("winner Install: %v", err)
	}

	dir, err := loser.placeStage(stage, root, final)

	if err != nil || dir != final || loser.Dir != final {
		t.Errorf("placeStage = %q, %v (Dir %q), want %q", dir, err, loser.Dir, final)
	}
	checkRootEntries(t, root, []string{filepath.Base(final)})
}
