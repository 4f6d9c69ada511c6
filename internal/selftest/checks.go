package selftest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// runIDPlaceholder in Expect.Results stands for the run's own id, which is
// known only once the run exists.
const runIDPlaceholder = "<run id>"

// truncationMarker starts the line the worker writes when it truncates a
// run's log.
const truncationMarker = "[moat: log truncated at "

func checkPidsHits(o Observation) []string {
	if o.Run.PidsHits < 1 {
		return []string{fmt.Sprintf("pids-limit hits = %d, want at least 1", o.Run.PidsHits)}
	}
	return nil
}

// checkLimitKilled asserts that the sandbox was ended by its memory or its
// pids limit, whichever the runtime hit first.
func checkLimitKilled(o Observation) []string {
	if o.Run.OOMKills < 1 && o.Run.PidsHits < 1 {
		return []string{fmt.Sprintf("OOM kills = %d and pids-limit hits = %d, want at least one of either", o.Run.OOMKills, o.Run.PidsHits)}
	}
	return nil
}

func checkOOMKills(o Observation) []string {
	if o.Run.OOMKills < 1 {
		return []string{fmt.Sprintf("OOM kills = %d, want at least 1", o.Run.OOMKills)}
	}
	return nil
}

// checkCPUQuota asserts that the run used more than half a CPU-second (the
// spinners ran) and at most the quota over its wall time, with 30 % and
// 0.2 s of slack for accounting granularity and the interpreter's start.
func checkCPUQuota(quota float64) func(Observation) []string {
	return func(o Observation) []string {
		wall := float64(o.Run.WallMillis) / 1000
		limit := quota*wall*1.3 + 0.2
		var failures []string
		if o.Run.CPUSeconds <= 0.5 {
			failures = append(failures, fmt.Sprintf("cpu = %.3f s, want more than 0.5 s: the spinners did not run", o.Run.CPUSeconds))
		}
		if o.Run.CPUSeconds > limit {
			failures = append(failures, fmt.Sprintf("cpu = %.3f s over %.3f s of wall time, want at most %.3f s for a quota of %.2f CPU",
				o.Run.CPUSeconds, wall, limit, quota))
		}
		return failures
	}
}

func checkListenerUntouched(o Observation) []string {
	if n := o.env.accepted.Load(); n != 0 {
		return []string{fmt.Sprintf("the host listener on 127.0.0.1:%d accepted %d connections, want 0", o.env.target.HostPort, n)}
	}
	return nil
}

// checkLogTruncated asserts that the run's log kept exactly the cap of the
// job's 50 MiB, followed by the truncation marker, and that the run record
// and its run.finished event record the truncation.
func checkLogTruncated(o Observation) []string {
	var failures []string
	limit := o.env.cfg.LogMaxBytes

	if !o.Run.LogTruncated {
		failures = append(failures, "the run record has log_truncated false, want true")
	}
	if o.Run.LogBytes != limit {
		failures = append(failures, fmt.Sprintf("the run record has log_bytes %d, want the cap %d", o.Run.LogBytes, limit))
	}

	data, err := os.ReadFile(o.Run.LogPath)
	if err != nil {
		return append(failures, fmt.Sprintf("read the run's log: %v", err))
	}
	head, tail, found := bytes.Cut(data, []byte("\n"+truncationMarker))
	switch {
	case !found:
		failures = append(failures, fmt.Sprintf("the log (%d bytes) has no truncation marker %q", len(data), truncationMarker))
	case int64(len(head)) != limit:
		failures = append(failures, fmt.Sprintf("the log keeps %d bytes before the marker, want the cap %d", len(head), limit))
	case bytes.Count(tail, []byte("\n")) != 1:
		failures = append(failures, "the log continues after the truncation marker")
	}

	if finished, ok := finishedEvent(o.Events); ok && finished.Details["log_truncated"] != true {
		failures = append(failures, fmt.Sprintf("run.finished has log_truncated %v, want true", finished.Details["log_truncated"]))
	}
	return failures
}

// checkNoMarkerProcess asserts that no host process runs one of the
// timeout job's marker sleeps.
func checkNoMarkerProcess(o Observation) []string {
	var failures []string
	for _, marker := range o.env.target.Markers {
		if pid := findProcess(strconv.Itoa(marker)); pid != "" {
			failures = append(failures, fmt.Sprintf("host process %s (sleep %d) survived the timeout", pid, marker))
		}
	}
	return failures
}

// findProcess returns the pid of a host process whose command line
// contains marker as a whole argument, or "".
func findProcess(marker string) string {
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, arg := range strings.Split(string(data), "\x00") {
			if arg == marker {
				return filepath.Base(filepath.Dir(p))
			}
		}
	}
	return ""
}
