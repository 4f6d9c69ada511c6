package egress

import (
	"errors"
	"strings"
	"testing"
)

func TestPolicyValidateAccepts(t *testing.T) {
	p := Policy{Allow: []string{
		"hooks.internal.example:8443",
		"127.0.0.1:9000",
		"[::1]:9000",
		"[fd12::7]:443",
		"10.1.2.3:443",
		"xn--bcher-kva.example:443",
	}}

	if err := p.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestPolicyValidateZeroValue(t *testing.T) {
	if err := (Policy{}).Validate(); err != nil {
		t.Fatalf("the zero Policy is invalid: %v", err)
	}
}

func TestPolicyValidateRejects(t *testing.T) {
	cases := []struct {
		entry    string
		mentions string
	}{
		{"hooks.example.com", "not host:port"},
		{"hooks.example.com:", "invalid port"},
		{"hooks.example.com:0", "invalid port"},
		{"hooks.example.com:*", "invalid port"},
		{"*.example.com:443", "invalid host"},
		{"Hooks.Example.com:443", `write it as "hooks.example.com:443"`},
		{"hooks.example.com.:443", `write it as "hooks.example.com:443"`},
		{"[::0001]:443", `write it as "[::1]:443"`},
		{"bücher.example:443", `write it as "xn--bcher-kva.example:443"`},
		{"2130706433:80", "decimal, octal and hex"},
		{"user@hooks.example.com:443", "userinfo"},
		{"169.254.169.254:80", "can never be allowlisted"},
		{"[fd00:ec2::254]:80", "can never be allowlisted"},
		{"0.0.0.0:80", "can never be allowlisted"},
		{"224.0.0.1:80", "can never be allowlisted"},
		{"169.254.10.1:80", "can never be allowlisted"},
		{"[64:ff9b::a00:1]:80", "can never be allowlisted"},
	}

	for _, tc := range cases {
		t.Run(tc.entry, func(t *testing.T) {
			err := Policy{Allow: []string{tc.entry}}.Validate()

			if err == nil {
				t.Fatalf("Validate accepted %q", tc.entry)
			}
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("error %v does not wrap ErrInvalidPolicy", err)
			}
			if !strings.Contains(err.Error(), tc.mentions) {
				t.Errorf("error %q does not mention %q", err, tc.mentions)
			}
		})
	}
}

func TestPolicyValidateReportsEveryProblem(t *testing.T) {
	p := Policy{Allow: []string{"a.example:1", "bad", "a.example:1", "169.254.169.254:80"}}

	err := p.Validate()
	if err == nil {
		t.Fatalf("Validate accepted %v", p.Allow)
	}

	for _, want := range []string{"allow[1]", "allow[2]", "listed twice", "allow[3]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "allow[0]") {
		t.Errorf("error %q blames the valid entry allow[0]", err)
	}
}
