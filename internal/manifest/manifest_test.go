package manifest

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const validYAML = `name: large-transfers
kind: alert
runtime: python3
entrypoint: main.py
inputs: [ethereum.transactions, watchlist]
outputs: []
webhooks: [alerts]
resources:
  cpu: "0.5"
  memory: 256Mi
  pids: 64
  tmp: 32Mi
  timeout: 30s
`

// minimalYAML has only the required fields.
const minimalYAML = `name: job-a
kind: transform
runtime: binary
entrypoint: bin/run
`

func TestParseValid(t *testing.T) {
	got, err := Parse([]byte(validYAML), DefaultMaximums())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}

	want := Manifest{
		Name:       "large-transfers",
		Kind:       KindAlert,
		Runtime:    RuntimePython3,
		Entrypoint: "main.py",
		Inputs:     []string{"ethereum.transactions", "watchlist"},
		Outputs:    nil,
		Webhooks:   []string{"alerts"},
		Resources: Resources{
			CPU:         0.5,
			MemoryBytes: 256 << 20,
			Pids:        64,
			TmpBytes:    32 << 20,
			Timeout:     30 * time.Second,
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse = %+v\nwant %+v", got, want)
	}
}

func TestParseDefaults(t *testing.T) {
	got, err := Parse([]byte(minimalYAML), DefaultMaximums())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}

	if got.Resources != DefaultResources() {
		t.Errorf("Resources = %+v, want defaults %+v", got.Resources, DefaultResources())
	}
	if got.Inputs != nil || got.Outputs != nil || got.Webhooks != nil {
		t.Errorf("lists = %v %v %v, want nil", got.Inputs, got.Outputs, got.Webhooks)
	}
}

func TestParseDefaultsLoweredToMaximums(t *testing.T) {
	maximums := Maximums{CPU: 0.25, MemoryBytes: 128 << 20, Pids: 16, TmpBytes: 100 << 20, Timeout: 10 * time.Second}

	got, err := Parse([]byte(minimalYAML), maximums)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}

	want := Resources{CPU: 0.25, MemoryBytes: 128 << 20, Pids: 16, TmpBytes: 32 << 20, Timeout: 10 * time.Second}
	if got.Resources != want {
		t.Errorf("Resources = %+v, want %+v", got.Resources, want)
	}
}

func TestParseOmittedTmpStaysBelowSmallMemory(t *testing.T) {
	got, err := Parse([]byte(minimalYAML+"resources: {memory: 16Mi}\n"), DefaultMaximums())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}

	if got.Resources.TmpBytes != 8<<20 {
		t.Errorf("TmpBytes = %d, want %d (half of memory)", got.Resources.TmpBytes, 8<<20)
	}
}

func TestParseQuantityForms(t *testing.T) {
	got, err := Parse([]byte(minimalYAML+"resources: {cpu: 250m, memory: 1G, pids: 1, tmp: 1048576, timeout: 1m30s}\n"), DefaultMaximums())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}

	want := Resources{CPU: 0.25, MemoryBytes: 1_000_000_000, Pids: 1, TmpBytes: 1 << 20, Timeout: 90 * time.Second}
	if got.Resources != want {
		t.Errorf("Resources = %+v, want %+v", got.Resources, want)
	}
}

func TestParseUnquotedCPU(t *testing.T) {
	got, err := Parse([]byte(minimalYAML+"resources: {cpu: 1.5}\n"), DefaultMaximums())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got.Resources.CPU != 1.5 {
		t.Errorf("CPU = %v, want 1.5", got.Resources.CPU)
	}
}

func TestParseAboveMaximumMessage(t *testing.T) {
	_, err := Parse([]byte(minimalYAML+"resources: {memory: 3Gi}\n"), DefaultMaximums())

	want := `moat.yaml: resources.memory: "3Gi" is above the platform maximum 2Gi: lower it or ask an operator to raise max_memory`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant %s", err, want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(err, ErrInvalid) = false")
	}
}

// problemCase is a manifest and the one problem Parse must report for it.
type problemCase struct {
	name    string
	yaml    string
	field   string
	message string // a part of the expected message
}

func TestParseProblems(t *testing.T) {
	withResources := func(r string) string { return minimalYAML + "resources:\n" + r }

	cases := []problemCase{
		{"missing name", "kind: alert\nruntime: python3\nentrypoint: main.py\n", "name", "is missing"},
		{"missing kind", "name: a\nruntime: python3\nentrypoint: main.py\n", "kind", "is missing: set it to one of alert, enrichment, transform"},
		{"missing runtime", "name: a\nkind: alert\nentrypoint: main.py\n", "runtime", "is missing: set it to one of python3, binary"},
		{"missing entrypoint", "name: a\nkind: alert\nruntime: python3\n", "entrypoint", "is missing"},
		{"null entrypoint", "name: a\nkind: alert\nruntime: python3\nentrypoint:\n", "entrypoint", "is missing"},
		{"bad name", strings.Replace(minimalYAML, "job-a", "Job_A", 1), "name", `job "Job_A": use 1 to 63 lowercase letters`},
		{"bad kind", strings.Replace(minimalYAML, "transform", "cron", 1), "kind", `"cron" is not a kind: use one of alert, enrichment, transform`},
		{"bad runtime", strings.Replace(minimalYAML, "binary", "node", 1), "runtime", `"node" is not a runtime`},
		{"name is a list", strings.Replace(minimalYAML, "job-a", "[a, b]", 1), "name", "must be a single value, not a list or mapping (line 1)"},
		{"absolute entrypoint", strings.Replace(minimalYAML, "bin/run", "/usr/bin/python3", 1), "entrypoint", `"/usr/bin/python3" is an absolute path`},
		{"dotdot entrypoint", strings.Replace(minimalYAML, "bin/run", "../../etc/passwd", 1), "entrypoint", `"../../etc/passwd" contains ".."`},
		{"inner dotdot entrypoint", strings.Replace(minimalYAML, "bin/run", "bin/../run", 1), "entrypoint", `"bin/../run" contains ".."`},
		{"unclean entrypoint", strings.Replace(minimalYAML, "bin/run", "./run", 1), "entrypoint", `"./run" is not a clean file path: write it as "run"`},
		{"dot entrypoint", strings.Replace(minimalYAML, "bin/run", `"."`, 1), "entrypoint", `"." is not a clean file path`},
		{"trailing slash entrypoint", strings.Replace(minimalYAML, "bin/run", "bin/", 1), "entrypoint", `"bin/" is not a clean file path`},
		{"option-like entrypoint", strings.Replace(minimalYAML, "bin/run", "-c", 1), "entrypoint", `"-c" starts with '-'`},
		{"control character entrypoint", strings.Replace(minimalYAML, "bin/run", `"a\nb"`, 1), "entrypoint", "contains a control character"},
		{"bad input", minimalYAML + "inputs: [ok, Bad-Name]\n", "inputs[1]", `dataset "Bad-Name"`},
		{"duplicate input", minimalYAML + "inputs: [a, b, a]\n", "inputs[2]", `"a" is listed twice (also inputs[0]): remove one`},
		{"null input", minimalYAML + "inputs: [a, ~]\n", "inputs[1]", "is empty"},
		{"inputs not a list", minimalYAML + "inputs: watchlist\n", "inputs", "must be a list"},
		{"bad output", minimalYAML + "outputs: [x.y.z]\n", "outputs[0]", `dataset "x.y.z"`},
		{"bad webhook", minimalYAML + "webhooks: [a.b]\n", "webhooks[0]", `webhook "a.b"`},
		{"duplicate webhook", minimalYAML + "webhooks: [a, a]\n", "webhooks[1]", "listed twice"},
		{"unknown field", minimalYAML + "schedule: daily\n", "schedule", "unknown field (line 5): remove it or correct its spelling; the known fields are name, kind"},
		{"unknown resource field", withResources("  disk: 1Gi\n"), "resources.disk", "unknown field (line 6)"},
		{"resources not a mapping", minimalYAML + "resources: big\n", "resources", "must be a mapping with the fields cpu, memory, pids, tmp, timeout"},
		{"document not a mapping", "- a\n- b\n", "", "the document must be a mapping"},
		{"duplicate key", minimalYAML + "name: other\n", "", `key "name" is set twice, on line 1 and on line 5: keep one`},
		{"syntax error", "name: [a\n", "", "invalid YAML: line 1:"},
		{"empty file", "# nothing\n", "", "the file is empty"},
		{"two documents", minimalYAML + "---\n" + minimalYAML, "", "more than one YAML document (a second one starts at line 5)"},
		{"too large", minimalYAML + "#" + strings.Repeat("x", MaxBytes) + "\n", "", "above the limit of 65536"},
		{"zero cpu", withResources("  cpu: 0\n"), "resources.cpu", `"0" is below the minimum 0.01 cores`},
		{"negative cpu", withResources("  cpu: -1\n"), "resources.cpu", `"-1" is not a CPU quota`},
		{"cpu too precise", withResources("  cpu: 0.0005\n"), "resources.cpu", "more than three decimals"},
		{"cpu exponent", withResources("  cpu: 1e3\n"), "resources.cpu", `"1e3" is not a CPU quota`},
		{"cpu above maximum", withResources("  cpu: 3\n"), "resources.cpu", `"3" is above the platform maximum 2: lower it or ask an operator to raise max_cpu`},
		{"zero memory", withResources("  memory: 0\n"), "resources.memory", `"0" is below the minimum 16Mi`},
		{"negative memory", withResources("  memory: -5Mi\n"), "resources.memory", `"-5Mi" is not a byte size`},
		{"fractional memory", withResources("  memory: 1.5Gi\n"), "resources.memory", `"1.5Gi" is not a byte size`},
		{"lowercase unit", withResources("  memory: 256mi\n"), "resources.memory", `"256mi" is not a byte size`},
		{"overflowing memory", withResources("  memory: 99999999999Gi\n"), "resources.memory", "too large"},
		{"zero pids", withResources("  pids: 0\n"), "resources.pids", `"0" is below the minimum 1`},
		{"hex pids", withResources("  pids: 0x40\n"), "resources.pids", `"0x40" is not a whole number`},
		{"pids above maximum", withResources("  pids: 1000\n"), "resources.pids", "raise max_pids"},
		{"zero tmp", withResources("  tmp: 0\n"), "resources.tmp", `"0" is not positive`},
		{"tmp above maximum", withResources("  memory: 2Gi\n  tmp: 1Gi\n"), "resources.tmp", "raise max_tmp"},
		{"tmp not below memory", withResources("  memory: 64Mi\n  tmp: 64Mi\n"), "resources.tmp", "64Mi is not below memory 64Mi"},
		{"tmp above default memory", withResources("  tmp: 300Mi\n"), "resources.tmp", "300Mi is not below memory 256Mi"},
		{"short timeout", withResources("  timeout: 500ms\n"), "resources.timeout", `"500ms" is below the minimum 1s`},
		{"negative timeout", withResources("  timeout: -5s\n"), "resources.timeout", "below the minimum 1s"},
		{"timeout without unit", withResources("  timeout: 30\n"), "resources.timeout", `"30" is not a duration`},
		{"timeout above maximum", withResources("  timeout: 1h\n"), "resources.timeout", `"1h" is above the platform maximum 15m0s: lower it or ask an operator to raise max_timeout`},
		{"resource is a list", withResources("  cpu: [1]\n"), "resources.cpu", "must be a single value"},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), DefaultMaximums())

			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("error = %v, want a *ValidationError", err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false")
			}
			if len(verr.Problems) != 1 {
				t.Fatalf("problems = %q, want exactly one", verr.Problems)
			}
			p := verr.Problems[0]
			if p.Field != tc.field {
				t.Errorf("field = %q, want %q (message %q)", p.Field, tc.field, p.Message)
			}
			if !strings.Contains(p.Message, tc.message) {
				t.Errorf("message = %q, want it to contain %q", p.Message, tc.message)
			}
		})
	}
}

func TestParseCollectsEveryProblem(t *testing.T) {
	doc := "name: BAD\nkind: cron\nruntime: python3\nentrypoint: /x\nextra: 1\nresources: {memory: 3Gi, timeout: 0s}\n"

	_, err := Parse([]byte(doc), DefaultMaximums())

	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error = %v, want a *ValidationError", err)
	}
	var fields []string
	for _, p := range verr.Problems {
		fields = append(fields, p.Field)
	}
	want := []string{"extra", "name", "kind", "entrypoint", "resources.memory", "resources.timeout"}
	if !reflect.DeepEqual(fields, want) {
		t.Errorf("problem fields = %q, want %q", fields, want)
	}
	if lines := strings.Count(err.Error(), "\n") + 1; lines != len(want) {
		t.Errorf("Error() has %d lines, want %d:\n%s", lines, len(want), err)
	}
}

func TestParseRejectsInvalidMaximums(t *testing.T) {
	maximums := DefaultMaximums()
	maximums.TmpBytes = maximums.MemoryBytes

	_, err := Parse([]byte(validYAML), maximums)

	if !errors.Is(err, ErrInvalidMaximums) {
		t.Fatalf("error = %v, want ErrInvalidMaximums", err)
	}
}

func TestParseAliasedValue(t *testing.T) {
	doc := "name: &n job-a\nkind: alert\nruntime: python3\nentrypoint: main.py\nwebhooks: [*n]\n"

	got, err := Parse([]byte(doc), DefaultMaximums())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if !reflect.DeepEqual(got.Webhooks, []string{"job-a"}) {
		t.Errorf("Webhooks = %q, want [job-a]", got.Webhooks)
	}
}
