package manifest

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

var pidsPattern = regexp.MustCompile(`^[0-9]+$`)

// aboveMaximum is the message for a value above the platform maximum; key is
// the operator's configuration key for that maximum.
func aboveMaximum(text, maximum, key string) string {
	return fmt.Sprintf("%q is above the platform maximum %s: lower it or ask an operator to raise %s", text, maximum, key)
}

// parseResources reads the resources mapping. An omitted field gets its
// default lowered to the maximum. An omitted tmp is also kept at or below
// half of memory, so that it stays below memory.
func parseResources(raw *rawResources, maximums Maximums, ps *problems) Resources {
	def := DefaultResources()

	r := Resources{
		CPU:         parseCPUField(&raw.CPU, min(def.CPU, maximums.CPU), maximums, ps),
		MemoryBytes: parseMemoryField(&raw.Memory, min(def.MemoryBytes, maximums.MemoryBytes), maximums, ps),
		Pids:        parsePidsField(&raw.Pids, min(def.Pids, maximums.Pids), maximums, ps),
		Timeout:     parseTimeoutField(&raw.Timeout, min(def.Timeout, maximums.Timeout), maximums, ps),
	}

	tmpDefault := min(def.TmpBytes, maximums.TmpBytes)
	if r.MemoryBytes > 0 {
		tmpDefault = min(tmpDefault, r.MemoryBytes/2)
	}
	r.TmpBytes = parseTmpField(&raw.Tmp, tmpDefault, maximums, ps)

	// /tmp is a tmpfs whose pages count against the memory limit, so a
	// tmp as large as memory would let /tmp alone OOM-kill the job. Zero
	// means the field already has a problem.
	if r.TmpBytes > 0 && r.MemoryBytes > 0 && r.TmpBytes >= r.MemoryBytes {
		ps.add("resources.tmp", fmt.Sprintf("%s is not below memory %s, and /tmp pages count against the memory limit: lower tmp or raise memory", FormatBytes(r.TmpBytes), FormatBytes(r.MemoryBytes)))
	}
	return r
}

// parseCPUField returns the quota in cores, def when omitted, or 0 after
// adding a problem.
func parseCPUField(n *yaml.Node, def float64, maximums Maximums, ps *problems) float64 {
	const field = "resources.cpu"

	text, present, ok := scalar(field, n, ps)
	if !ok {
		return 0
	}
	if !present {
		return def
	}

	millis, msg := parseMillicores(text)
	cores := float64(millis) / 1000
	switch {
	case msg != "":
		ps.add(field, msg)
	case cores < MinCPU:
		ps.add(field, fmt.Sprintf("%q is below the minimum %s cores (10m): raise it", text, FormatCPU(MinCPU)))
	case cores > maximums.CPU:
		ps.add(field, aboveMaximum(text, FormatCPU(maximums.CPU), "max_cpu"))
	default:
		return cores
	}
	return 0
}

func parseMemoryField(n *yaml.Node, def int64, maximums Maximums, ps *problems) int64 {
	const field = "resources.memory"

	text, present, ok := scalar(field, n, ps)
	if !ok {
		return 0
	}
	if !present {
		return def
	}

	size, msg := parseBytes(text)
	switch {
	case msg != "":
		ps.add(field, msg)
	case size < MinMemoryBytes:
		ps.add(field, fmt.Sprintf("%q is below the minimum %s: raise it", text, FormatBytes(MinMemoryBytes)))
	case size > maximums.MemoryBytes:
		ps.add(field, aboveMaximum(text, FormatBytes(maximums.MemoryBytes), "max_memory"))
	default:
		return size
	}
	return 0
}

func parsePidsField(n *yaml.Node, def int64, maximums Maximums, ps *problems) int64 {
	const field = "resources.pids"

	text, present, ok := scalar(field, n, ps)
	if !ok {
		return 0
	}
	if !present {
		return def
	}

	count, err := strconv.ParseInt(text, 10, 64)
	switch {
	case !pidsPattern.MatchString(text) || err != nil:
		ps.add(field, fmt.Sprintf("%q is not a whole number: give the number of processes and threads, such as 64", text))
	case count < MinPids:
		ps.add(field, fmt.Sprintf("%q is below the minimum %d: raise it", text, MinPids))
	case count > maximums.Pids:
		ps.add(field, aboveMaximum(text, strconv.FormatInt(maximums.Pids, 10), "max_pids"))
	default:
		return count
	}
	return 0
}

func parseTmpField(n *yaml.Node, def int64, maximums Maximums, ps *problems) int64 {
	const field = "resources.tmp"

	text, present, ok := scalar(field, n, ps)
	if !ok {
		return 0
	}
	if !present {
		return def
	}

	size, msg := parseBytes(text)
	switch {
	case msg != "":
		ps.add(field, msg)
	case size <= 0:
		ps.add(field, fmt.Sprintf("%q is not positive: give the size of /tmp, such as 32Mi", text))
	case size > maximums.TmpBytes:
		ps.add(field, aboveMaximum(text, FormatBytes(maximums.TmpBytes), "max_tmp"))
	default:
		return size
	}
	return 0
}

func parseTimeoutField(n *yaml.Node, def time.Duration, maximums Maximums, ps *problems) time.Duration {
	const field = "resources.timeout"

	text, present, ok := scalar(field, n, ps)
	if !ok {
		return 0
	}
	if !present {
		return def
	}

	d, err := time.ParseDuration(text)
	switch {
	case err != nil:
		ps.add(field, fmt.Sprintf("%q is not a duration: use a number with a unit, such as 30s, 5m or 1h30m", text))
	case d < MinTimeout:
		ps.add(field, fmt.Sprintf("%q is below the minimum %s: raise it", text, MinTimeout))
	case d > maximums.Timeout:
		ps.add(field, aboveMaximum(text, maximums.Timeout.String(), "max_timeout"))
	default:
		return d
	}
	return 0
}
