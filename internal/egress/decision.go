// Package egress decides which network destinations moat may connect to on
// behalf of a job, and dials only those.
//
// Every outbound connection that a job can cause (webhooks, alerts, later the
// CONNECT proxy of platform jobs) goes through Dialer. The Dialer
// canonicalises the host, resolves it itself and classifies every resolved
// address with ClassifyIP. It then connects to the checked address literal,
// so a DNS answer that changes after the check (DNS rebinding) cannot move
// the connection elsewhere. Non-public addresses are rejected unless an
// operator allowlisted the exact host:port.
package egress

import (
	"errors"
	"fmt"
)

// Reason codes of a Decision. They are stable: tests, audit events and
// outbox records store them, so a code is never renamed.
const (
	ReasonPublic         = "public"
	ReasonAllowlisted    = "allowlisted"
	ReasonLoopback       = "loopback"
	ReasonPrivate        = "private"
	ReasonLinkLocal      = "link_local"
	ReasonMetadata       = "metadata"
	ReasonCGNAT          = "cgnat"
	ReasonUnspecified    = "unspecified"
	ReasonMulticast      = "multicast"
	ReasonReserved       = "reserved"
	ReasonUniqueLocal    = "ipv6_unique_local"
	ReasonNAT64Embedded  = "nat64_embedded"
	Reason6to4Embedded   = "6to4_embedded"
	ReasonTeredo         = "teredo"
	ReasonPortNotAllowed = "port_not_allowed"
	ReasonInvalidHost    = "invalid_host"
	ReasonInvalidPort    = "invalid_port"
	ReasonInvalidAddress = "invalid_address"
	ReasonInvalidNetwork = "invalid_network"
	ReasonInvalidPolicy  = "invalid_policy"
)

// Decision is the outcome of one egress check. The zero value denies, so a
// code path that returns no explicit decision fails closed.
type Decision struct {
	// Allow is true only when the destination may be dialed.
	Allow bool
	// Reason is one of the Reason* codes.
	Reason string
	// Message is a sentence for operators that names the value and why it
	// was allowed or rejected.
	Message string
}

// ErrDenied is wrapped by every *DeniedError; test it with errors.Is.
var ErrDenied = errors.New("egress denied")

// DeniedError is returned when the Dialer rejects a destination. Use
// errors.As to read the Decision.
type DeniedError struct {
	// Addr is the "host:port" the caller asked for, as given.
	Addr     string
	Decision Decision
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("egress denied for %q: %s: %s", e.Addr, e.Decision.Reason, e.Decision.Message)
}

// Unwrap makes errors.Is(err, ErrDenied) true.
func (e *DeniedError) Unwrap() error {
	return ErrDenied
}

func deny(reason, format string, args ...any) Decision {
	return Decision{Allow: false, Reason: reason, Message: fmt.Sprintf(format, args...)}
}
