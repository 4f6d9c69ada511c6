package query

import (
	"bytes"
	"database/sql/driver"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// rowEncoder writes result rows as JSON objects, one key per column in
// column order.
//
// Encoding rules (docs/query.md repeats them for job authors):
//   - DECIMAL, HUGEINT, UHUGEINT and BIGNUM become JSON strings holding the
//     exact decimal value ("123456789012345678901234567890123456", "1.50"),
//     because JavaScript and many JSON parsers read every number as a
//     float64, which cannot hold a wei amount exactly.
//   - Integers up to 64 bits become JSON numbers.
//   - NaN and infinite floats become the strings "NaN", "Infinity" and
//     "-Infinity", which JSON numbers cannot express.
//   - TIMESTAMP and TIMESTAMPTZ become RFC 3339 strings in UTC, DATE becomes
//     "2006-01-02" and TIME "15:04:05.999999".
//   - UUID becomes its canonical string, BLOB standard base64.
//   - LIST and ARRAY become arrays, STRUCT an object with sorted keys, MAP an
//     array of {"key": ..., "value": ...} objects, UNION its member's value,
//     INTERVAL {"months", "days", "micros"}.
//   - JSON columns are re-encoded from the driver's decoded value, so numbers
//     inside them are float64; cast such a column to VARCHAR to keep it
//     byte for byte.
type rowEncoder struct {
	// keys are the JSON-encoded column names, made unique with a "_N"
	// suffix so that no key repeats in one object.
	keys []string
	// types are DuckDB's type names of the columns ("DECIMAL(38,0)").
	types []string
	buf   bytes.Buffer
}

func newRowEncoder(names, types []string) *rowEncoder {
	e := &rowEncoder{types: types}

	used := map[string]bool{}
	for _, name := range names {
		unique := name
		for n := 1; used[unique]; n++ {
			unique = name + "_" + strconv.Itoa(n)
		}
		used[unique] = true
		e.keys = append(e.keys, string(marshalString(unique)))
	}
	return e
}

// encode returns the JSON object of one row. The slice is valid until the
// next call.
func (e *rowEncoder) encode(values []driver.Value) ([]byte, error) {
	e.buf.Reset()
	e.buf.WriteByte('{')
	for i, v := range values {
		if i > 0 {
			e.buf.WriteByte(',')
		}
		e.buf.WriteString(e.keys[i])
		e.buf.WriteByte(':')
		if err := appendValue(&e.buf, v, e.types[i]); err != nil {
			return nil, fmt.Errorf("column %s: %w", e.keys[i], err)
		}
	}
	e.buf.WriteByte('}')
	return e.buf.Bytes(), nil
}

// appendValue writes v as JSON. dbType is DuckDB's type name when known and
// "" inside STRUCT and MAP values, where the driver gives no type.
func appendValue(buf *bytes.Buffer, v any, dbType string) error {
	switch x := v.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		buf.WriteString(strconv.FormatBool(x))
	case int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, uint:
		fmt.Fprintf(buf, "%d", x)
	case float32:
		appendFloat(buf, float64(x), 32)
	case float64:
		appendFloat(buf, x, 64)
	case *big.Int:
		appendQuoted(buf, x.String())
	case duckdb.Decimal:
		appendQuoted(buf, formatDecimal(x))
	case string:
		buf.Write(marshalString(x))
	case []byte:
		appendBytes(buf, x, dbType)
	case time.Time:
		appendQuoted(buf, formatTime(x, dbType))
	case duckdb.Interval:
		fmt.Fprintf(buf, `{"months":%d,"days":%d,"micros":%d}`, x.Months, x.Days, x.Micros)
	case duckdb.Union:
		return appendValue(buf, x.Value, "")
	case []any:
		return appendList(buf, x, elementType(dbType))
	case map[string]any:
		return appendStruct(buf, x)
	case duckdb.OrderedMap:
		return appendMap(buf, x)
	default:
		return fmt.Errorf("type %s (Go %T) cannot be encoded as JSON: cast it to VARCHAR in the query", dbType, v)
	}
	return nil
}

func appendFloat(buf *bytes.Buffer, f float64, bits int) {
	switch {
	case math.IsNaN(f):
		buf.WriteString(`"NaN"`)
	case math.IsInf(f, 1):
		buf.WriteString(`"Infinity"`)
	case math.IsInf(f, -1):
		buf.WriteString(`"-Infinity"`)
	default:
		buf.WriteString(strconv.FormatFloat(f, 'g', -1, bits))
	}
}

// formatDecimal writes the exact value with exactly Scale fractional digits,
// so DECIMAL(10,2) 1.5 is "1.50".
func formatDecimal(d duckdb.Decimal) string {
	if d.Value == nil {
		return "0"
	}
	digits := new(big.Int).Abs(d.Value).String()
	sign := ""
	if d.Value.Sign() < 0 {
		sign = "-"
	}
	scale := int(d.Scale)
	if scale == 0 {
		return sign + digits
	}
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	cut := len(digits) - scale
	return sign + digits[:cut] + "." + digits[cut:]
}

func appendBytes(buf *bytes.Buffer, b []byte, dbType string) {
	if dbType == "UUID" && len(b) == 16 {
		h := hex.EncodeToString(b)
		appendQuoted(buf, h[0:8]+"-"+h[8:12]+"-"+h[12:16]+"-"+h[16:20]+"-"+h[20:32])
		return
	}
	appendQuoted(buf, base64.StdEncoding.EncodeToString(b))
}

func formatTime(t time.Time, dbType string) string {
	switch dbType {
	case "DATE":
		return t.UTC().Format("2006-01-02")
	case "TIME":
		return t.Format("15:04:05.999999999")
	case "TIMETZ", "TIME WITH TIME ZONE":
		return t.Format("15:04:05.999999999Z07:00")
	default:
		return t.UTC().Format(time.RFC3339Nano)
	}
}

func appendList(buf *bytes.Buffer, list []any, elemType string) error {
	buf.WriteByte('[')
	for i, item := range list {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := appendValue(buf, item, elemType); err != nil {
			return err
		}
	}
	buf.WriteByte(']')
	return nil
}

func appendStruct(buf *bytes.Buffer, fields map[string]any) error {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)

	buf.WriteByte('{')
	for i, name := range names {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(marshalString(name))
		buf.WriteByte(':')
		if err := appendValue(buf, fields[name], ""); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

func appendMap(buf *bytes.Buffer, m duckdb.OrderedMap) error {
	keys, values := m.Keys(), m.Values()
	buf.WriteByte('[')
	for i := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"key":`)
		if err := appendValue(buf, keys[i], ""); err != nil {
			return err
		}
		buf.WriteString(`,"value":`)
		if err := appendValue(buf, values[i], ""); err != nil {
			return err
		}
		buf.WriteByte('}')
	}
	buf.WriteByte(']')
	return nil
}

// elementType returns the element type of a LIST ("DATE[]") or ARRAY
// ("DATE[3]") type name, or "" when dbType is not one.
func elementType(dbType string) string {
	if !strings.HasSuffix(dbType, "]") {
		return ""
	}
	open := strings.LastIndexByte(dbType, '[')
	if open < 0 {
		return ""
	}
	return dbType[:open]
}

func appendQuoted(buf *bytes.Buffer, s string) {
	buf.WriteByte('"')
	buf.WriteString(s)
	buf.WriteByte('"')
}

// marshalString returns s as a JSON string without HTML escaping, so the
// bytes counted against MaxBytes are the bytes the job receives.
func marshalString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	// json.Encoder.Encode returns errors only for unsupported values and
	// writer failures; a string into a bytes.Buffer has neither.
	_ = enc.Encode(s)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
