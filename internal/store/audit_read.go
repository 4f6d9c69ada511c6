package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/moatdev/moat/internal/ids"
)

// ErrChainBroken is wrapped by the *ChainError that VerifyChain returns.
var ErrChainBroken = errors.New("audit chain broken")

// ChainError names the first audit event at which the hash chain does not
// verify.
type ChainError struct {
	Seq     int64
	Problem string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("%s at seq %d: %s", ErrChainBroken, e.Seq, e.Problem)
}

func (e *ChainError) Unwrap() error { return ErrChainBroken }

const auditColumns = `seq, time, type, actor, org, run_id, job, decision, reason, details, prev_hash, hash`

// auditRow is one stored event with its details as stored text.
type auditRow struct {
	c        canonicalEvent
	prevHash string
	hash     string
}

func scanAuditRow(row scanner) (auditRow, error) {
	var r auditRow
	var details string
	err := row.Scan(&r.c.Seq, &r.c.Time, &r.c.Type, &r.c.Actor, &r.c.Org, &r.c.RunID, &r.c.Job,
		&r.c.Decision, &r.c.Reason, &details, &r.prevHash, &r.hash)
	r.c.Details = []byte(details)
	return r, err
}

func (r auditRow) event() (Event, error) {
	t, err := time.Parse(auditTimeLayout, r.c.Time)
	if err != nil {
		return Event{}, fmt.Errorf("audit event %d has invalid time %q: %w", r.c.Seq, r.c.Time, err)
	}
	details, err := decodeDetails(r.c.Details)
	if err != nil {
		return Event{}, fmt.Errorf("audit event %d has invalid details: %w", r.c.Seq, err)
	}

	return Event{
		Seq: r.c.Seq, Time: t.UTC(), Type: r.c.Type, Actor: r.c.Actor, Org: r.c.Org, RunID: r.c.RunID,
		Job: r.c.Job, Decision: r.c.Decision, Reason: r.c.Reason, Details: details,
		PrevHash: r.prevHash, Hash: r.hash,
	}, nil
}

// ListAudit returns the events that match f in seq order, the first
// f.Limit of them (0 means all).
func (s *SQLite) ListAudit(ctx context.Context, f AuditFilter) ([]Event, error) {
	if err := validateAuditFilter(f); err != nil {
		return nil, err
	}

	limit := int64(f.Limit)
	if limit == 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_events
		WHERE (? = '' OR run_id = ?) AND (? = '' OR org = ?) ORDER BY seq LIMIT ?`,
		f.RunID, f.RunID, f.Org, f.Org, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	defer rows.Close()

	var out []Event
	for rows.Next() {
		r, err := scanAuditRow(rows)
		if err != nil {
			return nil, fmt.Errorf("list audit events: %w", err)
		}
		e, err := r.event()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func validateAuditFilter(f AuditFilter) error {
	if f.RunID != "" {
		if err := ids.ValidateRun(f.RunID); err != nil {
			return err
		}
	}
	if f.Org != "" {
		if err := ids.ValidateName("org", f.Org); err != nil {
			return err
		}
	}
	if f.Limit < 0 {
		return fmt.Errorf("invalid audit limit %d: use 0 for all or a positive number", f.Limit)
	}
	return nil
}

// VerifyChain recomputes the hash chain over every stored event in seq
// order and returns how many events it checked. The first event that is
// missing, out of order, not linked to its predecessor or whose content no
// longer matches its hash is reported as a *ChainError wrapping
// ErrChainBroken.
// NOTE: deleting the newest events leaves a shorter chain that still
// verifies; detecting that needs checkpoints of the head kept elsewhere.
func (s *SQLite) VerifyChain(ctx context.Context) (checked int64, err error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_events ORDER BY seq`)
	if err != nil {
		return 0, fmt.Errorf("read audit events: %w", err)
	}
	defer rows.Close()

	prev := GenesisHash
	for rows.Next() {
		r, err := scanAuditRow(rows)
		if err != nil {
			return checked, fmt.Errorf("read audit events: %w", err)
		}

		if err := verifyRow(r, checked+1, prev); err != nil {
			return checked, err
		}
		prev = r.hash
		checked++
	}
	return checked, rows.Err()
}

// verifyRow checks one stored event against the seq and previous hash the
// chain expects at this position. It hashes the stored text exactly, so
// any edit of a stored field changes the hash.
func verifyRow(r auditRow, wantSeq int64, prev string) error {
	if r.c.Seq != wantSeq {
		return &ChainError{Seq: wantSeq, Problem: fmt.Sprintf("event missing, next stored event is seq %d", r.c.Seq)}
	}
	if r.prevHash != prev {
		return &ChainError{Seq: wantSeq, Problem: fmt.Sprintf("prev_hash %q does not match the hash of the event before it %q", r.prevHash, prev)}
	}

	got, err := hashCanonical(prev, r.c)
	if err != nil {
		return &ChainError{Seq: wantSeq, Problem: fmt.Sprintf("stored details are not valid JSON: %v", err)}
	}
	if got != r.hash {
		return &ChainError{Seq: wantSeq, Problem: fmt.Sprintf("stored hash %q does not match the recomputed hash %q: the event was changed", r.hash, got)}
	}
	return nil
}
