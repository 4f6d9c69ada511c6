package ids

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	cases := []struct {
		value string
		ok    bool
	}{
		{"acme", true},
		{"a", true},
		{"acme-corp_2", true},
		{"a" + strings.Repeat("b", 62), true},  // 63 characters
		{"a" + strings.Repeat("b", 63), false}, // 64 characters
		{"", false},
		{"1acme", false},
		{"-acme", false},
		{"_acme", false},
		{"Acme", false},
		{"acmE", false},
		{"../x", false},
		{"..", false},
		{".", false},
		{"a/b", false},
		{"a\\b", false},
		{"a.b", false},
		{"ethereum.transactions", false},
		{"a b", false},
		{"acme\n", false},
		{"acme\x00", false},
		{"ácme", false},
		{"acme ", false},
	}
	for _, c := range cases {
		err := ValidateName("org", c.value)
		if c.ok {
			if err != nil {
				t.Errorf("ValidateName(%q) = %v, want nil", c.value, err)
			}
			continue
		}
		wantInvalid(t, "ValidateName", c.value, err, `org "`)
	}
}

func TestValidateNameKindInMessage(t *testing.T) {
	err := ValidateName("webhook", "Bad")
	if err == nil {
		t.Fatal("ValidateName(webhook, Bad) = nil, want an error")
	}
	if want := `webhook "Bad"`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if want := "lowercase letters"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say how to fix the value (%q)", err, want)
	}
}

func TestValidateDataset(t *testing.T) {
	long := "a" + strings.Repeat("b", 62)
	cases := []struct {
		value string
		ok    bool
	}{
		{"watchlist", true},
		{"w", true},
		{"token_labels2", true},
		{"ethereum.transactions", true},
		{"ethereum.token_transfers", true},
		{long, true},
		{long + "." + long, true},
		{long + "b", false},
		{"a.b.c", false},
		{"", false},
		{"1abc", false},
		{"_abc", false},
		{"Watchlist", false},
		{"watch-list", false}, // '-' would break the SQL view name
		{"../x", false},
		{"a/b", false},
		{".abc", false},
		{"abc.", false},
		{"a..b", false},
		{"a.1b", false},
		{"a.B", false},
		{"a b", false},
		{"a;drop", false},
		{`a"b`, false},
	}
	for _, c := range cases {
		err := ValidateDataset(c.value)
		if c.ok {
			if err != nil {
				t.Errorf("ValidateDataset(%q) = %v, want nil", c.value, err)
			}
			continue
		}
		wantInvalid(t, "ValidateDataset", c.value, err, `dataset "`)
	}
}

func TestValidateRun(t *testing.T) {
	cases := []struct {
		value string
		ok    bool
	}{
		{"r-0123456789abcdef", true},
		{"r-0000000000000000", true},
		{"r-0123456789ABCDEF", false},
		{"r-0123456789abcde", false},   // 15 digits
		{"r-0123456789abcdef0", false}, // 17 digits
		{"r-0123456789abcdeg", false},
		{"R-0123456789abcdef", false},
		{"x-0123456789abcdef", false},
		{"0123456789abcdef", false},
		{"", false},
		{"nonsense", false},
		{"../x", false},
		{"r-../../../../etc", false},
		{"a/b", false},
		{"r-0123456789abcdef\n", false},
		{" r-0123456789abcdef", false},
	}
	for _, c := range cases {
		err := ValidateRun(c.value)
		if c.ok {
			if err != nil {
				t.Errorf("ValidateRun(%q) = %v, want nil", c.value, err)
			}
			continue
		}
		wantInvalid(t, "ValidateRun", c.value, err, `run "`, "moat runs list")
	}
}

func TestNewRunFormat(t *testing.T) {
	id := NewRun()
	if len(id) != 18 {
		t.Errorf("NewRun() = %q has length %d, want 18", id, len(id))
	}
	if !strings.HasPrefix(id, "r-") {
		t.Errorf("NewRun() = %q does not start with r-", id)
	}
	if err := ValidateRun(id); err != nil {
		t.Errorf("ValidateRun(NewRun()) = %v", err)
	}
}

func TestNewRunUnique(t *testing.T) {
	const n = 10000
	seen := make(map[string]bool, n)
	for range n {
		id := NewRun()
		if err := ValidateRun(id); err != nil {
			t.Fatalf("ValidateRun(%q) = %v", id, err)
		}
		if seen[id] {
			t.Fatalf("NewRun returned %q twice in %d calls", id, n)
		}
		seen[id] = true
	}
}

// wantInvalid fails unless err wraps ErrInvalid and its message quotes the
// value and contains every fragment.
func wantInvalid(t *testing.T, fn, value string, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s(%q) = nil, want an error", fn, value)
		return
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("%s(%q) error %q does not wrap ErrInvalid", fn, value, err)
	}
	fragments = append(fragments, fmt.Sprintf("%q", value))
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("%s(%q) error %q does not contain %q", fn, value, err, f)
		}
	}
}
