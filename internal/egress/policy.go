package egress

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
)

// ErrInvalidPolicy is wrapped by every error of Policy.Validate.
var ErrInvalidPolicy = errors.New("invalid egress policy")

// Policy is the operator's egress allowlist. The zero Policy allows no
// non-public destination.
type Policy struct {
	// Allow lists exact "host:port" pairs in canonical form (see
	// CanonicalHost), such as "hooks.internal.example:8443" or
	// "[fd12::7]:443". An entry allows that host on that port only, even
	// when the host resolves to a loopback, private, CGNAT or unique local
	// address. No entry can allow the other non-public classes (metadata,
	// link-local, multicast, reserved, embedded IPv4 forms): no webhook
	// receiver lives there.
	Allow []string
}

// overridable lists the classes an allowlist entry can open. Everything else
// that ClassifyIP rejects stays rejected whatever the policy contains.
var overridable = []string{ReasonLoopback, ReasonPrivate, ReasonCGNAT, ReasonUniqueLocal}

// Validate checks every entry and returns all problems at once. An entry
// must be a canonical host and an explicit port, appear once, and not be an
// address literal of a class that can never be allowlisted.
func (p Policy) Validate() error {
	var problems []error
	seen := make(map[string]bool, len(p.Allow))

	for i, entry := range p.Allow {
		if err := validateEntry(entry); err != nil {
			problems = append(problems, fmt.Errorf("%w: allow[%d]: %w", ErrInvalidPolicy, i, err))
			continue
		}
		if seen[entry] {
			problems = append(problems, fmt.Errorf("%w: allow[%d]: %q is listed twice; remove the duplicate", ErrInvalidPolicy, i, entry))
		}
		seen[entry] = true
	}

	return errors.Join(problems...)
}

func validateEntry(entry string) error {
	host, portText, err := net.SplitHostPort(entry)
	if err != nil {
		return fmt.Errorf("%q is not host:port (%v); write an exact host and port such as \"hooks.example.com:443\"", entry, err)
	}

	port, err := ParsePort(portText)
	if err != nil {
		return fmt.Errorf("%q: %w", entry, err)
	}

	canonical, err := CanonicalHost(host)
	if err != nil {
		return fmt.Errorf("%q: %w", entry, err)
	}
	if want := joinHostPort(canonical, port); want != entry {
		return fmt.Errorf("%q is not in canonical form; write it as %q", entry, want)
	}

	if ip, err := netip.ParseAddr(canonical); err == nil {
		d := ClassifyIP(ip)
		if !d.Allow && !slices.Contains(overridable, d.Reason) {
			return fmt.Errorf("%q can never be allowlisted: %s", entry, d.Message)
		}
	}
	return nil
}

// allowedPorts returns the ports that the policy lists for a canonical host.
func (p Policy) allowedPorts(host string) []uint16 {
	var ports []uint16
	for _, entry := range p.Allow {
		h, portText, err := net.SplitHostPort(entry)
		if err != nil || h != host {
			continue
		}
		if port, err := ParsePort(portText); err == nil {
			ports = append(ports, port)
		}
	}
	return ports
}

func joinHostPort(host string, port uint16) string {
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}
