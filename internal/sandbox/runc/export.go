package runc

import (
	"errors"
	"fmt"
	"os"

	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/sandbox"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Prepared is one run's directory prepared exactly as Run prepares it (empty
// read-only rootfs, generated /etc) together with the OCI runtime spec runc
// would get. Other OCI backends (runsc) adjust Spec and write config.json
// into BundleDir themselves.
type Prepared struct {
	// Spec is the rendered runtime spec; the caller may modify it.
	Spec *specs.Spec
	// RunDir is WorkDir/<id>, the run's top directory.
	RunDir string
	// BundleDir is the OCI bundle directory (RunDir/bundle); the rootfs is
	// BundleDir/rootfs.
	BundleDir string
}

// Render validates spec, creates WorkDir/<id> (failing if it exists, so two
// runs never share an id), prepares the rootfs and renders the runtime spec
// with the cgroup cgroupsPath. On error nothing it created remains.
func Render(workDir, cgroupsPath string, spec sandbox.Spec) (*Prepared, error) {
	if err := validateSpec(spec); err != nil {
		return nil, err
	}

	d := newRunDirs(workDir, spec.ID)
	if err := os.Mkdir(d.top, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox %q: create run directory: %w", spec.ID, err)
	}
	p := &Prepared{RunDir: d.top, BundleDir: d.bundle}

	hostDirMounts, err := prepareRootfs(d, spec.UID, spec.GID)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sandbox %q: %w", spec.ID, err), p.Remove())
	}
	if err := createMountPoints(d.rootfs, spec.Mounts); err != nil {
		return nil, errors.Join(fmt.Errorf("sandbox %q: %w", spec.ID, err), p.Remove())
	}
	p.Spec = renderSpec(spec, d, cgroupsPath, hostDirMounts)
	return p, nil
}

// Remove unmounts everything below RunDir, refusing to go on if a mount
// remains, and then deletes RunDir. A missing RunDir is not an error.
func (p *Prepared) Remove() error {
	if err := unmountBelow(p.RunDir); err != nil {
		return err
	}
	return os.RemoveAll(p.RunDir)
}

// RemoveRunDir removes workDir/<id> like Prepared.Remove, for cleanup of a
// run whose Prepared value is lost (a crashed moat). id must be a valid run
// id, so the path never leaves workDir.
func RemoveRunDir(workDir, id string) error {
	if err := ids.ValidateRun(id); err != nil {
		return err
	}
	return (&Prepared{RunDir: newRunDirs(workDir, id).top}).Remove()
}
