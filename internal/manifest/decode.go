package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// rawManifest is the YAML document as written. Each value stays a yaml.Node
// so that validation can report its own message for every field, including
// a value of the wrong YAML type.
type rawManifest struct {
	Name       yaml.Node    `yaml:"name"`
	Kind       yaml.Node    `yaml:"kind"`
	Runtime    yaml.Node    `yaml:"runtime"`
	Entrypoint yaml.Node    `yaml:"entrypoint"`
	Inputs     yaml.Node    `yaml:"inputs"`
	Outputs    yaml.Node    `yaml:"outputs"`
	Webhooks   yaml.Node    `yaml:"webhooks"`
	Resources  rawResources `yaml:"resources"`
}

type rawResources struct {
	CPU     yaml.Node `yaml:"cpu"`
	Memory  yaml.Node `yaml:"memory"`
	Pids    yaml.Node `yaml:"pids"`
	Tmp     yaml.Node `yaml:"tmp"`
	Timeout yaml.Node `yaml:"timeout"`
}

const (
	knownFields         = "name, kind, runtime, entrypoint, inputs, outputs, webhooks, resources"
	knownResourceFields = "cpu, memory, pids, tmp, timeout"
)

// Messages of yaml.TypeError that decode turns into problems naming a field.
// They are the texts of go.yaml.in/yaml/v3 v3.0.6; a message that matches
// none of them is still reported, as it is.
var (
	unknownFieldPattern = regexp.MustCompile(`^line (\d+): field (.+) not found in type manifest\.(\w+)$`)
	duplicateKeyPattern = regexp.MustCompile(`^line (\d+): mapping key "(.*)" already defined at line (\d+)$`)
	notMappingPattern   = regexp.MustCompile(`^line (\d+): cannot unmarshal (\S+).* into manifest\.(\w+)$`)
)

// decode reads the single YAML document in data. It returns false when the
// YAML decoder stopped before reading the fields: on a syntax error, an empty
// document, a document that is not a mapping or a duplicate key. Parse then
// reports no field as missing because of it. Other problems,
// such as unknown fields or a second document, are added to ps, and the
// fields that could be read are returned.
func decode(data []byte, ps *problems) (rawManifest, bool) {
	var raw rawManifest

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(&raw)

	var typeErr *yaml.TypeError
	switch {
	case errors.Is(err, io.EOF):
		ps.add("", "the file is empty: add at least name, kind, runtime and entrypoint")
		return raw, false
	case errors.As(err, &typeErr):
		complete := true
		for _, msg := range typeErr.Errors {
			complete = addTypeError(ps, msg) && complete
		}
		if !complete {
			return raw, false
		}
	case err != nil:
		ps.add("", fmt.Sprintf("invalid YAML: %s: fix the syntax there", strings.TrimPrefix(err.Error(), "yaml: ")))
		return raw, false
	}

	// A second document would be ignored silently by a reader that takes
	// the first, so two readers could disagree on what the job declares.
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		where := ""
		if next.Line > 0 {
			where = fmt.Sprintf(" (a second one starts at line %d)", next.Line)
		}
		ps.add("", "the file contains more than one YAML document"+where+": keep only one and remove the '---' separator")
	}
	return raw, true
}

// addTypeError turns one message of yaml.TypeError into a problem that names
// the field where it can. It returns false when the error stopped the
// decoder from reading the remaining fields.
func addTypeError(ps *problems, msg string) bool {
	if m := unknownFieldPattern.FindStringSubmatch(msg); m != nil {
		if m[3] == "rawResources" {
			ps.add("resources."+m[2], fmt.Sprintf("unknown field (line %s): remove it or correct its spelling; resources has %s", m[1], knownResourceFields))
			return true
		}
		ps.add(m[2], fmt.Sprintf("unknown field (line %s): remove it or correct its spelling; the known fields are %s", m[1], knownFields))
		return true
	}

	if m := duplicateKeyPattern.FindStringSubmatch(msg); m != nil {
		ps.add("", fmt.Sprintf("key %q is set twice, on line %s and on line %s: keep one", m[2], m[3], m[1]))
		return false
	}

	if m := notMappingPattern.FindStringSubmatch(msg); m != nil {
		if m[3] == "rawResources" {
			ps.add("resources", fmt.Sprintf("must be a mapping with the fields %s, not %s (line %s)", knownResourceFields, m[2], m[1]))
			return true
		}
		ps.add("", fmt.Sprintf("the document must be a mapping with the fields %s, not %s (line %s)", knownFields, m[2], m[1]))
		return false
	}

	ps.add("", msg)
	return false
}
