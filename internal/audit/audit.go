// Package audit records security-relevant events: it appends them to the
// store's hash-chained audit log and writes the same decision as one
// structured log line.
package audit

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/moatdev/moat/internal/store"
)

// Event types. The set grows with the product; these names are stable
// because operators filter on them.
const (
	RunQueued        = "run.queued"
	RunStarted       = "run.started"
	RunFinished      = "run.finished"
	RunRejected      = "run.rejected"
	Query            = "query"
	QueryRejected    = "query.rejected"
	WebhookQueued    = "webhook.queued"
	WebhookRejected  = "webhook.rejected"
	GatewayAuthFail  = "gateway.auth_failed"
	DatasetImported  = "dataset.imported"
	OrgCreated       = "org.created"
	WebhookConfigSet = "webhook.configured"
	AuthzDenied      = "authz.denied"
	PolicyViolation  = "policy.violation"
)

// Decisions stored in Event.Decision.
const (
	Allow = "allow"
	Deny  = "deny"
	Info  = "info"
)

// Recorder appends events and logs them. A Recorder with a nil Store only
// logs, which tests of other packages must not rely on: every production
// path sets Store.
type Recorder struct {
	Store store.Store
	Log   *slog.Logger
}

// Record appends e to the audit chain and logs it: denials at warn, the rest
// at info. It returns the stored event. A failure to append is logged at
// error and returned, because a security decision that cannot be audited
// must not pass silently.
func (r *Recorder) Record(ctx context.Context, e store.Event) (store.Event, error) {
	logger := r.Log
	if logger == nil {
		logger = slog.Default()
	}

	level := slog.LevelInfo
	if e.Decision == Deny {
		level = slog.LevelWarn
	}
	logger.Log(ctx, level, "audit", "type", e.Type, "actor", e.Actor, "org", e.Org,
		"run", e.RunID, "job", e.Job, "decision", e.Decision, "reason", e.Reason)

	if r.Store == nil {
		return e, fmt.Errorf("audit event %q: no store configured", e.Type)
	}
	stored, err := r.Store.AppendAudit(ctx, e)
	if err != nil {
		logger.Error("append audit event failed", "type", e.Type, "run", e.RunID, "err", err)
		return e, fmt.Errorf("append audit event %q: %w", e.Type, err)
	}
	return stored, nil
}
