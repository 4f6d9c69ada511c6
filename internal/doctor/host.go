package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/moatdev/moat/internal/duck"
)

// pythonPath is the interpreter jobs get: sandboxes mount the host /usr
// read-only, so a Python elsewhere (pyenv, /usr/local) is not visible there.
const pythonPath = "/usr/bin/python3"

// netnsDir is the directory of named network namespace bind mounts, as
// created by `ip netns add`.
const netnsDir = "/var/run/netns"

func checkRoot() Check {
	if uid := os.Geteuid(); uid != 0 {
		return fail("root", fmt.Sprintf("running as uid %d", uid),
			"run moat as root (for example with sudo): the worker creates cgroups, network namespaces and runc containers")
	}
	return ok("root", "running as root")
}

func checkNetnsDir() Check {
	detail, err := checkWritableDir(netnsDir)
	if err != nil {
		return fail("netns-dir", err.Error(),
			fmt.Sprintf("run moat as root and make %s a writable directory (mkdir -p %s)", netnsDir, netnsDir))
	}
	return ok("netns-dir", detail)
}

func checkDataDir(dir string) Check {
	if dir == "" {
		return fail("data-dir", "no data directory is configured", "pass --data-dir DIR or set MOAT_DATA_DIR")
	}

	detail, err := checkWritableDir(dir)
	if err != nil {
		return fail("data-dir", err.Error(),
			fmt.Sprintf("create %s and make it writable by the user that runs moat (mkdir -p %s && chmod 700 %s)", dir, dir, dir))
	}
	return ok("data-dir", detail)
}

// checkWritableDir creates and removes an empty file in dir. A directory
// that does not exist yet counts as writable when its nearest existing
// parent is, because moat creates it on first use.
func checkWritableDir(dir string) (string, error) {
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		parent := nearestExistingParent(dir)
		if err := probeWrite(parent); err != nil {
			return "", fmt.Errorf("%q does not exist and cannot be created: %w", dir, err)
		}
		return fmt.Sprintf("%s does not exist yet; moat creates it (parent %s is writable)", dir, parent), nil
	}
	if err != nil {
		return "", fmt.Errorf("cannot inspect %q: %w", dir, err)
	}
	if !info.IsDir() {
		return "", fmt.Errorf("%q is not a directory", dir)
	}

	if err := probeWrite(dir); err != nil {
		return "", fmt.Errorf("%q is not writable: %w", dir, err)
	}
	return dir + " is writable", nil
}

func nearestExistingParent(dir string) string {
	p := filepath.Clean(dir)
	for {
		parent := filepath.Dir(p)
		if _, err := os.Stat(parent); err == nil || parent == p {
			return parent
		}
		p = parent
	}
}

func probeWrite(dir string) error {
	f, err := os.CreateTemp(dir, ".moat-doctor-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func checkPython(ctx context.Context) Check {
	fix := "apt-get install python3 (jobs use the host's " + pythonPath + " through the read-only /usr mount)"

	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()

	out, err := exec.CommandContext(ctx, pythonPath, "--version").CombinedOutput()
	if err != nil {
		return fail("python3", fmt.Sprintf("%s --version failed: %v", pythonPath, err), fix)
	}
	return ok("python3", fmt.Sprintf("%s is %s", pythonPath, strings.TrimSpace(string(out))))
}

func checkDuckDB(ctx context.Context) Check {
	fix := "rebuild moat with cgo enabled (CGO_ENABLED=1) so the DuckDB library is linked in"

	db, conn, err := duck.OpenMemory(ctx)
	if err != nil {
		return fail("duckdb", err.Error(), fix)
	}
	defer db.Close()
	defer conn.Close()

	var version string
	if err := conn.QueryRowContext(ctx, "select version()").Scan(&version); err != nil {
		return fail("duckdb", "select version() failed: "+err.Error(), fix)
	}
	return ok("duckdb", "DuckDB "+version)
}
