package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/store"
)

func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("name")

	// Only names the manifest declares exist for the job; anything else is
	// an attempt to reach a destination the bundle did not ask for.
	if !slices.Contains(s.run.Webhooks, name) {
		s.rejectWebhook(w, r, name, http.StatusNotFound, "unknown_webhook",
			"webhook "+strconv.Quote(name)+" is not declared in moat.yaml: add it under webhooks")
		return
	}
	url, ok := s.run.WebhookURLs[name]
	if !ok {
		s.rejectWebhook(w, r, name, http.StatusConflict, "webhook_not_configured",
			"org "+strconv.Quote(s.run.Org)+" has no destination for webhook "+strconv.Quote(name)+": an org admin sets one with 'moat webhook set'")
		return
	}

	body, err := readBody(r, s.limits.MaxWebhookBody)
	if err != nil {
		s.rejectWebhook(w, r, name, http.StatusRequestEntityTooLarge, "body_too_large",
			"webhook payload is larger than "+strconv.FormatInt(s.limits.MaxWebhookBody, 10)+" bytes: send less per call")
		return
	}
	if !json.Valid(body) {
		s.rejectWebhook(w, r, name, http.StatusBadRequest, "invalid_json", "webhook payload must be a JSON value")
		return
	}

	// Count before queueing so concurrent calls cannot pass the cap.
	seq := s.webhooks.Add(1)
	if seq > int64(s.limits.MaxWebhookCalls) {
		s.webhooks.Add(-1)
		s.rejectWebhook(w, r, name, http.StatusTooManyRequests, "webhook_limit",
			"this run has used its "+strconv.Itoa(s.limits.MaxWebhookCalls)+" webhook calls: batch alerts into fewer calls")
		return
	}

	sum := sha256.Sum256(body)
	item := store.OutboxItem{
		RunID:          s.run.ID,
		Org:            s.run.Org,
		Webhook:        name,
		URL:            url,
		Body:           body,
		IdempotencyKey: s.run.ID + "-" + strconv.FormatInt(seq, 10),
		State:          store.OutboxPending,
	}
	id, err := s.store.EnqueueOutbox(ctx, item)
	if err != nil {
		s.webhooks.Add(-1)
		s.log.Error("enqueue webhook failed", "webhook", name, "err", err)
		writeError(w, http.StatusInternalServerError, "internal_error", "the webhook could not be queued; the operator has the details")
		return
	}

	s.record(ctx, store.Event{
		Type: audit.WebhookQueued, Decision: audit.Allow, Reason: "ok",
		Details: map[string]any{
			"webhook":     name,
			"outbox_id":   id,
			"bytes":       len(body),
			"body_sha256": hex.EncodeToString(sum[:]),
		},
	})

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"queued"}` + "\n"))
}

// rejectWebhook audits a refused webhook call and sends the error.
func (s *Server) rejectWebhook(w http.ResponseWriter, r *http.Request, name string, status int, code, message string) {
	s.record(r.Context(), store.Event{
		Type: audit.WebhookRejected, Decision: audit.Deny, Reason: code,
		Details: map[string]any{"webhook": name, "message": message},
	})
	writeError(w, status, code, message)
}
