package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/moatdev/moat/internal/ids"
)

// GenesisHash is the PrevHash of the first audit event.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// auditTimeLayout is the layout of Event.Time in the store and in the
// hashed JSON: UTC with millisecond precision.
const auditTimeLayout = "2006-01-02T15:04:05.000Z"

// canonicalEvent fixes the field order of the JSON that EventHash hashes.
type canonicalEvent struct {
	Seq      int64           `json:"seq"`
	Time     string          `json:"time"`
	Type     string          `json:"type"`
	Actor    string          `json:"actor"`
	Org      string          `json:"org"`
	RunID    string          `json:"run_id"`
	Job      string          `json:"job"`
	Decision string          `json:"decision"`
	Reason   string          `json:"reason"`
	Details  json.RawMessage `json:"details"`
}

// EventHash returns the hex sha256 of prev followed by the canonical JSON of
// e: the fields seq, time (UTC, "2006-01-02T15:04:05.000Z"), type, actor,
// org, run_id, job, decision, reason and details in that order, with
// details marshalled by encoding/json (sorted map keys, "{}" when empty).
// PrevHash and Hash of e are not hashed. It returns "" if Details cannot be
// marshalled; AppendAudit rejects such events.
func EventHash(prev string, e Event) string {
	details, err := detailsJSON(e.Details)
	if err != nil {
		return ""
	}
	hash, err := hashCanonical(prev, canonicalOf(e, details))
	if err != nil {
		return ""
	}
	return hash
}

func canonicalOf(e Event, details []byte) canonicalEvent {
	return canonicalEvent{
		Seq:      e.Seq,
		Time:     e.Time.UTC().Format(auditTimeLayout),
		Type:     e.Type,
		Actor:    e.Actor,
		Org:      e.Org,
		RunID:    e.RunID,
		Job:      e.Job,
		Decision: e.Decision,
		Reason:   e.Reason,
		Details:  details,
	}
}

// hashCanonical fails only when c.Details is not valid JSON. AppendAudit
// stores only marshalled details, so in a stored row that means a hand edit.
func hashCanonical(prev string, c canonicalEvent) (string, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("marshal audit event %d: %w", c.Seq, err)
	}

	h := sha256.New()
	h.Write([]byte(prev))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil)), nil
}

func detailsJSON(details map[string]any) ([]byte, error) {
	if len(details) == 0 {
		return []byte("{}"), nil
	}
	return json.Marshal(details)
}

// normalizeDetails returns details as they read back from the store: decoded
// from their JSON with numbers as json.Number, so structs become maps with
// sorted keys. Hashing the normalised form makes EventHash of a listed event
// equal its stored hash.
func normalizeDetails(details map[string]any) (map[string]any, []byte, error) {
	raw, err := detailsJSON(details)
	if err != nil {
		return nil, nil, err
	}

	normal, err := decodeDetails(raw)
	if err != nil {
		return nil, nil, err
	}

	canonical, err := detailsJSON(normal)
	return normal, canonical, err
}

func decodeDetails(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()

	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// AppendAudit adds e to the hash chain in one immediate transaction, so
// concurrent appenders in any number of processes get consecutive seqs and
// each links to the event before it. It sets Seq, Time (now, UTC,
// millisecond precision), PrevHash (GenesisHash for the first event) and
// Hash, and returns e with Details normalised as ListAudit returns them.
func (s *SQLite) AppendAudit(ctx context.Context, e Event) (Event, error) {
	if err := validateEvent(e); err != nil {
		return Event{}, err
	}

	normal, details, err := normalizeDetails(e.Details)
	if err != nil {
		return Event{}, fmt.Errorf("audit event %q has details that are not JSON: %w", e.Type, err)
	}
	e.Details = normal

	err = s.write(ctx, func(tx *sql.Tx) error {
		seq, prev, err := lastAudit(ctx, tx)
		if err != nil {
			return err
		}

		e.Seq = seq + 1
		e.Time = time.Now().UTC().Truncate(time.Millisecond)
		e.PrevHash = prev
		c := canonicalOf(e, details)
		if e.Hash, err = hashCanonical(prev, c); err != nil {
			return err
		}

		_, err = tx.ExecContext(ctx, `INSERT INTO audit_events
			(seq, time, type, actor, org, run_id, job, decision, reason, details, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.Seq, c.Time, c.Type, c.Actor, c.Org, c.RunID, c.Job, c.Decision, c.Reason, string(details), e.PrevHash, e.Hash)
		if err != nil {
			return fmt.Errorf("insert audit event %q: %w", e.Type, err)
		}
		return nil
	})
	if err != nil {
		return Event{}, err
	}
	return e, nil
}

func validateEvent(e Event) error {
	if e.Type == "" {
		return errors.New("audit event has no type: set Type, for example \"run.started\"")
	}
	if err := ids.ValidateName("actor", e.Actor); err != nil {
		return err
	}
	if e.Org != "" {
		if err := ids.ValidateName("org", e.Org); err != nil {
			return err
		}
	}
	if e.RunID != "" {
		if err := ids.ValidateRun(e.RunID); err != nil {
			return err
		}
	}
	if e.Job != "" {
		return ids.ValidateName("job", e.Job)
	}
	return nil
}

// lastAudit returns the seq and hash of the newest event, or 0 and
// GenesisHash for an empty log.
func lastAudit(ctx context.Context, tx *sql.Tx) (int64, string, error) {
	var seq int64
	var hash string
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, GenesisHash, nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("read last audit event: %w", err)
	}
	return seq, hash, nil
}
