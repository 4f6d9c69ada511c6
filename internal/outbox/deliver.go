package outbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/store"
)

// Audit event types of a delivery.
const (
	EventDelivered      = "webhook.delivered"
	EventDeliveryFailed = "webhook.delivery_failed"
)

// recordTimeout bounds the store writes that record one attempt. They run
// even after ctx is done, so an attempt that was made is never left
// unrecorded while its item stays claimed.
const recordTimeout = 10 * time.Second

// Deliverer sends a run's queued webhook calls.
type Deliverer struct {
	// Store holds the outbox and the audit log.
	Store store.Store
	// Client sends the requests; build it with NewClient so destinations
	// pass the egress checks and redirects are not followed. nil means
	// NewClient(nil, 0), which reaches public destinations only.
	Client *http.Client
	// Logger receives one line per delivery; nil means slog.Default().
	Logger *slog.Logger
	// Audit appends one event per delivery; nil means Store.AppendAudit.
	Audit func(ctx context.Context, e store.Event) error
	// UserAgent is sent with every request; empty means "moat-webhook".
	UserAgent string
}

// Summary counts the outcome of one DeliverRun call.
type Summary struct {
	Delivered int
	Failed    int
}

// DeliverRun claims the run's pending outbox items one at a time and POSTs
// each once. It records every attempt with Store.CompleteOutbox and appends
// one audit event per attempt. A failed delivery is counted in the Summary,
// not returned as an error. The error reports store and audit failures and
// the end of ctx, after which the remaining items stay pending.
//
// TODO: retries with backoff go here: a failure that may pass later (5xx,
// timeout, connection refused) should go back to pending with a next-attempt
// time instead of ending as failed.
func (d *Deliverer) DeliverRun(ctx context.Context, runID string) (Summary, error) {
	var sum Summary

	// An empty run id would claim every run's items in ClaimOutbox.
	if err := ids.ValidateRun(runID); err != nil {
		return sum, err
	}
	run, err := d.Store.GetRun(ctx, runID)
	if err != nil {
		return sum, fmt.Errorf("deliver webhooks of run %q: %w", runID, err)
	}

	for ctx.Err() == nil {
		items, err := d.Store.ClaimOutbox(ctx, runID, 1)
		if err != nil {
			return sum, fmt.Errorf("claim outbox items of run %q: %w", runID, err)
		}
		if len(items) == 0 {
			return sum, nil
		}

		res := d.send(ctx, items[0])
		if res.delivered() {
			sum.Delivered++
		} else {
			sum.Failed++
		}

		if err := d.record(ctx, run, items[0], res); err != nil {
			return sum, err
		}
	}

	return sum, fmt.Errorf("deliver webhooks of run %q: %w", runID, ctx.Err())
}

// send makes the one POST of an item and classifies the outcome.
func (d *Deliverer) send(ctx context.Context, it store.OutboxItem) result {
	target, res, ok := parseDestination(it.URL)
	if !ok {
		return res
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), bytes.NewReader(it.Body))
	if err != nil {
		// The error may quote the URL, which can carry a token.
		return failure(ReasonInvalidURL, audit.Deny, "no request can be built for the webhook URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", it.IdempotencyKey)
	req.Header.Set("X-Moat-Run", it.RunID)
	req.Header.Set("User-Agent", d.userAgent())

	resp, err := d.client().Do(req)
	if err != nil {
		return transportFailure(err)
	}
	defer resp.Body.Close()

	// The body is read only so the connection can be reused; its content
	// is never stored or logged. Past the limit the read stops and the
	// connection is closed.
	_, _ = io.Copy(io.Discard, resp.Body)

	return statusResult(resp.StatusCode)
}

// record stores the attempt, appends its audit event and logs it.
func (d *Deliverer) record(ctx context.Context, run store.Run, it store.OutboxItem, res result) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()

	host := destinationHost(it.URL)
	d.logDelivery(rctx, it, host, res)

	if err := d.Store.CompleteOutbox(rctx, it.ID, res.state, res.status, res.reason); err != nil {
		return fmt.Errorf("record delivery of outbox item %d of run %q: %w", it.ID, it.RunID, err)
	}

	event := store.Event{
		Type:     res.eventType(),
		Actor:    run.Actor,
		Org:      it.Org,
		RunID:    it.RunID,
		Job:      run.Job,
		Decision: res.decision,
		Reason:   res.reasonOrDelivered(),
		Details: map[string]any{
			"webhook":   it.Webhook,
			"outbox_id": it.ID,
			"status":    res.status,
			"url_host":  host,
			"message":   res.message,
		},
	}
	if err := d.appendAudit(rctx, event); err != nil {
		return fmt.Errorf("audit delivery of outbox item %d of run %q: %w", it.ID, it.RunID, err)
	}
	return nil
}

func (d *Deliverer) logDelivery(ctx context.Context, it store.OutboxItem, host string, res result) {
	attrs := []any{
		"run", it.RunID, "org", it.Org, "webhook", it.Webhook, "outbox_id", it.ID,
		"url_host", host, "status", res.status, "reason", res.reasonOrDelivered(), "message", res.message,
	}

	if res.delivered() {
		d.logger().InfoContext(ctx, "webhook delivered", attrs...)
		return
	}
	d.logger().WarnContext(ctx, "webhook delivery failed", attrs...)
}

func (d *Deliverer) appendAudit(ctx context.Context, e store.Event) error {
	if d.Audit != nil {
		return d.Audit(ctx, e)
	}
	_, err := d.Store.AppendAudit(ctx, e)
	return err
}

// client returns the configured client with redirects turned off even if
// the caller built it without NewClient: a followed redirect would reach a
// location that was never approved.
func (d *Deliverer) client() *http.Client {
	if d.Client == nil {
		return NewClient(nil, 0)
	}
	c := *d.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}
	return &c
}

func (d *Deliverer) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}

func (d *Deliverer) userAgent() string {
	if d.UserAgent != "" {
		return d.UserAgent
	}
	return "moat-webhook"
}
