package outbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/egress"
	"github.com/moatdev/moat/internal/store"
)

// Reason codes of a failed delivery, stored as the outbox item's LastError
// and as the audit event's Reason. An egress rejection stores the egress
// reason code instead ("loopback", "private", ...).
const (
	ReasonInvalidURL       = "invalid_url"
	ReasonRedirect         = "redirect_not_followed"
	ReasonHTTPStatus       = "http_status"
	ReasonTimeout          = "timeout"
	ReasonConnectionFailed = "connection_failed"
)

// reasonDelivered is the audit Reason of a delivered call; the outbox item
// itself keeps an empty LastError.
const reasonDelivered = "delivered"

// result is the outcome of one delivery attempt.
type result struct {
	state    store.OutboxState
	status   int
	reason   string
	decision string
	// message is for operators. It never contains the URL's path or query,
	// which often carry a token, nor the request or response body.
	message string
}

func failure(reason, decision, message string) result {
	return result{state: store.OutboxFailed, reason: reason, decision: decision, message: message}
}

func (r result) delivered() bool {
	return r.state == store.OutboxDelivered
}

func (r result) reasonOrDelivered() string {
	if r.delivered() {
		return reasonDelivered
	}
	return r.reason
}

func (r result) eventType() string {
	if r.delivered() {
		return EventDelivered
	}
	return EventDeliveryFailed
}

// statusResult classifies the receiver's status code. Only 2xx counts as
// delivered.
func statusResult(code int) result {
	switch {
	case code >= 200 && code < 300:
		return result{state: store.OutboxDelivered, status: code, decision: audit.Allow, message: fmt.Sprintf("receiver responded with HTTP %d", code)}
	case code >= 300 && code < 400:
		r := failure(ReasonRedirect, audit.Info, fmt.Sprintf("receiver responded with HTTP %d; redirects are not followed, because the new location was never approved: configure the final URL", code))
		r.status = code
		return r
	}

	r := failure(ReasonHTTPStatus, audit.Info, fmt.Sprintf("receiver responded with HTTP %d", code))
	r.status = code
	return r
}

// transportFailure classifies an error of http.Client.Do.
func transportFailure(err error) result {
	var denied *egress.DeniedError
	if errors.As(err, &denied) {
		return failure(denied.Decision.Reason, audit.Deny, denied.Decision.Message)
	}

	// url.Error repeats the full URL, whose path or query may hold a token,
	// so only the underlying error is kept.
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}

	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return failure(ReasonTimeout, audit.Info, "the request timed out: "+err.Error())
	}
	return failure(ReasonConnectionFailed, audit.Info, "the request failed: "+err.Error())
}

// parseDestination checks the webhook URL before any connection: scheme
// http or https, a host, no userinfo. ok is false with the failure in res.
func parseDestination(raw string) (u *url.URL, res result, ok bool) {
	u, err := url.Parse(raw)
	if err != nil {
		// The parse error quotes the URL, so it is not repeated here.
		return nil, failure(ReasonInvalidURL, audit.Deny, "the webhook URL is not a valid URL"), false
	}

	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return nil, failure(ReasonInvalidURL, audit.Deny, fmt.Sprintf("scheme %q is not allowed: use an https:// (or http://) URL", u.Scheme)), false
	}
	if u.User != nil {
		return nil, failure(ReasonInvalidURL, audit.Deny, "the webhook URL contains userinfo ('user@'): put credentials in the path or configure them another way"), false
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, failure(ReasonInvalidURL, audit.Deny, "the webhook URL has no host"), false
	}

	if _, err := egress.CanonicalHost(u.Hostname()); err != nil {
		return nil, failure(egress.ReasonInvalidHost, audit.Deny, err.Error()), false
	}
	if port := u.Port(); port != "" {
		if _, err := egress.ParsePort(port); err != nil {
			return nil, failure(egress.ReasonInvalidPort, audit.Deny, err.Error()), false
		}
	}

	return u, result{}, true
}

// destinationHost returns the canonical host of a webhook URL for logs and
// audit events, or "" when the URL has no valid host.
func destinationHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	host, err := egress.CanonicalHost(u.Hostname())
	if err != nil {
		return ""
	}
	return host
}
