package egress

import (
	"errors"
	"strings"
	"testing"
)

func TestCanonicalHostAccepts(t *testing.T) {
	cases := []struct {
		in   string
		want string
	}{
		{"Example.COM", "example.com"},
		{"example.com.", "example.com"},
		{"hooks-1.example.com", "hooks-1.example.com"},
		{"localhost", "localhost"},
		{"127.0.0.1", "127.0.0.1"},
		{"127.0.0.1.", "127.0.0.1"},
		{"::1", "::1"},
		{"[::1]", "::1"},
		{"[2606:4700:0:0:0:0:0:1111]", "2606:4700::1111"},
		{"::FFFF:127.0.0.1", "::ffff:127.0.0.1"},
		{"bücher.example", "xn--bcher-kva.example"},
		{"BÜCHER.example", "xn--bcher-kva.example"},
		// Full-width digits map to ASCII digits and become a literal that
		// ClassifyIP then checks.
		{"１２７.０.０.１", "127.0.0.1"},
	}

	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := CanonicalHost(tc.in)
			if err != nil {
				t.Fatalf("CanonicalHost(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("CanonicalHost(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestCanonicalHostRejects(t *testing.T) {
	cases := []struct {
		in       string
		mentions string
	}{
		{"", "empty"},
		{"user@example.com", "userinfo"},
		{"user:pass@127.0.0.1", "userinfo"},
		{"2130706433", "decimal, octal and hex"},
		{"0177.0.0.1", "decimal, octal and hex"},
		{"0x7f.1", "decimal, octal and hex"},
		{"0x7f000001", "decimal, octal and hex"},
		{"127.1", "decimal, octal and hex"},
		{"127.0.0.01", "decimal, octal and hex"},
		{"example.com..", "empty label"},
		{".example.com", "empty label"},
		{"exa_mple.com", "not a valid domain name"},
		{"example.com%2f", "percent-encoding"},
		{"fe80::1%eth0", "percent-encoding"},
		{"[::1", "brackets"},
		{"1.2.3.4:80", "IPv6"},
		{strings.Repeat("a", 64) + ".example", "longer than"},
		{strings.Repeat("abcdefghi.", 26) + "example", "more than the DNS maximum"},
	}

	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := CanonicalHost(tc.in)
			if err == nil {
				t.Fatalf("CanonicalHost(%q) = %q, want an error", tc.in, got)
			}
			if !errors.Is(err, ErrInvalidHost) {
				t.Errorf("error %v does not wrap ErrInvalidHost", err)
			}
			if !strings.Contains(err.Error(), tc.mentions) {
				t.Errorf("error %q does not mention %q", err, tc.mentions)
			}
		})
	}
}

func TestParsePort(t *testing.T) {
	valid := map[string]uint16{"1": 1, "443": 443, "65535": 65535}
	for in, want := range valid {
		got, err := ParsePort(in)
		if err != nil || got != want {
			t.Errorf("ParsePort(%q) = %d, %v; want %d, nil", in, got, err, want)
		}
	}

	for _, in := range []string{"", "0", "65536", "-1", "+80", "080", "http", "8o"} {
		if _, err := ParsePort(in); !errors.Is(err, ErrInvalidPort) {
			t.Errorf("ParsePort(%q) error = %v, want ErrInvalidPort", in, err)
		}
	}
}
