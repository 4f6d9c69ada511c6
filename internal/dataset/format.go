package dataset

import (
	"fmt"
	"strings"
)

// Format is a source file format.
type Format string

const (
	FormatCSV     Format = "csv"
	FormatJSONL   Format = "jsonl"
	FormatParquet Format = "parquet"
)

// DetectFormat returns explicit when it is set and valid, and otherwise the
// format implied by the file name: .csv, .csv.gz, .jsonl, .ndjson (also
// gzipped) or .parquet.
func DetectFormat(path string, explicit Format) (Format, error) {
	switch explicit {
	case FormatCSV, FormatJSONL, FormatParquet:
		return explicit, nil
	case "":
	default:
		return "", fmt.Errorf("unknown format %q: use csv, jsonl or parquet", explicit)
	}

	name := strings.TrimSuffix(strings.ToLower(path), ".gz")
	switch {
	case strings.HasSuffix(name, ".csv"):
		return FormatCSV, nil
	case strings.HasSuffix(name, ".jsonl"), strings.HasSuffix(name, ".ndjson"):
		return FormatJSONL, nil
	case strings.HasSuffix(name, ".parquet") && !strings.HasSuffix(strings.ToLower(path), ".gz"):
		return FormatParquet, nil
	}
	return "", fmt.Errorf("cannot tell the format of %q from its name: give the format (csv, jsonl or parquet) explicitly", path)
}
