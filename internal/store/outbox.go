package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/moatdev/moat/internal/ids"
)

// OutboxClaimed is the state of an item that one store handle has claimed
// with ClaimOutbox and is delivering.
const OutboxClaimed OutboxState = "claimed"

// outboxClaimTTL is how long a claim lasts. A claim older than this is
// taken to belong to a process that died, and the item can be claimed
// again. It is far longer than one delivery attempt should take.
// NOTE: a delivery that outlives it may be sent twice; receivers drop the
// duplicate by its idempotency key.
const outboxClaimTTL = 10 * time.Minute

const outboxColumns = `id, run_id, org, webhook, url, body, idempotency_key, state, attempts,
	last_status, last_error, created_at, delivered_at`

// EnqueueOutbox stores a pending webhook call of an existing, unfinished run
// and returns its id. it.Org must be the run's org. An empty it.IdempotencyKey gets a
// random one; a key already used is ErrExists.
func (s *SQLite) EnqueueOutbox(ctx context.Context, it OutboxItem) (int64, error) {
	if err := validateOutboxItem(it); err != nil {
		return 0, err
	}
	if it.IdempotencyKey == "" {
		it.IdempotencyKey = randomKey()
	}
	if it.Body == nil {
		it.Body = []byte{}
	}

	var id int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := requireRunOrg(ctx, tx, it.RunID, it.Org); err != nil {
			return err
		}
		if err := requireNewKey(ctx, tx, it.IdempotencyKey); err != nil {
			return err
		}

		err := tx.QueryRowContext(ctx, `INSERT INTO outbox (run_id, org, webhook, url, body, idempotency_key, state, created_at)
			VALUES (?, ?, ?, ?, ?, ?, 'pending', ?) RETURNING id`,
			it.RunID, it.Org, it.Webhook, it.URL, it.Body, it.IdempotencyKey, formatTime(nowOr(it.CreatedAt))).Scan(&id)
		if err != nil {
			return fmt.Errorf("insert outbox item for run %q: %w", it.RunID, err)
		}
		return nil
	})
	return id, err
}

func validateOutboxItem(it OutboxItem) error {
	if err := ids.ValidateRun(it.RunID); err != nil {
		return err
	}
	if err := ids.ValidateName("org", it.Org); err != nil {
		return err
	}
	if err := ids.ValidateName("webhook", it.Webhook); err != nil {
		return err
	}
	if it.URL == "" {
		return fmt.Errorf("outbox item for webhook %q of run %q has no URL", it.Webhook, it.RunID)
	}
	if it.State != "" && it.State != OutboxPending {
		return fmt.Errorf("outbox item for run %q has state %q: enqueue items pending", it.RunID, it.State)
	}
	return nil
}

// requireRunOrg fails unless the run exists, belongs to org and has not
// finished, so no org can queue a webhook call on another org's run and a
// request still in flight when its run ends cannot queue one either.
func requireRunOrg(ctx context.Context, tx *sql.Tx, runID, org string) error {
	var runOrg, state, cause string
	err := tx.QueryRowContext(ctx, `SELECT org, state, cause FROM runs WHERE id = ?`, runID).Scan(&runOrg, &state, &cause)
	if err != nil {
		return notFound(err, fmt.Sprintf("run %q", runID))
	}
	if runOrg != org {
		return fmt.Errorf("run %q belongs to org %q, not %q: queue webhook calls under the run's own org", runID, runOrg, org)
	}
	if RunState(state) == RunFinished {
		return fmt.Errorf("run %q: %w with cause %q, so it cannot queue webhook calls", runID, ErrRunFinished, cause)
	}
	return nil
}

func requireNewKey(ctx context.Context, tx *sql.Tx, key string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE idempotency_key = ?`, key).Scan(&n); err != nil {
		return fmt.Errorf("look up idempotency key %q: %w", key, err)
	}
	if n > 0 {
		return fmt.Errorf("outbox idempotency key %q %w: use a key unique to this call", key, ErrExists)
	}
	return nil
}

func randomKey() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b[:])
}

// ListOutbox returns the run's outbox items in the order they were queued
// (none for an unknown run).
func (s *SQLite) ListOutbox(ctx context.Context, runID string) ([]OutboxItem, error) {
	if err := ids.ValidateRun(runID); err != nil {
		return nil, err
	}
	return queryOutbox(ctx, s.db, `SELECT `+outboxColumns+` FROM outbox WHERE run_id = ? ORDER BY id`, runID)
}

// ClaimOutbox moves up to n pending items of the run (of every run when
// runID is empty), oldest first, to state claimed under this handle and
// returns them. Items whose claim is older than outboxClaimTTL count as
// pending. Claiming happens in one immediate transaction, so two handles,
// in one process or in several, never claim the same item at once.
func (s *SQLite) ClaimOutbox(ctx context.Context, runID string, n int) ([]OutboxItem, error) {
	if runID != "" {
		if err := ids.ValidateRun(runID); err != nil {
			return nil, err
		}
	}
	if n <= 0 {
		return nil, fmt.Errorf("invalid outbox claim size %d: claim at least one item", n)
	}

	now := time.Now()
	stale := formatTime(now.Add(-outboxClaimTTL))
	var claimed []OutboxItem
	err := s.write(ctx, func(tx *sql.Tx) error {
		items, err := queryOutbox(ctx, tx, `SELECT `+outboxColumns+` FROM outbox
			WHERE (? = '' OR run_id = ?) AND (state = 'pending' OR (state = 'claimed' AND claimed_at < ?))
			ORDER BY id LIMIT ?`, runID, runID, stale, n)
		if err != nil {
			return err
		}

		for i := range items {
			_, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'claimed', claimed_by = ?, claimed_at = ? WHERE id = ?`,
				s.claimToken, formatTime(now), items[i].ID)
			if err != nil {
				return fmt.Errorf("claim outbox item %d: %w", items[i].ID, err)
			}
			items[i].State = OutboxClaimed
		}
		claimed = items
		return nil
	})
	return claimed, err
}

// CompleteOutbox records one delivery attempt of an item this handle
// claimed: state delivered or failed ends delivery, pending releases the
// item for a retry. Attempts grows by one; a delivered item gets
// DeliveredAt now.
func (s *SQLite) CompleteOutbox(ctx context.Context, id int64, state OutboxState, status int, errMsg string) error {
	switch state {
	case OutboxDelivered, OutboxFailed, OutboxPending:
	default:
		return fmt.Errorf("invalid outbox result state %q for item %d: use %q, %q or %q (retry later)",
			state, id, OutboxDelivered, OutboxFailed, OutboxPending)
	}

	var deliveredAt sql.NullString
	if state == OutboxDelivered {
		deliveredAt = sql.NullString{String: formatTime(time.Now()), Valid: true}
	}

	return s.write(ctx, func(tx *sql.Tx) error {
		if err := s.requireClaimed(ctx, tx, id); err != nil {
			return err
		}

		_, err := tx.ExecContext(ctx, `UPDATE outbox SET state = ?, attempts = attempts + 1, last_status = ?,
				last_error = ?, delivered_at = ?, claimed_by = '', claimed_at = NULL WHERE id = ?`,
			string(state), status, errMsg, deliveredAt, id)
		if err != nil {
			return fmt.Errorf("complete outbox item %d: %w", id, err)
		}
		return nil
	})
}

// requireClaimed fails unless this handle holds the claim on item id, so a
// handle whose claim expired and was taken over cannot record a result.
func (s *SQLite) requireClaimed(ctx context.Context, tx *sql.Tx, id int64) error {
	var state, claimedBy string
	err := tx.QueryRowContext(ctx, `SELECT state, claimed_by FROM outbox WHERE id = ?`, id).Scan(&state, &claimedBy)
	if err != nil {
		return notFound(err, fmt.Sprintf("outbox item %d", id))
	}

	if state != string(OutboxClaimed) {
		return fmt.Errorf("outbox item %d is %s, not claimed: claim it with ClaimOutbox before recording a delivery", id, state)
	}
	if claimedBy != s.claimToken {
		return fmt.Errorf("outbox item %d is claimed by another store handle (%s): only the claimer records its delivery", id, claimedBy)
	}
	return nil
}

func queryOutbox(ctx context.Context, q rowsQueryer, query string, args ...any) ([]OutboxItem, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	defer rows.Close()

	var out []OutboxItem
	for rows.Next() {
		it, err := scanOutbox(rows)
		if err != nil {
			return nil, fmt.Errorf("list outbox: %w", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

func scanOutbox(row scanner) (OutboxItem, error) {
	var it OutboxItem
	var state, created string
	var delivered sql.NullString
	err := row.Scan(&it.ID, &it.RunID, &it.Org, &it.Webhook, &it.URL, &it.Body, &it.IdempotencyKey, &state,
		&it.Attempts, &it.LastStatus, &it.LastError, &created, &delivered)
	if err != nil {
		return OutboxItem{}, err
	}
	it.State = OutboxState(state)

	if it.CreatedAt, err = parseTime(created); err != nil {
		return OutboxItem{}, err
	}
	it.DeliveredAt, err = parseNullTime(delivered)
	return it, err
}
