// Package manifest parses and validates moat.yaml, the manifest at the top
// of every job bundle.
//
// Validation is strict because the manifest comes from an untrusted job
// author: unknown fields, a second YAML document, duplicate keys, values of
// the wrong type and resources above the platform maximums are all errors.
// Parse reports every problem at once, each naming the field and the fix.
//
// A manifest looks like this:
//
//	name: large-transfers          # job name (see package ids)
//	kind: alert                    # alert | enrichment | transform
//	runtime: python3               # python3 | binary
//	entrypoint: main.py            # path of the program inside the bundle
//	inputs: [ethereum.transactions, watchlist]
//	outputs: []
//	webhooks: [alerts]
//	resources:                     # each field optional, see DefaultResources
//	  cpu: "0.5"                   # cores, or millicores such as 250m
//	  memory: 256Mi                # bytes; units Ki Mi Gi, or K M G (powers of 1000)
//	  pids: 64
//	  tmp: 32Mi                    # size of /tmp, below memory
//	  timeout: 30s                 # Go duration, at least 1s
package manifest

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// MaxBytes is the largest manifest Parse reads. Real manifests are well
// under 1 KiB, and the cap bounds the work a hostile YAML document can cause.
const MaxBytes = 64 << 10

// Kind is the job type, which decides what the job does with its results.
type Kind string

const (
	KindAlert      Kind = "alert"
	KindEnrichment Kind = "enrichment"
	KindTransform  Kind = "transform"
)

// Runtime is the program the worker starts the entrypoint with.
type Runtime string

const (
	// RuntimePython3 runs the entrypoint with the host's /usr/bin/python3.
	RuntimePython3 Runtime = "python3"
	// RuntimeBinary executes the entrypoint itself, which must therefore
	// have an execute bit set in the bundle.
	RuntimeBinary Runtime = "binary"
)

// Manifest is a validated moat.yaml.
type Manifest struct {
	Name    string
	Kind    Kind
	Runtime Runtime
	// Entrypoint is a clean, relative, slash-separated path inside the
	// bundle. It never starts with '/' or '-' and never contains "..".
	Entrypoint string
	// Inputs are the datasets the job reads. Nil when none are declared.
	Inputs []string
	// Outputs are the datasets the job writes. They are recorded but not
	// yet enforced. Nil when none are declared.
	Outputs []string
	// Webhooks are the names of the webhook destinations the job may send
	// to. Nil when none are declared.
	Webhooks []string
	// Resources are complete: omitted fields hold their defaults.
	Resources Resources
}

// Parse decodes and validates a moat.yaml. Resources the manifest omits get
// DefaultResources, each lowered to its maximum where the maximum is
// smaller. A manifest that requests more than a maximum is rejected.
//
// It returns a *ValidationError, which wraps ErrInvalid, listing every
// problem found. It returns an error wrapping ErrInvalidMaximums, without
// looking at data, when the maximums themselves are invalid.
func Parse(data []byte, maximums Maximums) (Manifest, error) {
	if err := maximums.Validate(); err != nil {
		return Manifest{}, err
	}

	var ps problems
	if len(data) > MaxBytes {
		ps.add("", fmt.Sprintf("the file is %d bytes, above the limit of %d: shorten it", len(data), MaxBytes))
		return Manifest{}, ps.err()
	}

	raw, ok := decode(data, &ps)
	if !ok {
		return Manifest{}, ps.err()
	}

	m := Manifest{
		Name:       parseName(&raw.Name, &ps),
		Kind:       Kind(parseEnum("kind", &raw.Kind, []string{"alert", "enrichment", "transform"}, &ps)),
		Runtime:    Runtime(parseEnum("runtime", &raw.Runtime, []string{"python3", "binary"}, &ps)),
		Entrypoint: parseEntrypoint(&raw.Entrypoint, &ps),
		Inputs:     parseList("inputs", &raw.Inputs, validateDataset, &ps),
		Outputs:    parseList("outputs", &raw.Outputs, validateDataset, &ps),
		Webhooks:   parseList("webhooks", &raw.Webhooks, validateWebhook, &ps),
		Resources:  parseResources(&raw.Resources, maximums, &ps),
	}

	if err := ps.err(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// scalar returns the text of a scalar value. present is false when the field
// is absent or null, and ok is false (with a problem added) when the value is
// a list or a mapping.
func scalar(field string, n *yaml.Node, ps *problems) (text string, present, ok bool) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}

	switch {
	case n.Kind == 0, n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return "", false, true
	case n.Kind != yaml.ScalarNode:
		ps.add(field, fmt.Sprintf("must be a single value, not a list or mapping (line %d)", n.Line))
		return "", true, false
	}
	return n.Value, true, true
}
