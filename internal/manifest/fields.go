package manifest

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/moatdev/moat/internal/ids"
)

// maxEntrypointBytes keeps the entrypoint well inside PATH_MAX (4096) once
// it is joined to the bundle's directory.
const maxEntrypointBytes = 1024

func parseName(n *yaml.Node, ps *problems) string {
	text, present, ok := scalar("name", n, ps)
	switch {
	case !ok:
		return ""
	case !present:
		ps.add("name", `is missing: add the job's name, such as "name: large-transfers"`)
		return ""
	}

	if err := ids.ValidateName("job", text); err != nil {
		ps.add("name", idsMessage(err))
		return ""
	}
	return text
}

// parseEnum reads a required field whose value is one of allowed.
func parseEnum(field string, n *yaml.Node, allowed []string, ps *problems) string {
	choices := strings.Join(allowed, ", ")

	text, present, ok := scalar(field, n, ps)
	switch {
	case !ok:
		return ""
	case !present:
		ps.add(field, "is missing: set it to one of "+choices)
		return ""
	case !slices.Contains(allowed, text):
		ps.add(field, fmt.Sprintf("%q is not a %s: use one of %s", text, field, choices))
		return ""
	}
	return text
}

func parseEntrypoint(n *yaml.Node, ps *problems) string {
	text, present, ok := scalar("entrypoint", n, ps)
	switch {
	case !ok:
		return ""
	case !present || text == "":
		ps.add("entrypoint", `is missing: set it to the program's path inside the bundle, such as "entrypoint: main.py"`)
		return ""
	}

	if msg := entrypointProblem(text); msg != "" {
		ps.add("entrypoint", msg)
		return ""
	}
	return text
}

// entrypointProblem returns what is wrong with a non-empty entrypoint path,
// or "" when it is a clean relative path that stays inside the bundle.
func entrypointProblem(p string) string {
	switch {
	case len(p) > maxEntrypointBytes:
		return fmt.Sprintf("is %d bytes long, above the limit of %d: use a shorter path", len(p), maxEntrypointBytes)
	case !utf8.ValidString(p) || strings.ContainsFunc(p, unicode.IsControl):
		return fmt.Sprintf("%q contains a control character or invalid UTF-8: rename the file", p)
	case strings.HasPrefix(p, "/"):
		return fmt.Sprintf("%q is an absolute path: give the path relative to the bundle's top directory, such as \"main.py\"", p)
	case slices.Contains(strings.Split(p, "/"), ".."):
		return fmt.Sprintf("%q contains \"..\": the entrypoint must be a file inside the bundle", p)
	case p == "." || path.Clean(p) != p || slices.Contains(strings.Split(p, "/"), "."):
		return fmt.Sprintf("%q is not a clean file path: write it as %q, without \".\" parts, repeated or trailing slashes", p, path.Clean(p))
	case strings.HasPrefix(p, "-"):
		// A runtime given "-c" or "-m" as its script would read it as an
		// option instead of a file.
		return fmt.Sprintf("%q starts with '-', which a runtime would read as an option: rename the file", p)
	}
	return ""
}

// parseList reads an optional list of names, checking each with validate
// and rejecting duplicates. Problems name the item, such as "inputs[1]".
func parseList(field string, n *yaml.Node, validate func(string) string, ps *problems) []string {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}

	switch {
	case n.Kind == 0, n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return nil
	case n.Kind != yaml.SequenceNode:
		ps.add(field, fmt.Sprintf("must be a list such as [a, b] (line %d)", n.Line))
		return nil
	}

	var values []string
	firstIndex := map[string]int{}
	for i, item := range n.Content {
		itemField := fmt.Sprintf("%s[%d]", field, i)

		text, present, ok := scalar(itemField, item, ps)
		switch {
		case !ok:
			continue
		case !present:
			ps.add(itemField, "is empty: remove it or give a name")
			continue
		}

		if msg := validate(text); msg != "" {
			ps.add(itemField, msg)
			continue
		}
		if first, seen := firstIndex[text]; seen {
			ps.add(itemField, fmt.Sprintf("%q is listed twice (also %s[%d]): remove one", text, field, first))
			continue
		}

		firstIndex[text] = i
		values = append(values, text)
	}
	return values
}

func validateDataset(name string) string {
	if err := ids.ValidateDataset(name); err != nil {
		return idsMessage(err)
	}
	return ""
}

func validateWebhook(name string) string {
	if err := ids.ValidateName("webhook", name); err != nil {
		return idsMessage(err)
	}
	return ""
}

// idsMessage drops the "invalid identifier: " prefix of an ids error, which
// the field path already implies.
func idsMessage(err error) string {
	return strings.TrimPrefix(err.Error(), ids.ErrInvalid.Error()+": ")
}
