package egress

import (
	"net/netip"
	"testing"
)

// These cases are classification only: nothing here is dialed.
func TestClassifyIP(t *testing.T) {
	cases := []struct {
		ip     string
		allow  bool
		reason string
	}{
		{"127.0.0.1", false, ReasonLoopback},
		{"127.255.255.254", false, ReasonLoopback},
		{"::1", false, ReasonLoopback},
		{"::ffff:127.0.0.1", false, ReasonLoopback},
		{"::ffff:169.254.169.254", false, ReasonMetadata},
		{"10.0.0.1", false, ReasonPrivate},
		{"172.16.5.4", false, ReasonPrivate},
		{"172.31.255.255", false, ReasonPrivate},
		{"192.168.1.1", false, ReasonPrivate},
		{"100.64.0.1", false, ReasonCGNAT},
		{"100.127.255.255", false, ReasonCGNAT},
		{"169.254.169.254", false, ReasonMetadata},
		{"169.254.170.2", false, ReasonMetadata},
		{"169.254.1.1", false, ReasonLinkLocal},
		{"fd00:ec2::254", false, ReasonMetadata},
		{"fd12:3456::1", false, ReasonUniqueLocal},
		{"fe80::1", false, ReasonLinkLocal},
		{"fe80::1%eth0", false, ReasonLinkLocal},
		{"64:ff9b::a9fe:a9fe", false, ReasonNAT64Embedded},
		{"64:ff9b::7f00:1", false, ReasonNAT64Embedded},
		{"64:ff9b:1::a9fe:a9fe", false, ReasonNAT64Embedded},
		{"2002:a9fe:a9fe::1", false, Reason6to4Embedded},
		{"2002:7f00:1::1", false, Reason6to4Embedded},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", false, ReasonTeredo},
		{"0.0.0.0", false, ReasonUnspecified},
		{"0.1.2.3", false, ReasonReserved},
		{"::", false, ReasonUnspecified},
		{"::7f00:1", false, ReasonReserved},
		{"::ffff:0:7f00:1", false, ReasonReserved},
		{"224.0.0.1", false, ReasonMulticast},
		{"239.255.255.250", false, ReasonMulticast},
		{"ff02::1", false, ReasonMulticast},
		{"240.0.0.1", false, ReasonReserved},
		{"255.255.255.255", false, ReasonReserved},
		{"192.0.0.192", false, ReasonReserved},
		{"192.0.2.10", false, ReasonReserved},
		{"198.18.0.1", false, ReasonReserved},
		{"2001:db8::1", false, ReasonReserved},
		{"3fff::1", false, ReasonReserved},
		{"100::1", false, ReasonReserved},
		{"fec0::1", false, ReasonReserved},
		{"5f00::1", false, ReasonReserved},
		{"8.8.8.8", true, ReasonPublic},
		{"1.1.1.1", true, ReasonPublic},
		{"172.32.0.1", true, ReasonPublic},
		{"100.128.0.1", true, ReasonPublic},
		{"::ffff:8.8.8.8", true, ReasonPublic},
		{"2606:4700::1111", true, ReasonPublic},
		{"64:ff9b::808:808", true, ReasonPublic},
		{"2002:808:808::1", true, ReasonPublic},
	}

	for _, tc := range cases {
		t.Run(tc.ip, func(t *testing.T) {
			got := ClassifyIP(netip.MustParseAddr(tc.ip))

			if got.Allow != tc.allow {
				t.Errorf("Allow = %v, want %v (%s)", got.Allow, tc.allow, got.Message)
			}
			if got.Reason != tc.reason {
				t.Errorf("Reason = %q, want %q (%s)", got.Reason, tc.reason, got.Message)
			}
			if got.Message == "" {
				t.Errorf("Message is empty")
			}
		})
	}
}

func TestClassifyIPInvalidAddress(t *testing.T) {
	got := ClassifyIP(netip.Addr{})

	if got.Allow {
		t.Errorf("the zero Addr was allowed")
	}
	if got.Reason != ReasonInvalidAddress {
		t.Errorf("Reason = %q, want %q", got.Reason, ReasonInvalidAddress)
	}
}

func TestDecisionZeroValueDenies(t *testing.T) {
	var d Decision

	if d.Allow {
		t.Errorf("the zero Decision allows")
	}
}
