package dataset

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/moatdev/moat/internal/store"
)

// columnName is the grammar of a schema column name. Names go into SQL as
// quoted identifiers; the grammar keeps them easy to type in queries.
var columnName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// simpleTypes are the DuckDB types a schema may use, besides DECIMAL(p,s).
// Every type reaches SQL text, so only these exact spellings pass.
var simpleTypes = map[string]bool{
	"VARCHAR": true, "BOOLEAN": true,
	"TINYINT": true, "SMALLINT": true, "INTEGER": true, "BIGINT": true, "HUGEINT": true,
	"UTINYINT": true, "USMALLINT": true, "UINTEGER": true, "UBIGINT": true, "UHUGEINT": true,
	"FLOAT": true, "DOUBLE": true,
	"DATE": true, "TIMESTAMP": true, "TIMESTAMPTZ": true,
}

// typeAliases maps common spellings to DuckDB's canonical type names.
var typeAliases = map[string]string{
	"TEXT": "VARCHAR", "STRING": "VARCHAR", "BOOL": "BOOLEAN",
	"INT": "INTEGER", "INT4": "INTEGER", "INT8": "BIGINT", "LONG": "BIGINT",
	"REAL": "FLOAT", "FLOAT4": "FLOAT", "FLOAT8": "DOUBLE",
	"TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
}

var decimalType = regexp.MustCompile(`^(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$`)

// ParseSchema parses a column list such as
// "hash VARCHAR, value DECIMAL(38,0), block_number BIGINT". Types are
// case-insensitive and returned in DuckDB's canonical spelling.
func ParseSchema(s string) ([]store.Column, error) {
	var columns []store.Column
	seen := map[string]bool{}
	for _, entry := range splitTopLevel(s) {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return nil, fmt.Errorf("invalid schema %q: empty column entry; write \"name TYPE, name TYPE\"", s)
		}
		name, typ, ok := strings.Cut(entry, " ")
		if !ok {
			return nil, fmt.Errorf("invalid schema entry %q: missing type; write \"%s VARCHAR\" or another DuckDB type", entry, entry)
		}
		column, err := NewColumn(name, typ)
		if err != nil {
			return nil, err
		}
		if seen[column.Name] {
			return nil, fmt.Errorf("invalid schema %q: column %q is listed twice", s, column.Name)
		}
		seen[column.Name] = true
		columns = append(columns, column)
	}
	if len(columns) == 0 {
		return nil, fmt.Errorf("invalid schema: no columns; write \"name TYPE, name TYPE\"")
	}
	return columns, nil
}

// NewColumn validates one column and returns it with the canonical type.
func NewColumn(name, typ string) (store.Column, error) {
	if !columnName.MatchString(name) {
		return store.Column{}, fmt.Errorf("invalid column name %q: use letters, digits and '_', starting with a letter or '_', at most 63 characters", name)
	}
	canonical, err := canonicalType(typ)
	if err != nil {
		return store.Column{}, fmt.Errorf("invalid type for column %q: %w", name, err)
	}
	return store.Column{Name: name, Type: canonical}, nil
}

func canonicalType(typ string) (string, error) {
	upper := strings.Join(strings.Fields(strings.ToUpper(typ)), " ")
	if alias, ok := typeAliases[upper]; ok {
		upper = alias
	}
	if simpleTypes[upper] {
		return upper, nil
	}

	m := decimalType.FindStringSubmatch(upper)
	if m == nil {
		return "", fmt.Errorf("%q is not supported: use VARCHAR, BOOLEAN, an integer type (TINYINT to HUGEINT, UTINYINT to UHUGEINT), FLOAT, DOUBLE, DECIMAL(p,s), DATE, TIMESTAMP or TIMESTAMPTZ", typ)
	}
	precision, _ := strconv.Atoi(m[1])
	scale, _ := strconv.Atoi(m[2])
	if precision < 1 || precision > 38 || scale > precision {
		return "", fmt.Errorf("%q is not a valid DECIMAL: precision must be 1 to 38 and scale at most the precision; use VARCHAR for integers beyond 38 digits such as uint256", typ)
	}
	return fmt.Sprintf("DECIMAL(%d,%d)", precision, scale), nil
}

// splitTopLevel splits s at commas outside parentheses, so DECIMAL(38,0)
// stays whole.
func splitTopLevel(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

// FormatSchema returns columns in the syntax ParseSchema reads.
func FormatSchema(columns []store.Column) string {
	parts := make([]string, len(columns))
	for i, c := range columns {
		parts[i] = c.Name + " " + c.Type
	}
	return strings.Join(parts, ", ")
}

// decimalParts returns the precision and scale of a canonical DECIMAL type.
func decimalParts(typ string) (precision, scale int, ok bool) {
	m := decimalType.FindStringSubmatch(typ)
	if m == nil {
		return 0, 0, false
	}
	precision, _ = strconv.Atoi(m[1])
	scale, _ = strconv.Atoi(m[2])
	return precision, scale, true
}

func isIntegerType(typ string) bool {
	switch typ {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
		"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT":
		return true
	}
	return false
}
