// Package bundle reads a job bundle from a directory without trusting it,
// and installs an immutable copy of it under a content digest.
//
// # What a bundle is
//
// A bundle is a directory tree with moat.yaml at its top (see package
// manifest). It may contain only regular files and directories: Load rejects
// any symbolic link (inside or pointing out of the bundle), device, named
// pipe or socket, and never follows a link while reading. Every entry is
// part of the bundle, dotfiles and dot-directories such as .git included, so
// the digest covers exactly what the job can read at /job. Empty
// directories carry no content and are left out. A file with several hard
// links is accepted and read like any other regular file: its bytes are
// copied, so a later change through another link reaches neither the digest
// nor the installed copy.
//
// File modes are normalised: 0555 when the file had any execute bit set,
// otherwise 0444. Owner, group, set-id bits and times are dropped.
// Directories of an installed copy are 0555.
//
// # Digest
//
// The digest is "sha256:" followed by the hex SHA-256 of the canonical file
// list: one line per file, sorted by path (byte order), each
//
//	<mode as 4 octal digits> <size in bytes> <hex SHA-256 of the content> <path>\n
//
// for example "0444 120 9f86d08...0f00a08 lib/util.py\n". Paths are
// slash-separated and relative to the bundle's top, and contain no control
// characters, so each line is unambiguous. Any change to a byte, a mode or
// a name changes the digest.
//
// # Reading and installing
//
// Load reads every file once, through descriptors opened relative to their
// parent directory with O_NOFOLLOW, into memory (at most
// Limits.MaxTotalBytes), and hashes those bytes. Install writes exactly
// those bytes, so nothing can change between hashing and copying.
package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/moatdev/moat/internal/manifest"
)

// Sentinel errors, checked with errors.Is.
var (
	// ErrInvalid is wrapped by every rejection of a bundle's content.
	ErrInvalid = errors.New("invalid bundle")
	// ErrTooLarge is wrapped by rejections for exceeding a Limits value. It
	// wraps ErrInvalid.
	ErrTooLarge = fmt.Errorf("%w: too large", ErrInvalid)
	// ErrInvalidLimits is returned for Limits that are not all positive.
	ErrInvalidLimits = errors.New("invalid bundle limits")
)

// Modes of an installed bundle.
const (
	ModeFile       fs.FileMode = 0o444
	ModeExecutable fs.FileMode = 0o555
	ModeDir        fs.FileMode = 0o555
)

// Limits cap what Load reads from one bundle.
type Limits struct {
	// MaxFiles caps the number of entries, files and directories together.
	MaxFiles int
	// MaxTotalBytes caps the sum of all file sizes.
	MaxTotalBytes int64
	// MaxFileBytes caps the size of each file.
	MaxFileBytes int64
}

// DefaultLimits returns 1000 entries, 64 MiB in total and 16 MiB per file.
func DefaultLimits() Limits {
	return Limits{MaxFiles: 1000, MaxTotalBytes: 64 << 20, MaxFileBytes: 16 << 20}
}

// Validate returns an error wrapping ErrInvalidLimits unless every limit is
// positive. A zero limit is an error rather than "no limit".
func (l Limits) Validate() error {
	if l.MaxFiles <= 0 || l.MaxTotalBytes <= 0 || l.MaxFileBytes <= 0 {
		return fmt.Errorf("%w: max files %d, max total bytes %d and max file bytes %d must all be positive", ErrInvalidLimits, l.MaxFiles, l.MaxTotalBytes, l.MaxFileBytes)
	}
	return nil
}

// File is one regular file of a bundle.
type File struct {
	// Path is slash-separated and relative to the bundle's top.
	Path string
	// Mode is ModeFile or ModeExecutable.
	Mode fs.FileMode
	// Size is the length of the content in bytes.
	Size int64
	// SHA256 is the hex SHA-256 of the content.
	SHA256 string
}

// Bundle is a bundle read by Load.
type Bundle struct {
	Manifest manifest.Manifest
	// ManifestBytes is moat.yaml as read.
	ManifestBytes []byte
	// Files are sorted by Path.
	Files []File
	// Digest is "sha256:<hex>" of the canonical file list.
	Digest string
	// Size is the sum of the file sizes in bytes.
	Size int64
	// Dir is the installed copy's path. Empty until Install succeeds.
	Dir string

	// contents[i] is the content of Files[i], the same bytes that were
	// hashed.
	contents [][]byte
}

// CanonicalList returns the file list the digest is computed over, in the
// format given in the package documentation.
func (b *Bundle) CanonicalList() []byte {
	return canonicalList(b.Files)
}

func canonicalList(files []File) []byte {
	var sb strings.Builder
	for _, f := range files {
		fmt.Fprintf(&sb, "%04o %d %s %s\n", uint32(f.Mode.Perm()), f.Size, f.SHA256, f.Path)
	}
	return []byte(sb.String())
}

func digestOf(files []File) string {
	sum := sha256.Sum256(canonicalList(files))
	return "sha256:" + hex.EncodeToString(sum[:])
}
