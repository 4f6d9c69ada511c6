package egress

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// Sentinel errors of CanonicalHost and ParsePort; test them with errors.Is.
var (
	ErrInvalidHost = errors.New("invalid host")
	ErrInvalidPort = errors.New("invalid port")
)

const (
	maxHostLength  = 253
	maxLabelLength = 63
)

// CanonicalHost returns host in the one form that allowlist entries, logs and
// the resolver use: an IP literal in netip's canonical text (IPv6 without
// brackets), or a lowercase ASCII domain name (IDNA "Lookup" profile, UTS #46)
// without the trailing dot.
//
// It rejects, with an error wrapping ErrInvalidHost:
//   - userinfo ("user@host"), percent-encoding and IPv6 zones;
//   - IPv4 in decimal, octal or hex forms ("2130706433", "0177.0.0.1",
//     "0x7f.1", "127.1"), because resolvers and URL parsers disagree on what
//     they mean. They are the classic way to smuggle 127.0.0.1 past a
//     string-based check;
//   - names that are not valid DNS names (empty labels, labels over 63
//     bytes, names over 253 bytes, characters outside letters, digits and
//     '-').
func CanonicalHost(host string) (string, error) {
	if host == "" {
		return "", fmt.Errorf("%w: the host is empty", ErrInvalidHost)
	}
	if strings.Contains(host, "@") {
		return "", fmt.Errorf("%w %q: userinfo ('user@') is not allowed in a destination; give only the host name", ErrInvalidHost, host)
	}
	if strings.Contains(host, "%") {
		return "", fmt.Errorf("%w %q: percent-encoding and IPv6 zones are not allowed; write the host name or address literally", ErrInvalidHost, host)
	}

	if strings.HasPrefix(host, "[") || strings.Contains(host, ":") {
		return canonicalIPv6(host)
	}

	return canonicalName(host)
}

func canonicalIPv6(host string) (string, error) {
	literal := host
	if strings.HasPrefix(host, "[") || strings.HasSuffix(host, "]") {
		if len(host) < 2 || host[0] != '[' || host[len(host)-1] != ']' {
			return "", fmt.Errorf("%w %q: unbalanced brackets around an IPv6 address literal", ErrInvalidHost, host)
		}
		literal = host[1 : len(host)-1]
	}

	ip, err := netip.ParseAddr(literal)
	if err != nil || !ip.Is6() {
		return "", fmt.Errorf("%w %q: not a valid IPv6 address literal", ErrInvalidHost, host)
	}
	return ip.String(), nil
}

func canonicalName(host string) (string, error) {
	// A single trailing dot marks a fully qualified name and names the same
	// host; "example.com.." is still invalid below.
	name := strings.TrimSuffix(host, ".")

	// The Lookup profile maps case and full-width characters before
	// validation, so "１２７.０.０.１" becomes "127.0.0.1" here and is checked
	// as an address below, not passed on as a name.
	ascii, err := idna.Lookup.ToASCII(name)
	if err != nil {
		return "", fmt.Errorf("%w %q: not a valid domain name: %v", ErrInvalidHost, host, err)
	}
	ascii = strings.ToLower(ascii)

	if ip, err := netip.ParseAddr(ascii); err == nil && ip.Is4() {
		return ip.String(), nil
	}

	labels := strings.Split(ascii, ".")
	if endsInNumber(labels[len(labels)-1]) {
		return "", fmt.Errorf("%w %q: IPv4 addresses must be written as four decimal numbers without leading zeros (like 192.0.2.1); decimal, octal and hex forms are rejected", ErrInvalidHost, host)
	}

	if err := checkDNSName(ascii, labels); err != nil {
		return "", fmt.Errorf("%w %q: %v", ErrInvalidHost, host, err)
	}
	return ascii, nil
}

// endsInNumber reports whether the last label of a host is a number, which
// the WHATWG URL standard and inet_aton parse as (part of) an IPv4 address:
// all decimal digits, or "0x" followed by hex digits.
func endsInNumber(label string) bool {
	if label == "" {
		return false
	}

	digits := label
	isHex := false
	if strings.HasPrefix(label, "0x") {
		digits = label[2:]
		isHex = true
	}

	for _, r := range digits {
		switch {
		case r >= '0' && r <= '9':
		case isHex && r >= 'a' && r <= 'f':
		default:
			return false
		}
	}
	return true
}

func checkDNSName(name string, labels []string) error {
	if len(name) > maxHostLength {
		return fmt.Errorf("the name is %d bytes long, more than the DNS maximum of %d", len(name), maxHostLength)
	}

	for _, label := range labels {
		if label == "" {
			return errors.New("the name has an empty label (two dots in a row, or a leading dot)")
		}
		if len(label) > maxLabelLength {
			return fmt.Errorf("label %q is longer than the DNS maximum of %d bytes", label, maxLabelLength)
		}
		for _, r := range label {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
				return fmt.Errorf("label %q contains %q; use letters, digits and '-'", label, r)
			}
		}
	}
	return nil
}

// ParsePort parses a TCP port written in decimal without sign or leading
// zeros, from 1 to 65535.
func ParsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 || strconv.FormatUint(n, 10) != s {
		return 0, fmt.Errorf("%w %q: use a decimal number from 1 to 65535", ErrInvalidPort, s)
	}
	return uint16(n), nil
}
