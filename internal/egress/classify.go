package egress

import (
	"net/netip"
)

// addressClass is one special-purpose range and the reason code that a
// destination inside it is rejected with.
type addressClass struct {
	prefix netip.Prefix
	reason string
	// about names the range and its source for the Decision message.
	about string
}

func class(cidr, reason, about string) addressClass {
	return addressClass{prefix: netip.MustParsePrefix(cidr), reason: reason, about: about}
}

// ipv4Classes lists the IPv4 ranges that are not reachable public unicast,
// from the IANA special-purpose address registry (RFC 6890) and the cloud
// metadata endpoints. The first match wins, so specific entries come before
// the ranges that contain them.
var ipv4Classes = []addressClass{
	class("0.0.0.0/32", ReasonUnspecified, "the unspecified address, which Linux connects to the local host"),
	class("0.0.0.0/8", ReasonReserved, `"this network" (RFC 1122)`),
	class("10.0.0.0/8", ReasonPrivate, "private network 10.0.0.0/8 (RFC 1918)"),
	class("100.64.0.0/10", ReasonCGNAT, "carrier-grade NAT space 100.64.0.0/10 (RFC 6598)"),
	class("127.0.0.0/8", ReasonLoopback, "loopback 127.0.0.0/8 (RFC 1122)"),
	// Cloud instance metadata services hand out credentials: reaching them
	// is the classic server-side request forgery goal. 169.254.169.254 is
	// AWS, GCP, Azure and OpenStack; 169.254.170.2 is the ECS task metadata
	// and credentials endpoint; 169.254.170.23 is the EKS Pod Identity agent.
	class("169.254.169.254/32", ReasonMetadata, "a cloud instance metadata endpoint"),
	class("169.254.170.2/32", ReasonMetadata, "the ECS task metadata and credentials endpoint"),
	class("169.254.170.23/32", ReasonMetadata, "the EKS Pod Identity agent endpoint"),
	class("169.254.0.0/16", ReasonLinkLocal, "link-local 169.254.0.0/16 (RFC 3927)"),
	class("172.16.0.0/12", ReasonPrivate, "private network 172.16.0.0/12 (RFC 1918)"),
	class("192.0.0.0/24", ReasonReserved, "IETF protocol assignments 192.0.0.0/24 (RFC 6890)"),
	class("192.0.2.0/24", ReasonReserved, "documentation range TEST-NET-1 (RFC 5737)"),
	class("192.88.99.0/24", ReasonReserved, "the deprecated 6to4 relay anycast range (RFC 7526)"),
	class("192.168.0.0/16", ReasonPrivate, "private network 192.168.0.0/16 (RFC 1918)"),
	class("198.18.0.0/15", ReasonReserved, "benchmarking range 198.18.0.0/15 (RFC 2544)"),
	class("198.51.100.0/24", ReasonReserved, "documentation range TEST-NET-2 (RFC 5737)"),
	class("203.0.113.0/24", ReasonReserved, "documentation range TEST-NET-3 (RFC 5737)"),
	class("224.0.0.0/4", ReasonMulticast, "multicast 224.0.0.0/4 (RFC 5771)"),
	class("240.0.0.0/4", ReasonReserved, "reserved 240.0.0.0/4 and the broadcast address (RFC 1112, RFC 919)"),
}

// ipv6Classes lists the IPv6 ranges that are not reachable public unicast.
// NAT64, 6to4 and Teredo are handled by ClassifyIP before this table because
// they embed an IPv4 address that needs its own check.
var ipv6Classes = []addressClass{
	class("::/128", ReasonUnspecified, "the unspecified address, which Linux connects to the local host"),
	class("::1/128", ReasonLoopback, "loopback ::1 (RFC 4291)"),
	class("ff00::/8", ReasonMulticast, "multicast ff00::/8 (RFC 4291)"),
	class("fe80::/10", ReasonLinkLocal, "link-local fe80::/10 (RFC 4291)"),
	class("fec0::/10", ReasonReserved, "deprecated site-local fec0::/10 (RFC 3879)"),
	// The AWS instance metadata service and EKS Pod Identity agent on
	// IPv6-enabled instances; both sit inside fc00::/7.
	class("fd00:ec2::254/128", ReasonMetadata, "the AWS instance metadata endpoint"),
	class("fd00:ec2::23/128", ReasonMetadata, "the EKS Pod Identity agent endpoint"),
	class("fc00::/7", ReasonUniqueLocal, "unique local addresses fc00::/7 (RFC 4193)"),
	// Only 2000::/3 is allocated as global unicast (RFC 4291). Everything
	// else left at this point is reserved: IPv4-compatible ::/96, the
	// IPv4-translated ::ffff:0:0:0/96, discard-only 100::/64, the
	// SRv6 5f00::/16 and more.
	class("::/3", ReasonReserved, "outside global unicast 2000::/3 (RFC 4291)"),
	class("4000::/2", ReasonReserved, "outside global unicast 2000::/3 (RFC 4291)"),
	class("8000::/1", ReasonReserved, "outside global unicast 2000::/3 (RFC 4291)"),
	class("2001:db8::/32", ReasonReserved, "documentation range 2001:db8::/32 (RFC 3849)"),
	class("2001::/23", ReasonReserved, "IETF protocol assignments 2001::/23 (RFC 2928)"),
	class("3fff::/20", ReasonReserved, "documentation range 3fff::/20 (RFC 9637)"),
}

var (
	nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96")
	nat64LocalUse  = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour      = netip.MustParsePrefix("2002::/16")
	teredo         = netip.MustParsePrefix("2001::/32")
)

// ClassifyIP decides whether ip is a public unicast address that moat may
// connect to without an allowlist entry. It unmaps IPv4-mapped IPv6 first
// (::ffff:127.0.0.1 is loopback) and checks the IPv4 address embedded in
// NAT64 and 6to4 addresses. Teredo addresses are always rejected because the
// embedded client address is not where the packets go. The zone of a scoped
// address is ignored. An invalid (zero) Addr is rejected.
func ClassifyIP(ip netip.Addr) Decision {
	if !ip.IsValid() {
		return deny(ReasonInvalidAddress, "the address is empty or invalid")
	}

	ip = ip.WithZone("").Unmap()
	if ip.Is4() {
		return classifyIPv4(ip)
	}

	if embedded, ok := embeddedIPv4(ip); ok {
		return embedded
	}

	if c, ok := lookupClass(ipv6Classes, ip); ok {
		return deny(c.reason, "%s is %s", ip, c.about)
	}
	return Decision{Allow: true, Reason: ReasonPublic, Message: ip.String() + " is a public unicast address"}
}

func classifyIPv4(ip netip.Addr) Decision {
	if c, ok := lookupClass(ipv4Classes, ip); ok {
		return deny(c.reason, "%s is %s", ip, c.about)
	}
	return Decision{Allow: true, Reason: ReasonPublic, Message: ip.String() + " is a public unicast address"}
}

func lookupClass(classes []addressClass, ip netip.Addr) (addressClass, bool) {
	for _, c := range classes {
		if c.prefix.Contains(ip) {
			return c, true
		}
	}
	return addressClass{}, false
}

// embeddedIPv4 classifies the IPv6 forms that carry an IPv4 address. ok is
// false when ip is not in NAT64, 6to4 or Teredo space.
func embeddedIPv4(ip netip.Addr) (d Decision, ok bool) {
	b := ip.As16()

	switch {
	case nat64WellKnown.Contains(ip):
		// RFC 6052: the IPv4 address is the last 32 bits. A NAT64 gateway
		// on the path would connect to it, so it gets the IPv4 check.
		inner := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		return classifyEmbedded(ip, inner, ReasonNAT64Embedded, "NAT64"), true

	case nat64LocalUse.Contains(ip):
		// RFC 8215: the operator chooses where the IPv4 address sits inside
		// this prefix, so it cannot be extracted and checked.
		return deny(ReasonNAT64Embedded, "%s is in the local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215), whose embedded IPv4 address cannot be checked", ip), true

	case sixToFour.Contains(ip):
		// RFC 3056: bits 16 to 47 are the IPv4 address of the 6to4 site.
		inner := netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
		return classifyEmbedded(ip, inner, Reason6to4Embedded, "6to4"), true

	case teredo.Contains(ip):
		// RFC 4380: bits 32 to 63 are the Teredo server, and the last 32
		// bits are the client's IPv4 address with every bit inverted.
		server := netip.AddrFrom4([4]byte{b[4], b[5], b[6], b[7]})
		client := netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]})
		return deny(ReasonTeredo, "%s is a Teredo address (server %s, client %s); Teredo tunnels are never a webhook destination", ip, server, client), true
	}

	return Decision{}, false
}

func classifyEmbedded(outer, inner netip.Addr, reason, scheme string) Decision {
	innerDecision := classifyIPv4(inner)
	if innerDecision.Allow {
		return Decision{Allow: true, Reason: ReasonPublic, Message: outer.String() + " is a " + scheme + " address of public " + inner.String()}
	}
	return deny(reason, "%s is a %s address that embeds %s, which is %s", outer, scheme, inner, innerDecision.Reason)
}
