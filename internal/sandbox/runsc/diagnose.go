package runsc

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
)

// maxDiagnosis bounds the runsc message quoted in an error.
const maxDiagnosis = 2048

// runscError returns the last error-level message of runsc's JSON log, or
// "" when there is none. runsc logs one when it fails to create, start or
// wait for the sandbox ("running container: starting container: ..."); a
// job that merely exits non-zero produces none.
func runscError(logFile string) string {
	f, err := os.Open(logFile)
	if err != nil {
		return ""
	}
	defer f.Close()

	var last string
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	for scanner.Scan() {
		var entry struct {
			Msg   string `json:"msg"`
			Level string `json:"level"`
		}
		if json.Unmarshal(scanner.Bytes(), &entry) != nil {
			continue
		}
		if entry.Level == "error" || entry.Level == "fatal" {
			last = entry.Msg
		}
	}
	return truncate(last)
}

// panicText returns the start of the panic log of a sentry or gofer that
// crashed, or "" when it is empty or missing.
func panicText(panicLog string) string {
	b, err := os.ReadFile(panicLog)
	if err != nil {
		return ""
	}
	return truncate(strings.TrimSpace(string(b)))
}

func truncate(s string) string {
	if len(s) > maxDiagnosis {
		return s[:maxDiagnosis] + "..."
	}
	return s
}
