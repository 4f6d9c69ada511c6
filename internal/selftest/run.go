package selftest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Options configure one run of the suite.
type Options struct {
	// Runtime names the sandbox backend: "runc" (the default when empty)
	// or "runsc".
	Runtime string
	// RuncPath is the runc binary; empty lets the backend choose.
	RuncPath string
	// StateDir is the directory in which the suite creates its temporary
	// state directory (runc state, sandbox work directories); it should be
	// on a tmpfs. Empty means moat's default, /run/moat.
	StateDir string
	// TempDir is the parent of the temporary data directory; empty means
	// os.TempDir().
	TempDir string
	// QueryCommand starts the query engine process; empty means this
	// binary's hidden engine subcommand.
	QueryCommand []string
	// Log receives moat's own log lines; nil discards them.
	Log *slog.Logger
	// Only restricts the run to the named attacks; empty runs them all.
	Only []string
	// Progress, when set, is called with each result as it is decided.
	Progress func(Result)
}

// attackTimeout bounds one attack's run. The longest attack (the CPU
// spinner) needs about 4 s.
const attackTimeout = 2 * time.Minute

// maxOutput caps the part of a run's log the suite reads. The worker caps
// the log at 1 MiB by default; this only protects the suite from a worker
// without a cap.
const maxOutput = 4 << 20

// Run builds a private moat on temporary directories, runs every attack of
// Suite(opts.Runtime) through it, one after the other, and removes the
// directories. It returns an error only when the suite could not run at
// all, for example because the runtime is not available. A failing attack
// is a Result with Pass false.
func Run(ctx context.Context, opts Options) (report Report, err error) {
	runtime := opts.Runtime
	if runtime == "" {
		runtime = "runc"
	}
	attacks, err := selectAttacks(Suite(runtime), opts.Only)
	if err != nil {
		return Report{}, err
	}

	env, err := setup(ctx, opts)
	if err != nil {
		return Report{}, err
	}
	defer func() {
		if cerr := env.close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("clean up the suite's directories: %w", cerr))
		}
	}()

	report = Report{Runtime: env.runner.RuntimeName()}
	for _, a := range attacks {
		// An interrupted suite stops instead of failing every remaining
		// attack.
		if err := context.Cause(ctx); err != nil {
			return report, fmt.Errorf("selftest interrupted after %d of %d attacks: %w", len(report.Results), len(attacks), err)
		}
		res := env.runAttack(ctx, a)
		report.Results = append(report.Results, res)
		if opts.Progress != nil {
			opts.Progress(res)
		}
	}
	return report, nil
}

// selectAttacks returns the attacks named in only, in the order given, or
// all of them when only is empty.
func selectAttacks(all []Attack, only []string) ([]Attack, error) {
	if len(only) == 0 {
		return all, nil
	}
	var picked []Attack
	for _, name := range only {
		i := slices.IndexFunc(all, func(a Attack) bool { return a.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("unknown attack %q: use one of %s", name, strings.Join(attackNames(all), ", "))
		}
		picked = append(picked, all[i])
	}
	return picked, nil
}

func attackNames(attacks []Attack) []string {
	names := make([]string, len(attacks))
	for i, a := range attacks {
		names[i] = a.Name
	}
	return names
}

// runAttack runs one attack and judges its outcome.
func (e *environment) runAttack(ctx context.Context, a Attack) Result {
	res := Result{Attack: a.Name, Goal: a.Goal, Expected: describeExpected(a.Expect)}

	dir, err := e.writeBundle(a)
	if err != nil {
		return res.fail(fmt.Sprintf("write the bundle: %v", err))
	}

	ctx, cancel := context.WithTimeout(ctx, attackTimeout)
	defer cancel()
	start := time.Now()
	res.RSSBeforeBytes = resetPeakRSS()

	// No live copy of the output: the suite reads the run's log file
	// afterwards, so the memory measured during the run is moat's alone.
	run, err := e.runner.Run(ctx, dir, suiteOrg, suiteActor, nil)

	res.RSSPeakBytes = statusBytes("VmHWM:")
	res.Duration = time.Since(start)
	res.RunID = run.ID
	if err != nil {
		return res.fail(fmt.Sprintf("the run did not execute: %v", err))
	}

	events, err := e.store.ListAudit(context.WithoutCancel(ctx), storeFilter(run.ID))
	if err != nil {
		return res.fail(fmt.Sprintf("read the run's audit events: %v", err))
	}
	output, err := readLog(run.LogPath)
	if err != nil {
		return res.fail(err.Error())
	}
	obs := Observation{Run: run, Output: output, Events: events, env: e}
	obs.Results, obs.Details = parseOutput(obs.Output)

	res.Observed = describeObserved(obs)
	res.Details = obs.Details
	res.Failures = evaluate(a.Expect, obs)
	res.Failures = append(res.Failures, leftovers(e.cfg.StateDir, run.ID)...)
	res.Pass = len(res.Failures) == 0
	return res
}

// parseOutput collects the RESULT and DETAIL lines of a job's output. A
// RESULT name printed twice keeps its first value, and its name is added
// to the duplicateKey entry, which checkResults reports.
func parseOutput(out string) (map[string]string, []string) {
	results := map[string]string{}
	var details []string
	scanner := bufio.NewScanner(strings.NewReader(out))
	scanner.Buffer(make([]byte, 64<<10), 2<<20)
	for scanner.Scan() {
		line := scanner.Text()
		if text, ok := strings.CutPrefix(line, "DETAIL "); ok {
			details = append(details, text)
			continue
		}
		rest, ok := strings.CutPrefix(line, "RESULT ")
		if !ok {
			continue
		}
		name, value, _ := strings.Cut(rest, " ")
		if _, seen := results[name]; seen {
			results[duplicateKey] += name + " "
			continue
		}
		results[name] = value
	}
	return results, details
}

// duplicateKey collects RESULT names printed more than once. No job of the
// suite prints a name with '#', so it cannot collide with one.
const duplicateKey = "#dup"

// resetPeakRSS returns freed heap memory to the kernel, resets the
// process's peak resident set size (VmHWM) to the current one, and returns
// the current one (VmRSS). The peak is then the high-water mark of
// whatever runs next. It returns 0 when the kernel does not allow the
// reset.
func resetPeakRSS() int64 {
	debug.FreeOSMemory()
	// Writing 5 to clear_refs resets VmHWM (Linux 4.0 and later).
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return 0
	}
	return statusBytes("VmRSS:")
}

// statusBytes returns a size field of /proc/self/status, such as VmRSS or
// VmHWM, in bytes, or 0 when it cannot be read.
func statusBytes(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		rest, ok := strings.CutPrefix(line, field)
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// readLog returns the first maxOutput bytes of a run's log file.
func readLog(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read the run's log: %w", err)
	}
	defer f.Close()

	data, err := io.ReadAll(io.LimitReader(f, maxOutput))
	if err != nil {
		return "", fmt.Errorf("read the run's log %q: %w", path, err)
	}
	return string(data), nil
}
