package query

import "testing"

func TestLeadingKeyword(t *testing.T) {
	cases := map[string]string{
		"select 1":                             "select",
		"  SELECT 1":                           "select",
		"(select 1)":                           "select",
		"-- note\nwith a as (select 1) from a": "with",
		"/* a */ from t":                       "from",
		"/* outer /* inner */ pragma */ values (1)":     "values",
		"/* outer /* inner */ select */ pragma version": "pragma",
		"pragma version":    "pragma",
		"Describe t":        "describe",
		"":                  "",
		"  ;  ":             "",
		"-- only a comment": "",
		"/* unclosed":       "",
		"'x'":               "'",
		"copy t to 'x'":     "copy",
	}
	for sql, want := range cases {
		if got := leadingKeyword(sql); got != want {
			t.Errorf("leadingKeyword(%q) = %q, want %q", sql, got, want)
		}
	}
}
