package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/moatdev/moat/internal/manifest"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestLoadValid(t *testing.T) {
	files := standardFiles()
	b := mustLoad(t, writeBundle(t, files))

	want := []File{
		{Path: ".env", Mode: 0o444, Size: 4, SHA256: sha(files[".env"].content)},
		{Path: "bin/tool", Mode: 0o555, Size: 10, SHA256: sha(files["bin/tool"].content)},
		{Path: "lib/util.py", Mode: 0o444, Size: 6, SHA256: sha(files["lib/util.py"].content)},
		{Path: "main.py", Mode: 0o444, Size: 15, SHA256: sha(files["main.py"].content)},
		{Path: "moat.yaml", Mode: 0o444, Size: int64(len(pythonManifest)), SHA256: sha(pythonManifest)},
	}
	if !reflect.DeepEqual(b.Files, want) {
		t.Errorf("Files = %+v\nwant %+v", b.Files, want)
	}

	var list strings.Builder
	for _, f := range want {
		fmt.Fprintf(&list, "%04o %d %s %s\n", uint32(f.Mode), f.Size, f.SHA256, f.Path)
	}
	if got := string(b.CanonicalList()); got != list.String() {
		t.Errorf("CanonicalList =\n%s\nwant\n%s", got, list.String())
	}
	if wantDigest := "sha256:" + sha(list.String()); b.Digest != wantDigest {
		t.Errorf("Digest = %q, want %q", b.Digest, wantDigest)
	}

	if b.Manifest.Name != "large-transfers" || b.Manifest.Entrypoint != "main.py" {
		t.Errorf("Manifest = %+v", b.Manifest)
	}
	if string(b.ManifestBytes) != pythonManifest {
		t.Errorf("ManifestBytes = %q", b.ManifestBytes)
	}
	if wantSize := int64(4 + 10 + 6 + 15 + len(pythonManifest)); b.Size != wantSize {
		t.Errorf("Size = %d, want %d", b.Size, wantSize)
	}
	if b.Dir != "" {
		t.Errorf("Dir = %q before Install, want empty", b.Dir)
	}
}

func TestDigestSameContentOtherDirectory(t *testing.T) {
	first := mustLoad(t, writeBundle(t, standardFiles()))
	second := mustLoad(t, writeBundle(t, standardFiles()))

	if first.Digest != second.Digest {
		t.Errorf("digests differ: %s and %s", first.Digest, second.Digest)
	}
}

func TestDigestIgnoresMetadataOutsideFormat(t *testing.T) {
	base := mustLoad(t, writeBundle(t, standardFiles())).Digest

	// Different execute bits that normalise to 0555, different read bits
	// that normalise to 0444, new times and an empty directory.
	files := standardFiles()
	files["bin/tool"] = testFile{files["bin/tool"].content, 0o500}
	files["main.py"] = testFile{files["main.py"].content, 0o400}
	dir := writeBundle(t, files)
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(dir, "main.py"), old, old); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}

	if got := mustLoad(t, dir).Digest; got != base {
		t.Errorf("digest = %s, want %s", got, base)
	}
}

func TestDigestChangesWithContent(t *testing.T) {
	base := mustLoad(t, writeBundle(t, standardFiles())).Digest

	changes := map[string]func(map[string]testFile){
		"one byte":      func(f map[string]testFile) { f["lib/util.py"] = testFile{"X = 2\n", 0o644} },
		"execute bit":   func(f map[string]testFile) { f["lib/util.py"] = testFile{"X = 1\n", 0o755} },
		"file name":     func(f map[string]testFile) { f["lib/util2.py"] = f["lib/util.py"]; delete(f, "lib/util.py") },
		"directory":     func(f map[string]testFile) { f["other/util.py"] = f["lib/util.py"]; delete(f, "lib/util.py") },
		"added file":    func(f map[string]testFile) { f["empty"] = testFile{"", 0o644} },
		"removed file":  func(f map[string]testFile) { delete(f, ".env") },
		"appended byte": func(f map[string]testFile) { f["main.py"] = testFile{f["main.py"].content + " ", 0o644} },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			files := standardFiles()
			change(files)

			got := mustLoad(t, writeBundle(t, files)).Digest

			if got == base {
				t.Errorf("digest unchanged: %s", got)
			}
		})
	}
}

// loadError loads dir and checks that it is rejected with ErrInvalid and a
// message containing each of parts.
func loadError(t *testing.T, dir string, limits Limits, parts ...string) error {
	t.Helper()
	b, err := Load(dir, limits, manifest.DefaultMaximums())
	if err == nil {
		t.Fatalf("Load succeeded with digest %s, want an error", b.Digest)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
	for _, part := range parts {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error = %q, want it to contain %q", err, part)
		}
	}
	return err
}

func TestLoadRejectsSymlinkOutOfBundle(t *testing.T) {
	dir := writeBundle(t, standardFiles())
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "lib", "passwd")); err != nil {
		t.Fatal(err)
	}

	loadError(t, dir, DefaultLimits(), `"lib/passwd" is a symbolic link`, "replace it with a regular file")
}

func TestLoadRejectsSymlinkInsideBundle(t *testing.T) {
	dir := writeBundle(t, standardFiles())
	if err := os.Symlink("main.py", filepath.Join(dir, "run.py")); err != nil {
		t.Fatal(err)
	}

	loadError(t, dir, DefaultLimits(), `"run.py" is a symbolic link`)
}

func TestLoadRejectsSymlinkedDirectory(t *testing.T) {
	dir := writeBundle(t, standardFiles())
	if err := os.Symlink("/etc", filepath.Join(dir, "etc")); err != nil {
		t.Fatal(err)
	}

	loadError(t, dir, DefaultLimits(), `"etc" is a symbolic link`)
}

func TestLoadRejectsSymlinkedEntrypoint(t *testing.T) {
	files := standardFiles()
	delete(files, "main.py")
	dir := writeBundle(t, files)
	if err := os.Symlink("/usr/bin/python3", filepath.Join(dir, "main.py")); err != nil {
		t.Fatal(err)
	}

	loadError(t, dir, DefaultLimits(), `"main.py" is a symbolic link`)
}

func TestLoadRejectsSymlinkedTopDirectory(t *testing.T) {
	real := writeBundle(t, standardFiles())
	link := filepath.Join(t.TempDir(), "bundle")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}

	loadError(t, link, DefaultLimits(), "is a symbolic link: give the path of the directory itself")
}

func TestLoadRejectsFIFO(t *testing.T) {
	dir := writeBundle(t, standardFiles())
	if err := unix.Mkfifo(filepath.Join(dir, "lib", "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}

	loadError(t, dir, DefaultLimits(), `"lib/pipe" is a named pipe (FIFO)`)
}

func TestLoadRejectsSocket(t *testing.T) {
	dir := writeBundle(t, standardFiles())
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	loadError(t, dir, DefaultLimits(), `"sock" is a socket`)
}

func TestLoadRejectsDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating a device node needs root")
	}
	dir := writeBundle(t, standardFiles())
	// The same device numbers as /dev/null.
	if err := unix.Mknod(filepath.Join(dir, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}

	loadError(t, dir, DefaultLimits(), `"null" is a device file`)
}

func TestLoadAcceptsHardLink(t *testing.T) {
	dir := writeBundle(t, standardFiles())
	if err := os.Link(filepath.Join(dir, "main.py"), filepath.Join(dir, "copy.py")); err != nil {
		t.Fatal(err)
	}

	b := mustLoad(t, dir)

	i, ok := b.fileIndex("copy.py")
	if !ok || b.Files[i].SHA256 != sha("print('hello')\n") {
		t.Errorf("copy.py = %+v, found %v", b.Files, ok)
	}
}

func TestLoadRejectsControlCharacterInName(t *testing.T) {
	files := standardFiles()
	files["a\nb"] = testFile{"x", 0o644}

	loadError(t, writeBundle(t, files), DefaultLimits(), `path "a\nb" contains a control character`)
}

func TestLoadRejectsDeepNesting(t *testing.T) {
	files := standardFiles()
	files[strings.Repeat("d/", maxDepth+1)+"f"] = testFile{"x", 0o644}

	loadError(t, writeBundle(t, files), DefaultLimits(), "is nested more than 32 levels deep")
}

func TestLoadRejectsOversizeFile(t *testing.T) {
	files := standardFiles()
	files["data.bin"] = testFile{strings.Repeat("x", 1001), 0o644}
	limits := Limits{MaxFiles: 100, MaxTotalBytes: 1 << 20, MaxFileBytes: 1000}

	err := loadError(t, writeBundle(t, files), limits, `file "data.bin" is larger than the per-file limit of 1000 bytes`)

	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("errors.Is(%v, ErrTooLarge) = false", err)
	}
}

func TestLoadAcceptsFileAtLimit(t *testing.T) {
	files := standardFiles()
	files["data.bin"] = testFile{strings.Repeat("x", 1000), 0o644}
	limits := Limits{MaxFiles: 100, MaxTotalBytes: 1 << 20, MaxFileBytes: 1000}

	if _, err := Load(writeBundle(t, files), limits, manifest.DefaultMaximums()); err != nil {
		t.Fatalf("Load: %v", err)
	}
}

func TestLoadRejectsOversizeTotal(t *testing.T) {
	files := standardFiles()
	files["a.bin"] = testFile{strings.Repeat("x", 600), 0o644}
	files["b.bin"] = testFile{strings.Repeat("x", 600), 0o644}
	limits := Limits{MaxFiles: 100, MaxTotalBytes: 1000, MaxFileBytes: 1000}

	err := loadError(t, writeBundle(t, files), limits, "the files add up to more than the total limit of 1000 bytes")

	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("errors.Is(%v, ErrTooLarge) = false", err)
	}
}

func TestLoadRejectsTooManyFiles(t *testing.T) {
	files := standardFiles()
	for i := range 10 {
		files[fmt.Sprintf("data/%d.txt", i)] = testFile{"x", 0o644}
	}
	limits := DefaultLimits()
	limits.MaxFiles = 10

	err := loadError(t, writeBundle(t, files), limits, "more than 10 files and directories")

	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("errors.Is(%v, ErrTooLarge) = false", err)
	}
}

func TestReadCappedStopsGrowingFile(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// The writer offers far more than the cap; the reader must stop after
	// cap+1 bytes. Closing r when the test ends unblocks the writer.
	go func() {
		defer w.Close()
		chunk := make([]byte, 4096)
		for range 256 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}()
	walker := &walker{limits: Limits{MaxFiles: 10, MaxTotalBytes: 1 << 20, MaxFileBytes: 100}}

	_, err = walker.readCapped(r, "growing")

	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("readCapped error = %v, want ErrTooLarge", err)
	}
	if walker.total != 0 {
		t.Errorf("total = %d after a rejected file, want 0", walker.total)
	}
}

func TestLoadRejectsMissingManifest(t *testing.T) {
	files := standardFiles()
	delete(files, "moat.yaml")
	files["sub/moat.yaml"] = testFile{pythonManifest, 0o644}

	loadError(t, writeBundle(t, files), DefaultLimits(), "moat.yaml not found at the bundle's top")
}

func TestLoadRejectsMissingEntrypoint(t *testing.T) {
	files := standardFiles()
	delete(files, "main.py")

	loadError(t, writeBundle(t, files), DefaultLimits(), `entrypoint "main.py" named in moat.yaml is not a file in the bundle`)
}

func TestLoadRejectsDirectoryEntrypoint(t *testing.T) {
	files := standardFiles()
	files["moat.yaml"] = testFile{strings.Replace(pythonManifest, "main.py", "lib", 1), 0o644}

	loadError(t, writeBundle(t, files), DefaultLimits(), `entrypoint "lib" named in moat.yaml is not a file`)
}

func TestLoadRejectsNonExecutableBinary(t *testing.T) {
	files := standardFiles()
	files["moat.yaml"] = testFile{strings.NewReplacer("python3", "binary", "main.py", "lib/util.py").Replace(pythonManifest), 0o644}

	loadError(t, writeBundle(t, files), DefaultLimits(), `entrypoint "lib/util.py" is not executable`, "chmod +x lib/util.py")
}

func TestLoadAcceptsExecutableBinary(t *testing.T) {
	files := standardFiles()
	files["moat.yaml"] = testFile{strings.NewReplacer("python3", "binary", "main.py", "bin/tool").Replace(pythonManifest), 0o644}

	b := mustLoad(t, writeBundle(t, files))

	if b.Manifest.Runtime != manifest.RuntimeBinary {
		t.Errorf("Runtime = %q, want binary", b.Manifest.Runtime)
	}
}

func TestLoadRejectsManifestProblems(t *testing.T) {
	cases := []struct {
		name     string
		manifest string
		field    string
	}{
		{"dotdot entrypoint", strings.Replace(pythonManifest, "main.py", "../main.py", 1), "entrypoint"},
		{"absolute entrypoint", strings.Replace(pythonManifest, "main.py", "/job/main.py", 1), "entrypoint"},
		{"unknown field", pythonManifest + "image: ubuntu\n", "image"},
		{"memory above maximum", pythonManifest + "resources: {memory: 3Gi}\n", "resources.memory"},
		{"timeout above maximum", pythonManifest + "resources: {timeout: 2h}\n", "resources.timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := standardFiles()
			files["moat.yaml"] = testFile{tc.manifest, 0o644}

			err := loadError(t, writeBundle(t, files), DefaultLimits(), "moat.yaml: "+tc.field+": ")

			var verr *manifest.ValidationError
			if !errors.As(err, &verr) || len(verr.Problems) != 1 || verr.Problems[0].Field != tc.field {
				t.Errorf("error = %v, want one manifest problem on %q", err, tc.field)
			}
			if !errors.Is(err, manifest.ErrInvalid) {
				t.Errorf("errors.Is(err, manifest.ErrInvalid) = false")
			}
		})
	}
}

func TestLoadRejectsInvalidLimits(t *testing.T) {
	dir := writeBundle(t, standardFiles())

	_, err := Load(dir, Limits{MaxFiles: 10, MaxTotalBytes: 0, MaxFileBytes: 10}, manifest.DefaultMaximums())

	if !errors.Is(err, ErrInvalidLimits) {
		t.Errorf("error = %v, want ErrInvalidLimits", err)
	}
}

func TestLoadRejectsNonDirectory(t *testing.T) {
	dir := writeBundle(t, standardFiles())

	loadError(t, filepath.Join(dir, "main.py"), DefaultLimits(), "is not a directory")
}
