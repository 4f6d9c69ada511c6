package query

import (
	"encoding/json"
	"math/big"
	"testing"
)

func TestEncodeTypes(t *testing.T) {
	e := openTestEngine(t, newFixture(t).config())

	cases := []struct {
		sql  string
		want string
	}{
		{"SELECT 123456789012345678901234567890123456::DECIMAL(38,0) AS v", `{"v":"123456789012345678901234567890123456"}`},
		{"SELECT -99999999999999999999999999999999999999::DECIMAL(38,0) AS v", `{"v":"-99999999999999999999999999999999999999"}`},
		{"SELECT 1.5::DECIMAL(10,2) AS a, -0.05::DECIMAL(10,2) AS b, 0::DECIMAL(10,3) AS c", `{"a":"1.50","b":"-0.05","c":"0.000"}`},
		{"SELECT 170141183460469231731687303715884105727::HUGEINT AS h, 340282366920938463463374607431768211455::UHUGEINT AS u", `{"h":"170141183460469231731687303715884105727","u":"340282366920938463463374607431768211455"}`},
		{"SELECT 9223372036854775807::BIGINT AS b, 18446744073709551615::UBIGINT AS u, -1::TINYINT AS t", `{"b":9223372036854775807,"u":18446744073709551615,"t":-1}`},
		{"SELECT 1.5::DOUBLE AS d, 0.1::FLOAT AS f, 'nan'::DOUBLE AS n, 'inf'::DOUBLE AS i, '-inf'::FLOAT AS m", `{"d":1.5,"f":0.1,"n":"NaN","i":"Infinity","m":"-Infinity"}`},
		{"SELECT NULL AS n, true AS t", `{"n":null,"t":true}`},
		{`SELECT 'a"b<>&' || chr(10) AS s`, `{"s":"a\"b<>&\n"}`},
		{"SELECT to_timestamp(1488769200)::TIMESTAMP AS ts, to_timestamp(1488769200) AS tz, DATE '2017-03-06' AS d, TIME '12:00:01.5' AS t", `{"ts":"2017-03-06T03:00:00Z","tz":"2017-03-06T03:00:00Z","d":"2017-03-06","t":"12:00:01.5"}`},
		{"SELECT '2020-01-01 00:00:00.123456789'::TIMESTAMP_NS AS ns", `{"ns":"2020-01-01T00:00:00.123456789Z"}`},
		{"SELECT 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID AS id, 'xyz'::BLOB AS b", `{"id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","b":"eHl6"}`},
		{"SELECT [1, 2] AS l, [DATE '2020-01-02'] AS dl, [1.5::DECIMAL(4,1)] AS decs, {'b': 2, 'a': 'x'} AS s", `{"l":[1,2],"dl":["2020-01-02"],"decs":["1.5"],"s":{"a":"x","b":2}}`},
		{"SELECT MAP([1, 2], ['x', 'y']) AS m", `{"m":[{"key":1,"value":"x"},{"key":2,"value":"y"}]}`},
		{"SELECT INTERVAL 1 DAY + INTERVAL 2 MONTH AS i", `{"i":{"months":2,"days":1,"micros":0}}`},
		{"SELECT 1::UNION(a INTEGER, b VARCHAR) AS u", `{"u":1}`},
		{"SELECT 1 AS a, 2 AS a, 3 AS a_1", `{"a":1,"a_1":2,"a_1_1":3}`},
	}
	for _, tc := range cases {
		lines, qerr := runLines(t, e, tc.sql)
		if qerr != nil {
			t.Errorf("%s: %v", tc.sql, qerr)
			continue
		}
		if len(lines) != 1 {
			t.Errorf("%s: %d rows, want 1", tc.sql, len(lines))
			continue
		}
		if lines[0] != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.sql, lines[0], tc.want)
		}
		if !json.Valid([]byte(lines[0])) {
			t.Errorf("%s: invalid JSON %s", tc.sql, lines[0])
		}
	}
}

// TestEncodeWeiExact proves a DECIMAL(38,0) survives a JSON round trip in a
// client that parses the string with math/big.
func TestEncodeWeiExact(t *testing.T) {
	e := openTestEngine(t, newFixture(t).config())
	const wei = "123456789012345678901234567890123456"

	lines, qerr := runLines(t, e, "SELECT "+wei+"::DECIMAL(38,0) AS value")
	if qerr != nil {
		t.Fatal(qerr)
	}
	var row map[string]string
	if err := json.Unmarshal([]byte(lines[0]), &row); err != nil {
		t.Fatalf("decode %s: %v", lines[0], err)
	}
	got, ok := new(big.Int).SetString(row["value"], 10)
	if !ok {
		t.Fatalf("value %q is not an integer", row["value"])
	}
	want, _ := new(big.Int).SetString(wei, 10)
	if got.Cmp(want) != 0 {
		t.Fatalf("value = %s, want %s", got, want)
	}
}
