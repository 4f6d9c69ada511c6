package egress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultTimeout bounds resolution and connection together when
// Dialer.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Dialer connects only to destinations that ClassifyIP or the Policy allows.
// Use DialContext as http.Transport.DialContext. The zero Dialer uses the
// system resolver, DefaultTimeout, slog.Default() and an empty Policy.
type Dialer struct {
	// Policy is the allowlist of non-public destinations. It is validated
	// on every dial, and an invalid policy rejects every destination.
	Policy Policy
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// Timeout bounds resolution and connection together; zero means
	// DefaultTimeout.
	Timeout time.Duration
	// Logger receives one line per decision; nil means slog.Default().
	Logger *slog.Logger
}

// target is a checked destination: the canonical host, the port and the
// resolved addresses, all of which passed the decision.
type target struct {
	host  string
	port  uint16
	addrs []netip.Addr
}

// DialContext resolves addr ("host:port"), checks every resolved address and
// connects to the first one that accepts, by address literal. It returns a
// *DeniedError (wrapping ErrDenied) when the destination is rejected, and an
// ordinary error when resolution or the connection fails. network must be
// "tcp", "tcp4" or "tcp6".
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()

	t, decision, err := d.check(ctx, network, addr)
	if err != nil {
		d.logger().WarnContext(ctx, "egress resolution failed", "addr", addr, "error", err)
		return nil, err
	}

	d.logDecision(ctx, addr, t, decision)
	if !decision.Allow {
		return nil, &DeniedError{Addr: addr, Decision: decision}
	}

	return d.dialChecked(ctx, network, t)
}

// check parses and resolves addr and decides on it. A non-nil error means
// resolution failed; a rejection is a Decision with Allow false.
func (d *Dialer) check(ctx context.Context, network, addr string) (target, Decision, error) {
	if network != "tcp" && network != "tcp4" && network != "tcp6" {
		return target{}, deny(ReasonInvalidNetwork, "network %q is not supported; only TCP destinations can be dialed", network), nil
	}

	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return target{}, deny(ReasonInvalidHost, "%q is not host:port: %v", addr, err), nil
	}
	port, err := ParsePort(portText)
	if err != nil {
		return target{}, deny(ReasonInvalidPort, "%v", err), nil
	}
	host, err = CanonicalHost(host)
	if err != nil {
		return target{}, deny(ReasonInvalidHost, "%v", err), nil
	}

	if err := d.Policy.Validate(); err != nil {
		return target{}, deny(ReasonInvalidPolicy, "the egress policy is invalid, so every destination is rejected until it is fixed: %v", err), nil
	}

	addrs, err := d.resolve(ctx, network, host)
	if err != nil {
		return target{}, Decision{}, err
	}

	t := target{host: host, port: port, addrs: addrs}
	return t, d.decide(t), nil
}

// decide rejects the destination if any resolved address is rejected: a
// name that resolves to both a public and a private address is treated as
// an attack, whichever address a connection would reach first.
func (d *Dialer) decide(t target) Decision {
	allowlisted := slices.Contains(d.Policy.Allow, joinHostPort(t.host, t.port))

	for _, ip := range t.addrs {
		c := ClassifyIP(ip)
		if c.Allow {
			continue
		}
		if !slices.Contains(overridable, c.Reason) {
			return c
		}
		if allowlisted {
			continue
		}
		if ports := d.Policy.allowedPorts(t.host); len(ports) > 0 {
			return deny(ReasonPortNotAllowed, "%s is allowlisted only on port %s, not on port %d, and %s", t.host, formatPorts(ports), t.port, c.Message)
		}
		return c
	}

	if allowlisted {
		return Decision{Allow: true, Reason: ReasonAllowlisted, Message: fmt.Sprintf("%s is on the egress allowlist", joinHostPort(t.host, t.port))}
	}
	return Decision{Allow: true, Reason: ReasonPublic, Message: fmt.Sprintf("%s resolves only to public addresses", t.host)}
}

// resolve returns the addresses of host that fit network, unmapped and
// without duplicates. An address literal is returned as it is, without a
// lookup.
func (d *Dialer) resolve(ctx context.Context, network, host string) ([]netip.Addr, error) {
	var found []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		found = []netip.Addr{ip}
	} else {
		found, err = d.resolver().LookupNetIP(ctx, lookupNetwork(network), host)
		if err != nil {
			return nil, fmt.Errorf("egress: resolve %q: %w", host, err)
		}
	}

	var addrs []netip.Addr
	for _, ip := range found {
		ip = ip.Unmap()
		if !fitsNetwork(network, ip) || slices.Contains(addrs, ip) {
			continue
		}
		addrs = append(addrs, ip)
	}

	if len(addrs) == 0 {
		return nil, fmt.Errorf("egress: host %q has no address for network %q", host, network)
	}
	return addrs, nil
}

// dialChecked connects to the checked addresses in order and returns the
// first connection. It never resolves a name, so the addresses it reaches
// are exactly the ones decide saw.
func (d *Dialer) dialChecked(ctx context.Context, network string, t target) (net.Conn, error) {
	var failures []error

	for _, ip := range t.addrs {
		dialer := net.Dialer{ControlContext: onlyAddress(ip, t.port)}
		conn, err := dialer.DialContext(ctx, network, netip.AddrPortFrom(ip, t.port).String())
		if err == nil {
			return conn, nil
		}
		failures = append(failures, err)

		if ctx.Err() != nil {
			break
		}
	}

	return nil, fmt.Errorf("egress: connect to %q: %w", joinHostPort(t.host, t.port), errors.Join(failures...))
}

// onlyAddress returns a socket control hook that refuses any connect to an
// address other than the checked one. It is a second line of defence: a
// future change that passes a name to the dialer fails here instead of
// connecting somewhere unchecked.
func onlyAddress(ip netip.Addr, port uint16) func(context.Context, string, string, syscall.RawConn) error {
	want := netip.AddrPortFrom(ip, port)
	return func(_ context.Context, _, address string, _ syscall.RawConn) error {
		got, err := netip.ParseAddrPort(address)
		if err != nil || got.Addr().Unmap() != want.Addr() || got.Port() != want.Port() {
			return fmt.Errorf("%w: connect to %q was not the checked address %q", ErrDenied, address, want)
		}
		return nil
	}
}

func (d *Dialer) logDecision(ctx context.Context, addr string, t target, decision Decision) {
	attrs := []any{
		"addr", addr,
		"host", t.host,
		"port", t.port,
		"resolved", t.addrs,
		"reason", decision.Reason,
		"message", decision.Message,
	}

	if decision.Allow {
		d.logger().InfoContext(ctx, "egress allowed", attrs...)
		return
	}
	d.logger().WarnContext(ctx, "egress denied", attrs...)
}

func (d *Dialer) timeout() time.Duration {
	if d.Timeout > 0 {
		return d.Timeout
	}
	return DefaultTimeout
}

func (d *Dialer) resolver() *net.Resolver {
	if d.Resolver != nil {
		return d.Resolver
	}
	return net.DefaultResolver
}

func (d *Dialer) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}

func formatPorts(ports []uint16) string {
	texts := make([]string, len(ports))
	for i, p := range ports {
		texts[i] = strconv.Itoa(int(p))
	}
	return strings.Join(texts, ", ")
}

func lookupNetwork(network string) string {
	switch network {
	case "tcp4":
		return "ip4"
	case "tcp6":
		return "ip6"
	}
	return "ip"
}

func fitsNetwork(network string, ip netip.Addr) bool {
	switch network {
	case "tcp4":
		return ip.Is4()
	case "tcp6":
		return ip.Is6()
	}
	return true
}
