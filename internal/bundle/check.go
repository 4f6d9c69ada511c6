package bundle

import (
	"fmt"

	"github.com/moatdev/moat/internal/manifest"
)

// checkManifest parses moat.yaml from the bundle's top and checks that the
// entrypoint it names is a file of the bundle, executable when the runtime
// executes it directly.
func (b *Bundle) checkManifest(maximums manifest.Maximums) error {
	i, ok := b.fileIndex(manifest.FileName)
	if !ok {
		return fmt.Errorf("%w: %s not found at the bundle's top: add it (it declares the job's name, kind, runtime and entrypoint)", ErrInvalid, manifest.FileName)
	}
	b.ManifestBytes = b.contents[i]

	m, err := manifest.Parse(b.ManifestBytes, maximums)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	b.Manifest = m

	j, ok := b.fileIndex(m.Entrypoint)
	if !ok {
		return fmt.Errorf("%w: entrypoint %q named in %s is not a file in the bundle: add the file or correct the entrypoint", ErrInvalid, m.Entrypoint, manifest.FileName)
	}
	if m.Runtime == manifest.RuntimeBinary && b.Files[j].Mode != ModeExecutable {
		return fmt.Errorf("%w: entrypoint %q is not executable, but runtime %q executes it directly: set its execute bit (chmod +x %s)", ErrInvalid, m.Entrypoint, m.Runtime, m.Entrypoint)
	}
	return nil
}

// fileIndex finds a file by its path.
func (b *Bundle) fileIndex(p string) (int, bool) {
	for i, f := range b.Files {
		if f.Path == p {
			return i, true
		}
	}
	return 0, false
}
