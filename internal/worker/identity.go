package worker

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Identity returns this process's worker identity, "host/pid/start-ticks".
// The start time (field 22 of /proc/PID/stat, in clock ticks since boot)
// tells a live worker from a later process that reused its pid.
func Identity() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	pid := os.Getpid()
	return fmt.Sprintf("%s/%d/%d", host, pid, processStart(pid))
}

// workerState is the state of the process a worker identity names.
type workerState int

const (
	workerAlive   workerState = iota // the process still runs
	workerGone                       // a process of this host that no longer runs
	workerUnknown                    // another host, or an identity moat cannot read
)

// stateOf checks a worker identity against this host's processes. Runs of
// other hosts are never judged lost here: only their own host can tell.
func stateOf(identity string) workerState {
	parts := strings.Split(identity, "/")
	if len(parts) != 3 {
		return workerUnknown
	}
	host, err := os.Hostname()
	if err != nil || parts[0] != host {
		return workerUnknown
	}
	pid, err1 := strconv.Atoi(parts[1])
	start, err2 := strconv.ParseUint(parts[2], 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 {
		return workerUnknown
	}

	if processStart(pid) != start {
		return workerGone
	}
	return workerAlive
}

// processStart returns the start time of pid in clock ticks since boot, or
// 0 if the process does not exist or has exited. An exited process that its
// parent has not reaped yet (a zombie) no longer runs anything, so it
// counts as gone.
func processStart(pid int) uint64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may contain spaces and parentheses, so
	// the fields are counted from the last ')'.
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return 0
	}
	fields := strings.Fields(string(data[end+1:]))
	// fields[0] is field 3 (state); the start time is field 22.
	if len(fields) < 20 {
		return 0
	}
	if state := fields[0]; state == "Z" || state == "X" || state == "x" {
		return 0
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0
	}
	return start
}

// describeWorker renders a worker identity for messages: "moat process
// 27855 on host vm (started at tick 515454)".
func describeWorker(identity string) string {
	parts := strings.Split(identity, "/")
	if len(parts) != 3 {
		return fmt.Sprintf("moat process %q", identity)
	}
	return fmt.Sprintf("moat process %s on host %s (started at tick %s)", parts[1], parts[0], parts[2])
}
