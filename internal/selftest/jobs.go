package selftest

import (
	"embed"
	"fmt"
)

// jobSources are the hostile jobs' Python files; attack.py holds the
// helpers every job imports.
//
//go:embed jobs/*.py
var jobSources embed.FS

// resources are the limits an attack's manifest requests.
type resources struct {
	cpu     string
	memory  string
	pids    int
	tmp     string
	timeout string
}

// defaultResources fit every attack that is not about a limit: small
// enough to keep the suite fast, large enough for Python and the gateway
// client.
var defaultResources = resources{cpu: "1", memory: "128Mi", pids: 32, tmp: "8Mi", timeout: "30s"}

// manifestOptions are the parts of moat.yaml an attack may set besides its
// resources.
type manifestOptions struct {
	inputs   string // YAML flow list, e.g. "[watchlist]"
	webhooks string
}

// pythonJob returns the bundle of a python3 job whose entrypoint is
// jobs/<script>.py, with the shared helpers beside it.
func pythonJob(name, script string, r resources, opts manifestOptions) map[string]string {
	inputs, webhooks := opts.inputs, opts.webhooks
	if inputs == "" {
		inputs = "[]"
	}
	if webhooks == "" {
		webhooks = "[]"
	}

	// The job name must be a valid job identifier: a-z 0-9 - _.
	manifest := fmt.Sprintf(`name: selftest-%s
kind: transform
runtime: python3
entrypoint: main.py
inputs: %s
webhooks: %s
resources:
  cpu: %q
  memory: %s
  pids: %d
  tmp: %s
  timeout: %s
`, name, inputs, webhooks, r.cpu, r.memory, r.pids, r.tmp, r.timeout)

	return map[string]string{
		"moat.yaml": manifest,
		"main.py":   source(script),
		"attack.py": source("attack"),
	}
}

// source returns an embedded job file. The files are part of the binary,
// so a missing one is a build defect.
func source(script string) string {
	data, err := jobSources.ReadFile("jobs/" + script + ".py")
	if err != nil {
		panic(fmt.Sprintf("selftest job %q is not embedded: %v", script, err))
	}
	return string(data)
}
